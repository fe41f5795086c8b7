package api

import (
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/zarish-sphere/zarish/domain"
)

// Versions are exposed as strong entity tags ("3"); updates are conditional
// on If-Match as RFC 9110 §13.1.1 says: "*" matches any current
// representation, a list of entity tags matches when one of them is the
// current version's tag by strong comparison (a weak tag, W/"3", never
// does), and a well-formed tag that matches nothing — ours or not, such as
// "abc" — is 412. Only a malformed header is 400.

// etag renders a version as a strong entity tag.
func etag(version int) string { return `"` + strconv.Itoa(version) + `"` }

// precondition is what an If-Match header demands of the stored version.
type precondition struct {
	// any is true when nothing is demanded: no If-Match, or "*".
	any bool
	// versions are the versions the header's strong tags name.
	versions []int
}

// noPrecondition is an absent If-Match.
var noPrecondition = precondition{any: true}

// checkVersion refuses a write whose precondition no longer holds for the
// stored version have.
func checkVersion(have int, want precondition) error {
	if want.any || slices.Contains(want.versions, have) {
		return nil
	}
	return domain.ErrVersionMismatch
}

// requireIfMatch reads If-Match: missing is 428, malformed 400.
func requireIfMatch(c *gin.Context) (precondition, bool) {
	h := strings.Join(c.Request.Header.Values("If-Match"), ",")
	if strings.TrimSpace(h) == "" {
		abort(c, http.StatusPreconditionRequired, CodePreconditionRequired,
			"Send If-Match with the ETag from your last read, so a concurrent change is never overwritten.")
		return precondition{}, false
	}
	p, ok := parseIfMatch(h)
	if !ok {
		fieldError(c, "If-Match", `must be "*" or a list of entity tags such as "3"`)
		return precondition{}, false
	}
	return p, true
}

// optionalIfMatch reads If-Match when sent (absent demands nothing); a
// malformed one is 400.
func optionalIfMatch(c *gin.Context) (precondition, bool) {
	if len(c.Request.Header.Values("If-Match")) == 0 {
		return noPrecondition, true
	}
	return requireIfMatch(c)
}

func parseIfMatch(h string) (precondition, bool) {
	if strings.TrimSpace(h) == "*" {
		return noPrecondition, true
	}
	tags, ok := entityTags(h)
	if !ok {
		return precondition{}, false
	}
	p := precondition{versions: []int{}}
	for _, t := range tags {
		if v, ours := t.version(); ours && !t.weak {
			p.versions = append(p.versions, v)
		}
	}
	return p, true
}

// notModified answers 304 with the ETag when the request's If-None-Match
// names version (weak comparison, as RFC 9110 §13.1.2 says), and reports
// whether it did.
func notModified(c *gin.Context, version int) bool {
	h := strings.Join(c.Request.Header.Values("If-None-Match"), ",")
	if h == "" {
		return false
	}
	match := strings.TrimSpace(h) == "*"
	if tags, ok := entityTags(h); ok {
		for _, t := range tags {
			if v, ours := t.version(); ours && v == version {
				match = true
			}
		}
	}
	if !match {
		return false
	}
	c.Header("ETag", etag(version))
	c.Status(http.StatusNotModified)
	return true
}

// entityTag is one entity tag of a header.
type entityTag struct {
	weak   bool
	opaque string // between the quotes
}

// version is the version an entity tag of ours names: digits, from 1.
func (t entityTag) version() (int, bool) {
	if t.opaque == "" || len(t.opaque) > 9 || t.opaque[0] == '0' {
		return 0, false
	}
	for i := 0; i < len(t.opaque); i++ {
		if t.opaque[i] < '0' || t.opaque[i] > '9' {
			return 0, false
		}
	}
	n, err := strconv.Atoi(t.opaque)
	return n, err == nil
}

// entityTags parses a comma-separated list of entity tags (RFC 9110 §8.8.3:
// [W/]"etagc*", where etagc is any visible character but the quote, or
// obs-text); empty list elements are allowed, an empty list is not.
func entityTags(h string) ([]entityTag, bool) {
	var tags []entityTag
	i := 0
	skip := func() {
		for i < len(h) && (h[i] == ' ' || h[i] == '\t' || h[i] == ',') {
			i++
		}
	}
	for skip(); i < len(h); skip() {
		var t entityTag
		if strings.HasPrefix(h[i:], "W/") {
			t.weak = true
			i += 2
		}
		if i >= len(h) || h[i] != '"' {
			return nil, false
		}
		end := i + 1
		for end < len(h) && h[end] != '"' {
			if b := h[end]; b < 0x21 || b == 0x7f {
				return nil, false
			}
			end++
		}
		if end >= len(h) {
			return nil, false
		}
		t.opaque = h[i+1 : end]
		tags = append(tags, t)
		i = end + 1
		// A tag is followed by white space, then a comma or the end.
		for i < len(h) && (h[i] == ' ' || h[i] == '\t') {
			i++
		}
		if i < len(h) && h[i] != ',' {
			return nil, false
		}
	}
	return tags, len(tags) > 0
}
