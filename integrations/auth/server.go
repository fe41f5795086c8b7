// Package auth is the OAuth 2.0 authorization server and OpenID Connect
// provider (fosite), and the token verifier every API replica runs.
//
// Grants: client_credentials for machine clients (client_secret_basic or
// client_secret_post); authorization_code with PKCE S256 for people signing
// in (sign-in pages, TOTP second factor, consent; see AuthorizeHandler);
// refresh_token with rotation and reuse detection. Plus introspection (RFC
// 7662), revocation (RFC 7009), userinfo and discovery.
//
// Access tokens follow RFC 9068: header typ "at+jwt", kid and alg (ES256 or
// RS256); claims iss, sub, client_id, aud (always the API's audience), iat,
// exp, jti, scope (space-separated) and roles. A user's tokens name the user
// in sub, their practitioner in fhirUser (Practitioner/<id>) and their
// sign-in session in sid; a machine client's name the client in sub. The
// verifier checks issuer, audience and the revocation list.
package auth

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-jose/go-jose/v3"
	"github.com/google/uuid"
	"github.com/ory/fosite"
	"github.com/ory/fosite/compose"
	"github.com/ory/fosite/token/jwt"
	"golang.org/x/crypto/bcrypt"

	"github.com/zarish-sphere/zarish/domain"
	"github.com/zarish-sphere/zarish/integrations/auth/access"
	"github.com/zarish-sphere/zarish/integrations/postgres"
)

// Server issues tokens at the token endpoint, signs people in at the
// authorization endpoint, publishes the public key set and verifies the
// tokens it issued.
type Server struct {
	provider *fosite.Fosite
	strategy *compose.CommonStrategy
	cfg      Config
	store    *postgres.OAuthStore
	users    *postgres.UserStore // nil: nobody signs in
	ring     atomic.Pointer[keyRing]
	verifier *Verifier
	revoked  *RevocationList
	sealer   *sealer
	logger   *slog.Logger
	now      func() time.Time

	decoySecret []byte // bcrypt, for unknown clients
	decoyHash   string // argon2id, for unknown usernames
	totpIssuer  string
	// secureCookies marks the sign-in cookie Secure: the issuer is https.
	secureCookies bool
	// keyCheck serializes and spaces out reloads of the key file.
	keyCheck   sync.Mutex
	keyChecked time.Time
}

// ServerOption configures a Server.
type ServerOption func(*Server)

// WithUsers lets people sign in: the store of users the authorization
// endpoint checks.
func WithUsers(users *postgres.UserStore) ServerOption { return func(s *Server) { s.users = users } }

// NewServer loads (or, with cfg.GenerateKey, creates) the signing keys,
// loads the revocation list and composes fosite over store.
func NewServer(cfg Config, store *postgres.OAuthStore, logger *slog.Logger, opts ...ServerOption) (*Server, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	if store == nil {
		return nil, errors.New("auth: store is required")
	}
	if logger == nil {
		logger = slog.Default()
	}
	logger = logger.With("component", "auth")
	s := &Server{cfg: cfg, store: store, logger: logger, now: time.Now, totpIssuer: "ZARISH SPHERE"}
	for _, o := range opts {
		o(s)
	}
	ring, err := loadKeyRing(cfg.SigningKeyFile, cfg.GenerateKey, logger)
	if err != nil {
		return nil, err
	}
	s.ring.Store(ring)
	s.keyChecked = time.Now()
	s.revoked = NewRevocationList(store, logger)
	if s.verifier, err = NewVerifier(cfg.Issuer, ring.public, WithAudience(cfg.audience()), WithRevocations(s.revoked)); err != nil {
		return nil, err
	}
	s.verifier.onUnknownKey = s.reloadKeysSoon
	if s.sealer, err = newSealer(cfg.GlobalSecret); err != nil {
		return nil, err
	}
	if u, err := url.Parse(cfg.Issuer); err == nil {
		s.secureCookies = u.Scheme == "https"
		if u.Host != "" {
			s.totpIssuer = "ZARISH SPHERE (" + u.Host + ")"
		}
	}

	fc := &fosite.Config{
		AccessTokenLifespan:            cfg.tokenTTL(),
		RefreshTokenLifespan:           cfg.sessionTTL(),
		AuthorizeCodeLifespan:          authorizeCodeTTL,
		IDTokenLifespan:                cfg.tokenTTL(),
		AccessTokenIssuer:              cfg.Issuer,
		IDTokenIssuer:                  cfg.Issuer,
		TokenURL:                       strings.TrimRight(cfg.Issuer, "/") + tokenPath,
		GlobalSecret:                   cfg.GlobalSecret,
		ScopeStrategy:                  access.ScopeStrategy,
		AudienceMatchingStrategy:       fosite.DefaultAudienceMatchingStrategy,
		JWTScopeClaimKey:               jwt.JWTScopeFieldString,
		EnforcePKCE:                    true,
		EnforcePKCEForPublicClients:    true,
		EnablePKCEPlainChallengeMethod: false,
		RefreshTokenScopes:             []string{access.ScopeOfflineAccess},
		OmitRedirectScopeParam:         true,
	}
	keyGetter := func(context.Context) (any, error) { return s.ring.Load().current, nil }
	s.strategy = &compose.CommonStrategy{
		CoreStrategy:               compose.NewOAuth2JWTStrategy(keyGetter, compose.NewOAuth2HMACStrategy(fc), fc),
		OpenIDConnectTokenStrategy: compose.NewOpenIDConnectStrategy(keyGetter, fc),
		Signer:                     &jwt.DefaultSigner{GetPrivateKey: keyGetter},
	}
	provider := compose.Compose(fc, clientStore{OAuthStore: store, audience: cfg.audience()}, s.strategy,
		compose.OAuth2AuthorizeExplicitFactory,
		compose.OAuth2ClientCredentialsGrantFactory,
		compose.OAuth2RefreshTokenGrantFactory,
		compose.OpenIDConnectExplicitFactory,
		compose.OpenIDConnectRefreshFactory,
		compose.OAuth2TokenRevocationFactory,
		compose.OAuth2PKCEFactory,
		unsupportedGrantFactory,
	)
	f, ok := provider.(*fosite.Fosite)
	if !ok {
		return nil, fmt.Errorf("auth: unexpected provider type %T", provider)
	}
	s.provider = f
	fc.TokenIntrospectionHandlers = append(fc.TokenIntrospectionHandlers, introspector{s})
	if s.decoySecret, err = bcrypt.GenerateFromPassword([]byte("decoy secret for unknown clients"), bcrypt.DefaultCost); err != nil {
		return nil, fmt.Errorf("auth: decoy hash: %w", err)
	}
	fc.ClientAuthenticationStrategy = secretOnlyAuthentication(f, s.decoySecret)
	if s.users != nil {
		if s.decoyHash, err = access.HashPassword(context.Background(), "decoy password for unknown usernames"); err != nil {
			return nil, err
		}
	}

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.revoked.Load(ctx); err != nil {
		return nil, fmt.Errorf("auth: revocation list: %w", err)
	}
	logger.Info("oauth2 server ready", "issuer", cfg.Issuer, "audience", cfg.audience(), "kid", ring.current.KeyID,
		"alg", ring.current.Algorithm, "tokenTTL", fc.AccessTokenLifespan, "sessionTTL", fc.RefreshTokenLifespan,
		"signIn", s.users != nil, "revocations", s.revoked.Len())
	return s, nil
}

// tokenPath is the token endpoint, for the token URL fosite checks client
// assertions against.
const tokenPath = "/v1/auth/oauth2/token"

// Intervals of the server's background work.
const (
	keyReloadInterval = 30 * time.Second
	cleanupInterval   = 10 * time.Minute
)

// Run keeps the revocation list current, reloads the key file when it
// changes (a rotation) and deletes expired codes, refresh tokens, sign-in
// flows and revocations, until ctx ends.
func (s *Server) Run(ctx context.Context) error {
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = s.revoked.Run(ctx)
	}()
	keys := time.NewTicker(keyReloadInterval)
	defer keys.Stop()
	cleanup := time.NewTicker(cleanupInterval)
	defer cleanup.Stop()
	for {
		select {
		case <-ctx.Done():
			<-done
			return nil
		case <-keys.C:
			s.reloadKeys()
		case <-cleanup.C:
			if n, err := s.store.DeleteExpiredGrants(ctx, s.now()); err != nil {
				s.logger.Warn("expired grants not deleted", "error", err)
			} else if n > 0 {
				s.logger.Info("expired grants deleted", "rows", n)
			}
			if _, err := s.store.DeleteExpiredLaunches(ctx, s.now()); err != nil {
				s.logger.Warn("expired launch contexts not deleted", "error", err)
			}
		}
	}
}

// reloadKeys reloads the key file when it changed since it was read.
func (s *Server) reloadKeys() bool {
	s.keyCheck.Lock()
	defer s.keyCheck.Unlock()
	s.keyChecked = time.Now()
	old := s.ring.Load()
	fi, err := os.Stat(s.cfg.SigningKeyFile)
	if err != nil || fi.ModTime().Equal(old.modTime) {
		return false
	}
	ring, err := loadKeyRing(s.cfg.SigningKeyFile, false, s.logger)
	if err != nil {
		s.logger.Error("signing key file changed but does not load; keeping the keys in use", "error", err)
		return false
	}
	if err := s.verifier.SetKeys(ring.public); err != nil {
		s.logger.Error("signing keys not usable; keeping the keys in use", "error", err)
		return false
	}
	s.ring.Store(ring)
	prev := ""
	if ring.previous != nil {
		prev = ring.previous.KeyID
	}
	s.logger.Info("signing keys reloaded", "kid", ring.current.KeyID, "previous", prev)
	return true
}

// reloadKeysSoon reloads the key file on a token signed by an unknown key
// (another replica rotated first), at most once every few seconds.
func (s *Server) reloadKeysSoon() bool {
	s.keyCheck.Lock()
	recent := time.Since(s.keyChecked) < 5*time.Second
	s.keyCheck.Unlock()
	if recent {
		return false
	}
	return s.reloadKeys()
}

// secretOnlyAuthentication accepts client_secret_basic and client_secret_post
// (and, for public clients, their client_id alone) and refuses client
// assertions. A store failure while authenticating is reported as
// server_error (500), not as invalid_client. For an unknown client it still
// spends one bcrypt comparison against decoy, so response times do not tell
// which client ids exist.
func secretOnlyAuthentication(f *fosite.Fosite, decoy []byte) fosite.ClientAuthenticationStrategy {
	return func(ctx context.Context, r *http.Request, form url.Values) (fosite.Client, error) {
		if form.Get("client_assertion_type") != "" || form.Get("client_assertion") != "" {
			return nil, fosite.ErrInvalidClient.WithHint(
				"Client assertions are not supported; authenticate with client_secret_basic or client_secret_post.")
		}
		client, err := f.DefaultClientAuthenticationStrategy(ctx, r, form)
		switch {
		case err == nil:
			return client, nil
		case errors.Is(err, fosite.ErrServerError):
			return nil, fosite.ErrServerError.WithWrap(err)
		case errors.Is(err, fosite.ErrNotFound):
			secret := form.Get("client_secret")
			if _, s, ok := r.BasicAuth(); ok {
				secret = s
			}
			_ = bcrypt.CompareHashAndPassword(decoy, []byte(secret))
		}
		return nil, err
	}
}

// signingKey returns the current signing key.
func (s *Server) signingKey() *jose.JSONWebKey { return s.ring.Load().current }

// KeyID returns the kid of the current signing key.
func (s *Server) KeyID() string { return s.ring.Load().current.KeyID }

// Verify checks a token this server issued; see Verifier.Verify.
func (s *Server) Verify(ctx context.Context, bearer string) (access.Principal, error) {
	return s.verifier.Verify(ctx, bearer)
}

// Verifier returns the server's verifier, for callers that only verify.
func (s *Server) Verifier() *Verifier { return s.verifier }

// Revocations returns the server's in-memory revocation list.
func (s *Server) Revocations() *RevocationList { return s.revoked }

// JWKSHandler serves GET /v1/auth/jwks.json: the public signing keys, the
// current one and the one before it, each with kid, alg and use "sig".
func (s *Server) JWKSHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, http.StatusText(http.StatusMethodNotAllowed), http.StatusMethodNotAllowed)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		// Short: after a rotation, resource servers should see the new key soon.
		w.Header().Set("Cache-Control", "public, max-age=60")
		_, _ = w.Write(s.ring.Load().jwks)
	})
}

// TokenHandler serves POST /v1/auth/oauth2/token (RFC 6749): on success
// {access_token, token_type "bearer", expires_in, scope} and, for a sign-in
// with offline_access, refresh_token, and with openid, id_token; on failure
// an RFC 6749 section 5.2 error body written by fosite.
//
// client_credentials: a client's scopes are its own and those its roles
// grant (GrantableScopes); a request without scope is granted all of them, a
// request with scope exactly the requested scopes, each of which one of the
// client's must cover, or is refused with invalid_scope.
//
// authorization_code and refresh_token: the user must still be enabled and
// their session alive; a refresh is granted what the user's current roles
// still allow of the original grant. A refresh token is used once: each
// refresh returns a new one, and presenting a used one again revokes the
// whole session.
func (s *Server) TokenHandler() http.Handler {
	return http.HandlerFunc(s.token)
}

func (s *Server) token(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	note := access.NoteOf(ctx)
	note.Action = access.NoteLogin
	session := newSession()
	ar, err := s.provider.NewAccessRequest(ctx, r, session)
	if err != nil {
		s.writeError(ctx, w, r, ar, err)
		return
	}
	client := ar.GetClient()
	note.ClientID = client.GetID()
	grant := strings.Join(ar.GetGrantTypes(), " ")
	sess, ok := ar.GetSession().(*Session)
	if !ok {
		s.writeError(ctx, w, r, ar, fosite.ErrServerError.WithDebugf("session of type %T", ar.GetSession()))
		return
	}
	switch {
	case ar.GetGrantTypes().ExactOne("client_credentials"):
		scopes := ar.GetRequestedScopes()
		if len(scopes) == 0 {
			scopes = client.GetScopes()
		}
		for _, sc := range scopes {
			ar.GrantScope(sc)
		}
		for _, a := range ar.GetRequestedAudience() {
			ar.GrantAudience(a)
		}
		sess.ClientID = client.GetID()
		if rc, ok := client.(roleClient); ok {
			sess.Roles = rc.knownRoles()
		}
	default:
		if err := s.checkSignedIn(ctx, ar, sess); err != nil {
			s.writeError(ctx, w, r, ar, err)
			return
		}
	}
	ar.GrantAudience(s.cfg.audience())

	jti, err := uuid.NewV7()
	if err != nil {
		s.writeError(ctx, w, r, ar, fosite.ErrServerError.WithWrap(err))
		return
	}
	sess.TokenID, sess.IssuedAt = jti.String(), s.now().UTC().Truncate(time.Second)
	sess.SetExpiresAt(fosite.AccessToken, sess.IssuedAt.Add(s.cfg.tokenTTL()))

	resp, err := s.provider.NewAccessResponse(ctx, ar)
	if err != nil {
		s.writeError(ctx, w, r, ar, err)
		return
	}
	if sess.SessionID != "" {
		if id, err := uuid.Parse(sess.SessionID); err == nil {
			if err := s.store.TouchAuthSession(ctx, id); err != nil {
				s.logger.WarnContext(ctx, "session use not recorded", "session", id, "error", err)
			}
		}
	}
	if sess.PatientID != "" {
		// SMART: the launch patient beside the token, for the app.
		resp.SetExtra("patient", sess.PatientID)
	}
	note.About(sess.UserID, "", sess.PractitionerID, sess.Roles)
	note.SessionID = sess.SessionID
	note.Description = "token issued: " + grant
	s.logger.InfoContext(ctx, "oauth2 token issued", "client_id", client.GetID(), "grant", grant, "jti", sess.TokenID,
		"user", sess.UserID, "session", sess.SessionID, "roles", sess.Roles, "scope", []string(ar.GetGrantedScopes()),
		"expires", sess.GetExpiresAt(fosite.AccessToken).Format(time.RFC3339))
	s.provider.WriteAccessResponse(ctx, w, ar, resp)
}

// checkSignedIn refuses a code exchange or refresh whose user was disabled
// or whose session ended, and brings the session's roles, practitioner and
// granted scopes up to date with the user as now stored.
func (s *Server) checkSignedIn(ctx context.Context, ar fosite.AccessRequester, sess *Session) error {
	if s.users == nil || sess.UserID == "" || sess.SessionID == "" {
		return fosite.ErrInvalidGrant.WithHint("The grant does not belong to a signed-in user.")
	}
	sid, err := uuid.Parse(sess.SessionID)
	if err != nil {
		return fosite.ErrInvalidGrant.WithHint("The grant's session is not valid.")
	}
	as, err := s.store.GetAuthSession(ctx, sid)
	if errors.Is(err, domain.ErrNotFound) {
		return fosite.ErrInvalidGrant.WithHint("The session has ended; sign in again.")
	}
	if err != nil {
		return fosite.ErrServerError.WithWrap(err)
	}
	if !as.Active(s.now()) {
		return fosite.ErrInvalidGrant.WithHint("The session has ended; sign in again.")
	}
	uid, err := uuid.Parse(sess.UserID)
	if err != nil {
		return fosite.ErrInvalidGrant.WithHint("The grant's user is not valid.")
	}
	u, err := s.users.GetUser(ctx, uid)
	if errors.Is(err, domain.ErrNotFound) {
		return fosite.ErrInvalidGrant.WithHint("The user no longer exists.")
	}
	if err != nil {
		return fosite.ErrServerError.WithWrap(err)
	}
	if !u.Active() {
		return fosite.ErrInvalidGrant.WithHint("The user is disabled.")
	}
	sess.Roles, sess.PractitionerID = u.Roles, practitionerOf(u)
	access.NoteOf(ctx).Username = u.Username
	if req, ok := ar.(*fosite.AccessRequest); ok {
		allowed := access.UserScopes(req.GrantedScope, u.Roles, sess.PatientID != "")
		req.GrantedScope = slices.DeleteFunc(slices.Clone(req.GrantedScope), func(sc string) bool { return !slices.Contains(allowed, sc) })
	}
	return nil
}

// writeError logs a refused or failed token request and writes the RFC 6749
// error body with fosite's writer.
func (s *Server) writeError(ctx context.Context, w http.ResponseWriter, r *http.Request, ar fosite.AccessRequester, err error) {
	rfc := fosite.ErrorToRFC6749Error(err)
	clientID := requestClientID(r)
	note := access.NoteOf(ctx)
	if note.ClientID == "" {
		note.ClientID = clientID
	}
	note.Description = "token refused: " + rfc.ErrorField
	if rfc.HintField != "" {
		note.Description += ": " + rfc.HintField
	}
	if errors.Is(err, fosite.ErrInactiveToken) || strings.Contains(rfc.DebugField, "re-use was detected") {
		note.Action = access.NoteSecurity
		note.Description = "refresh token reuse detected: the session and all its tokens were revoked"
	}
	if rfc.CodeField >= http.StatusInternalServerError {
		s.logger.ErrorContext(ctx, "oauth2 token request failed", "client_id", clientID, "error", rfc.ErrorField, "cause", err)
	} else {
		s.logger.InfoContext(ctx, "oauth2 token request refused", "client_id", clientID, "error", rfc.ErrorField, "hint", rfc.HintField)
	}
	if rfc.CodeField == http.StatusUnauthorized {
		if _, _, ok := r.BasicAuth(); ok {
			// RFC 6749 section 5.2: answer a failed Basic authentication with the scheme.
			w.Header().Set("WWW-Authenticate", `Basic realm="oauth2"`)
		}
	}
	s.provider.WriteAccessError(ctx, w, ar, err)
}

// requestClientID names the client a token request claims to be, for logs.
func requestClientID(r *http.Request) string {
	if id, _, ok := r.BasicAuth(); ok {
		if u, err := url.QueryUnescape(id); err == nil {
			return u
		}
		return id
	}
	return r.PostForm.Get("client_id")
}

// supportedGrants are the grant types the token endpoint serves.
var supportedGrants = []string{"client_credentials", "authorization_code", "refresh_token"}

// unsupportedGrant answers every other grant type with
// unsupported_grant_type once the client has authenticated; without it
// fosite would report a generic invalid_request.
type unsupportedGrant struct{}

func unsupportedGrantFactory(fosite.Configurator, any, any) any { return unsupportedGrant{} }

func (unsupportedGrant) CanHandleTokenEndpointRequest(_ context.Context, ar fosite.AccessRequester) bool {
	gt := ar.GetGrantTypes()
	return len(gt) != 1 || !slices.Contains(supportedGrants, gt[0])
}

func (unsupportedGrant) CanSkipClientAuth(context.Context, fosite.AccessRequester) bool { return false }

func (unsupportedGrant) HandleTokenEndpointRequest(_ context.Context, ar fosite.AccessRequester) error {
	return fosite.ErrUnsupportedGrantType.WithHintf(
		"Grant type '%s' is not supported; only %s are.", strings.Join(ar.GetGrantTypes(), " "), strings.Join(supportedGrants, ", "))
}

func (unsupportedGrant) PopulateTokenEndpointResponse(context.Context, fosite.AccessRequester, fosite.AccessResponder) error {
	return fosite.ErrUnknownRequest
}
