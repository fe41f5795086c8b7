package api

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
)

// injection is one hostile value put in place of a string the seed sends:
// raw is its JSON text as it goes on the wire, text what a store must keep
// when it takes it.
type injection struct {
	name, raw, text string
	// edge marks a value the edge refuses wherever it is sent (it is not
	// text the API stores), whatever the field.
	edge bool
}

func injections() []injection {
	quoted := func(name, s string) injection {
		raw, _ := json.Marshal(s)
		return injection{name: name, raw: string(raw), text: s}
	}
	return []injection{
		quoted("SQL, closing a statement", `x'); DROP TABLE patients;--`),
		quoted("SQL, a tautology", `' OR '1'='1`),
		quoted("a script", `<script>alert(1)</script>`),
		quoted("an attribute break-out", `"><img src=x onerror=alert(1)>`),
		quoted("a CRLF header injection", "a\r\nSet-Cookie: evil=1"),
		{name: "a NUL", raw: `"a\u0000b"`, edge: true},
		{name: "invalid UTF-8", raw: "\"a\xffb\"", edge: true},
		quoted("100,000 characters", strings.Repeat("x", 100_000)),
	}
}

// freeText are the fields, by their last name, that hold what a person
// wrote: they may take any text and must keep it exactly as sent.
// Identifiers, codes and enumerated values must refuse what is none of
// theirs.
var freeText = map[string]bool{
	"text": true, "title": true, "reason": true, "note": true, "message": true, "description": true,
	"chiefComplaint": true, "conclusion": true, "addendum": true, "clinicalInformation": true,
	"specimenNotes": true, "display": true, "name": true, "given": true, "family": true,
}

// domainTables are the public tables that hold what the API stores: every
// one but the audit trail and the outbox, which the audit middleware writes
// for every request, refused or not.
func domainTables(t *testing.T, pool *pgxpool.Pool) []string {
	t.Helper()
	rows, err := pool.Query(context.Background(), `SELECT table_name FROM information_schema.tables
		WHERE table_schema = 'public' AND table_type = 'BASE TABLE'
		  AND table_name NOT LIKE 'audit\_%' AND table_name NOT LIKE 'outbox%'
		ORDER BY table_name`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var tables []string
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			t.Fatal(err)
		}
		tables = append(tables, name)
	}
	if err := rows.Err(); err != nil || len(tables) < 10 {
		t.Fatalf("domain tables %v: %v", tables, err)
	}
	return tables
}

// rowCounts counts every table's rows in one query.
func rowCounts(t *testing.T, pool *pgxpool.Pool, tables []string) []int64 {
	t.Helper()
	parts := make([]string, len(tables))
	for i, name := range tables {
		parts[i] = fmt.Sprintf(`(SELECT count(*) FROM %q)`, name)
	}
	var counts []int64
	if err := pool.QueryRow(context.Background(), `SELECT ARRAY[`+strings.Join(parts, ",")+`]::bigint[]`).Scan(&counts); err != nil {
		t.Fatal(err)
	}
	return counts
}

// grown names the tables whose counts differ.
func grown(tables []string, before, after []int64) []string {
	var out []string
	for i := range tables {
		if before[i] != after[i] {
			out = append(out, fmt.Sprintf("%s %d→%d", tables[i], before[i], after[i]))
		}
	}
	return out
}

// variant is one seed body with one value replaced.
type variant struct {
	field, what string
	body        []byte
	inj         *injection // nil for a long array
}

// variants replaces, one at a time, every string of the seed body with each
// injection, and every array with one of 50,000 items.
func variants(seed []byte) []variant {
	type span struct {
		path       string
		start, end int64
		first      []byte
	}
	var strs, arrays []span
	firsts := map[string][]byte{}
	_ = walkJSON(seed, nil, nil, func(n *jsonNode) bool {
		switch {
		case n.key:
		case n.kind == '"':
			strs = append(strs, span{path: n.path, start: n.start, end: n.end})
		case n.kind == '[':
			arrays = append(arrays, span{path: n.path, start: n.start, end: n.end, first: firsts[n.path+"[0]"]})
		}
		if strings.HasSuffix(n.path, "[0]") && !n.key {
			firsts[n.path] = seed[n.start:n.end]
		}
		return true
	})
	splice := func(s span, raw string) []byte {
		return slices.Concat(seed[:s.start], []byte(raw), seed[s.end:])
	}
	var out []variant
	for _, s := range strs {
		for _, inj := range injections() {
			out = append(out, variant{field: s.path, what: inj.name, body: splice(s, inj.raw), inj: &inj})
		}
	}
	for _, a := range arrays {
		item := a.first
		if item == nil {
			item = []byte(`"x"`)
		}
		items := bytes.Repeat(append(slices.Clone(item), ','), 50_000)
		out = append(out, variant{field: a.path, what: "50,000 items", body: splice(a, "["+string(items[:len(items)-1])+"]")})
	}
	return out
}

// TestInjectionStringsInEveryTextField puts SQL, HTML, a CRLF header
// injection, NUL, invalid UTF-8 and a 100,000-character string in every
// string of every route's valid seed body, and 50,000 items in every list:
// never a 5xx; a refusal is 400 or 422 naming the field by its API path
// (or the list holding it), 413 for a body over the cap, or 403
// ACTOR_MISMATCH for a field naming who acts, and stores nothing; a request
// refused before its body is judged (no such resource) is refused as the
// unchanged seed is; an identifier, code or enumerated value takes none of
// it; what is taken is kept as sent (free text exactly), and no answer's
// header carries the injected line. Afterwards every table is still there.
// OWASP Input Validation Cheat Sheet: validate every input at the boundary,
// by allow-list for structured fields.
func TestInjectionStringsInEveryTextField(t *testing.T) {
	started := time.Now()
	h, pool := fuzzAPI(t)
	do := func(method, path string, body []byte) *httptest.ResponseRecorder {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		req := httptest.NewRequestWithContext(ctx, method, path, bytes.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+gatewayToken)
		req.Header.Set(headerOnBehalfOf, "Practitioner/"+fuzzActor)
		req.Header.Set("If-Match", "*")
		if body != nil {
			req.Header.Set("Content-Type", "application/json")
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec
	}
	rec := do("POST", "/v1/patients", []byte(patientBody("Injection", "Seed")))
	var seeded struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &seeded); err != nil || rec.Code != http.StatusCreated {
		t.Fatalf("seed patient: %d %s", rec.Code, rec.Body)
	}
	if rec := do("POST", "/v1/notifications/policies", []byte(`{"id":"critical","levels":[`+fuzzLevel+`]}`)); rec.Code != http.StatusCreated {
		t.Fatalf("seed policy: %d %s", rec.Code, rec.Body)
	}
	pid, someone := seeded.ID, fuzzActor
	bodies, _ := routeSeeds(pid, someone)
	// The resources the updates name, so that their bodies are judged
	// rather than answered 404.
	stored := func(method, path, body string) (id, activity string) {
		rec := do(method, path, []byte(body))
		var r struct {
			ID         string `json:"id"`
			Activities []struct {
				ID string `json:"id"`
			} `json:"activities"`
		}
		if err := json.Unmarshal(rec.Body.Bytes(), &r); err != nil || rec.Code != http.StatusCreated {
			t.Fatalf("%s %s: %d %s", method, path, rec.Code, rec.Body)
		}
		if len(r.Activities) > 0 {
			activity = r.Activities[0].ID
		}
		return r.ID, activity
	}
	allergyID, _ := stored("POST", "/v1/patients/"+pid+"/allergies", allergyJSON("Latex", "low"))
	planID, activityID := stored("POST", "/v1/clinical/care-plans", bodies["POST /v1/clinical/care-plans"])
	tables := domainTables(t, pool)

	params := strings.NewReplacer(":observationId", someone, ":flagId", someone, ":accession", "A26-0001")
	var requests, judged int
	for _, rt := range Routes() {
		key := rt.Method + " " + rt.Path
		seed, ok := bodies[key]
		if !ok || !json.Valid([]byte(seed)) {
			continue // no body, or the token endpoint's form
		}
		param, activity := someone, someone
		switch {
		case strings.HasPrefix(rt.Path, "/v1/patients/:id"):
			param = pid
		case strings.HasPrefix(rt.Path, "/v1/clinical/cds-services/"):
			param = "patient-view"
		case strings.HasPrefix(rt.Path, "/v1/clinical/allergies/:id"):
			param = allergyID
		case strings.HasPrefix(rt.Path, "/v1/clinical/care-plans/:id"):
			param, activity = planID, activityID
		}
		path := strings.ReplaceAll(strings.ReplaceAll(params.Replace(rt.Path), ":activityId", activity), ":id", param)
		// What the seed itself is answered: a variant refused for another
		// reason (no such resource) must be refused the same way.
		base := do(rt.Method, path, []byte(seed))
		baseErr := errorOf(base)
		// Each request's counts are the next one's "before": nothing but
		// the requests (and the audit trail, not counted) writes.
		after := rowCounts(t, pool, tables)
		for _, v := range variants([]byte(seed)) {
			requests++
			before := after
			r := do(rt.Method, path, v.body)
			after = rowCounts(t, pool, tables)
			e := errorOf(r)
			at := fmt.Sprintf("%s %s, %s = %s: %d %.300s", rt.Method, rt.Path, v.field, v.what, r.Code, r.Body)
			if r.Code >= 500 {
				t.Errorf("%s", at)
				continue
			}
			for name, values := range r.Header() {
				for _, value := range values {
					if strings.ContainsAny(value, "\r\n") || strings.Contains(name+value, "evil") {
						t.Errorf("%s: header %s: %q", at, name, value)
					}
				}
			}
			named := len(e.Details) > 0 && names(e.Details[0].Field, v.field, refusedAs[key+" "+v.field])
			switch {
			case r.Code < 300:
				judged++
				if v.inj == nil || v.inj.edge {
					t.Errorf("%s: taken", at)
				} else if !freeText[lastKey(v.field)] && !codesTakenAsText[key+" "+v.field] {
					t.Errorf("%s: an identifier or code took it", at)
				} else if got, ok := stringAt(r.Body.Bytes(), v.field); ok && !keptAsSent(v.field, v.inj.text, got) {
					t.Errorf("%s: kept as %.200q", at, got)
				}
				if loc := r.Header().Get("Location"); loc != "" && v.inj != nil {
					if g := do("GET", loc, nil); g.Code != http.StatusOK {
						t.Errorf("%s: GET %s: %d", at, loc, g.Code)
					} else if got, ok := stringAt(g.Body.Bytes(), v.field); ok && !keptAsSent(v.field, v.inj.text, got) {
						t.Errorf("%s: GET %s reads %.200q", at, loc, got)
					}
				}
				continue
			case r.Code == http.StatusRequestEntityTooLarge && e.Error == CodePayloadTooLarge,
				named && (r.Code == http.StatusBadRequest || r.Code == http.StatusUnprocessableEntity ||
					r.Code == http.StatusForbidden && e.Error == CodeActorMismatch):
				judged++ // refused, naming the field
			case v.inj != nil && v.inj.edge:
				t.Errorf("%s: not refused at the edge naming %s", at, v.field)
			case r.Code == http.StatusConflict,
				r.Code == base.Code && e.Error == baseErr.Error && base.Code >= 400:
				// Refused as the seed is (no such resource), or as a
				// duplicate of what an earlier variant stored.
			default:
				t.Errorf("%s: want a refusal naming %s (the seed: %d %s)", at, v.field, base.Code, baseErr.Error)
			}
			if g := grown(tables, before, after); len(g) > 0 {
				t.Errorf("%s: the refusal stored %v", at, g)
			}
		}
	}
	// The injected statements ran nowhere: every table is still there (and
	// counted); partitions the writes needed may have been added.
	now := domainTables(t, pool)
	for _, name := range tables {
		if !slices.Contains(now, name) {
			t.Errorf("table %s is gone", name)
		}
	}
	rowCounts(t, pool, tables)
	t.Logf("%d requests, %d of them judged on the field (taken or refused naming it), in %s",
		requests, judged, time.Since(started).Round(time.Millisecond))
}

// codesTakenAsText are identifiers and codes the API documents as free-form
// (no pattern, no enumeration in the OpenAPI document): the actor of a
// submitted audit event, in its own system's words, and the content of a
// CDS hook's draft orders, which are read and never stored. They take any
// text, and keep it as sent. Local codes (units, locations, alert
// categories and sources, a submitted event's entity type) refuse what no
// code holds (localCodeProblem).
var codesTakenAsText = func() map[string]bool {
	codes := map[string]bool{
		"POST /v1/audit/events actor.subject":  true,
		"POST /v1/audit/events actor.roles[0]": true,
	}
	const draft = "context.draftOrders.entry[0].resource."
	for _, hook := range []string{"order-sign", "order-select"} {
		for _, f := range []string{"resourceType", "id", "status", "intent",
			"medicationCodeableConcept.coding[0].system", "medicationCodeableConcept.coding[0].code",
			"dosageInstruction[0].timing.repeat.periodUnit", "dosageInstruction[0].doseAndRate[0].doseQuantity.unit",
			"dispenseRequest.expectedSupplyDuration.unit"} {
			codes["POST /v1/clinical/cds-services/"+hook+" "+draft+f] = true
		}
	}
	return codes
}()

// refusedAs are fields whose refusal names another, the one it no longer
// agrees with: an order-select hook's selection names its draft order by
// resourceType/id.
var refusedAs = map[string]string{
	"POST /v1/clinical/cds-services/order-select context.draftOrders.entry[0].resource.id":           "context.selections[0]",
	"POST /v1/clinical/cds-services/order-select context.draftOrders.entry[0].resource.resourceType": "context.selections[0]",
}

// names reports whether a refusal's field names the field sent (or the
// list or object holding it: "levels[0].recipients" for
// "levels[0].recipients[0].kind"), or the field it is refused as.
func names(refused, sent, as string) bool {
	return refused == sent || refused == as ||
		strings.HasPrefix(sent, refused+"[") || strings.HasPrefix(sent, refused+".")
}

func errorOf(r *httptest.ResponseRecorder) ErrorBody {
	var e ErrorBody
	_ = json.Unmarshal(r.Body.Bytes(), &e)
	return e
}

// stringAt is the string an answer holds at path, if any.
func stringAt(answer []byte, path string) (got string, found bool) {
	_ = walkJSON(answer, nil, nil, func(n *jsonNode) bool {
		if n.kind == '"' && !n.key && n.path == path {
			got, found = n.str, true
			return false
		}
		return true
	})
	return got, found
}

// keptAsSent: free text is kept exactly; a code may be folded as
// storedAsSent allows.
func keptAsSent(field, sent, got string) bool {
	if freeText[lastKey(field)] {
		return got == sent
	}
	return sameValue(sent, got)
}
