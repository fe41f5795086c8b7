package console

import (
	"encoding/json"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

// signInAt signs nurse Nadia's session in to a console over h, whose token
// and userinfo routes are fe's, starting at page; it returns the server
// and the browser.
func signInAt(t *testing.T, h http.Handler, fe *fakeEngine, page string) (*httptest.Server, *http.Client) {
	t.Helper()
	return signInWith(t, Options{Engine: h}, fe, page)
}

// signInWith is signInAt with the console's options (its engine among
// them); the clock is 25 November 2026, 08:00 UTC.
func signInWith(t *testing.T, opts Options, fe *fakeEngine, page string) (*httptest.Server, *http.Client) {
	t.Helper()
	opts.Now = func() time.Time { return time.Date(2026, 11, 25, 8, 0, 0, 0, time.UTC) }
	c, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(c)
	t.Cleanup(srv.Close)
	jar, _ := cookiejar.New(nil)
	browser := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res := get(t, browser, srv.URL+page)
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/console/login?next="+url.QueryEscape(page) {
		t.Fatalf("%s before sign-in: %d %s", page, res.StatusCode, res.Header.Get("Location"))
	}
	res = get(t, browser, srv.URL+res.Header.Get("Location"))
	loc, _ := url.Parse(res.Header.Get("Location"))
	if got := strings.Fields(loc.Query().Get("scope")); strings.Join(got, " ") != strings.Join(Scopes, " ") {
		t.Errorf("the console asks for %v, want %v", got, Scopes)
	}
	fe.challenge = loc.Query().Get("code_challenge")
	res = get(t, browser, srv.URL+"/console/callback?code=code-1&state="+url.QueryEscape(loc.Query().Get("state")))
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != page {
		t.Fatalf("callback: %d %s", res.StatusCode, res.Header.Get("Location"))
	}
	return srv, browser
}

const (
	labReportID = "0193e000-0000-7000-8000-000000000001"
	labFlagID   = "0193d000-0000-7000-8000-000000000009/2160-0/aki"
)

// labEngine answers the laboratory queue's routes: one preliminary
// creatinine report with an AKI delta flag, and a final potassium report
// whose critical callback is open. Sign-in is the ward board's fake.
type labEngine struct {
	*fakeEngine
	mu       sync.Mutex
	reviewed string
	verified bool
	queries  []url.Values
}

func (f *labEngine) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	send := func(status int, v any) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_ = json.NewEncoder(w).Encode(v)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	switch r.Method + " " + r.URL.Path {
	case "GET /v1/diagnostics/reports":
		q := r.URL.Query()
		f.queries = append(f.queries, q)
		var data []any
		switch q.Get("status") {
		case "preliminary":
			if !f.verified {
				var review any
				if f.reviewed != "" {
					review = map[string]any{"note": f.reviewed}
				}
				data = append(data, map[string]any{
					"order":  map[string]any{"id": labReportID, "patientId": "pat-1", "priority": "urgent", "items": []any{map[string]any{"code": "2160-0", "display": "Creatinine"}}},
					"status": "preliminary", "resultedAt": "2026-11-25T07:30:00Z",
					"results": []any{map[string]any{"observationId": "0193d000-0000-7000-8000-000000000009", "code": "2160-0", "display": "Creatinine",
						"value": map[string]any{"quantity": map[string]any{"value": 182, "unit": "umol/L"}}, "flag": "H"}},
					"flags": []any{map[string]any{"id": labFlagID, "code": "2160-0", "delta": map[string]any{"message": "Creatinine 1.8 times the lowest of 7 days: AKI stage 1"}, "review": review}},
				})
			}
		case "final":
			data = append(data, map[string]any{
				"order":  map[string]any{"id": report, "patientId": "pat-1", "priority": "routine"},
				"status": "final",
				"results": []any{map[string]any{"observationId": observation, "code": "2823-3", "display": "Potassium",
					"value": map[string]any{"quantity": map[string]any{"value": 6.8, "unit": "mmol/L"}}, "flag": "HH"}},
				"callbacks": []any{map[string]any{"observationId": observation, "code": "2823-3", "raisedAt": "2026-11-25T07:41:00Z",
					"attempts": []any{map[string]any{"at": "2026-11-25T07:45:00Z"}}}},
			})
		}
		send(http.StatusOK, map[string]any{"data": data})
	case "POST /v1/diagnostics/reports/" + labReportID + "/flags/" + strings.ReplaceAll(labFlagID, "/", "~") + "/review":
		var b struct{ Note string }
		_ = json.NewDecoder(r.Body).Decode(&b)
		f.reviewed = b.Note
		send(http.StatusOK, map[string]any{})
	case "POST /v1/diagnostics/reports/" + labReportID + "/verify":
		if f.reviewed == "" {
			send(http.StatusConflict, map[string]string{"error": "FLAGS_UNREVIEWED", "message": "1 flag is not reviewed"})
			return
		}
		f.verified = true
		send(http.StatusOK, map[string]any{})
	default:
		f.mu.Unlock()
		f.fakeEngine.ServeHTTP(w, r)
		f.mu.Lock()
	}
}

func TestLaboratoryQueueReviewsTheFlagThenVerifies(t *testing.T) {
	f := &labEngine{fakeEngine: &fakeEngine{t: t, acked: map[string]bool{}, resolved: map[string]string{}}}
	srv, browser := signInAt(t, f, f.fakeEngine, labPath)
	page := body(get(t, browser, srv.URL+labPath))
	for _, want := range []string{
		"Critical callbacks outstanding (1)", "<strong>Potassium</strong> critical for", "1 call attempt",
		"Awaiting verification (1)", "Creatinine for Amina Rahmán", "182 umol/L", "AKI stage 1",
		`id="review-` + strings.ReplaceAll(labFlagID, "/", "~") + `"`, "Review every flag before verifying.",
	} {
		if !strings.Contains(page, want) {
			t.Errorf("the queue lacks %q:\n%s", want, page)
		}
	}
	if strings.Contains(page, `id="verify-`+labReportID+`"`) {
		t.Error("Verify is offered before the flag is reviewed")
	}
	for _, q := range f.queries {
		if q.Get("category") != "laboratory" || q.Get("from") == "" {
			t.Errorf("reports read with %v", q)
		}
	}
	csrf := csrfOf(t, page)
	review := srv.URL + "/console/reports/" + labReportID + "/flags/" + url.PathEscape(strings.ReplaceAll(labFlagID, "/", "~")) + "/review"
	if res, _ := postForm(t, browser, review, url.Values{"csrf": {"forged"}, "note": {"x"}}); res.StatusCode != http.StatusForbidden || f.reviewed != "" {
		t.Fatalf("a forged review: %d, engine got %q", res.StatusCode, f.reviewed)
	}
	res, _ := postForm(t, browser, review, url.Values{"csrf": {csrf}, "note": {"Known CKD; discussed with the renal team"}})
	if res.StatusCode != http.StatusSeeOther || f.reviewed != "Known CKD; discussed with the renal team" {
		t.Fatalf("review: %d, engine got %q", res.StatusCode, f.reviewed)
	}
	page = body(get(t, browser, srv.URL+labPath))
	if !strings.Contains(page, `id="verify-`+labReportID+`"`) || !strings.Contains(page, "Reviewed:</span> Known CKD") {
		t.Fatalf("after the review:\n%s", page)
	}
	res, _ = postForm(t, browser, srv.URL+"/console/reports/"+labReportID+"/verify", url.Values{"csrf": {csrf}})
	if res.StatusCode != http.StatusSeeOther || !f.verified {
		t.Fatalf("verify: %d", res.StatusCode)
	}
	if page := body(get(t, browser, srv.URL+labPath)); !strings.Contains(page, "No report waits for verification.") {
		t.Fatalf("after verification:\n%s", page)
	}
}

func TestLaboratoryQueueShowsTheEnginesRefusal(t *testing.T) {
	f := &labEngine{fakeEngine: &fakeEngine{t: t, acked: map[string]bool{}, resolved: map[string]string{}}}
	srv, browser := signInAt(t, f, f.fakeEngine, labPath)
	csrf := csrfOf(t, body(get(t, browser, srv.URL+labPath)))
	res, page := postForm(t, browser, srv.URL+"/console/reports/"+labReportID+"/verify", url.Values{"csrf": {csrf}})
	if res.StatusCode != http.StatusConflict || !strings.Contains(page, "1 flag is not reviewed") || f.verified {
		t.Fatalf("verify before the review: %d %s", res.StatusCode, page)
	}
}
