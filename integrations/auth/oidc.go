package auth

import (
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strings"

	"github.com/google/uuid"

	"github.com/zarish-sphere/zarish/domain"
	"github.com/zarish-sphere/zarish/integrations/auth/access"
)

// The endpoints, relative to the issuer.
const (
	userinfoPath   = "/v1/auth/userinfo"
	jwksPath       = "/v1/auth/jwks.json"
	introspectPath = "/v1/auth/oauth2/introspect"
	revokePath     = "/v1/auth/oauth2/revoke"
)

// DiscoveryHandler serves GET /.well-known/openid-configuration (OpenID
// Connect Discovery 1.0 §3, with the RFC 8414 additions): where the
// endpoints are and what they support.
func (s *Server) DiscoveryHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		base := strings.TrimRight(s.cfg.Issuer, "/")
		alg := s.ring.Load().current.Algorithm
		doc := map[string]any{
			"issuer":                                        s.cfg.Issuer,
			"authorization_endpoint":                        base + authorizePath,
			"token_endpoint":                                base + tokenPath,
			"userinfo_endpoint":                             base + userinfoPath,
			"jwks_uri":                                      base + jwksPath,
			"introspection_endpoint":                        base + introspectPath,
			"revocation_endpoint":                           base + revokePath,
			"scopes_supported":                              append(slices.Clone(access.SignInScopes), "user/*.read", "user/*.write", "user/*.*", "system/*.read", "system/*.*", access.ScopeActOnBehalf),
			"response_types_supported":                      []string{"code"},
			"response_modes_supported":                      []string{"query"},
			"grant_types_supported":                         supportedGrants,
			"subject_types_supported":                       []string{"public"},
			"id_token_signing_alg_values_supported":         []string{alg},
			"token_endpoint_auth_methods_supported":         []string{"client_secret_basic", "client_secret_post", "none"},
			"introspection_endpoint_auth_methods_supported": []string{"client_secret_basic"},
			"revocation_endpoint_auth_methods_supported":    []string{"client_secret_basic", "client_secret_post", "none"},
			"code_challenge_methods_supported":              []string{"S256"},
			"prompt_values_supported":                       []string{"login", "consent"},
			"claims_supported": []string{"sub", "iss", "aud", "exp", "iat", "auth_time", "nonce", "amr", "sid",
				"fhirUser", "name", "preferred_username"},
			"request_parameter_supported":     false,
			"request_uri_parameter_supported": false,
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "public, max-age=300")
		_ = json.NewEncoder(w).Encode(doc)
	})
}

// UserinfoHandler serves GET and POST /v1/auth/userinfo (OpenID Connect
// Core §5.3): for a user's access token holding openid, the user's claims —
// sub, fhirUser, and with profile name and preferred_username.
func (s *Server) UserinfoHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		note := access.NoteOf(ctx)
		kind, token, found := strings.Cut(r.Header.Get("Authorization"), " ")
		if !found || !strings.EqualFold(kind, "Bearer") {
			w.Header().Set("WWW-Authenticate", `Bearer realm="zarish"`)
			writeOAuthError(w, http.StatusUnauthorized, "invalid_token", "A bearer access token is required.")
			return
		}
		p, err := s.verifier.Verify(ctx, token)
		if err != nil {
			w.Header().Set("WWW-Authenticate", `Bearer realm="zarish", error="invalid_token"`)
			writeOAuthError(w, http.StatusUnauthorized, "invalid_token", "The access token is invalid or expired.")
			return
		}
		note.ClientID, note.SessionID = p.ClientID, p.SessionID
		note.About(p.UserID, "", p.PractitionerID, p.Roles)
		if !p.IsUser() || !slices.Contains(p.Scopes, access.ScopeOpenID) {
			w.Header().Set("WWW-Authenticate", `Bearer realm="zarish", error="insufficient_scope", scope="openid"`)
			writeOAuthError(w, http.StatusForbidden, "insufficient_scope", "The token is not a user's token with the openid scope.")
			return
		}
		if s.users == nil {
			writeOAuthError(w, http.StatusServiceUnavailable, "temporarily_unavailable", "This server does not sign people in.")
			return
		}
		u, err := s.users.GetUser(ctx, uuid.MustParse(p.UserID))
		if errors.Is(err, domain.ErrNotFound) || err == nil && !u.Active() {
			w.Header().Set("WWW-Authenticate", `Bearer realm="zarish", error="invalid_token"`)
			writeOAuthError(w, http.StatusUnauthorized, "invalid_token", "The token's user is no longer active.")
			return
		}
		if err != nil {
			s.logger.ErrorContext(ctx, "userinfo failed", "error", err)
			writeOAuthError(w, http.StatusInternalServerError, "server_error", "The user could not be loaded.")
			return
		}
		note.Username = u.Username
		claims := map[string]any{"sub": p.UserID}
		if p.PractitionerID != "" && slices.Contains(p.Scopes, access.ScopeFHIRUser) {
			claims["fhirUser"] = "Practitioner/" + p.PractitionerID
		}
		if slices.Contains(p.Scopes, access.ScopeProfile) {
			claims["name"] = u.DisplayName
			claims["preferred_username"] = u.Username
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(claims)
	})
}

// writeOAuthError writes an RFC 6750 error body.
func writeOAuthError(w http.ResponseWriter, status int, code, description string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": code, "error_description": description})
}
