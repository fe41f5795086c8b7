package main

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
	"github.com/pquerna/otp/totp"

	"github.com/zarish-sphere/zarish/integrations/auth"
	"github.com/zarish-sphere/zarish/integrations/postgres"
)

// chromiumPath finds Debian's chromium. Outside CI a machine without it
// skips the browser test; in CI (CI set) its absence fails it.
func chromiumPath(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Fatal("chromium is not installed: `make test` (scripts/ensure-services.sh --with-chromium) installs it; the sign-in test never skips")
	return ""
}

// browserContext starts headless Chromium with a fresh profile.
func browserContext(t *testing.T) context.Context {
	t.Helper()
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromiumPath(t)),
		chromedp.Flag("headless", true),
		chromedp.Flag("no-sandbox", true),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()),
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx, chromedp.WithLogf(func(string, ...any) {}))
	t.Cleanup(func() { cancel(); cancelAlloc() })
	// The page needs no script: run it with JavaScript off, as a browser
	// that blocks scripts would.
	noScript := chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		_, err := cdp.Call(ctx, tg, emulation.SetScriptExecutionDisabled, emulation.SetScriptExecutionDisabledParams{Value: true})
		return err
	})
	if err := chromedp.Do(ctx, noScript); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	return ctx
}

// callbackServer is the third-party app's redirect endpoint: it keeps the
// query of each redirect back from the sign-in.
type callbackServer struct {
	URL string
	got chan url.Values
}

func startCallback(t *testing.T) *callbackServer {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cb := &callbackServer{URL: "http://" + l.Addr().String() + "/callback", got: make(chan url.Values, 4)}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		cb.got <- r.URL.Query()
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = io.WriteString(w, `<!DOCTYPE html><title>Signed in</title><p id="done">Back in the app.</p>`)
	})}
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() { _ = srv.Close() })
	return cb
}

// TestEndToEndSignInInBrowser drives the sign-in page in headless Chromium
// against the dev stack: a pharmacist (whose role requires a second factor)
// signs in and enrols TOTP, signs in again with a code, consents for a
// third-party app, which exchanges the code with PKCE, calls the API,
// refreshes, and revokes the session — after which its token is refused. A
// physician signs in beside her and prescribes from his own token; she
// verifies the prescription from hers.
func TestEndToEndSignInInBrowser(t *testing.T) {
	ctx := browserContext(t)
	e := startE2E(t, devConfig(t))
	cb := startCallback(t)

	// A third-party app: public, PKCE, consent required.
	pool, err := openDatabase(context.Background(), e.cfg.Database, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	app, err := auth.NewAppClient(auth.AppClient{ID: "partner-app", Name: "Partner Pharmacy App", RedirectURIs: []string{cb.URL},
		Scopes: []string{"openid", "profile", "fhirUser", "offline_access", "user/*.*"}})
	if err != nil {
		t.Fatal(err)
	}
	if err := postgres.NewOAuthStore(pool).CreateClient(context.Background(), app); err != nil {
		t.Fatal(err)
	}
	// A patient the pharmacist will read.
	admin := e.token(devClientID, "dev-secret", "")
	r := e.do(http.MethodPost, "/v1/patients", admin, amina())
	var patient patientJSON
	r.json(t, &patient)
	if r.status != http.StatusCreated {
		t.Fatalf("register patient: %d %s", r.status, r.body)
	}

	verifier := "e2e-pkce-verifier-" + strings.Repeat("0123456789", 4)
	sum := sha256.Sum256([]byte(verifier))
	authorizeURL := e.stack.APIURL + "/v1/auth/oauth2/authorize?" + url.Values{
		"response_type": {"code"}, "client_id": {"partner-app"}, "redirect_uri": {cb.URL},
		"scope": {"openid profile fhirUser offline_access user/*.*"}, "state": {"e2e-state-0123"}, "nonce": {"e2e-nonce-0123"},
		"code_challenge": {base64.RawURLEncoding.EncodeToString(sum[:])}, "code_challenge_method": {"S256"},
	}.Encode()
	const username, password = "pharm.farhana", "demo-password-pharmacist"
	fail := func(what string, err error) {
		t.Helper()
		html, _ := chromedp.Run(ctx, chromedp.OuterHTML(chromedp.CSS("html")))
		t.Fatalf("%s: %v\npage: %s", what, err, html)
	}
	run := func(what string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		tctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		if err := chromedp.Do(tctx, actions...); err != nil {
			fail(what, err)
		}
	}
	text := func(what string, sel chromedp.ID) string {
		t.Helper()
		tctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		v, err := chromedp.Run(tctx, chromedp.Text(sel))
		if err != nil {
			fail(what, err)
		}
		return v
	}
	submit := chromedp.Click(chromedp.CSS(`button[type="submit"]`))

	// 1. Sign in; the role requires a second factor: enrol it.
	run("sign in", chromedp.Navigate(authorizeURL),
		chromedp.WaitVisible(chromedp.CSS(`label[for="username"]`)),
		chromedp.WaitVisible(chromedp.CSS(`label[for="password"]`)),
		chromedp.SendKeys(chromedp.ID("username"), username),
		chromedp.SendKeys(chromedp.ID("password"), password),
		submit,
		chromedp.WaitVisible(chromedp.ID("totp-secret")),
	)
	secret, uri := text("TOTP key", "totp-secret"), text("TOTP URI", "totp-uri")
	if !strings.HasPrefix(uri, "otpauth://totp/") || !strings.Contains(uri, "secret="+secret) {
		t.Fatalf("enrolment shows %q for key %q", uri, secret)
	}
	run("QR code", chromedp.WaitVisible(chromedp.CSS(`img[alt^="QR code"]`)))
	code, err := totp.GenerateCode(secret, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	run("enrol", chromedp.SendKeys(chromedp.ID("code"), code), submit, chromedp.WaitVisible(chromedp.ID("recovery-codes")))
	recovery := text("recovery codes", "recovery-codes")
	if n := len(strings.Fields(recovery)); n != auth.RecoveryCodeCount {
		t.Fatalf("recovery codes shown: %q", recovery)
	}

	// 2. Sign in again, now with a code (the next time step's: this one's
	// was spent on the enrolment), and consent.
	next, err := totp.GenerateCode(secret, time.Now().Add(30*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	run("sign in with a code", chromedp.Navigate(authorizeURL),
		chromedp.WaitVisible(chromedp.ID("username")),
		chromedp.SendKeys(chromedp.ID("username"), username),
		chromedp.SendKeys(chromedp.ID("password"), password),
		submit,
		chromedp.WaitVisible(chromedp.CSS(`input[autocomplete="one-time-code"]`)),
		chromedp.SendKeys(chromedp.ID("code"), next),
		submit,
		chromedp.WaitVisible(chromedp.ID("scopes")),
	)
	consent := text("consent", "consent") + " " + text("scopes", "scopes")
	if !strings.Contains(consent, "Partner Pharmacy App") || !strings.Contains(consent, "MedicationRequest") {
		t.Fatalf("consent page: %s", consent)
	}
	run("consent", chromedp.Click(chromedp.CSS(`button[value="allow"]`)), chromedp.WaitVisible(chromedp.ID("done")))

	// 3. The app receives the code and exchanges it with the verifier.
	var q url.Values
	select {
	case q = <-cb.got:
	case <-time.After(10 * time.Second):
		t.Fatal("no redirect back to the app")
	}
	if q.Get("state") != "e2e-state-0123" || q.Get("code") == "" {
		t.Fatalf("callback: %v", q)
	}
	tk := e.userToken(url.Values{"grant_type": {"authorization_code"}, "client_id": {"partner-app"}, "code": {q.Get("code")},
		"redirect_uri": {cb.URL}, "code_verifier": {verifier}})
	if tk.Access == "" || tk.Refresh == "" || tk.ID == "" {
		t.Fatalf("tokens: %+v", tk)
	}

	// 4. The API: the pharmacist reads the patient; the audit names her.
	if r := e.do(http.MethodGet, "/v1/patients/"+patient.ID, tk.Access, nil); r.status != http.StatusOK {
		t.Fatalf("read with the user's token: %d %s", r.status, r.body)
	}
	r = e.do(http.MethodGet, "/v1/auth/userinfo", tk.Access, nil)
	var info struct {
		Sub      string `json:"sub"`
		FHIRUser string `json:"fhirUser"`
	}
	r.json(t, &info)
	if info.Sub == "" || info.FHIRUser != "Practitioner/"+demoPractitionerID(username).String() {
		t.Fatalf("userinfo: %s", r.body)
	}
	r = e.do(http.MethodGet, "/v1/audit/reports/user-activity?actor="+info.Sub, admin, nil)
	if r.status != http.StatusOK || !strings.Contains(string(r.body), patient.ID) || !strings.Contains(string(r.body), demoPractitionerID(username).String()) {
		t.Errorf("the audit trail does not name the pharmacist's read: %d %s", r.status, r.body)
	}

	// The physician signs in too (the same browser, its cookies cleared: a
	// clinician needs no second factor) and prescribes from his own token;
	// the signed-in pharmacist verifies it from hers.
	clearCookies := chromedp.Action[chromedp.Void](func(ctx context.Context, t *chromedp.Target) (chromedp.Void, error) {
		_, err := cdp.Call(ctx, t, network.ClearBrowserCookies, cdp.Empty{})
		return chromedp.Void{}, err
	})
	doctorURL := strings.Replace(authorizeURL, "e2e-state-0123", "e2e-state-doctor", 1)
	run("the physician signs in", clearCookies, chromedp.Navigate(doctorURL),
		chromedp.WaitVisible(chromedp.ID("username")),
		chromedp.SendKeys(chromedp.ID("username"), "dr.karim"),
		chromedp.SendKeys(chromedp.ID("password"), "demo-password-physician"),
		submit,
		chromedp.WaitVisible(chromedp.ID("scopes")),
	)
	run("the physician consents", chromedp.Click(chromedp.CSS(`button[value="allow"]`)), chromedp.WaitVisible(chromedp.ID("done")))
	for q = nil; q.Get("state") == ""; { // the browser's other requests (its icon) come too
		select {
		case q = <-cb.got:
		case <-time.After(10 * time.Second):
			t.Fatal("no redirect back to the app for the physician")
		}
	}
	if q.Get("state") != "e2e-state-doctor" {
		t.Fatalf("physician's callback: %v", q)
	}
	doctor := e.userToken(url.Values{"grant_type": {"authorization_code"}, "client_id": {"partner-app"}, "code": {q.Get("code")},
		"redirect_uri": {cb.URL}, "code_verifier": {verifier}})
	r = e.do(http.MethodPost, "/v1/medications/prescriptions", doctor.Access, map[string]any{
		"patientId": patient.ID, "medication": map[string]any{"name": "amoxicillin"}, "dose": map[string]any{"value": 500, "unit": "mg"},
		"route": "oral", "frequency": "tds", "durationDays": 5})
	var rx struct {
		Status  string `json:"status"`
		Details struct {
			ID           string `json:"id"`
			PrescriberID string `json:"prescriberId"`
		} `json:"details"`
		Findings []struct {
			ID       string `json:"id"`
			Blocking bool   `json:"blocking"`
		} `json:"findings"`
	}
	r.json(t, &rx)
	if r.status != http.StatusCreated || rx.Details.PrescriberID != demoPractitionerID("dr.karim").String() {
		t.Fatalf("the signed-in physician prescribes: %d %s", r.status, r.body)
	}
	if rx.Status == "on-hold" { // no creatinine on record: the renal check could not run
		reasons := map[string]string{}
		for _, f := range rx.Findings {
			if f.Blocking {
				reasons[f.ID] = "renal function normal last month"
			}
		}
		if r := e.do(http.MethodPost, "/v1/medications/prescriptions/"+rx.Details.ID+"/override", tk.Access,
			map[string]any{"reasons": reasons}); r.status != http.StatusOK {
			t.Fatalf("the pharmacist overrides: %d %s", r.status, r.body)
		}
	}
	r = e.do(http.MethodPost, "/v1/medications/prescriptions/"+rx.Details.ID+"/verify", tk.Access, map[string]any{})
	var verified struct {
		VerifiedBy string `json:"verifiedBy"`
	}
	r.json(t, &verified)
	if r.status != http.StatusOK || verified.VerifiedBy != demoPractitionerID(username).String() {
		t.Fatalf("the signed-in pharmacist verifies: %d %s", r.status, r.body)
	}

	// Every step of the sign-ins is in the trail, under her user id.
	r = e.do(http.MethodGet, "/v1/audit/events?limit=200&actor="+info.Sub, admin, nil)
	for _, want := range []string{"TOTP enrolment required by role", "TOTP authenticator enrolled", "TOTP code accepted", "consent given", "signed in (pwd+otp)", "token issued: authorization_code"} {
		if !strings.Contains(string(r.body), want) {
			t.Errorf("the audit trail lacks %q: %s", want, r.body)
		}
	}

	// 5. Refresh: a new pair; the old refresh token is spent.
	refreshed := e.userToken(url.Values{"grant_type": {"refresh_token"}, "client_id": {"partner-app"}, "refresh_token": {tk.Refresh}})
	if refreshed.Access == "" || refreshed.Refresh == tk.Refresh {
		t.Fatalf("refresh: %+v", refreshed)
	}
	r = e.do(http.MethodGet, "/v1/auth/sessions", refreshed.Access, nil)
	var sessions struct {
		Data []struct {
			ID      string `json:"id"`
			Current bool   `json:"current"`
		} `json:"data"`
	}
	r.json(t, &sessions)
	if r.status != http.StatusOK || len(sessions.Data) != 1 || !sessions.Data[0].Current {
		t.Fatalf("sessions: %d %s", r.status, r.body)
	}

	// 6. Revoke the session: the next call is refused, and so is a refresh.
	if r := e.do(http.MethodDelete, "/v1/auth/sessions/"+sessions.Data[0].ID, refreshed.Access, nil); r.status != http.StatusOK {
		t.Fatalf("revoke: %d %s", r.status, r.body)
	}
	if r := e.do(http.MethodGet, "/v1/patients/"+patient.ID, refreshed.Access, nil); r.status != http.StatusUnauthorized {
		t.Errorf("call after the revocation: %d %s", r.status, r.body)
	}
	if r := e.do(http.MethodGet, "/v1/patients/"+patient.ID, tk.Access, nil); r.status != http.StatusUnauthorized {
		t.Errorf("first access token after the revocation: %d", r.status)
	}
	if again := e.tokenRequest(url.Values{"grant_type": {"refresh_token"}, "client_id": {"partner-app"}, "refresh_token": {refreshed.Refresh}}); again.status != http.StatusBadRequest {
		t.Errorf("refresh after the revocation: %d %s", again.status, again.body)
	}
}

type userTokens struct {
	Access  string `json:"access_token"`
	Refresh string `json:"refresh_token"`
	ID      string `json:"id_token"`
}

// tokenRequest posts form to the token endpoint.
func (e *e2e) tokenRequest(form url.Values) response {
	e.t.Helper()
	res, err := http.PostForm(e.stack.APIURL+"/v1/auth/oauth2/token", form)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	return response{status: res.StatusCode, header: res.Header, body: raw}
}

// userToken posts form to the token endpoint and demands tokens.
func (e *e2e) userToken(form url.Values) userTokens {
	e.t.Helper()
	r := e.tokenRequest(form)
	var tk userTokens
	if r.status != http.StatusOK || json.Unmarshal(r.body, &tk) != nil {
		e.t.Fatalf("token request (%s): %d %s", form.Get("grant_type"), r.status, r.body)
	}
	return tk
}
