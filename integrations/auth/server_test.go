package auth

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v3/jwt"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/zarish-sphere/zarish/integrations/auth/access"
	"github.com/zarish-sphere/zarish/integrations/postgres"
	"github.com/zarish-sphere/zarish/integrations/postgres/pgtest"
)

const testIssuer = "https://zarish.test"

// labScopes are the scopes of the "lab" client the fixture registers.
var labScopes = []string{"system/*.read", "system/Observation.write"}

type fixture struct {
	pool   *pgxpool.Pool
	store  *postgres.OAuthStore
	server *Server
	cfg    Config
	token  *httptest.Server
	jwks   *httptest.Server
}

func testLogger(t testing.TB) *slog.Logger {
	if _, bench := t.(*testing.B); bench {
		return slog.New(slog.NewTextHandler(io.Discard, nil)) // a log line per token would drown the figures
	}
	return slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelDebug}))
}

func testConfig(t testing.TB) Config {
	return Config{
		Issuer:         testIssuer,
		SigningKeyFile: filepath.Join(t.TempDir(), "keys", "signing.pem"),
		GenerateKey:    true,
		GlobalSecret:   []byte("0123456789abcdef0123456789abcdef"),
	}
}

// newFixture starts a token server on a fresh database with one client, "lab"
// (secret "lab-secret"), allowed labScopes.
func newFixture(t testing.TB) *fixture {
	t.Helper()
	pool := pgtest.NewPool(t)
	store := postgres.NewOAuthStore(pool)
	c, err := NewClient("lab", "lab-secret", "Lab interface", labScopes, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := store.CreateClient(context.Background(), c); err != nil {
		t.Fatal(err)
	}
	cfg := testConfig(t)
	srv, err := NewServer(cfg, store, testLogger(t))
	if err != nil {
		t.Fatalf("NewServer: %v", err)
	}
	f := &fixture{pool: pool, store: store, server: srv, cfg: cfg,
		token: httptest.NewServer(srv.TokenHandler()), jwks: httptest.NewServer(srv.JWKSHandler())}
	t.Cleanup(f.token.Close)
	t.Cleanup(f.jwks.Close)
	return f
}

type tokenResponse struct {
	status int
	header http.Header
	body   map[string]any
}

// requestToken posts form to the token endpoint, with Basic credentials when
// user is not empty.
func (f *fixture) requestToken(t testing.TB, user, pass string, form url.Values) tokenResponse {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, f.token.URL, strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if user != "" {
		req.SetBasicAuth(url.QueryEscape(user), url.QueryEscape(pass))
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatalf("token response (%d) is not JSON: %v", resp.StatusCode, err)
	}
	return tokenResponse{status: resp.StatusCode, header: resp.Header, body: body}
}

// issue obtains a token for the lab client with the given scope parameter.
func (f *fixture) issue(t testing.TB, scope string) string {
	t.Helper()
	form := url.Values{"grant_type": {"client_credentials"}}
	if scope != "" {
		form.Set("scope", scope)
	}
	r := f.requestToken(t, "lab", "lab-secret", form)
	if r.status != http.StatusOK {
		t.Fatalf("token request: %d %v", r.status, r.body)
	}
	return r.body["access_token"].(string)
}

func TestTokenWithBasicAuthGrantsAllClientScopes(t *testing.T) {
	f := newFixture(t)
	r := f.requestToken(t, "lab", "lab-secret", url.Values{"grant_type": {"client_credentials"}})
	if r.status != http.StatusOK {
		t.Fatalf("status %d, body %v", r.status, r.body)
	}
	if r.body["token_type"] != "bearer" {
		t.Errorf("token_type = %v, want bearer", r.body["token_type"])
	}
	if exp, _ := r.body["expires_in"].(float64); exp < 3590 || exp > 3600 {
		t.Errorf("expires_in = %v, want about 3600", r.body["expires_in"])
	}
	if r.body["scope"] != strings.Join(labScopes, " ") {
		t.Errorf("scope = %q, want all client scopes %q", r.body["scope"], strings.Join(labScopes, " "))
	}
	if tok, _ := r.body["access_token"].(string); strings.Count(tok, ".") != 2 {
		t.Errorf("access_token %q is not a compact JWT", tok)
	}
	if cc := r.header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("Cache-Control = %q, want no-store", cc)
	}

	// fosite records the issuance.
	var n int
	if err := f.pool.QueryRow(context.Background(),
		`SELECT count(*) FROM oauth_access_tokens WHERE client_id = 'lab' AND subject = 'lab'`).Scan(&n); err != nil || n != 1 {
		t.Errorf("oauth_access_tokens rows = %d, %v; want 1", n, err)
	}
}

func TestTokenWithClientSecretPost(t *testing.T) {
	f := newFixture(t)
	r := f.requestToken(t, "", "", url.Values{
		"grant_type":    {"client_credentials"},
		"client_id":     {"lab"},
		"client_secret": {"lab-secret"},
	})
	if r.status != http.StatusOK || r.body["access_token"] == nil {
		t.Fatalf("status %d, body %v", r.status, r.body)
	}
}

func TestTokenGrantsRequestedSubsetOfScopes(t *testing.T) {
	f := newFixture(t)
	r := f.requestToken(t, "lab", "lab-secret", url.Values{
		"grant_type": {"client_credentials"},
		"scope":      {"system/Patient.read system/Observation.write"},
	})
	if r.status != http.StatusOK {
		t.Fatalf("status %d, body %v", r.status, r.body)
	}
	if r.body["scope"] != "system/Patient.read system/Observation.write" {
		t.Errorf("scope = %q, want the requested subset", r.body["scope"])
	}
	p, err := f.server.Verify(context.Background(), r.body["access_token"].(string))
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	if !slices.Equal(p.Scopes, []string{"system/Patient.read", "system/Observation.write"}) {
		t.Errorf("token scopes = %q", p.Scopes)
	}
	if !p.Allows("system/Patient.read") || p.Allows("system/Encounter.read") {
		t.Errorf("a token holds only what was requested: %q", p.Scopes)
	}
}

func TestTokenRefusals(t *testing.T) {
	f := newFixture(t)
	cc := url.Values{"grant_type": {"client_credentials"}}
	tests := []struct {
		name       string
		user, pass string
		form       url.Values
		wantStatus int
		wantError  string
	}{
		{"wrong secret", "lab", "not-the-secret", cc, http.StatusUnauthorized, "invalid_client"},
		{"unknown client", "nobody", "lab-secret", cc, http.StatusUnauthorized, "invalid_client"},
		{"no credentials", "", "", cc, http.StatusBadRequest, "invalid_request"},
		{"wrong secret in body", "", "", url.Values{"grant_type": {"client_credentials"}, "client_id": {"lab"}, "client_secret": {"nope"}},
			http.StatusUnauthorized, "invalid_client"},
		{"scope beyond the client's", "lab", "lab-secret",
			url.Values{"grant_type": {"client_credentials"}, "scope": {"system/Patient.read system/Patient.write"}},
			http.StatusBadRequest, "invalid_scope"},
		{"wildcard beyond the client's", "lab", "lab-secret",
			url.Values{"grant_type": {"client_credentials"}, "scope": {"system/*.*"}}, http.StatusBadRequest, "invalid_scope"},
		{"unsupported grant", "lab", "lab-secret",
			url.Values{"grant_type": {"password"}, "username": {"u"}, "password": {"p"}}, http.StatusBadRequest, "unsupported_grant_type"},
		{"authorization code grant for a machine client", "lab", "lab-secret",
			url.Values{"grant_type": {"authorization_code"}, "code": {"x"}}, http.StatusBadRequest, "unauthorized_client"},
		{"refresh grant for a machine client", "lab", "lab-secret",
			url.Values{"grant_type": {"refresh_token"}, "refresh_token": {"x"}}, http.StatusBadRequest, "unauthorized_client"},
		{"unsupported grant, bad client", "lab", "wrong",
			url.Values{"grant_type": {"password"}}, http.StatusUnauthorized, "invalid_client"},
		{"client assertion", "", "", url.Values{"grant_type": {"client_credentials"}, "client_id": {"lab"},
			"client_assertion_type": {"urn:ietf:params:oauth:client-assertion-type:jwt-bearer"}, "client_assertion": {"a.b.c"}},
			http.StatusUnauthorized, "invalid_client"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := f.requestToken(t, tt.user, tt.pass, tt.form)
			if r.status != tt.wantStatus || r.body["error"] != tt.wantError {
				t.Fatalf("got %d %v, want %d %s", r.status, r.body, tt.wantStatus, tt.wantError)
			}
			if r.body["access_token"] != nil {
				t.Error("refusal carries an access token")
			}
			if tt.wantStatus == http.StatusUnauthorized && tt.user != "" && !strings.HasPrefix(r.header.Get("WWW-Authenticate"), "Basic") {
				t.Errorf("WWW-Authenticate = %q, want Basic", r.header.Get("WWW-Authenticate"))
			}
		})
	}
}

func TestTokenRefusedForDisabledClient(t *testing.T) {
	f := newFixture(t)
	if err := f.store.DisableClient(context.Background(), "lab"); err != nil {
		t.Fatal(err)
	}
	r := f.requestToken(t, "lab", "lab-secret", url.Values{"grant_type": {"client_credentials"}})
	if r.status != http.StatusUnauthorized || r.body["error"] != "invalid_client" {
		t.Fatalf("got %d %v, want 401 invalid_client", r.status, r.body)
	}
}

func TestTokenDatabaseFailureIsServerError(t *testing.T) {
	f := newFixture(t)
	f.pool.Close()
	r := f.requestToken(t, "lab", "lab-secret", url.Values{"grant_type": {"client_credentials"}})
	if r.status != http.StatusInternalServerError || r.body["error"] != "server_error" {
		t.Fatalf("got %d %v, want 500 server_error", r.status, r.body)
	}
}

func TestTokenTTLFromConfig(t *testing.T) {
	f := newFixture(t)
	cfg := f.cfg
	cfg.TokenTTL = 5 * time.Minute
	srv, err := NewServer(cfg, f.store, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv.TokenHandler())
	defer ts.Close()
	short := &fixture{token: ts}
	r := short.requestToken(t, "lab", "lab-secret", url.Values{"grant_type": {"client_credentials"}})
	if exp, _ := r.body["expires_in"].(float64); r.status != http.StatusOK || exp < 290 || exp > 300 {
		t.Fatalf("got %d, expires_in %v; want about 300", r.status, r.body["expires_in"])
	}
}

// TestTokenForRoleOnlyClient: a client registered with a role and no scopes of
// its own is granted exactly the role's scopes, carries the role in the token,
// and cannot ask for more.
func TestTokenForRoleOnlyClient(t *testing.T) {
	f := newFixture(t)
	c, err := NewClient("ward-7", "ward-secret", "Ward 7 tablets", nil, []string{"nurse"})
	if err != nil {
		t.Fatal(err)
	}
	if err := f.store.CreateClient(context.Background(), c); err != nil {
		t.Fatal(err)
	}
	cc := url.Values{"grant_type": {"client_credentials"}}

	r := f.requestToken(t, "ward-7", "ward-secret", cc)
	if r.status != http.StatusOK {
		t.Fatalf("status %d, body %v", r.status, r.body)
	}
	if r.body["scope"] != strings.Join(access.RoleNurse.Scopes(), " ") {
		t.Errorf("scope = %q, want the nurse's %q", r.body["scope"], strings.Join(access.RoleNurse.Scopes(), " "))
	}
	p, err := f.server.Verify(context.Background(), r.body["access_token"].(string))
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	if !slices.Equal(p.Roles, []string{"nurse"}) || !slices.Equal(p.Scopes, access.RoleNurse.Scopes()) {
		t.Errorf("principal = %+v, want role nurse with the nurse's scopes", p)
	}

	// A subset of the role's scopes is granted as asked, still naming the role.
	form := url.Values{"grant_type": {"client_credentials"}, "scope": {"system/Encounter.write system/Observation.read"}}
	r = f.requestToken(t, "ward-7", "ward-secret", form)
	if r.status != http.StatusOK || r.body["scope"] != "system/Encounter.write system/Observation.read" {
		t.Fatalf("subset: %d %v", r.status, r.body)
	}
	if p, err := f.server.Verify(context.Background(), r.body["access_token"].(string)); err != nil || !slices.Equal(p.Roles, []string{"nurse"}) {
		t.Errorf("subset token principal = %+v, %v", p, err)
	}

	// Beyond the role: refused by fosite's scope check.
	for _, scope := range []string{"system/MedicationRequest.write", "system/AuditEvent.read", "system/*.read", "system/Encounter.read system/*.*"} {
		form := url.Values{"grant_type": {"client_credentials"}, "scope": {scope}}
		r := f.requestToken(t, "ward-7", "ward-secret", form)
		if r.status != http.StatusBadRequest || r.body["error"] != "invalid_scope" || r.body["access_token"] != nil {
			t.Errorf("scope %q: got %d %v, want 400 invalid_scope", scope, r.status, r.body)
		}
	}
}

// TestTokenWithoutRolesHasNoRolesClaim: a client without roles gets no roles
// claim at all, not an empty one.
func TestTokenWithoutRolesHasNoRolesClaim(t *testing.T) {
	f := newFixture(t)
	tok := f.issue(t, "")
	var claims map[string]any
	parsed, err := jwt.ParseSigned(tok)
	if err != nil {
		t.Fatal(err)
	}
	if err := parsed.UnsafeClaimsWithoutVerification(&claims); err != nil {
		t.Fatal(err)
	}
	if _, ok := claims["roles"]; ok {
		t.Errorf("roles claim present for a client without roles: %v", claims)
	}
}

// TestTokenUnionOfScopesAndRoles: a client's own scopes and its roles' scopes
// are granted together.
func TestTokenUnionOfScopesAndRoles(t *testing.T) {
	f := newFixture(t)
	c, err := NewClient("audit-desk", "audit-secret", "", []string{"system/Practitioner.read"}, []string{"auditor"})
	if err != nil {
		t.Fatal(err)
	}
	if err := f.store.CreateClient(context.Background(), c); err != nil {
		t.Fatal(err)
	}
	r := f.requestToken(t, "audit-desk", "audit-secret", url.Values{"grant_type": {"client_credentials"}})
	if r.status != http.StatusOK || r.body["scope"] != "system/Practitioner.read system/AuditEvent.read" {
		t.Fatalf("got %d %v, want own scope then the auditor's", r.status, r.body)
	}
	r = f.requestToken(t, "audit-desk", "audit-secret",
		url.Values{"grant_type": {"client_credentials"}, "scope": {"system/Patient.read"}})
	if r.status != http.StatusBadRequest || r.body["error"] != "invalid_scope" {
		t.Fatalf("auditor asking for patients: %d %v, want 400 invalid_scope", r.status, r.body)
	}
}
