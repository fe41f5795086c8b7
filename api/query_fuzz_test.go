package api

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/zarish-sphere/zarish/domain"
)

// The query and header parsers FuzzRoutes reaches only through a whole
// request, fuzzed one by one: each refuses with an error value, never a
// panic, and what it accepts reads back the same.

// FuzzDateBound: a FHIR date search value is a prefix and a date (FHIR R4
// search §3.1.1.5.6, prefixes; §3.1.1.4.3, date); a refusal is a 400
// naming date; an accepted value bounds a non-empty span, and ge, gt, le
// and lt take the ends of the span eq names.
func FuzzDateBound(f *testing.F) {
	for _, s := range []string{"2026", "2026-03", "2026-03-01", "eq2026-03-01", "ge2026-03-01T08:00Z",
		"lt2026-03-01T08:00:00+06:00", "gt2026-03-01T08:00:00.123Z", "sa2026", "ap2026", "2026-02-30", "", "e", "le", "ge+1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		from, to, err := dateBound(v)
		if err != nil {
			var refusal *fhirRefusal
			if !errors.As(err, &refusal) || refusal.status != http.StatusBadRequest || refusal.issue.Expression[0] != "date" {
				t.Fatalf("dateBound(%q) refused with %T %v", v, err, err)
			}
			return
		}
		if from.IsZero() && to.IsZero() {
			t.Fatalf("dateBound(%q) bounds nothing", v)
		}
		if !from.IsZero() && !to.IsZero() && !from.Before(to) {
			t.Fatalf("dateBound(%q) = [%v, %v): empty", v, from, to)
		}
		date := v
		if len(v) >= 2 && v[0] >= 'a' && v[0] <= 'z' {
			date = v[2:]
		}
		start, end, err := dateBound("eq" + date)
		if err != nil {
			t.Fatalf("dateBound(%q) accepted, eq%s refused: %v", v, date, err)
		}
		for _, p := range []struct {
			prefix   string
			from, to time.Time
		}{{"ge", start, time.Time{}}, {"gt", end, time.Time{}}, {"le", time.Time{}, end}, {"lt", time.Time{}, start}} {
			from, to, err := dateBound(p.prefix + date)
			if err != nil || !from.Equal(p.from) || !to.Equal(p.to) {
				t.Fatalf("dateBound(%s%s) = [%v, %v) %v; eq is [%v, %v)", p.prefix, date, from, to, err, start, end)
			}
		}
	})
}

// FuzzParseIfMatch: If-Match (RFC 9110 §13.1.1) parses or is refused, and
// the versions it names read the same once written back as entity tags.
func FuzzParseIfMatch(f *testing.F) {
	for _, s := range []string{`"1"`, `*`, `W/"1"`, `"7", "a,b"`, ` W/"x" , "3" `, `"1`, `abc`, `"01"`, `,`, `"1" "2"`, `*, "1"`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, h string) {
		p, ok := parseIfMatch(h)
		if !ok {
			return
		}
		if p.any {
			return
		}
		tags := make([]string, len(p.versions))
		for i, v := range p.versions {
			tags[i] = etag(v)
		}
		if len(tags) == 0 {
			return // only foreign or weak tags: nothing of ours to write back
		}
		again, ok := parseIfMatch(strings.Join(tags, ", "))
		if !ok || again.any || !slices.Equal(again.versions, p.versions) {
			t.Fatalf("parseIfMatch(%q) = %v; written back as %q it reads %v %v", h, p.versions, strings.Join(tags, ", "), again, ok)
		}
	})
}

// queryContext is a request context with the raw query q.
func queryContext(q string) *gin.Context {
	c, _ := gin.CreateTestContext(httptest.NewRecorder())
	c.Request = httptest.NewRequest(http.MethodGet, "/", nil)
	c.Request.URL.RawQuery = q
	return c
}

// FuzzBucketParam: a trend's bucket is an ISO 8601 duration of fixed
// length (ISO 8601-1:2019 §5.5.2); one accepted is positive and, written
// back as isoDuration writes it, reads as the same length.
func FuzzBucketParam(f *testing.F) {
	for _, s := range []string{"PT1H", "PT15M", "P1D", "P1W", "P1DT2H30M", "PT0.5S", "P1M", "P1Y", "PT", "P", "PT-1H", "P100000W", "PT1.000000001S"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		verr := &domain.ValidationError{}
		d := bucketParam(queryContext("bucket="+url.QueryEscape(v)), verr)
		switch {
		case len(verr.Fields) > 0:
			if d != 0 || verr.Fields[0].Field != "bucket" {
				t.Fatalf("bucket=%q refused as %v, with %v", v, verr, d)
			}
			return
		case v == "":
			return
		case d < 0:
			t.Fatalf("bucket=%q is %v", v, d)
		case d == 0:
			return // P0D: no bucket
		}
		back := isoDuration(d)
		again := &domain.ValidationError{}
		if got := bucketParam(queryContext("bucket="+url.QueryEscape(back)), again); len(again.Fields) > 0 || got != d {
			t.Fatalf("bucket=%q is %v, written back %q reads %v %v", v, d, back, got, again)
		}
	})
}

// FuzzCountParam: _count is a whole number from 1 to the maximum, or a
// 400 naming _count.
func FuzzCountParam(f *testing.F) {
	for _, s := range []string{"", "1", "100", "101", "0", "-1", "x", "1e2", "０", "+5", " 5"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		q := url.Values{}
		if v != "" {
			q.Set(fhirCount, v)
		}
		n, err := countParam(q, 20, 100)
		if err != nil {
			var refusal *fhirRefusal
			if !errors.As(err, &refusal) || refusal.status != http.StatusBadRequest {
				t.Fatalf("_count=%q refused with %T %v", v, err, err)
			}
			return
		}
		if n < 1 || n > 100 {
			t.Fatalf("_count=%q read as %d", v, n)
		}
		if v != "" && strconv.Itoa(n) != strings.TrimLeft(strings.TrimPrefix(v, "+"), "0") {
			t.Fatalf("_count=%q read as %d", v, n)
		}
	})
}

// FuzzCodeList: a comma-separated code list reads the same written back.
func FuzzCodeList(f *testing.F) {
	for _, s := range []string{"8867-4,8310-5", " 8867-4 , ", ",", "", "a,,b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		codes := codeList(v)
		if again := codeList(strings.Join(codes, ",")); !slices.Equal(again, codes) && !(len(codes) > 0 && again == nil) {
			t.Fatalf("codeList(%q) = %q, written back reads %q", v, codes, again)
		}
	})
}
