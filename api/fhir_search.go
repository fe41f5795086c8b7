package api

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"github.com/zarish-sphere/zarish/domain"
	"github.com/zarish-sphere/zarish/domain/audit"
	"github.com/zarish-sphere/zarish/integrations/fhir"
)

// The search helpers the FHIR searches share: a status token read against
// its FHIR value set, and a search of several of our statuses at once (a
// FHIR code that stands for more than one of ours) as one newest-first
// list, paged.

// fhirSort is the _sort result parameter.
const fhirSort = "_sort"

// oneStatus is a statusParam reading of a value set that maps each FHIR
// code to at most one status of ours.
func oneStatus[S ~string](of func(code string) (S, bool)) func(code string) []S {
	return func(code string) []S {
		if st, ok := of(code); ok {
			return []S{st}
		}
		return nil
	}
}

// statusParam reads the status token of a search: one code of the value set
// valueSet (system|code or the code alone), as the statuses of ours it
// stands for. none reports a code of the value set that no record of ours
// ever has, which matches nothing; a code outside the value set is refused,
// naming status. Absent, it is one zero status: every status.
func statusParam[S ~string](q url.Values, system string, valueSet []string, ours func(code string) []S) (statuses []S, none bool, err error) {
	v := q.Get("status")
	if v == "" {
		return []S{""}, false, nil
	}
	if sys, code, found := strings.Cut(v, "|"); found {
		if sys != "" && sys != system {
			return nil, false, invalidParam("status", "status codes are of "+system)
		}
		v = code
	}
	if !slices.Contains(valueSet, v) {
		return nil, false, invalidParam("status", "status must be one code of "+system+": "+strings.Join(valueSet, ", "))
	}
	statuses = ours(v)
	return statuses, len(statuses) == 0, nil
}

// mergedCursor is the position of a search over several statuses: each
// status's own store cursor ("" from its start); a status left out has no
// more matches.
type mergedCursor map[string]string

// mergedPage is one newest-first page of the matches in any of statuses,
// fetched a status at a time (fetch: a page of one status from its store
// cursor) and merged by order (the time and id the store orders by, newest
// first). One status is the store's own page. The next cursor holds each
// status's position after the page: where the page took only some of a
// status's rows, that status is fetched again up to its last row taken, so
// its store cursor is the store's own.
func mergedPage[T any, S ~string](ctx context.Context, statuses []S, limit int, cursor string,
	fetch func(ctx context.Context, status S, cursor string, limit int) ([]T, string, error),
	order func(T) (time.Time, uuid.UUID)) ([]T, string, error) {
	if len(statuses) == 1 {
		return fetch(ctx, statuses[0], cursor, limit)
	}
	pos := mergedCursor{}
	if cursor == "" {
		for _, s := range statuses {
			pos[string(s)] = ""
		}
	} else {
		raw, err := base64.RawURLEncoding.DecodeString(cursor)
		if err != nil || json.Unmarshal(raw, &pos) != nil {
			return nil, "", domain.ErrBadCursor
		}
		for k := range pos {
			if !slices.Contains(statuses, S(k)) {
				return nil, "", domain.ErrBadCursor
			}
		}
	}
	type run struct {
		status     S
		from, next string
		rows       []T
		taken      int
	}
	var runs []*run
	for _, s := range statuses {
		from, ok := pos[string(s)]
		if !ok {
			continue
		}
		rows, next, err := fetch(ctx, s, from, limit)
		if err != nil {
			return nil, "", err
		}
		runs = append(runs, &run{status: s, from: from, next: next, rows: rows})
	}
	newer := func(a, b T) bool {
		at, aid := order(a)
		bt, bid := order(b)
		at, bt = at.Truncate(time.Microsecond), bt.Truncate(time.Microsecond)
		if !at.Equal(bt) {
			return at.After(bt)
		}
		return bytes.Compare(aid[:], bid[:]) > 0
	}
	var out []T
	for len(out) < limit {
		var best *run
		for _, r := range runs {
			if r.taken < len(r.rows) && (best == nil || newer(r.rows[r.taken], best.rows[best.taken])) {
				best = r
			}
		}
		if best == nil {
			break
		}
		out = append(out, best.rows[best.taken])
		best.taken++
	}
	next := mergedCursor{}
	for _, r := range runs {
		switch {
		case r.taken == len(r.rows):
			if r.next != "" {
				next[string(r.status)] = r.next
			}
		case r.taken == 0:
			next[string(r.status)] = r.from
		default:
			_, at, err := fetch(ctx, r.status, r.from, r.taken)
			if err != nil {
				return nil, "", err
			}
			next[string(r.status)] = at
		}
	}
	if len(next) == 0 {
		return out, "", nil
	}
	raw, _ := json.Marshal(next)
	return out, base64.RawURLEncoding.EncodeToString(raw), nil
}

// readFHIR answers a read of typ by its id: the record get finds, as of
// maps it (its patient — uuid.Nil for none —, its version for the ETag — 0
// for none — and the resource), audited as a read of the record and its
// patient and kept to a token's launch patient (a record of no patient is
// beyond any launch patient).
func readFHIR[T any](s *fhirRoutes, c *gin.Context, typ string, get func(context.Context, uuid.UUID) (T, error),
	of func(T) (patient uuid.UUID, version int, resource any)) {
	id, ok := fhirID(c, typ)
	if !ok {
		return
	}
	rec, err := get(c.Request.Context(), id)
	if err != nil {
		auditOf(c).about(audit.ActionRead, typ, id.String(), nil)
		s.fhirFail(c, err, nil)
		return
	}
	patient, version, res := of(rec)
	var named *uuid.UUID
	if patient != uuid.Nil {
		named = &patient
	}
	auditOf(c).about(audit.ActionRead, typ, id.String(), named)
	if outsideLaunch(c, patient) {
		return
	}
	if version > 0 {
		c.Header("ETag", fhirETag(version))
	}
	writeFHIR(c, http.StatusOK, res)
}

// unserved answers 503 when a search or read's store is not wired in.
func unserved(c *gin.Context, wired bool, what string) bool {
	if !wired {
		writeOutcome(c, http.StatusServiceUnavailable, fhirIssue(fhir.IssueException, "This server reads no "+what+"."))
	}
	return !wired
}
