package auth

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/zarish-sphere/zarish/domain/careteam"
	"github.com/zarish-sphere/zarish/integrations/auth/access"
	"github.com/zarish-sphere/zarish/integrations/postgres"
	"github.com/zarish-sphere/zarish/integrations/postgres/pgtest"
)

const (
	testRedirect  = "http://127.0.0.1:9/callback"
	nursePassword = "correct horse battery staple"
	pharmPassword = "pharmacy counter at night"
	wardApp       = "ward-app"    // first party: no consent step
	partnerApp    = "partner-app" // third party: consent
	nurseUsername = "nina.nurse"
	pharmUsername = "phil.pharm"
	adminUsername = "ada.admin"
	adminPassword = "administrator of the ward"
	appScopes     = "openid profile fhirUser offline_access user/*.*"
	// appRegistered is what the apps may ask for: appScopes, and patient/
	// scopes in a launch context.
	appRegistered  = appScopes + " launch patient/*.*"
	testPKCEVerify = "a-verifier-of-at-least-forty-three-characters-0123456789"
)

var (
	nursePractitioner = uuid.MustParse("0190a7a4-0000-7000-8000-00000000a001")
	pharmPractitioner = uuid.MustParse("0190a7a4-0000-7000-8000-00000000a002")
)

// signInFixture is a server that signs people in, with a nurse and a
// pharmacist linked to practitioners, an administrator, a first-party app
// and a third-party one, all public clients sending users back to
// testRedirect.
type signInFixture struct {
	*fixture
	users *postgres.UserStore
	http  *httptest.Server
	nurse uuid.UUID
	pharm uuid.UUID
	admin uuid.UUID
}

func newSignInFixture(t testing.TB, edit ...func(*Config)) *signInFixture {
	t.Helper()
	ctx := context.Background()
	pool := pgtest.NewPool(t)
	store := postgres.NewOAuthStore(pool)
	users := postgres.NewUserStore(pool)
	team := postgres.NewCareTeamStore(pool)
	for id, name := range map[uuid.UUID]string{nursePractitioner: "Nina Nurse", pharmPractitioner: "Phil Pharmacist"} {
		role := careteam.RoleNurse
		if id == pharmPractitioner {
			role = careteam.RolePharmacist
		}
		p, err := careteam.NewPractitioner(id, name, []careteam.Role{role}, []string{"ward-3"}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := team.CreatePractitioner(ctx, nil, p); err != nil {
			t.Fatal(err)
		}
	}
	f := &signInFixture{users: users}
	add := func(username, password string, practitioner *uuid.UUID, roles ...string) uuid.UUID {
		u, err := access.NewUser(uuid.Must(uuid.NewV7()), username, "", practitioner, roles)
		if err != nil {
			t.Fatal(err)
		}
		hash, err := access.HashPassword(ctx, password)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := users.CreateUser(ctx, u, hash); err != nil {
			t.Fatal(err)
		}
		return u.ID
	}
	f.nurse = add(nurseUsername, nursePassword, &nursePractitioner, "nurse")
	f.pharm = add(pharmUsername, pharmPassword, &pharmPractitioner, "pharmacist")
	f.admin = add(adminUsername, adminPassword, nil, "admin")
	for id, first := range map[string]bool{wardApp: true, partnerApp: false} {
		c, err := NewAppClient(AppClient{ID: id, RedirectURIs: []string{testRedirect}, Scopes: strings.Fields(appRegistered), FirstParty: first})
		if err != nil {
			t.Fatal(err)
		}
		if err := store.CreateClient(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	lab, err := NewClient("lab", "lab-secret", "Lab interface", labScopes, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := store.CreateClient(ctx, lab); err != nil {
		t.Fatal(err)
	}
	cfg := testConfig(t)
	cfg.MFARoles = []string{"pharmacist", "admin"}
	for _, e := range edit {
		e(&cfg)
	}
	srv, err := NewServer(cfg, store, testLogger(t), WithUsers(users))
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle(authorizePath, srv.AuthorizeHandler())
	mux.Handle(tokenPath, srv.TokenHandler())
	mux.Handle(introspectPath, srv.IntrospectionHandler())
	mux.Handle(revokePath, srv.RevocationHandler())
	mux.Handle(userinfoPath, srv.UserinfoHandler())
	mux.Handle("/.well-known/openid-configuration", srv.DiscoveryHandler())
	f.http = httptest.NewServer(mux)
	t.Cleanup(f.http.Close)
	f.fixture = &fixture{pool: pool, store: store, server: srv, cfg: cfg, token: httptest.NewServer(srv.TokenHandler())}
	t.Cleanup(f.fixture.token.Close)
	return f
}

// browser is a user agent with its own cookies that stops at the redirect
// back to the client.
type browser struct {
	t    testing.TB
	f    *signInFixture
	c    *http.Client
	csrf string // of the last page
	body string
}

func (f *signInFixture) browser(t testing.TB) *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{t: t, f: f, c: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}}
}

var csrfField = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

func (b *browser) read(res *http.Response) *http.Response {
	b.t.Helper()
	raw, _ := io.ReadAll(res.Body)
	res.Body.Close()
	b.body = string(raw)
	if m := csrfField.FindStringSubmatch(b.body); m != nil {
		b.csrf = m[1]
	}
	return res
}

// challenge is the S256 challenge of testPKCEVerify.
func challenge() string {
	sum := sha256.Sum256([]byte(testPKCEVerify))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// authorizeQuery is an authorization request of client with PKCE S256.
func authorizeQuery(client string) url.Values {
	return url.Values{
		"response_type": {"code"}, "client_id": {client}, "redirect_uri": {testRedirect},
		"scope": {appScopes}, "state": {"state-0123456789"}, "nonce": {"nonce-0123456789"},
		"code_challenge": {challenge()}, "code_challenge_method": {"S256"},
	}
}

func (b *browser) get(q url.Values) *http.Response {
	b.t.Helper()
	res, err := b.c.Get(b.f.http.URL + authorizePath + "?" + q.Encode())
	if err != nil {
		b.t.Fatal(err)
	}
	return b.read(res)
}

func (b *browser) post(step string, fields ...string) *http.Response {
	b.t.Helper()
	form := url.Values{"csrf": {b.csrf}, "step": {step}}
	for i := 0; i+1 < len(fields); i += 2 {
		form.Set(fields[i], fields[i+1])
	}
	res, err := b.c.PostForm(b.f.http.URL+authorizePath, form)
	if err != nil {
		b.t.Fatal(err)
	}
	return b.read(res)
}

// callback returns the query of the redirect back to the client.
func (b *browser) callback(res *http.Response) url.Values {
	b.t.Helper()
	if res.StatusCode != http.StatusSeeOther && res.StatusCode != http.StatusFound {
		b.t.Fatalf("no redirect to the client: %d %s", res.StatusCode, b.body)
	}
	loc, err := url.Parse(res.Header.Get("Location"))
	if err != nil || !strings.HasPrefix(loc.String(), testRedirect) {
		b.t.Fatalf("redirect to %q, want %s", res.Header.Get("Location"), testRedirect)
	}
	return loc.Query()
}

// signIn signs in with username and password on client and returns the
// authorization code.
func (b *browser) signIn(client, username, password string) string {
	b.t.Helper()
	if res := b.get(authorizeQuery(client)); res.StatusCode != http.StatusOK {
		b.t.Fatalf("authorize page: %d %s", res.StatusCode, b.body)
	}
	q := b.callback(b.post("password", "username", username, "password", password))
	if q.Get("state") != "state-0123456789" || q.Get("code") == "" {
		b.t.Fatalf("callback %v", q)
	}
	return q.Get("code")
}

type tokens struct {
	Access  string `json:"access_token"`
	Refresh string `json:"refresh_token"`
	ID      string `json:"id_token"`
	Scope   string `json:"scope"`
	Patient string `json:"patient"`
	Error   string `json:"error"`
	status  int
}

// tokenRequest posts form to the token endpoint as the public client.
func (f *signInFixture) tokenRequest(t testing.TB, form url.Values) tokens {
	t.Helper()
	res, err := http.PostForm(f.http.URL+tokenPath, form)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var tk tokens
	if err := json.NewDecoder(res.Body).Decode(&tk); err != nil {
		t.Fatal(err)
	}
	tk.status = res.StatusCode
	return tk
}

func (f *signInFixture) exchange(t testing.TB, client, code, verifier string) tokens {
	t.Helper()
	form := url.Values{"grant_type": {"authorization_code"}, "client_id": {client}, "code": {code}, "redirect_uri": {testRedirect}}
	if verifier != "" {
		form.Set("code_verifier", verifier)
	}
	return f.tokenRequest(t, form)
}

func (f *signInFixture) refresh(t testing.TB, client, refresh string) tokens {
	t.Helper()
	return f.tokenRequest(t, url.Values{"grant_type": {"refresh_token"}, "client_id": {client}, "refresh_token": {refresh}})
}

// reloadRevocations makes the server's list current now (Run does it on
// every NOTIFY).
func (f *signInFixture) reloadRevocations(t testing.TB) {
	t.Helper()
	if err := f.server.revoked.Load(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func TestSignInWithPKCEIssuesUserTokens(t *testing.T) {
	f := newSignInFixture(t)
	b := f.browser(t)
	res := b.get(authorizeQuery(wardApp))
	for _, want := range []string{`<label for="username">`, `<label for="password">`, `autocomplete="current-password"`, `name="csrf"`} {
		if !strings.Contains(b.body, want) {
			t.Errorf("sign-in page lacks %s", want)
		}
	}
	if csp := res.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "frame-ancestors 'none'") {
		t.Errorf("Content-Security-Policy = %q", csp)
	}
	q := b.callback(b.post("password", "username", "Nina.Nurse", "password", nursePassword))
	tk := f.exchange(t, wardApp, q.Get("code"), testPKCEVerify)
	if tk.status != http.StatusOK || tk.Access == "" || tk.Refresh == "" || tk.ID == "" {
		t.Fatalf("exchange: %+v", tk)
	}
	p, err := f.server.Verify(context.Background(), tk.Access)
	if err != nil {
		t.Fatal(err)
	}
	if p.UserID != f.nurse.String() || p.Subject != f.nurse.String() || p.PractitionerID != nursePractitioner.String() ||
		p.ClientID != wardApp || p.SessionID == "" || !p.IsUser() || len(p.Roles) != 1 || p.Roles[0] != "nurse" {
		t.Errorf("principal %+v", p)
	}
	// user/*.* is narrowed to what a nurse's role grants, and stands for
	// the routes' system/ requirements.
	if !p.Allows("system/Patient.read") || !p.Allows("system/Encounter.write") || p.Allows("system/MedicationRequest.write") || p.Allows("system/AuditEvent.read") {
		t.Errorf("scopes %q do not follow the nurse role", p.Scopes)
	}
	if strings.Contains(tk.Scope, "user/*.*") {
		t.Errorf("scope %q: the wildcard was granted as asked", tk.Scope)
	}
	// The ID token names the user and the session.
	idClaims := claimsOf(t, tk.ID)
	if idClaims["sub"] != f.nurse.String() || idClaims["nonce"] != "nonce-0123456789" || idClaims["sid"] != p.SessionID ||
		idClaims["fhirUser"] != "Practitioner/"+nursePractitioner.String() || idClaims["aud"] == nil {
		t.Errorf("id_token claims %v", idClaims)
	}
	at := claimsOf(t, tk.Access)
	if at["aud"] == nil || at["fhirUser"] != "Practitioner/"+nursePractitioner.String() {
		t.Errorf("access token claims %v", at)
	}
	// Userinfo.
	req, _ := http.NewRequest(http.MethodGet, f.http.URL+userinfoPath, nil)
	req.Header.Set("Authorization", "Bearer "+tk.Access)
	ui, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var info map[string]any
	_ = json.NewDecoder(ui.Body).Decode(&info)
	ui.Body.Close()
	if ui.StatusCode != http.StatusOK || info["sub"] != f.nurse.String() || info["preferred_username"] != nurseUsername {
		t.Errorf("userinfo %d %v", ui.StatusCode, info)
	}
	// The code is used once: a second exchange fails and revokes what the
	// first issued.
	if again := f.exchange(t, wardApp, q.Get("code"), testPKCEVerify); again.status != http.StatusBadRequest {
		t.Errorf("second exchange of a code: %+v", again)
	}
	f.reloadRevocations(t)
	if _, err := f.server.Verify(context.Background(), tk.Access); err == nil {
		t.Error("the access token of a replayed code still verifies")
	}
}

func TestPKCEIsRequired(t *testing.T) {
	f := newSignInFixture(t)
	b := f.browser(t)
	for name, edit := range map[string]func(url.Values){
		"no challenge":     func(q url.Values) { q.Del("code_challenge"); q.Del("code_challenge_method") },
		"plain":            func(q url.Values) { q.Set("code_challenge", testPKCEVerify); q.Set("code_challenge_method", "plain") },
		"no method":        func(q url.Values) { q.Del("code_challenge_method") },
		"implicit flow":    func(q url.Values) { q.Set("response_type", "token") },
		"prompt none":      func(q url.Values) { q.Set("prompt", "none") },
		"unknown redirect": func(q url.Values) { q.Set("redirect_uri", "https://evil.test/cb") },
	} {
		t.Run(name, func(t *testing.T) {
			q := authorizeQuery(wardApp)
			edit(q)
			res := b.get(q)
			if res.StatusCode == http.StatusOK {
				t.Fatalf("authorization request accepted: %s", b.body)
			}
			if name == "unknown redirect" {
				if res.StatusCode != http.StatusBadRequest || res.Header.Get("Location") != "" {
					t.Errorf("unknown redirect: %d to %q", res.StatusCode, res.Header.Get("Location"))
				}
				return
			}
			if e := b.callback(res).Get("error"); e == "" {
				t.Errorf("no error sent back")
			}
		})
	}

	// A code asked for with a challenge cannot be exchanged without the
	// verifier, nor with a wrong one.
	code := b.signIn(wardApp, nurseUsername, nursePassword)
	if tk := f.exchange(t, wardApp, code, ""); tk.status != http.StatusBadRequest || tk.Access != "" {
		t.Errorf("exchange without verifier: %+v", tk)
	}
	code = b.signIn(wardApp, nurseUsername, nursePassword)
	if tk := f.exchange(t, wardApp, code, strings.Repeat("x", 43)); tk.status != http.StatusBadRequest || tk.Access != "" {
		t.Errorf("exchange with a wrong verifier: %+v", tk)
	}
}

func TestRefreshRotatesAndReuseRevokesTheFamily(t *testing.T) {
	f := newSignInFixture(t)
	b := f.browser(t)
	first := f.exchange(t, wardApp, b.signIn(wardApp, nurseUsername, nursePassword), testPKCEVerify)
	second := f.refresh(t, wardApp, first.Refresh)
	if second.status != http.StatusOK || second.Refresh == "" || second.Refresh == first.Refresh || second.Access == first.Access {
		t.Fatalf("refresh: %+v", second)
	}
	p1, err := f.server.Verify(context.Background(), first.Access)
	if err != nil {
		t.Fatal(err)
	}
	p2, err := f.server.Verify(context.Background(), second.Access)
	if err != nil || p2.SessionID != p1.SessionID || p2.TokenID == p1.TokenID {
		t.Fatalf("refreshed token %+v, %v", p2, err)
	}
	// The first refresh token again: reuse. It is refused, and so is
	// everything of its family from then on.
	if reuse := f.refresh(t, wardApp, first.Refresh); reuse.status != http.StatusBadRequest || reuse.Error != "invalid_grant" {
		t.Errorf("reuse: %+v", reuse)
	}
	if next := f.refresh(t, wardApp, second.Refresh); next.status != http.StatusBadRequest {
		t.Errorf("the newest refresh token of a reused family still works: %+v", next)
	}
	f.reloadRevocations(t)
	for _, tok := range []string{first.Access, second.Access} {
		if _, err := f.server.Verify(context.Background(), tok); err == nil || !strings.Contains(err.Error(), "revoked") {
			t.Errorf("access token of the family: %v", err)
		}
	}
	s, err := f.store.GetAuthSession(context.Background(), uuid.MustParse(p1.SessionID))
	if err != nil || s.RevokedAt == nil {
		t.Errorf("session after reuse: %+v, %v", s, err)
	}
	// Another sign-in of the same user is unaffected.
	other := f.exchange(t, wardApp, b.signIn(wardApp, nurseUsername, nursePassword), testPKCEVerify)
	if _, err := f.server.Verify(context.Background(), other.Access); err != nil {
		t.Errorf("a fresh session is refused: %v", err)
	}
}

func TestRevokedSessionAndDisabledUserTokensRefused(t *testing.T) {
	f := newSignInFixture(t)
	ctx := context.Background()
	b := f.browser(t)
	tk := f.exchange(t, wardApp, b.signIn(wardApp, nurseUsername, nursePassword), testPKCEVerify)
	p, err := f.server.Verify(ctx, tk.Access)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.store.RevokeAuthSession(ctx, uuid.MustParse(p.SessionID), "signed out"); err != nil {
		t.Fatal(err)
	}
	f.reloadRevocations(t)
	if _, err := f.server.Verify(ctx, tk.Access); err == nil {
		t.Error("token of a revoked session verifies")
	}
	if r := f.refresh(t, wardApp, tk.Refresh); r.status != http.StatusBadRequest {
		t.Errorf("refresh in a revoked session: %+v", r)
	}

	// Disabling the user refuses the tokens of every session at once.
	tk = f.exchange(t, wardApp, b.signIn(wardApp, nurseUsername, nursePassword), testPKCEVerify)
	if _, err := f.users.DisableUser(ctx, f.nurse); err != nil {
		t.Fatal(err)
	}
	f.reloadRevocations(t)
	if _, err := f.server.Verify(ctx, tk.Access); err == nil {
		t.Error("token of a disabled user verifies")
	}
	if r := f.refresh(t, wardApp, tk.Refresh); r.status != http.StatusBadRequest {
		t.Errorf("refresh of a disabled user: %+v", r)
	}
	b.get(authorizeQuery(wardApp))
	if res := b.post("password", "username", nurseUsername, "password", nursePassword); res.StatusCode != http.StatusForbidden {
		t.Errorf("a disabled user signs in: %d", res.StatusCode)
	}

	// Disabling a client refuses its tokens too.
	lab := f.issue(t, "")
	if err := f.store.DisableClient(ctx, "lab"); err != nil {
		t.Fatal(err)
	}
	f.reloadRevocations(t)
	if _, err := f.server.Verify(ctx, lab); err == nil {
		t.Error("token of a disabled client verifies")
	}
}

func TestLockoutAfterRepeatedFailures(t *testing.T) {
	f := newSignInFixture(t, func(c *Config) {
		c.Lockout = postgres.LockoutPolicy{Threshold: 3, Base: time.Minute, Max: time.Hour}
	})
	b := f.browser(t)
	b.get(authorizeQuery(wardApp))
	for i := 1; i <= 2; i++ {
		if res := b.post("password", "username", nurseUsername, "password", "wrong password number "+string(rune('0'+i))); res.StatusCode != http.StatusUnauthorized {
			t.Fatalf("failure %d: %d", i, res.StatusCode)
		}
		if !strings.Contains(b.body, `role="alert"`) {
			t.Errorf("failure %d is not announced", i)
		}
	}
	res := b.post("password", "username", nurseUsername, "password", "wrong again")
	if res.StatusCode != http.StatusForbidden || !strings.Contains(b.body, "Account locked") || res.Header.Get("Retry-After") == "" {
		t.Fatalf("third failure: %d %s", res.StatusCode, b.body)
	}
	// Locked: the right password is refused too.
	b.get(authorizeQuery(wardApp))
	if res := b.post("password", "username", nurseUsername, "password", nursePassword); res.StatusCode != http.StatusForbidden {
		t.Errorf("right password while locked: %d", res.StatusCode)
	}
	u, err := f.users.GetUser(context.Background(), f.nurse)
	if err != nil || u.LockedUntil == nil || time.Until(*u.LockedUntil) < 50*time.Second {
		t.Fatalf("lock %+v, %v", u.LockedUntil, err)
	}
	// The back-off grows: the next failure (once unlocked) locks for two minutes.
	if _, err := f.pool.Exec(context.Background(), `UPDATE users SET locked_until = now() - interval '1 second' WHERE id = $1`, f.nurse); err != nil {
		t.Fatal(err)
	}
	b.get(authorizeQuery(wardApp))
	b.post("password", "username", nurseUsername, "password", "still wrong")
	u, _ = f.users.GetUser(context.Background(), f.nurse)
	if u.LockedUntil == nil || time.Until(*u.LockedUntil) < 110*time.Second {
		t.Errorf("second lock until %v, want about two minutes", u.LockedUntil)
	}
	// An unknown username gets the same answer as a wrong password.
	b.get(authorizeQuery(wardApp))
	if res := b.post("password", "username", "nobody.here", "password", "whatever it is"); res.StatusCode != http.StatusUnauthorized {
		t.Errorf("unknown username: %d", res.StatusCode)
	}
}

var (
	secretField   = regexp.MustCompile(`id="totp-secret">([A-Z2-7]+)<`)
	recoveryField = regexp.MustCompile(`<li>([a-z2-7]{5}-[a-z2-7]{5})</li>`)
)

func TestTOTPEnrolmentSecondFactorAndConsent(t *testing.T) {
	f := newSignInFixture(t)
	b := f.browser(t)
	b.get(authorizeQuery(partnerApp))
	// A pharmacist must enrol a second factor.
	if res := b.post("password", "username", pharmUsername, "password", pharmPassword); res.StatusCode != http.StatusOK || !strings.Contains(b.body, "Set up your authenticator") {
		t.Fatalf("after the password: %d %s", res.StatusCode, b.body)
	}
	if !strings.Contains(b.body, `src="data:image/png;base64,`) || !strings.Contains(b.body, "otpauth://totp/") {
		t.Error("enrolment page shows no QR code or otpauth URI")
	}
	m := secretField.FindStringSubmatch(b.body)
	if m == nil {
		t.Fatalf("no secret on the page: %s", b.body)
	}
	secret := m[1]
	code, _ := totpCode(secret, time.Now())
	if res := b.post("enrol", "code", "000000"); res.StatusCode != http.StatusBadRequest && code != "000000" {
		t.Errorf("wrong enrolment code: %d", res.StatusCode)
	}
	b.post("enrol", "code", code)
	codes := recoveryField.FindAllStringSubmatch(b.body, -1)
	if len(codes) != RecoveryCodeCount {
		t.Fatalf("%d recovery codes shown: %s", len(codes), b.body)
	}
	// Third party: consent, listing what it may do.
	b.post("recovery-codes")
	if !strings.Contains(b.body, "Allow access?") || !strings.Contains(b.body, "MedicationRequest") {
		t.Fatalf("consent page: %s", b.body)
	}
	if q := b.callback(b.post("consent", "decision", "allow")); q.Get("code") == "" {
		t.Fatalf("no code after consent: %v", q)
	}

	// Next sign-in asks for a code; the same code again is refused (used once).
	b.get(authorizeQuery(partnerApp))
	b.post("password", "username", pharmUsername, "password", pharmPassword)
	if !strings.Contains(b.body, `autocomplete="one-time-code"`) {
		t.Fatalf("no code asked for: %s", b.body)
	}
	if res := b.post("otp", "code", code); res.StatusCode != http.StatusUnauthorized {
		t.Errorf("a used code accepted: %d", res.StatusCode)
	}
	// A recovery code works once.
	b.post("otp", "code", codes[0][1])
	if res := b.post("consent", "decision", "deny"); b.callback(res).Get("error") != "access_denied" {
		t.Errorf("denied consent does not answer access_denied")
	}
	b.get(authorizeQuery(partnerApp))
	b.post("password", "username", pharmUsername, "password", pharmPassword)
	if res := b.post("otp", "code", codes[0][1]); res.StatusCode != http.StatusUnauthorized {
		t.Errorf("a used recovery code accepted: %d", res.StatusCode)
	}
}

func TestTOTPDrift(t *testing.T) {
	key, err := newTOTPKey("ZARISH SPHERE", "drift")
	if err != nil {
		t.Fatal(err)
	}
	now := time.Unix(1_800_000_015, 0) // the middle of a time step
	for _, tt := range []struct {
		steps int
		ok    bool
	}{{0, true}, {-1, true}, {1, true}, {-2, false}, {2, false}, {-3, false}, {3, false}} {
		code, err := totpCode(key.Secret(), now.Add(time.Duration(tt.steps)*totpPeriod*time.Second))
		if err != nil {
			t.Fatal(err)
		}
		step, ok := checkTOTP(key.Secret(), code, now)
		if ok != tt.ok {
			t.Errorf("a code %+d steps away: accepted %v, want %v", tt.steps, ok, tt.ok)
		}
		if ok && step != totpStep(now)+int64(tt.steps) {
			t.Errorf("a code %+d steps away matched step %d", tt.steps, step)
		}
	}
}

func TestIntrospectionAndRevocation(t *testing.T) {
	f := newSignInFixture(t)
	b := f.browser(t)
	tk := f.exchange(t, wardApp, b.signIn(wardApp, nurseUsername, nursePassword), testPKCEVerify)
	introspect := func(token string) map[string]any {
		t.Helper()
		req, _ := http.NewRequest(http.MethodPost, f.http.URL+introspectPath, strings.NewReader(url.Values{"token": {token}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.SetBasicAuth("lab", "lab-secret")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		var out map[string]any
		_ = json.NewDecoder(res.Body).Decode(&out)
		return out
	}
	if got := introspect(tk.Access); got["active"] != true || got["sub"] != f.nurse.String() || got["client_id"] != wardApp || got["sid"] == nil {
		t.Errorf("introspect access token: %v", got)
	}
	if got := introspect(tk.Refresh); got["active"] != true {
		t.Errorf("introspect refresh token: %v", got)
	}
	if got := introspect("not-a-token"); got["active"] != false {
		t.Errorf("introspect garbage: %v", got)
	}
	// RFC 7009: the app revokes its refresh token, which ends the session.
	res, err := http.PostForm(f.http.URL+revokePath, url.Values{"token": {tk.Refresh}, "client_id": {wardApp}})
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Fatalf("revoke: %d", res.StatusCode)
	}
	f.reloadRevocations(t)
	if got := introspect(tk.Refresh); got["active"] != false {
		t.Errorf("revoked refresh token: %v", got)
	}
	if got := introspect(tk.Access); got["active"] != false {
		t.Errorf("access token of the revoked session: %v", got)
	}
	// An access token revoked on its own, by jti.
	lab := f.issue(t, "")
	res, err = func() (*http.Response, error) {
		req, _ := http.NewRequest(http.MethodPost, f.http.URL+revokePath, strings.NewReader(url.Values{"token": {lab}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.SetBasicAuth("lab", "lab-secret")
		return http.DefaultClient.Do(req)
	}()
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	f.reloadRevocations(t)
	if _, err := f.server.Verify(context.Background(), lab); err == nil {
		t.Errorf("revoked access token verifies (revoke answered %d)", res.StatusCode)
	}
}

func TestDiscovery(t *testing.T) {
	f := newSignInFixture(t)
	res, err := http.Get(f.http.URL + "/.well-known/openid-configuration")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var doc map[string]any
	if err := json.NewDecoder(res.Body).Decode(&doc); err != nil {
		t.Fatal(err)
	}
	if doc["issuer"] != testIssuer || doc["authorization_endpoint"] != testIssuer+authorizePath ||
		doc["jwks_uri"] != testIssuer+jwksPath || doc["code_challenge_methods_supported"].([]any)[0] != "S256" {
		t.Errorf("discovery: %v", doc)
	}
}

// claimsOf decodes a JWT's claims without verifying it.
func claimsOf(t *testing.T, tok string) map[string]any {
	t.Helper()
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWT: %q", tok)
	}
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var c map[string]any
	if err := json.Unmarshal(raw, &c); err != nil {
		t.Fatal(err)
	}
	return c
}
