package api

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/zarish-sphere/zarish/domain/audit"
	"github.com/zarish-sphere/zarish/domain/careteam"
	"github.com/zarish-sphere/zarish/domain/identity"
	"github.com/zarish-sphere/zarish/integrations/auth"
	"github.com/zarish-sphere/zarish/integrations/auth/access"
	"github.com/zarish-sphere/zarish/integrations/postgres"
	"github.com/zarish-sphere/zarish/integrations/postgres/pgtest"
	"github.com/zarish-sphere/zarish/integrations/ratelimit"
)

// identityAPI is the router with users, sessions and the care-team
// directory on a fresh database, and these tokens:
//
//   - userAdmin: a machine client administering users (system/Person.*);
//   - integration: an integration engine that may act for practitioners;
//   - integrationNoAct: one that may not;
//   - the signed-in nurse's token (userToken), made by signIn.
type identityAPI struct {
	srv          *httptest.Server
	pool         *pgxpool.Pool
	audit        *postgres.AuditStore
	oauth        *postgres.OAuthStore
	users        *postgres.UserStore
	tokens       stubVerifier
	practitioner uuid.UUID
}

const (
	userAdminToken        = "user-admin"
	integrationToken      = "integration"
	integrationNoActToken = "integration-no-act"
)

func newIdentityAPI(t *testing.T) *identityAPI {
	t.Helper()
	ctx := context.Background()
	pool := pgtest.NewPool(t)
	e := &identityAPI{pool: pool, audit: postgres.NewAuditStore(pool), oauth: postgres.NewOAuthStore(pool), users: postgres.NewUserStore(pool)}
	team := postgres.NewCareTeamStore(pool)
	e.practitioner = uuid.Must(uuid.NewV7())
	p, err := careteam.NewPractitioner(e.practitioner, "Nina Nurse", []careteam.Role{careteam.RoleNurse}, []string{"ward-3"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := team.CreatePractitioner(ctx, nil, p); err != nil {
		t.Fatal(err)
	}
	app, err := auth.NewAppClient(auth.AppClient{ID: "ward-app", RedirectURIs: []string{"https://ward.test/cb"}, Scopes: []string{"openid", "user/*.*"}, FirstParty: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.oauth.CreateClient(ctx, app); err != nil {
		t.Fatal(err)
	}
	e.tokens = stubVerifier{
		userAdminToken:        {Subject: "user-admin", ClientID: "user-admin", Scopes: []string{"system/Person.read", "system/Person.write"}},
		integrationToken:      {Subject: "hl7-engine", ClientID: "hl7-engine", Scopes: []string{"system/Practitioner.read", access.ScopeActOnBehalf}},
		integrationNoActToken: {Subject: "hl7-engine", ClientID: "hl7-engine", Scopes: []string{"system/Practitioner.read"}},
		emergencyToken:        {Subject: "er-app", ClientID: "er-app", Scopes: []string{access.ScopeEmergency}},
	}
	d := Deps{
		Logger:   slog.New(slog.NewTextHandler(io.Discard, nil)),
		Version:  "test",
		Audit:    e.audit,
		CareTeam: team,
		Users:    e.users,
		Sessions: e.oauth,
		Verifier: e.tokens,
		Token:    http.NotFoundHandler(),
		JWKS:     http.NotFoundHandler(),
		Health:   NewHealth(map[string]Check{"database": func(ctx context.Context) error { return pool.Ping(ctx) }}, time.Second),
		Metrics:  NewMetrics(),
		RateLimits: RateLimits{
			Limiter: ratelimit.NewMemory(), Client: ratelimit.PerMinute(1_000_000, 10_000),
			Anonymous: ratelimit.PerMinute(1_000_000, 10_000), Token: ratelimit.PerMinute(1_000_000, 10_000),
		},
	}
	e.srv = httptest.NewServer(NewRouter(d))
	t.Cleanup(e.srv.Close)
	return e
}

// signIn stores a session of user in ward-app and registers a token for it.
func (e *identityAPI) signIn(t *testing.T, user identity.User, token string) uuid.UUID {
	t.Helper()
	sid := uuid.Must(uuid.NewV7())
	now := time.Now()
	if err := e.oauth.CreateAuthSession(context.Background(), identity.Session{
		ID: sid, UserID: user.ID, ClientID: "ward-app", AMR: []string{"pwd"}, CreatedAt: now, ExpiresAt: now.Add(time.Hour),
	}); err != nil {
		t.Fatal(err)
	}
	p := access.Principal{Subject: user.ID.String(), UserID: user.ID.String(), ClientID: "ward-app", SessionID: sid.String(),
		Roles: user.Roles, Scopes: []string{"openid", "user/Practitioner.read"}}
	if user.PractitionerID != nil {
		p.PractitionerID = user.PractitionerID.String()
	}
	e.tokens[token] = p
	return sid
}

func (e *identityAPI) revoked(t *testing.T, kind, subject string) bool {
	t.Helper()
	var n int
	if err := e.pool.QueryRow(context.Background(), `SELECT count(*) FROM auth_revocations WHERE kind = $1 AND subject = $2`, kind, subject).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n == 1
}

func TestUserAdministration(t *testing.T) {
	e := newIdentityAPI(t)
	body := `{"username":"Nina.Nurse","displayName":"Nina Nurse","practitionerId":"` + e.practitioner.String() +
		`","roles":["nurse"],"password":"correct horse battery staple"}`
	r := call(t, e.srv, http.MethodPost, "/v1/auth/users", userAdminToken, body)
	if r.status != http.StatusCreated {
		t.Fatalf("create: %d %s", r.status, r.body)
	}
	var u userView
	if err := json.Unmarshal([]byte(r.body), &u); err != nil {
		t.Fatal(err)
	}
	if u.Username != "nina.nurse" || u.Practitioner == nil || *u.Practitioner != e.practitioner || !u.Active ||
		len(u.Scopes) == 0 || strings.Contains(r.body, "argon2") || strings.Contains(r.body, "password") {
		t.Errorf("created user %s", r.body)
	}
	if r.header.Get("ETag") != `"1"` || r.header.Get("Location") != "/v1/auth/users/"+u.ID.String() {
		t.Errorf("ETag %q Location %q", r.header.Get("ETag"), r.header.Get("Location"))
	}
	if recs := recordsFor(t, e.audit, r.header.Get("X-Request-Id")); len(recs) != 1 || !strings.Contains(recs[0].Description, "roles [nurse]") {
		t.Errorf("audit of the creation: %+v", recs)
	}

	for name, tt := range map[string]struct {
		body   string
		status int
		field  string
	}{
		"nurse without practitioner": {strings.Replace(strings.Replace(body, `"practitionerId":"`+e.practitioner.String()+`",`, "", 1), "Nina.Nurse", "nora", 1), http.StatusBadRequest, "practitionerId"},
		"taken username":             {strings.Replace(body, "Nina.Nurse", "nina.nurse", 1), http.StatusConflict, ""},
		"unknown practitioner":       {strings.Replace(strings.Replace(body, e.practitioner.String(), uuid.NewString(), 1), "Nina.Nurse", "nora", 1), http.StatusBadRequest, "practitionerId"},
		"short password":             {strings.Replace(body, "correct horse battery staple", "short", 1), http.StatusBadRequest, "password"},
		"unknown role":               {strings.Replace(body, `["nurse"]`, `["surgeon"]`, 1), http.StatusBadRequest, "roles"},
		"admin without practitioner": {`{"username":"ada.admin","roles":["admin"],"password":"administrator of the ward"}`, http.StatusCreated, ""},
	} {
		t.Run(name, func(t *testing.T) {
			r := call(t, e.srv, http.MethodPost, "/v1/auth/users", userAdminToken, tt.body)
			if r.status != tt.status || tt.field != "" && !strings.Contains(r.body, `"field":"`+tt.field+`"`) {
				t.Errorf("%d %s, want %d naming %q", r.status, r.body, tt.status, tt.field)
			}
		})
	}

	// Roles: If-Match required, a stale one refused, the change audited
	// with what changed, and the user's tokens revoked.
	path := "/v1/auth/users/" + u.ID.String()
	if r := call(t, e.srv, http.MethodPut, path+"/roles", userAdminToken, `{"roles":["clinician"]}`); r.status != http.StatusPreconditionRequired {
		t.Errorf("without If-Match: %d", r.status)
	}
	if r := call(t, e.srv, http.MethodPut, path+"/roles", userAdminToken, `{"roles":["clinician"]}`, "If-Match", `"7"`); r.status != http.StatusPreconditionFailed {
		t.Errorf("stale If-Match: %d", r.status)
	}
	r = call(t, e.srv, http.MethodPut, path+"/roles", userAdminToken, `{"roles":["clinician","nurse"]}`, "If-Match", `"1"`)
	if r.status != http.StatusOK || r.header.Get("ETag") != `"2"` {
		t.Fatalf("set roles: %d %s", r.status, r.body)
	}
	recs := recordsFor(t, e.audit, r.header.Get("X-Request-Id"))
	if len(recs) != 1 || recs[0].Action != audit.ActionAdmin || !strings.Contains(recs[0].Description, "from [nurse] to [clinician nurse]") {
		t.Errorf("audit of the role change: %+v", recs)
	}
	if !e.revoked(t, postgres.RevokeUser, u.ID.String()) {
		t.Error("a role change did not revoke the user's tokens")
	}

	// The list filters by role.
	r = call(t, e.srv, http.MethodGet, "/v1/auth/users?role=clinician", userAdminToken, "")
	var page struct{ Data []userView }
	_ = json.Unmarshal([]byte(r.body), &page)
	if r.status != http.StatusOK || len(page.Data) != 1 || page.Data[0].ID != u.ID {
		t.Errorf("list by role: %d %s", r.status, r.body)
	}

	// Disable: inactive, and every session revoked.
	sid := e.signIn(t, identity.User{ID: u.ID, Roles: []string{"nurse"}}, "nina")
	r = call(t, e.srv, http.MethodPost, path+"/disable", userAdminToken, "")
	if r.status != http.StatusOK || !strings.Contains(r.body, `"active":false`) {
		t.Fatalf("disable: %d %s", r.status, r.body)
	}
	s, err := e.oauth.GetAuthSession(context.Background(), sid)
	if err != nil || s.RevokedAt == nil || s.RevokedReason != "user disabled" {
		t.Errorf("session of a disabled user: %+v %v", s, err)
	}

	// Without the scope: refused, and breaking the glass does not reach
	// the users either.
	if r := call(t, e.srv, http.MethodGet, "/v1/auth/users", integrationToken, ""); r.status != http.StatusForbidden {
		t.Errorf("listing users without system/Person.read: %d", r.status)
	}
	if r := call(t, e.srv, http.MethodGet, "/v1/auth/users", emergencyToken, "", headerBreakGlass, "cardiac arrest"); r.status != http.StatusForbidden {
		t.Errorf("break-the-glass reaches the users: %d", r.status)
	}
}

func TestSessionsOwnAndOthers(t *testing.T) {
	e := newIdentityAPI(t)
	ctx := context.Background()
	mk := func(name string, practitioner *uuid.UUID, roles ...string) identity.User {
		u, err := access.NewUser(uuid.Must(uuid.NewV7()), name, "", practitioner, roles)
		if err != nil {
			t.Fatal(err)
		}
		created, err := e.users.CreateUser(ctx, u, "$argon2id$v=19$m=65536,t=3,p=4$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA")
		if err != nil {
			t.Fatal(err)
		}
		return created
	}
	nina := mk("nina.nurse", &e.practitioner, "nurse")
	ada := mk("ada.admin", nil, "admin")
	first := e.signIn(t, nina, "nina-1")
	second := e.signIn(t, nina, "nina-2")
	adaSession := e.signIn(t, ada, "ada")

	r := call(t, e.srv, http.MethodGet, "/v1/auth/sessions", "nina-1", "")
	var page struct{ Data []sessionView }
	_ = json.Unmarshal([]byte(r.body), &page)
	if r.status != http.StatusOK || len(page.Data) != 2 || page.Data[0].ID != second || page.Data[0].Current || !page.Data[1].Current {
		t.Fatalf("own sessions: %d %s", r.status, r.body)
	}
	// Another user's session: not found for nina, and she may not list ada's.
	if r := call(t, e.srv, http.MethodDelete, "/v1/auth/sessions/"+adaSession.String(), "nina-1", ""); r.status != http.StatusNotFound {
		t.Errorf("revoking another user's session: %d", r.status)
	}
	if r := call(t, e.srv, http.MethodGet, "/v1/auth/sessions?userId="+ada.ID.String(), "nina-1", ""); r.status != http.StatusForbidden {
		t.Errorf("listing another user's sessions: %d", r.status)
	}
	// A machine client has no sessions.
	if r := call(t, e.srv, http.MethodGet, "/v1/auth/sessions", integrationToken, ""); r.status != http.StatusForbidden {
		t.Errorf("machine client listing sessions: %d", r.status)
	}
	// Signing out of one's own session revokes it at once.
	r = call(t, e.srv, http.MethodDelete, "/v1/auth/sessions/"+first.String(), "nina-1", "")
	if r.status != http.StatusOK || !strings.Contains(r.body, `"active":false`) || !e.revoked(t, postgres.RevokeSession, first.String()) {
		t.Fatalf("sign out: %d %s", r.status, r.body)
	}
	if recs := recordsFor(t, e.audit, r.header.Get("X-Request-Id")); len(recs) != 1 || recs[0].Action != audit.ActionSecurity ||
		recs[0].Actor.UserID != nina.ID.String() || recs[0].Actor.PractitionerID != e.practitioner.String() || recs[0].Actor.SessionID != first.String() {
		t.Errorf("audit of the sign-out: %+v", recs)
	}
	// An administrator lists and ends anyone's.
	r = call(t, e.srv, http.MethodGet, "/v1/auth/users/"+nina.ID.String()+"/sessions?ended=true", userAdminToken, "")
	_ = json.Unmarshal([]byte(r.body), &page)
	if r.status != http.StatusOK || len(page.Data) != 2 {
		t.Errorf("admin listing: %d %s", r.status, r.body)
	}
	r = call(t, e.srv, http.MethodDelete, "/v1/auth/users/"+nina.ID.String()+"/sessions/"+second.String(), userAdminToken, "")
	if r.status != http.StatusOK || !strings.Contains(r.body, "revoked by an administrator") {
		t.Errorf("admin revocation: %d %s", r.status, r.body)
	}
	if r := call(t, e.srv, http.MethodDelete, "/v1/auth/users/"+ada.ID.String()+"/sessions/"+second.String(), userAdminToken, ""); r.status != http.StatusNotFound {
		t.Errorf("a session under the wrong user: %d", r.status)
	}
}

func TestOnBehalfOf(t *testing.T) {
	e := newIdentityAPI(t)
	path := "/v1/clinical/practitioners/" + e.practitioner.String()
	asserted := "Practitioner/" + e.practitioner.String()

	r := call(t, e.srv, http.MethodGet, path, integrationToken, "", headerOnBehalfOf, asserted)
	if r.status != http.StatusOK {
		t.Fatalf("with the scope: %d %s", r.status, r.body)
	}
	recs := recordsFor(t, e.audit, r.header.Get("X-Request-Id"))
	if len(recs) != 1 || recs[0].Actor.ClientID != "hl7-engine" || recs[0].Actor.PractitionerID != e.practitioner.String() ||
		!recs[0].Actor.Asserted || recs[0].Actor.UserID != "" {
		t.Fatalf("audit of an asserted act: %+v", recs)
	}
	agents := recs[0].FHIR().Agent
	if len(agents) != 2 || !agents[0].Requestor || agents[1].Who.Reference != asserted || !strings.Contains(agents[1].Type.Text, "asserted") {
		t.Errorf("FHIR agents of an asserted act: %+v", agents)
	}

	for name, tt := range map[string]struct {
		token, header string
		status        int
	}{
		"without the scope":    {integrationNoActToken, asserted, http.StatusForbidden},
		"unknown practitioner": {integrationToken, "Practitioner/" + uuid.NewString(), http.StatusBadRequest},
		"not a practitioner":   {integrationToken, "Patient/" + e.practitioner.String(), http.StatusBadRequest},
		"not an id":            {integrationToken, "Practitioner/nina", http.StatusBadRequest},
	} {
		t.Run(name, func(t *testing.T) {
			r := call(t, e.srv, http.MethodGet, path, tt.token, "", headerOnBehalfOf, tt.header)
			if r.status != tt.status {
				t.Errorf("%d %s, want %d", r.status, r.body, tt.status)
			}
		})
	}

	// A signed-in user acts as themselves: the header is refused, and the
	// audit names the person, not asserted.
	nina, err := access.NewUser(uuid.Must(uuid.NewV7()), "nina.nurse", "", &e.practitioner, []string{"nurse"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.users.CreateUser(context.Background(), nina, "$argon2id$v=19$m=65536,t=3,p=4$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA"); err != nil {
		t.Fatal(err)
	}
	e.signIn(t, nina, "nina")
	if r := call(t, e.srv, http.MethodGet, path, "nina", "", headerOnBehalfOf, asserted); r.status != http.StatusBadRequest {
		t.Errorf("a user sending X-On-Behalf-Of: %d", r.status)
	}
	r = call(t, e.srv, http.MethodGet, path, "nina", "")
	recs = recordsFor(t, e.audit, r.header.Get("X-Request-Id"))
	if r.status != http.StatusOK || len(recs) != 1 || recs[0].Actor.UserID != nina.ID.String() || recs[0].Actor.Asserted ||
		recs[0].Actor.PractitionerID != e.practitioner.String() {
		t.Errorf("a user's read: %d %+v", r.status, recs)
	}
	if agents := recs[0].FHIR().Agent; len(agents) != 2 || !agents[0].Requestor || agents[0].Who.Reference != asserted ||
		agents[0].Who.Identifier.Value != nina.ID.String() {
		t.Errorf("FHIR agents of a user's act: %+v", agents)
	}
}

func TestActingPractitioner(t *testing.T) {
	gin.SetMode(gin.TestMode)
	pid := uuid.Must(uuid.NewV7())
	for name, tt := range map[string]struct {
		p    *access.Principal
		want bool
	}{
		"signed-in practitioner":   {&access.Principal{UserID: "u", PractitionerID: pid.String()}, true},
		"asserted practitioner":    {&access.Principal{ClientID: "c", PractitionerID: pid.String(), Asserted: true}, true},
		"machine client alone":     {&access.Principal{ClientID: "c"}, false},
		"administrator, no person": {&access.Principal{UserID: "u"}, false},
		"no token":                 {nil, false},
	} {
		c, _ := gin.CreateTestContext(httptest.NewRecorder())
		if tt.p != nil {
			c.Set(ctxPrincipal, *tt.p)
		}
		got, ok := actingPractitioner(c)
		if ok != tt.want || ok && got != pid {
			t.Errorf("%s: %v %v", name, got, ok)
		}
	}
}
