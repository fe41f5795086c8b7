package postgres_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/ory/fosite"
	"github.com/ory/fosite/handler/oauth2"
	"github.com/ory/fosite/token/jwt"

	"github.com/zarish-sphere/zarish/domain"
	"github.com/zarish-sphere/zarish/integrations/postgres"
	"github.com/zarish-sphere/zarish/integrations/postgres/pgtest"
)

func testClient(id string) postgres.OAuthClient {
	return postgres.OAuthClient{
		ID:         id,
		Name:       "Lab interface",
		SecretHash: []byte("$2a$10$not-a-real-hash-but-bytes"),
		Scopes:     []string{"system/Observation.write", "system/Patient.read"},
		GrantTypes: []string{"client_credentials"},
	}
}

func TestOAuthStoreCreateClientConflict(t *testing.T) {
	ctx := context.Background()
	store := postgres.NewOAuthStore(pgtest.NewPool(t))

	if err := store.CreateClient(ctx, testClient("lab")); err != nil {
		t.Fatalf("CreateClient: %v", err)
	}
	err := store.CreateClient(ctx, testClient("lab"))
	if !errors.Is(err, domain.ErrConflict) {
		t.Fatalf("second CreateClient = %v, want domain.ErrConflict", err)
	}

	got, err := store.GetOAuthClient(ctx, "lab")
	if err != nil {
		t.Fatalf("GetOAuthClient: %v", err)
	}
	if got.Name != "Lab interface" || !slices.Equal(got.Scopes, testClient("lab").Scopes) ||
		string(got.SecretHash) != string(testClient("lab").SecretHash) || got.CreatedAt.IsZero() || got.DisabledAt != nil {
		t.Errorf("GetOAuthClient = %+v", got)
	}
	if _, err := store.GetOAuthClient(ctx, "nobody"); !errors.Is(err, domain.ErrNotFound) {
		t.Errorf("GetOAuthClient(unknown) = %v, want domain.ErrNotFound", err)
	}
}

func TestOAuthStoreClientRoles(t *testing.T) {
	ctx := context.Background()
	store := postgres.NewOAuthStore(pgtest.NewPool(t))

	ward := testClient("ward-7")
	ward.Scopes = nil
	ward.Roles = []string{"nurse", "clinician"}
	if err := store.CreateClient(ctx, ward); err != nil {
		t.Fatalf("CreateClient: %v", err)
	}
	dev := testClient("dev")
	dev.Roles = []string{"admin"}
	if _, err := store.EnsureClient(ctx, dev); err != nil {
		t.Fatalf("EnsureClient: %v", err)
	}
	if err := store.CreateClient(ctx, testClient("lab")); err != nil {
		t.Fatal(err)
	}

	for id, want := range map[string][]string{"ward-7": {"nurse", "clinician"}, "dev": {"admin"}, "lab": {}} {
		got, err := store.GetOAuthClient(ctx, id)
		if err != nil {
			t.Fatalf("GetOAuthClient(%s): %v", id, err)
		}
		if !slices.Equal(got.Roles, want) {
			t.Errorf("%s roles = %q, want %q", id, got.Roles, want)
		}
		c, err := store.GetClient(ctx, id)
		if err != nil {
			t.Fatalf("GetClient(%s): %v", id, err)
		}
		if oc := c.(*postgres.OAuthClient); !slices.Equal(oc.Roles, want) {
			t.Errorf("%s roles for fosite = %q, want %q", id, oc.Roles, want)
		}
	}
	// A role-only client has no scopes of its own.
	if got, _ := store.GetOAuthClient(ctx, "ward-7"); len(got.Scopes) != 0 {
		t.Errorf("ward-7 scopes = %q, want none", got.Scopes)
	}
}

func TestOAuthStoreSetClientAccess(t *testing.T) {
	ctx := context.Background()
	store := postgres.NewOAuthStore(pgtest.NewPool(t))
	if err := store.CreateClient(ctx, testClient("lab")); err != nil {
		t.Fatal(err)
	}
	if err := store.SetClientAccess(ctx, "lab", []string{"system/DiagnosticReport.write"}, []string{"lab"}); err != nil {
		t.Fatal(err)
	}
	got, err := store.GetOAuthClient(ctx, "lab")
	if err != nil || !slices.Equal(got.Scopes, []string{"system/DiagnosticReport.write"}) || !slices.Equal(got.Roles, []string{"lab"}) {
		t.Fatalf("after SetClientAccess: %+v %v", got, err)
	}
	if err := store.SetClientAccess(ctx, "lab", nil, []string{"lab"}); err != nil {
		t.Fatal(err)
	}
	if got, _ := store.GetOAuthClient(ctx, "lab"); len(got.Scopes) != 0 {
		t.Errorf("scopes %q, want none", got.Scopes)
	}
	if err := store.SetClientAccess(ctx, "nobody", nil, []string{"lab"}); !errors.Is(err, domain.ErrNotFound) {
		t.Errorf("SetClientAccess(unknown) = %v, want domain.ErrNotFound", err)
	}
}

func TestOAuthStoreEnsureClientIsIdempotent(t *testing.T) {
	ctx := context.Background()
	store := postgres.NewOAuthStore(pgtest.NewPool(t))

	first := testClient("dev")
	created, err := store.EnsureClient(ctx, first)
	if err != nil || !created {
		t.Fatalf("first EnsureClient = %v, %v; want created", created, err)
	}
	changed := first
	changed.Name = "renamed"
	changed.Scopes = []string{"system/*.*"}
	created, err = store.EnsureClient(ctx, changed)
	if err != nil || created {
		t.Fatalf("second EnsureClient = %v, %v; want not created", created, err)
	}
	got, err := store.GetOAuthClient(ctx, "dev")
	if err != nil {
		t.Fatal(err)
	}
	if got.Name != first.Name || !slices.Equal(got.Scopes, first.Scopes) {
		t.Errorf("existing client changed: %+v", got)
	}
}

func TestOAuthStoreGetClientForFosite(t *testing.T) {
	ctx := context.Background()
	store := postgres.NewOAuthStore(pgtest.NewPool(t))
	if err := store.CreateClient(ctx, testClient("lab")); err != nil {
		t.Fatal(err)
	}

	c, err := store.GetClient(ctx, "lab")
	if err != nil {
		t.Fatalf("GetClient: %v", err)
	}
	if c.GetID() != "lab" || c.IsPublic() || !c.GetGrantTypes().Has("client_credentials") ||
		!c.GetScopes().Has("system/Patient.read") {
		t.Errorf("GetClient = %+v", c)
	}
	if _, err := store.GetClient(ctx, "nobody"); !errors.Is(err, fosite.ErrNotFound) {
		t.Errorf("GetClient(unknown) = %v, want fosite.ErrNotFound", err)
	}

	if err := store.DisableClient(ctx, "lab"); err != nil {
		t.Fatalf("DisableClient: %v", err)
	}
	if _, err := store.GetClient(ctx, "lab"); !errors.Is(err, fosite.ErrNotFound) {
		t.Errorf("GetClient(disabled) = %v, want fosite.ErrNotFound", err)
	}
	if got, err := store.GetOAuthClient(ctx, "lab"); err != nil || got.DisabledAt == nil {
		t.Errorf("GetOAuthClient(disabled) = %+v, %v; want DisabledAt set", got, err)
	}
	if err := store.DisableClient(ctx, "nobody"); !errors.Is(err, domain.ErrNotFound) {
		t.Errorf("DisableClient(unknown) = %v, want domain.ErrNotFound", err)
	}
}

func TestOAuthStoreClientAssertionsUnsupported(t *testing.T) {
	ctx := context.Background()
	store := postgres.NewOAuthStore(pgtest.NewPool(t))
	if err := store.ClientAssertionJWTValid(ctx, "jti"); !errors.Is(err, fosite.ErrInvalidClient) {
		t.Errorf("ClientAssertionJWTValid = %v, want invalid_client", err)
	}
	if err := store.SetClientAssertionJWT(ctx, "jti", time.Now().Add(time.Minute)); !errors.Is(err, fosite.ErrInvalidClient) {
		t.Errorf("SetClientAssertionJWT = %v, want invalid_client", err)
	}
}

func TestOAuthStoreAccessTokenSession(t *testing.T) {
	ctx := context.Background()
	store := postgres.NewOAuthStore(pgtest.NewPool(t))
	if err := store.CreateClient(ctx, testClient("lab")); err != nil {
		t.Fatal(err)
	}
	client, err := store.GetClient(ctx, "lab")
	if err != nil {
		t.Fatal(err)
	}

	now := time.Now().UTC().Truncate(time.Second)
	session := &oauth2.JWTSession{
		JWTClaims: &jwt.JWTClaims{Subject: "lab", JTI: "token-1", Extra: map[string]any{"client_id": "lab"}},
		JWTHeader: &jwt.Headers{Extra: map[string]any{"typ": "at+jwt"}},
		Subject:   "lab",
	}
	session.SetExpiresAt(fosite.AccessToken, now.Add(time.Hour))
	req := &fosite.Request{
		ID:             "request-1",
		RequestedAt:    now,
		Client:         client,
		RequestedScope: fosite.Arguments{"system/Patient.read"},
		GrantedScope:   fosite.Arguments{"system/Patient.read"},
		Session:        session,
	}
	if err := store.CreateAccessTokenSession(ctx, "sig-1", req); err != nil {
		t.Fatalf("CreateAccessTokenSession: %v", err)
	}

	got, err := store.GetAccessTokenSession(ctx, "sig-1", &oauth2.JWTSession{})
	if err != nil {
		t.Fatalf("GetAccessTokenSession: %v", err)
	}
	gs := got.GetSession().(*oauth2.JWTSession)
	if got.GetID() != "request-1" || got.GetClient().GetID() != "lab" ||
		!slices.Equal(got.GetGrantedScopes(), req.GrantedScope) || !got.GetRequestedAt().Equal(now) ||
		gs.GetSubject() != "lab" || gs.JWTClaims.JTI != "token-1" ||
		!gs.GetExpiresAt(fosite.AccessToken).Equal(now.Add(time.Hour)) {
		t.Errorf("GetAccessTokenSession = %+v, session %+v", got, gs)
	}

	if err := store.RevokeAccessToken(ctx, "request-1"); err != nil {
		t.Fatalf("RevokeAccessToken: %v", err)
	}
	if _, err := store.GetAccessTokenSession(ctx, "sig-1", &oauth2.JWTSession{}); !errors.Is(err, fosite.ErrNotFound) {
		t.Errorf("GetAccessTokenSession after revoke = %v, want fosite.ErrNotFound", err)
	}

	// Expired records are swept; live ones stay.
	session.SetExpiresAt(fosite.AccessToken, now.Add(-time.Minute))
	if err := store.CreateAccessTokenSession(ctx, "sig-old", req); err != nil {
		t.Fatal(err)
	}
	session.SetExpiresAt(fosite.AccessToken, now.Add(time.Hour))
	req.ID = "request-2"
	if err := store.CreateAccessTokenSession(ctx, "sig-new", req); err != nil {
		t.Fatal(err)
	}
	n, err := store.DeleteExpiredAccessTokens(ctx, now)
	if err != nil || n != 1 {
		t.Fatalf("DeleteExpiredAccessTokens = %d, %v; want 1", n, err)
	}
	if _, err := store.GetAccessTokenSession(ctx, "sig-new", &oauth2.JWTSession{}); err != nil {
		t.Errorf("live token swept: %v", err)
	}
	if err := store.DeleteAccessTokenSession(ctx, "sig-new"); err != nil {
		t.Fatalf("DeleteAccessTokenSession: %v", err)
	}
	if _, err := store.GetAccessTokenSession(ctx, "sig-new", &oauth2.JWTSession{}); !errors.Is(err, fosite.ErrNotFound) {
		t.Errorf("GetAccessTokenSession after delete = %v, want fosite.ErrNotFound", err)
	}
}
