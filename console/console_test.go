package console

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

const (
	mine   = "0193a000-0000-7000-8000-000000000001"
	theirs = "0193a000-0000-7000-8000-000000000002"
	// critical is a critical laboratory value's alert to Nadia, about
	// report; its result is observation.
	critical    = "0193a000-0000-7000-8000-000000000003"
	report      = "0193c000-0000-7000-8000-000000000001"
	observation = "0193d000-0000-7000-8000-000000000001"
)

// fakeEngine answers the API routes the console calls, as the engine would
// for nurse Nadia on ward-3 with one patient whose NEWS2 is 7.
type fakeEngine struct {
	t         *testing.T
	mu        sync.Mutex
	challenge string
	acked     map[string]bool
	resolved  map[string]string
	readBack  []string
	revoked   []string
	calls     []string
}

func (f *fakeEngine) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	f.calls = append(f.calls, r.Method+" "+r.URL.Path)
	f.mu.Unlock()
	send := func(status int, v any) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_ = json.NewEncoder(w).Encode(v)
	}
	if !strings.HasPrefix(r.URL.Path, "/v1/auth/oauth2/") && r.Header.Get("Authorization") != "Bearer at-1" {
		send(http.StatusUnauthorized, map[string]string{"error": "UNAUTHORIZED", "message": "no token"})
		return
	}
	if r.RemoteAddr == "" {
		f.t.Errorf("%s %s carries no client address", r.Method, r.URL.Path)
	}
	q := r.URL.Query()
	switch r.Method + " " + r.URL.Path {
	case "POST /v1/auth/oauth2/token":
		_ = r.ParseForm()
		sum := sha256.Sum256([]byte(r.PostForm.Get("code_verifier")))
		if r.PostForm.Get("client_id") != ClientID || r.PostForm.Get("code") != "code-1" ||
			base64.RawURLEncoding.EncodeToString(sum[:]) != f.challenge ||
			!strings.HasSuffix(r.PostForm.Get("redirect_uri"), CallbackPath) {
			send(http.StatusBadRequest, map[string]string{"error": "invalid_grant"})
			return
		}
		send(http.StatusOK, map[string]any{"access_token": "at-1", "refresh_token": "rt-1", "expires_in": 3600, "token_type": "bearer"})
	case "POST /v1/temporal/codec/decode":
		// The engine's codec: the payloads come back marked with the
		// namespace, so the test sees what reached it.
		raw, _ := io.ReadAll(r.Body)
		send(http.StatusOK, map[string]string{"namespace": r.Header.Get("X-Namespace"), "sent": string(raw)})
	case "POST /v1/auth/oauth2/revoke":
		_ = r.ParseForm()
		f.mu.Lock()
		f.revoked = append(f.revoked, r.PostForm.Get("token"))
		f.mu.Unlock()
		w.WriteHeader(http.StatusOK)
	case "GET /v1/auth/userinfo":
		send(http.StatusOK, map[string]string{"sub": "u-1", "name": "Nadia Akter (nurse)", "fhirUser": "Practitioner/p-nadia"})
	case "GET /v1/clinical/encounters":
		var data []any
		if q.Get("location") == "ward-3" && q.Get("status") == "in-progress" {
			data = append(data, map[string]any{"id": "e-1", "patientId": "pat-1", "status": "in-progress",
				"createdAt": "2026-11-25T06:00:00Z", "startedAt": "2026-11-25T07:00:00Z"})
		}
		send(http.StatusOK, map[string]any{"data": data})
	case "GET /v1/patients/pat-1":
		send(http.StatusOK, map[string]any{"mrn": "1000017", "name": map[string]any{"given": []string{"Amina"}, "family": "Rahmán"}})
	case "GET /v1/observations/news2":
		send(http.StatusOK, map[string]any{"status": "complete", "total": 7, "risk": "high", "windowEnd": "2026-11-25T07:40:00Z",
			"response": map[string]any{"continuous": true}})
	case "GET /v1/medications/prescriptions":
		var data []any
		if q.Get("status") == "on-hold" && q.Get("patientId") == "" {
			data = append(data, map[string]any{"details": map[string]any{"id": "rx-1", "patientId": "pat-1", "drug": map[string]any{"name": "warfarin"}},
				"status": "on-hold"})
		}
		send(http.StatusOK, map[string]any{"data": data})
	case "GET /v1/clinical/care-plans":
		var data []any
		if q.Get("overdue") == "true" && q.Get("patientId") == "" {
			data = append(data, map[string]any{"id": "cp-1", "patientId": "pat-1", "title": "Pressure care", "status": "active", "activities": []any{
				map[string]any{"title": "Turn every 2 hours", "status": "scheduled", "schedule": map[string]any{"dueAt": "2026-11-25T07:00:00Z"}},
				map[string]any{"title": "Not due yet", "status": "scheduled", "schedule": map[string]any{"dueAt": "2026-11-25T09:00:00Z"}},
				map[string]any{"title": "Done already", "status": "completed", "schedule": map[string]any{"dueAt": "2026-11-25T06:00:00Z"}},
			}})
		}
		send(http.StatusOK, map[string]any{"data": data})
	case "GET /v1/notifications/alerts":
		f.mu.Lock()
		var data []any
		for _, id := range []string{mine, theirs, critical} {
			status := "open"
			if f.acked[id] {
				status = "acknowledged"
			}
			if _, ok := f.resolved[id]; ok || (id == critical && len(f.readBack) > 0 && f.readBack[len(f.readBack)-1] == "6.8 mmol/L") {
				continue
			}
			category, source, message := "news2-high", "news2", "NEWS2 7"
			if id == critical {
				category, source, message = "critical-result", "diagnostic/"+report, "Critical potassium 6.8 mmol/L"
			}
			// Nadia was notified of hers and of the critical result, not of
			// the other alert.
			if q.Get("recipient") != "" && (q.Get("recipient") != "p-nadia" || id == theirs) {
				continue
			}
			if q.Get("active") == "true" {
				data = append(data, map[string]any{"id": id, "severity": "critical", "category": category, "message": message,
					"source": source, "status": status, "level": 1, "raisedAt": "2026-11-25T07:41:00Z"})
			}
		}
		f.mu.Unlock()
		send(http.StatusOK, map[string]any{"data": data})
	case "GET /v1/notifications/alerts/" + mine:
		send(http.StatusOK, map[string]any{"id": mine, "status": "open", "deliveries": []any{map[string]string{"practitionerId": "p-nadia"}}})
	case "GET /v1/notifications/alerts/" + critical:
		send(http.StatusOK, map[string]any{"id": critical, "status": "open", "category": "critical-result", "source": "diagnostic/" + report,
			"message": "Critical potassium 6.8 mmol/L", "raisedAt": "2026-11-25T07:41:00Z",
			"deliveries": []any{map[string]string{"practitionerId": "p-nadia"}}})
	case "GET /v1/diagnostics/reports/" + report:
		outcome := ""
		if len(f.readBack) > 0 && f.readBack[len(f.readBack)-1] == "6.8 mmol/L" {
			outcome = "read-back"
		}
		send(http.StatusOK, map[string]any{"order": map[string]any{"id": report, "patientId": "pat-1"}, "status": "final",
			"results":   []any{map[string]any{"observationId": observation, "code": "2823-3", "display": "Potassium"}},
			"callbacks": []any{map[string]any{"observationId": observation, "code": "2823-3", "raisedAt": "2026-11-25T07:41:00Z", "outcome": outcome}}})
	case "POST /v1/diagnostics/reports/" + report + "/callbacks/" + observation + "/read-back":
		var b struct{ Value string }
		_ = json.NewDecoder(r.Body).Decode(&b)
		f.mu.Lock()
		f.readBack = append(f.readBack, b.Value)
		f.mu.Unlock()
		if b.Value != "6.8 mmol/L" {
			send(http.StatusUnprocessableEntity, map[string]string{"error": "READBACK_MISMATCH", "message": "read back " + b.Value + ", the result is 6.8 mmol/L"})
			return
		}
		send(http.StatusOK, map[string]any{})
	case "POST /v1/notifications/alerts/" + mine + "/resolve":
		var b struct{ Note string }
		_ = json.NewDecoder(r.Body).Decode(&b)
		f.mu.Lock()
		f.resolved[mine] = b.Note
		f.mu.Unlock()
		send(http.StatusOK, map[string]any{"id": mine, "status": "resolved"})
	case "GET /v1/notifications/alerts/" + theirs:
		send(http.StatusOK, map[string]any{"id": theirs, "status": "open", "deliveries": []any{map[string]string{"practitionerId": "p-other"}}})
	case "POST /v1/notifications/alerts/" + mine + "/acknowledge":
		f.mu.Lock()
		f.acked[mine] = true
		f.mu.Unlock()
		send(http.StatusOK, map[string]any{"id": mine, "status": "acknowledged"})
	case "POST /v1/notifications/alerts/" + theirs + "/acknowledge":
		send(http.StatusForbidden, map[string]string{"error": "NOT_A_RECIPIENT", "message": "Only a practitioner notified of this alert may acknowledge it."})
	case "GET /v1/notifications/stream":
		w.Header().Set("Content-Type", "text/event-stream")
		w.WriteHeader(http.StatusOK)
		_, _ = io.WriteString(w, "id: n-1\nevent: notification\ndata: {\"id\":\"n-1\"}\n\n")
		w.(http.Flusher).Flush()
		<-r.Context().Done()
	default:
		send(http.StatusNotFound, map[string]string{"error": "NOT_FOUND"})
	}
}

// signedInClient signs nurse Nadia in to a console over the fake engine and
// returns the browser (a cookie jar that follows no redirects).
func signedInClient(t *testing.T, configure ...func(*Options)) (*httptest.Server, *http.Client, *fakeEngine) {
	t.Helper()
	f := &fakeEngine{t: t, acked: map[string]bool{}, resolved: map[string]string{}}
	opts := Options{Engine: f, Now: func() time.Time { return time.Date(2026, 11, 25, 8, 0, 0, 0, time.UTC) }}
	for _, fn := range configure {
		fn(&opts)
	}
	c, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(c)
	t.Cleanup(srv.Close)
	jar, _ := cookiejar.New(nil)
	browser := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

	res := get(t, browser, srv.URL+"/console/wards/ward-3")
	if res.StatusCode != http.StatusSeeOther || !strings.HasPrefix(res.Header.Get("Location"), "/console/login?next=") {
		t.Fatalf("board before sign-in: %d %s", res.StatusCode, res.Header.Get("Location"))
	}
	res = get(t, browser, srv.URL+res.Header.Get("Location"))
	loc, _ := url.Parse(res.Header.Get("Location"))
	a := loc.Query()
	if res.StatusCode != http.StatusSeeOther || loc.Path != "/v1/auth/oauth2/authorize" || a.Get("client_id") != ClientID ||
		a.Get("code_challenge_method") != "S256" || a.Get("redirect_uri") != srv.URL+CallbackPath || len(a.Get("state")) < 20 {
		t.Fatalf("login redirect: %d %s", res.StatusCode, loc)
	}
	ck := cookieOf(res, loginCookie)
	if ck == nil || !ck.HttpOnly || ck.SameSite != http.SameSiteLaxMode || ck.MaxAge <= 0 || ck.Path != "/console" {
		t.Fatalf("login cookie: %+v", ck)
	}
	f.challenge = a.Get("code_challenge")

	if res := get(t, browser, srv.URL+"/console/callback?code=code-1&state=forged"); res.StatusCode != http.StatusBadRequest {
		t.Fatalf("callback with another state: %d", res.StatusCode)
	}
	// The refused callback spent the login cookie: start again.
	res = get(t, browser, srv.URL+"/console/login?next=/console/wards/ward-3")
	loc, _ = url.Parse(res.Header.Get("Location"))
	f.challenge = loc.Query().Get("code_challenge")
	res = get(t, browser, srv.URL+"/console/callback?code=code-1&state="+url.QueryEscape(loc.Query().Get("state")))
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/console/wards/ward-3" {
		t.Fatalf("callback: %d %s %s", res.StatusCode, res.Header.Get("Location"), body(res))
	}
	ck = cookieOf(res, sessionCookie)
	if ck == nil || !ck.HttpOnly || ck.SameSite != http.SameSiteStrictMode || strings.Contains(ck.Value, "at-1") {
		t.Fatalf("session cookie: %+v", ck)
	}
	return srv, browser, f
}

func get(t *testing.T, c *http.Client, u string) *http.Response {
	t.Helper()
	res, err := c.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { res.Body.Close() })
	return res
}

func body(res *http.Response) string {
	b, _ := io.ReadAll(res.Body)
	return string(b)
}

func cookieOf(res *http.Response, name string) *http.Cookie {
	for _, c := range res.Cookies() {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// csrfOf is the CSRF token of the page's forms.
func csrfOf(t *testing.T, page string) string {
	t.Helper()
	const mark = `name="csrf" value="`
	i := strings.Index(page, mark)
	if i < 0 {
		t.Fatalf("no CSRF field on the page:\n%s", page)
	}
	rest := page[i+len(mark):]
	return rest[:strings.IndexByte(rest, '"')]
}

func TestBoardShowsThePatientAndAcknowledgesInOneClick(t *testing.T) {
	srv, browser, f := signedInClient(t)
	res := get(t, browser, srv.URL+"/console/wards/ward-3")
	page := body(res)
	if res.StatusCode != http.StatusOK {
		t.Fatalf("board: %d %s", res.StatusCode, page)
	}
	for _, want := range []string{
		`<tr id="patient-pat-1" class="patient news2-high" data-risk="high">`, "Amina Rahmán", "1000017", "In progress",
		`<strong class="score">7</strong> High risk`, "1 h 00 min", `id="ack-` + mine + `"`, "Nadia Akter (nurse)",
	} {
		if !strings.Contains(page, want) {
			t.Errorf("the board lacks %q:\n%s", want, page)
		}
	}
	if strings.Contains(page, `id="ack-`+theirs+`"`) {
		t.Error("an alert the nurse did not receive has an Acknowledge button")
	}
	if csp := res.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") || !strings.Contains(csp, "frame-ancestors 'none'") {
		t.Errorf("CSP %q", csp)
	}
	csrf := csrfOf(t, page)

	post := func(id, token string) *http.Response {
		t.Helper()
		res, err := browser.PostForm(srv.URL+"/console/alerts/"+id+"/ack", url.Values{"csrf": {token}, "unit": {"ward-3"}})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { res.Body.Close() })
		return res
	}
	// Without the session's CSRF token nothing reaches the engine.
	if res := post(mine, "forged"); res.StatusCode != http.StatusForbidden || !strings.Contains(body(res), "nothing was acknowledged") {
		t.Fatalf("ack with a forged CSRF token: %d", res.StatusCode)
	}
	for _, call := range f.calls {
		if strings.HasSuffix(call, "/acknowledge") {
			t.Fatalf("a forged form reached the engine: %s", call)
		}
	}
	// Someone else's alert: the engine refuses, the board says so.
	res = post(theirs, csrf)
	if page := body(res); res.StatusCode != http.StatusForbidden || !strings.Contains(page, `role="alert"`) ||
		!strings.Contains(page, "you are not one of this alert") {
		t.Fatalf("ack of someone else's alert: %d %s", res.StatusCode, page)
	}
	// Her own: done, back to the board, where it shows acknowledged.
	res = post(mine, csrf)
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/console/wards/ward-3" {
		t.Fatalf("ack: %d %s", res.StatusCode, body(res))
	}
	res = get(t, browser, srv.URL+"/console/wards/ward-3/rows")
	rows := body(res)
	if !strings.HasPrefix(rows, `<tbody id="rows"`) || !strings.Contains(rows, `<li id="alert-`+mine+`" class="alert sev-critical" data-status="acknowledged">`) ||
		strings.Contains(rows, `id="ack-`+mine+`"`) || strings.Contains(rows, "<html") {
		t.Fatalf("rows after the acknowledgement: %s", rows)
	}

	// Sign out: CSRF-protected, the tokens revoked, the cookie cleared.
	res, err := browser.PostForm(srv.URL+"/console/logout", url.Values{"csrf": {"forged"}})
	if err != nil || res.StatusCode != http.StatusForbidden {
		t.Fatalf("logout with a forged token: %v %d", err, res.StatusCode)
	}
	res, err = browser.PostForm(srv.URL+"/console/logout", url.Values{"csrf": {csrf}})
	if err != nil || res.StatusCode != http.StatusOK {
		t.Fatalf("logout: %v %d", err, res.StatusCode)
	}
	if ck := cookieOf(res, sessionCookie); ck == nil || ck.MaxAge >= 0 {
		t.Errorf("logout leaves the session cookie: %+v", ck)
	}
	if fmt.Sprint(f.revoked) != "[rt-1 at-1]" {
		t.Errorf("revoked %v", f.revoked)
	}
	if res := get(t, browser, srv.URL+"/console/wards/ward-3/rows"); res.StatusCode != http.StatusUnauthorized {
		t.Errorf("rows after sign-out: %d", res.StatusCode)
	}
}

func TestEventsRelayTheInboxAsRefreshes(t *testing.T) {
	srv, browser, _ := signedInClient(t)
	res := get(t, browser, srv.URL+"/console/wards/ward-3/events")
	if res.StatusCode != http.StatusOK || res.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("events: %d %s", res.StatusCode, res.Header.Get("Content-Type"))
	}
	got := make(chan string, 1)
	go func() {
		buf := make([]byte, 256)
		var all string
		for !strings.Contains(all, "event: refresh") {
			n, err := res.Body.Read(buf)
			all += string(buf[:n])
			if err != nil {
				break
			}
		}
		got <- all
	}()
	select {
	case s := <-got:
		if !strings.Contains(s, "retry: ") || !strings.Contains(s, "event: refresh\ndata: {}\n\n") || strings.Contains(s, "n-1") {
			t.Fatalf("stream: %q", s)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no refresh event")
	}
}

func TestRelayedCountsEventsNotComments(t *testing.T) {
	n := 0
	relayed(strings.NewReader(": keep-alive\n\nid: 1\nevent: notification\ndata: {}\n\n: keep-alive\n\ndata: a\ndata: b\n\n"), func() { n++ })
	if n != 2 {
		t.Fatalf("%d events, want 2", n)
	}
}
