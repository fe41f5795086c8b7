// Package auth is the OAuth2 authorization server and token verifier: fosite
// with the client_credentials grant only, clients authenticated by
// client_secret_basic or client_secret_post, and self-contained JWT access
// tokens carrying SMART on FHIR v1 scopes.
//
// Access tokens follow RFC 9068: header typ "at+jwt", kid and alg (ES256 or
// RS256); claims iss, sub (the client id), client_id, aud (the granted
// audience, often empty), iat, exp, jti, scope (space-separated) and, when the
// client holds any, roles (an array of role names such as "nurse").
package auth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v3"
	"github.com/google/uuid"
	"github.com/ory/fosite"
	"github.com/ory/fosite/compose"
	"github.com/ory/fosite/handler/oauth2"
	"github.com/ory/fosite/token/jwt"
	"golang.org/x/crypto/bcrypt"

	"github.com/zarish-sphere/zarish/integrations/postgres"
)

// Server issues access tokens at the token endpoint, publishes the public key
// set and verifies the tokens it issued.
type Server struct {
	provider fosite.OAuth2Provider
	key      *jose.JSONWebKey // private signing key
	jwks     []byte           // the public key set, pre-encoded
	verifier *Verifier
	logger   *slog.Logger
}

// NewServer loads (or, with cfg.GenerateKey, creates) the signing key and
// composes fosite over store with only the client_credentials grant and JWT
// access tokens.
func NewServer(cfg Config, store *postgres.OAuthStore, logger *slog.Logger) (*Server, error) {
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

	key, err := loadSigningKey(cfg.SigningKeyFile, cfg.GenerateKey, logger)
	if err != nil {
		return nil, err
	}
	public := key.Public()
	set := jose.JSONWebKeySet{Keys: []jose.JSONWebKey{public}}
	jwks, err := json.Marshal(set)
	if err != nil {
		return nil, fmt.Errorf("auth: encode JWKS: %w", err)
	}
	verifier, err := NewVerifier(cfg.Issuer, set)
	if err != nil {
		return nil, err
	}

	fc := &fosite.Config{
		AccessTokenLifespan:      cfg.tokenTTL(),
		AccessTokenIssuer:        cfg.Issuer,
		GlobalSecret:             cfg.GlobalSecret,
		ScopeStrategy:            scopeStrategy,
		AudienceMatchingStrategy: fosite.DefaultAudienceMatchingStrategy,
		JWTScopeClaimKey:         jwt.JWTScopeFieldString,
	}
	keyGetter := func(context.Context) (any, error) { return key, nil }
	strategy := compose.NewOAuth2JWTStrategy(keyGetter, compose.NewOAuth2HMACStrategy(fc), fc)
	provider := compose.Compose(fc, clientStore{store}, strategy,
		compose.OAuth2ClientCredentialsGrantFactory,
		unsupportedGrantFactory,
	)
	f, ok := provider.(*fosite.Fosite)
	if !ok {
		return nil, fmt.Errorf("auth: unexpected provider type %T", provider)
	}
	decoy, err := bcrypt.GenerateFromPassword([]byte("decoy secret for unknown clients"), bcrypt.DefaultCost)
	if err != nil {
		return nil, fmt.Errorf("auth: decoy hash: %w", err)
	}
	fc.ClientAuthenticationStrategy = secretOnlyAuthentication(f, decoy)

	logger.Info("oauth2 server ready", "issuer", cfg.Issuer, "kid", key.KeyID, "alg", key.Algorithm, "tokenTTL", fc.AccessTokenLifespan)
	return &Server{provider: provider, key: key, jwks: jwks, verifier: verifier, logger: logger}, nil
}

// secretOnlyAuthentication accepts client_secret_basic and client_secret_post
// and refuses client assertions. A store failure while authenticating is
// reported as server_error (500), not as invalid_client. For an unknown client
// it still spends one bcrypt comparison against decoy, so response times do not
// tell which client ids exist.
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

// KeyID returns the kid of the signing key.
func (s *Server) KeyID() string { return s.key.KeyID }

// Verify checks a token this server issued; see Verifier.Verify.
func (s *Server) Verify(ctx context.Context, bearer string) (Principal, error) {
	return s.verifier.Verify(ctx, bearer)
}

// Verifier returns the server's verifier, for callers that only verify.
func (s *Server) Verifier() *Verifier { return s.verifier }

// JWKSHandler serves GET /v1/auth/jwks.json: the public signing key with kid,
// alg and use "sig".
func (s *Server) JWKSHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, http.StatusText(http.StatusMethodNotAllowed), http.StatusMethodNotAllowed)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "public, max-age=300")
		_, _ = w.Write(s.jwks)
	})
}

// TokenHandler serves POST /v1/auth/oauth2/token (RFC 6749 section 4.4): on
// success {access_token, token_type "bearer", expires_in, scope}; on failure an
// RFC 6749 section 5.2 error body written by fosite. A client's scopes are its
// own and those its roles grant (GrantableScopes). A request without scope is
// granted all of them; a request with scope is granted exactly the requested
// scopes, each of which one of the client's scopes must cover, or is refused
// with invalid_scope.
func (s *Server) TokenHandler() http.Handler {
	return http.HandlerFunc(s.token)
}

func (s *Server) token(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	session := &oauth2.JWTSession{
		JWTClaims: &jwt.JWTClaims{},
		JWTHeader: &jwt.Headers{Extra: map[string]any{"typ": tokenType}},
	}
	ar, err := s.provider.NewAccessRequest(ctx, r, session)
	if err != nil {
		s.writeError(ctx, w, r, ar, err)
		return
	}
	client := ar.GetClient()
	scopes := ar.GetRequestedScopes()
	if len(scopes) == 0 {
		scopes = client.GetScopes()
	}
	for _, sc := range scopes {
		ar.GrantScope(sc)
	}
	audience := ar.GetRequestedAudience()
	if len(audience) == 0 {
		audience = client.GetAudience()
	}
	for _, a := range audience {
		ar.GrantAudience(a)
	}

	jti, err := uuid.NewV7()
	if err != nil {
		s.writeError(ctx, w, r, ar, fosite.ErrServerError.WithWrap(err))
		return
	}
	session.Subject = client.GetID()
	session.JWTClaims.Subject = client.GetID()
	session.JWTClaims.JTI = jti.String()
	session.JWTClaims.Add("client_id", client.GetID())
	var roles []string
	if rc, ok := client.(roleClient); ok {
		roles = rc.knownRoles()
	}
	if len(roles) > 0 {
		session.JWTClaims.Add("roles", roles)
	}

	resp, err := s.provider.NewAccessResponse(ctx, ar)
	if err != nil {
		s.writeError(ctx, w, r, ar, err)
		return
	}
	s.logger.InfoContext(ctx, "oauth2 token issued", "client_id", client.GetID(), "jti", jti.String(),
		"roles", roles, "scope", []string(ar.GetGrantedScopes()), "expires", session.GetExpiresAt(fosite.AccessToken).Format(time.RFC3339))
	s.provider.WriteAccessResponse(ctx, w, ar, resp)
}

// writeError logs a refused or failed token request and writes the RFC 6749
// error body with fosite's writer.
func (s *Server) writeError(ctx context.Context, w http.ResponseWriter, r *http.Request, ar fosite.AccessRequester, err error) {
	rfc := fosite.ErrorToRFC6749Error(err)
	clientID := requestClientID(r)
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

// unsupportedGrant answers every grant type other than client_credentials with
// unsupported_grant_type once the client has authenticated; without it fosite
// would report a generic invalid_request.
type unsupportedGrant struct{}

func unsupportedGrantFactory(fosite.Configurator, any, any) any { return unsupportedGrant{} }

func (unsupportedGrant) CanHandleTokenEndpointRequest(_ context.Context, ar fosite.AccessRequester) bool {
	return !ar.GetGrantTypes().ExactOne("client_credentials")
}

func (unsupportedGrant) CanSkipClientAuth(context.Context, fosite.AccessRequester) bool { return false }

func (unsupportedGrant) HandleTokenEndpointRequest(_ context.Context, ar fosite.AccessRequester) error {
	return fosite.ErrUnsupportedGrantType.WithHintf(
		"Grant type '%s' is not supported; only 'client_credentials' is.", strings.Join(ar.GetGrantTypes(), " "))
}

func (unsupportedGrant) PopulateTokenEndpointResponse(context.Context, fosite.AccessRequester, fosite.AccessResponder) error {
	return fosite.ErrUnknownRequest
}
