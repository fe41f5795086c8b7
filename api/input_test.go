package api

import (
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/google/uuid"

	"github.com/zarish-sphere/zarish/domain/audit"
	"github.com/zarish-sphere/zarish/integrations/ratelimit"
)

// TestInputIsCheckedAtTheEdge sends, route by route, the inputs the API used
// to store altered or answer 500: each is refused with 400 naming the field
// in the API's own names, before the handler runs, and the refusal is
// audited.
func TestInputIsCheckedAtTheEdge(t *testing.T) {
	srv, store := newAuditedAPI(t, nil)
	id := uuid.NewString()
	big := strings.Repeat("x", 900_000)
	roles := `"nurse"` + strings.Repeat(`,"nurse"`, 99_999)
	level := `{"recipients":[{"kind":"on-call","role":"nurse"}],"channels":["inapp"],"ackTimeoutSeconds":60}`
	levels := level + strings.Repeat(","+level, 4_999)
	patient := func(family string) string {
		return `{"name":{"given":["Salma"],"family":"` + family + `"},"birthDate":"1990-05-17","sex":"female"}`
	}
	const form = "application/x-www-form-urlencoded"
	for _, tt := range []struct {
		name, method, path, body string
		headers                  []string
		status                   int
		code, field, message     string
	}{
		{"NUL in a patient name", "POST", "/v1/patients", patient(`a\u0000b`), nil, 400, CodeValidationFailed, "name.family", "NUL"},
		{"NUL in a search parameter", "GET", "/v1/patients?name=a%00b", "", nil, 400, CodeValidationFailed, "name", "NUL"},
		{"invalid UTF-8 in a JSON string", "POST", "/v1/patients", patient("Jos\xff\xfe"), nil, 400, CodeValidationFailed, "name.family", "UTF-8"},
		{"invalid UTF-8 in a query", "GET", "/v1/clinical/practitioners?unit=ward%FF", "", nil, 400, CodeValidationFailed, "unit", "UTF-8"},
		{"a Latin-1 body", "POST", "/v1/patients", patient("Jos\xe9"), []string{"Content-Type", "application/json; charset=iso-8859-1"},
			400, CodeValidationFailed, "Content-Type", "utf-8"},
		{"an unpaired surrogate escape", "POST", "/v1/patients", patient(`Jos\ud800`), nil, 400, CodeValidationFailed, "name.family", "surrogate"},
		{"a control character", "POST", "/v1/patients", patient(`a\u0007b`), nil, 400, CodeValidationFailed, "name.family", "control"},
		{"a C1 control character", "POST", "/v1/patients", patient("a\u0085b"), nil, 400, CodeValidationFailed, "name.family", "control"},
		{"NUL in a property name", "POST", "/v1/patients", `{"na\u0000me":{}}`, nil, 400, CodeValidationFailed, "na\uFFFDme", "property name"},
		{"NUL in a path parameter", "GET", "/v1/notifications/policies/a%00b", "", nil, 400, CodeValidationFailed, "id", "NUL"},
		{"NUL in a note section", "POST", "/v1/clinical/encounters/" + id + "/notes",
			`{"type":"progress","authorId":"` + id + `","sections":[{"title":"a","text":"b"},{"title":"c","text":"d\u0000"}]}`,
			nil, 400, CodeValidationFailed, "sections[1].text", "NUL"},
		{"NUL in a chief complaint", "POST", "/v1/clinical/encounters/" + id + "/triage",
			`{"by":"` + id + `","acuity":2,"chiefComplaint":"x\u0000y"}`, nil, 400, CodeValidationFailed, "chiefComplaint", "NUL"},
		{"NUL in an alert message", "POST", "/v1/notifications/alerts",
			`{"patientId":"` + id + `","unit":"ward-3","severity":"critical","category":"lab","message":"a\u0000b","source":"lab/1"}`,
			nil, 400, CodeValidationFailed, "message", "NUL"},
		{"NUL in an on-call unit", "POST", "/v1/clinical/on-call", `{"unit":"\u0000"}`, nil, 400, CodeValidationFailed, "unit", "NUL"},
		{"NUL in a form field", "POST", "/v1/auth/oauth2/token", "grant_type=client_credentials&scope=a%00b",
			[]string{"Content-Type", form}, 400, CodeValidationFailed, "scope", "NUL"},
		{"invalid UTF-8 in an Idempotency-Key", "POST", "/v1/patients", patient("Khatun"), []string{"Idempotency-Key", "k\xff"},
			400, CodeValidationFailed, "Idempotency-Key", "UTF-8"},
		{"a 900 KB practitioner name", "POST", "/v1/clinical/practitioners", `{"name":"` + big + `","roles":["nurse"],"units":[]}`,
			nil, 400, CodeValidationFailed, "name", "at most 200 characters"},
		{"100,000 roles", "POST", "/v1/clinical/practitioners", `{"name":"Joy","roles":[` + roles + `],"units":[]}`,
			nil, 400, CodeValidationFailed, "roles", "at most 10 items"},
		{"5,000 policy levels", "POST", "/v1/notifications/policies", `{"id":"many","levels":[` + levels + `]}`,
			nil, 400, CodeValidationFailed, "levels", "at most 20 items"},
		{"a 900 KB policy id", "POST", "/v1/notifications/policies", `{"id":"` + big + `","levels":[` + level + `]}`,
			nil, 400, CodeValidationFailed, "id", "at most 64 characters"},
		{"a policy id that is a path", "POST", "/v1/notifications/policies", `{"id":"../../v1/patients","levels":[` + level + `]}`,
			nil, 400, CodeValidationFailed, "id", "must match"},
		{"an 8 KB encounter location", "POST", "/v1/clinical/encounters",
			`{"patientId":"` + id + `","class":"emergency","location":"` + strings.Repeat("w", 8192) + `"}`,
			nil, 400, CodeValidationFailed, "location", "at most 100 characters"},
		{"an over-long enumerated value", "POST", "/v1/clinical/on-call", `{"role":"` + big + `"}`,
			nil, 400, CodeValidationFailed, "role", "must be one of physician"},
		{"a body over 1 MB", "POST", "/v1/patients", patient(strings.Repeat("x", maxBodyBytes)), nil, 413, CodePayloadTooLarge, "", ""},
		{"a body nested too deep", "POST", "/v1/patients", strings.Repeat("[", 100) + strings.Repeat("]", 100), nil, 400, CodeInvalidJSON, "", ""},
		{"a malformed query", "GET", "/v1/patients?name=%zz", "", nil, 400, CodeValidationFailed, "(query)", "URL"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			reqID := "edge-" + uuid.NewString()
			headers := append([]string{"X-Request-Id", reqID}, tt.headers...)
			r := call(t, srv, tt.method, tt.path, adminToken, tt.body, headers...)
			if r.status != tt.status {
				t.Fatalf("status %d, want %d: %.300s", r.status, tt.status, r.body)
			}
			e := decodeErr(t, r)
			if e.Error != tt.code {
				t.Fatalf("code %s, want %s: %.300s", e.Error, tt.code, r.body)
			}
			if tt.field != "" && (len(e.Details) == 0 || e.Details[0].Field != tt.field || !strings.Contains(e.Details[0].Message, tt.message)) {
				t.Fatalf("details %+v, want %s: …%s…", e.Details, tt.field, tt.message)
			}
			recs := recordsFor(t, store, reqID)
			if len(recs) != 1 || recs[0].Status != tt.status || recs[0].Outcome != audit.OutcomeFailure {
				t.Fatalf("audit records of the refusal: %+v", recs)
			}
		})
	}
}

// TestTextIsStoredAsSent: what passes the edge is stored exactly as sent —
// Bengali, accents, emoji, tabs and new lines alike.
func TestTextIsStoredAsSent(t *testing.T) {
	srv := newTestAPI(t)
	family := "খাতুন-José 🩺\tআলী"
	r := call(t, srv, "POST", "/v1/patients", adminToken, `{"name":{"given":["সালমা"],"family":"`+strings.ReplaceAll(family, "\t", `\t`)+`"},"birthDate":"1990-05-17","sex":"female"}`)
	if r.status != http.StatusCreated || !strings.Contains(r.body, `"family":"খাতুন-José 🩺\tআলী"`) {
		t.Fatalf("register: %d %s", r.status, r.body)
	}
	// A practitioner name of 200 Bengali letters (600 bytes) is within 200
	// characters.
	name := strings.Repeat("ক", 200)
	r = call(t, srv, "POST", "/v1/clinical/practitioners", adminToken, `{"name":"`+name+`","roles":["nurse"],"units":["ward-3"]}`)
	if r.status != http.StatusCreated || !strings.Contains(r.body, name) {
		t.Fatalf("practitioner: %d %.200s", r.status, r.body)
	}
	r = call(t, srv, "POST", "/v1/clinical/practitioners", adminToken, `{"name":"`+name+`ক","roles":["nurse"],"units":["ward-3"]}`)
	if e := decodeErr(t, r); r.status != 400 || e.Details[0].Field != "name" {
		t.Fatalf("201 letters: %d %s", r.status, r.body)
	}
}

// TestFieldPathsNameTheAPIsFields: a body that does not decode names the
// field as the API does, never by Go struct names.
func TestFieldPathsNameTheAPIsFields(t *testing.T) {
	srv := newTestAPI(t)
	id := uuid.NewString()
	for _, tt := range []struct {
		name, method, path, body string
		field, message           string
	}{
		{"a number for an embedded struct's field", "PUT", "/v1/patients/" + id, `{"name":{"family":5}}`, "name.family", "must be a string"},
		{"a number in a list", "PUT", "/v1/patients/" + id, `{"name":{"given":["a",7]}}`, "name.given[1]", "must be a string"},
		{"a number in a list of objects", "POST", "/v1/clinical/encounters/" + id + "/notes",
			`{"type":"progress","sections":[{"title":"a","text":"b"},{"title":"c","text":5}]}`, "sections[1].text", "must be a string"},
		{"a field of an embedded body", "POST", "/v1/clinical/care-plans", `{"title":5}`, "title", "must be a string"},
		{"an object for a list", "POST", "/v1/clinical/care-plans", `{"goals":{"a":1}}`, "goals", "must be a list"},
		{"an unknown nested field", "POST", "/v1/patients", `{"name":{"given":["a"],"familyy":"b"}}`, "name.familyy", "not a field"},
		{"an unknown field in a list", "PUT", "/v1/patients/" + id, `{"telecom":[{"system":"phone","value":"1"},{"sistem":"x"}]}`,
			"telecom[1].sistem", "not a field"},
		{"a malformed UUID", "POST", "/v1/clinical/on-call", `{"practitionerId":"abc"}`, "practitionerId", "must be a UUID"},
		{"a number for a UUID", "POST", "/v1/clinical/on-call", `{"practitionerId":5}`, "practitionerId", "must be a string"},
		{"a malformed time", "POST", "/v1/clinical/on-call", `{"from":"yesterday"}`, "from", "RFC 3339"},
		{"a list for the body", "POST", "/v1/patients", `[]`, "(body)", "must be an object"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := call(t, srv, tt.method, tt.path, adminToken, tt.body, "If-Match", `"1"`)
			e := decodeErr(t, r)
			if r.status != 400 || e.Error != CodeValidationFailed || len(e.Details) != 1 ||
				e.Details[0].Field != tt.field || !strings.Contains(e.Details[0].Message, tt.message) {
				t.Fatalf("%d %s, want %s %q", r.status, r.body, tt.field, tt.message)
			}
		})
	}
}

// TestLimitIsOneRule: limit=0 (or 1000, or x) is the same mistake on every
// list, answered the same way.
func TestLimitIsOneRule(t *testing.T) {
	srv := newTestAPI(t)
	for _, tt := range []struct {
		path string
		max  int
	}{
		{"/v1/patients?name=ab&", 100},
		{"/v1/clinical/care-plans?", 200},
		{"/v1/clinical/encounters?", 200},
		{"/v1/notifications/alerts?", 200},
		{"/v1/notifications/deliveries?", 200},
		{"/v1/audit/events?", 500},
	} {
		for _, limit := range []string{"0", "-1", "x", fmt.Sprint(tt.max + 1)} {
			r := call(t, srv, "GET", tt.path+"limit="+limit, adminToken, "")
			e := decodeErr(t, r)
			want := fmt.Sprintf("must be a whole number from 1 to %d", tt.max)
			if r.status != 400 || e.Error != CodeValidationFailed || len(e.Details) != 1 || e.Details[0].Field != "limit" || e.Details[0].Message != want {
				t.Errorf("%slimit=%s: %d %s", tt.path, limit, r.status, r.body)
			}
		}
	}
}

// TestIfMatch follows RFC 9110 §13.1.1: a well-formed entity tag that does
// not match is 412 whatever it looks like; only a malformed header is 400;
// "*" matches the current representation.
func TestIfMatch(t *testing.T) {
	srv := newTestAPI(t)
	pid := newPatient(t, call(t, srv, "POST", "/v1/patients", adminToken, patientBody("Match", "Tags")))
	version := 1
	for _, tt := range []struct {
		header string
		status int
	}{
		{`"abc"`, http.StatusPreconditionFailed},
		{`W/"1"`, http.StatusPreconditionFailed}, // weak tags never match by strong comparison
		{`"2"`, http.StatusPreconditionFailed},
		{`"01"`, http.StatusPreconditionFailed},
		{`"7", "a,b"`, http.StatusPreconditionFailed},
		{`abc`, http.StatusBadRequest},
		{`"1`, http.StatusBadRequest},
		{`"1" "2"`, http.StatusBadRequest},
		{`*, "1"`, http.StatusBadRequest},
		{`,`, http.StatusBadRequest},
		{`"{v}"`, http.StatusOK},
		{`*`, http.StatusOK},
		{`"9", "{v}"`, http.StatusOK},
		{` W/"x" , "{v}" `, http.StatusOK},
	} {
		h := strings.ReplaceAll(tt.header, "{v}", fmt.Sprint(version))
		r := call(t, srv, "PUT", "/v1/patients/"+pid, adminToken, patientBody("Match", fmt.Sprint("Tags-", version)), "If-Match", h)
		if r.status != tt.status {
			t.Fatalf("If-Match %s: %d %s, want %d", h, r.status, r.body, tt.status)
		}
		if r.status == http.StatusOK {
			version++
			if r.header.Get("ETag") != fmt.Sprintf(`"%d"`, version) {
				t.Fatalf("ETag %s after version %d", r.header.Get("ETag"), version)
			}
		}
		if r.status == http.StatusBadRequest && decodeErr(t, r).Details[0].Field != "If-Match" {
			t.Fatalf("400 names %s", r.body)
		}
	}
	// DELETE honours If-Match the same way.
	if r := call(t, srv, "DELETE", "/v1/patients/"+pid, adminToken, "", "If-Match", `"abc"`); r.status != http.StatusPreconditionFailed {
		t.Fatalf("DELETE with a foreign tag: %d", r.status)
	}
}

// TestResponsesAreNotCachedOrSniffed: every /v1 answer, errors and 503s
// included, says no-store and nosniff.
func TestResponsesAreNotCachedOrSniffed(t *testing.T) {
	srv := newTestAPI(t)
	failing, _ := newAuditedAPI(t, func(s AuditStore) AuditStore { return failingAppend{s} })
	for _, tt := range []struct {
		srv                 string
		method, path, token string
		status              int
	}{
		{srv.URL, "GET", "/v1/patients?name=ab", adminToken, 200},
		{srv.URL, "GET", "/v1/patients/" + uuid.NewString(), adminToken, 404},
		{srv.URL, "GET", "/v1/patients?name=a%00b", adminToken, 400},
		{srv.URL, "GET", "/v1/patients", "", 401},
		{srv.URL, "GET", "/v1/nowhere", "", 404},
		{srv.URL, "PATCH", "/v1/patients", adminToken, 405},
		{failing.URL, "GET", "/v1/patients?name=ab", adminToken, 503},
	} {
		req, _ := http.NewRequest(tt.method, tt.srv+tt.path, nil)
		if tt.token != "" {
			req.Header.Set("Authorization", "Bearer "+tt.token)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != tt.status || res.Header.Get("Cache-Control") != "no-store" || res.Header.Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("%s %s: %d %v", tt.method, tt.path, res.StatusCode, res.Header)
		}
	}
}

// TestUnknownMethodsShareOneSeries: inventing methods or paths creates no
// new series on the unauthenticated /metrics.
func TestUnknownMethodsShareOneSeries(t *testing.T) {
	srv := newTestAPI(t)
	for i := range 5 {
		for _, path := range []string{"/v1/patients", "/v1/nowhere-" + fmt.Sprint(i), "/elsewhere"} {
			req, _ := http.NewRequest(fmt.Sprintf("XYZZY%d", i), srv.URL+path, nil)
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
		}
	}
	body := call(t, srv, "GET", "/metrics", "", "").body
	if strings.Contains(body, "XYZZY") || strings.Contains(body, "nowhere") {
		t.Fatal("invented methods or paths appear on /metrics")
	}
	if !strings.Contains(body, `http_requests_total{method="OTHER",route="unmatched",status="405"} 5`) ||
		!strings.Contains(body, `http_requests_total{method="OTHER",route="unmatched",status="404"} 10`) {
		t.Fatalf("unknown methods are not one series:\n%s", grepLines(body, "http_requests_total"))
	}
}

func grepLines(body, prefix string) string {
	var out []string
	for _, l := range strings.Split(body, "\n") {
		if strings.HasPrefix(l, prefix) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// TestUnmatchedRoutesSpendTheAddressBudget: probing unknown /v1 paths is
// rate limited like any other anonymous request, and each probe audited.
func TestUnmatchedRoutesSpendTheAddressBudget(t *testing.T) {
	srv, records, _ := newLimitedAPI(t, RateLimits{
		Limiter:   ratelimit.NewMemory(),
		Client:    ratelimit.PerMinute(60, 100),
		Anonymous: ratelimit.PerMinute(60, 2),
	})
	for i, want := range []int{404, 405, 429, 429} {
		method, path := "GET", "/v1/nowhere/"+fmt.Sprint(i)
		if i == 1 {
			method, path = "PATCH", "/v1/patients"
		}
		reqID := fmt.Sprintf("probe-%d-%s", i, uuid.NewString())
		r := call(t, srv, method, path, "", "", "X-Request-Id", reqID)
		if r.status != want {
			t.Fatalf("probe %d: %d %s, want %d", i, r.status, r.body, want)
		}
		if recs := records(reqID); len(recs) != 1 || recs[0].Status != want {
			t.Fatalf("probe %d audit: %+v", i, recs)
		}
	}
	// Outside /v1 nothing is limited.
	if r := call(t, srv, "GET", "/elsewhere", "", ""); r.status != 404 {
		t.Fatalf("/elsewhere: %d", r.status)
	}
}

// TestLocationEscapesCallerChosenIDs: a Location header is one escaped path
// segment per id.
func TestLocationEscapesCallerChosenIDs(t *testing.T) {
	for id, want := range map[string]string{
		"ward-7.fast": "/v1/notifications/policies/ward-7.fast",
		"../../v1/x":  "/v1/notifications/policies/..%2F..%2Fv1%2Fx",
		"a b?c#d":     "/v1/notifications/policies/a%20b%3Fc%23d",
	} {
		if got := location("/v1/notifications/policies", id); got != want {
			t.Errorf("location(%q) = %q, want %q", id, got, want)
		}
		if u, err := url.Parse(location("/v1/notifications/policies", id)); err != nil || u.Path != "/v1/notifications/policies/"+id {
			t.Errorf("location(%q) does not decode back: %v %v", id, u, err)
		}
	}
	srv := newTestAPI(t)
	r := call(t, srv, "POST", "/v1/notifications/policies", adminToken,
		`{"id":"ward-7.fast","levels":[{"recipients":[{"kind":"on-call","role":"nurse"}],"channels":["inapp"],"ackTimeoutSeconds":60}]}`)
	if r.status != http.StatusCreated || r.header.Get("Location") != "/v1/notifications/policies/ward-7.fast" {
		t.Fatalf("create policy: %d %s %v", r.status, r.body, r.header)
	}
	if r := call(t, srv, "GET", r.header.Get("Location"), adminToken, ""); r.status != http.StatusOK {
		t.Fatalf("follow Location: %d %s", r.status, r.body)
	}
}

func TestTextProblem(t *testing.T) {
	for s, bad := range map[string]bool{
		"": false, "plain": false, "tab\tline\nreturn\r": false, "জোসে José 🩺": false, "\uFFFD": false,
		"a\x00": true, "\x07": true, "\x7f": true, "\u0085": true, "\u009f": true, "\xff": true, "\xed\xa0\x80": true,
	} {
		if got := textProblem(s) != ""; got != bad {
			t.Errorf("textProblem(%q) refuses: %v, want %v", s, got, bad)
		}
	}
	if got := printable("a\x00b\xffc\td"); got != "a\uFFFDb\uFFFDc\td" {
		t.Errorf("printable = %q", got)
	}
	if got := truncate("ক"+strings.Repeat("x", 10), 2); got != "" {
		t.Errorf("truncate splits a character: %q", got)
	}
}

func TestUnpairedSurrogate(t *testing.T) {
	for raw, want := range map[string]bool{
		`"a"`: false, `"\ud83e\ude7a"`: false, `"\\ud800"`: false, `"\u00e9"`: false,
		`"\ud800"`: true, `"\udc00"`: true, `"\ud83ex"`: true, `"\ud83e\u0041"`: true,
	} {
		if got := unpairedSurrogate([]byte(raw)); got != want {
			t.Errorf("unpairedSurrogate(%s) = %v", raw, got)
		}
	}
}

// A local code (a unit, a location, an alert category or source, a
// submitted event's entity type) takes letters with their marks, digits,
// spaces and a few signs, in any script; quotes, angle brackets,
// semicolons, control characters, a leading sign and a trailing space are
// refused in words, not by the pattern's name. Every local code of the
// OpenAPI document has the same pattern.
func TestLocalCodes(t *testing.T) {
	doc, err := LoadOpenAPI()
	if err != nil {
		t.Fatal(err)
	}
	codes := map[string]bool{} // the local codes' patterns
	message, fields := "", 0
	var walk func(s *openapi3.Schema, seen map[*openapi3.Schema]bool)
	walk = func(s *openapi3.Schema, seen map[*openapi3.Schema]bool) {
		if s == nil || seen[s] {
			return
		}
		seen[s] = true
		if m, ok := s.Extensions["x-pattern-message"].(string); ok && strings.Contains(m, "local code") {
			codes[s.Pattern], message = true, m
			fields++
		}
		for _, p := range s.Properties {
			walk(p.Value, seen)
		}
		if s.Items != nil {
			walk(s.Items.Value, seen)
		}
	}
	for _, item := range doc.Paths.Map() {
		for _, op := range item.Operations() {
			if op.RequestBody == nil {
				continue
			}
			for _, mt := range op.RequestBody.Value.Content {
				walk(mt.Schema.Value, map[*openapi3.Schema]bool{})
			}
		}
	}
	if len(codes) != 1 || fields < 11 {
		t.Fatalf("%d local codes with %d patterns, want at least 11 with one: %v", fields, len(codes), codes)
	}
	var re *regexp.Regexp
	for p := range codes {
		if re = pattern(p); re == nil {
			t.Fatalf("%q does not compile", p)
		}
	}
	for _, ok := range []string{"", "ward-7", "ED Majors", "icu/bed-3", "Station Ü", "news2-high", "e2e/lab", "3WEST#2",
		"lab:critical", "vital_signs", "cardiology (day)", "C++", "Patient", "ওয়ার্ড-৩"} {
		if !re.MatchString(ok) {
			t.Errorf("%q refused as a local code", ok)
		}
	}
	for _, bad := range []string{"'; DROP TABLE patients;--", "<b>ward</b>", "ward\r\nX-Injected: 1", "-ward", " ward", "ward ",
		"ward;7", "ward\x007", `ward"7`, "ward\t7", "wärd\u202e"} {
		if re.MatchString(bad) {
			t.Errorf("%q taken as a local code", bad)
		}
	}

	// Refused at the edge in words.
	in := &inputCheck{}
	in.limits("unit", "ward;7", &openapi3.Schema{Pattern: re.String(), Extensions: map[string]any{"x-pattern-message": message}})
	if len(in.problems) != 1 || in.problems[0].Message != message {
		t.Fatalf("refusal %+v, want %q", in.problems, message)
	}
}
