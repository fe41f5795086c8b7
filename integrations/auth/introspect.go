package auth

import (
	"context"
	"errors"
	"net/http"
	"strings"

	"github.com/google/uuid"
	"github.com/ory/fosite"
	"github.com/zarish-sphere/zarish/integrations/auth/access"
)

// IntrospectionHandler serves POST /v1/auth/oauth2/introspect (RFC 7662):
// a confidential client (HTTP Basic) asks whether a token is active; the
// answer is {"active": false} or the token's claims. An access token is
// active when the verifier accepts it (signature, expiry, audience, the
// revocation list) and its issuance record remains; a refresh token when it
// has not been used, revoked or expired and its session is alive.
func (s *Server) IntrospectionHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		note := access.NoteOf(ctx)
		if id, _, ok := r.BasicAuth(); ok {
			note.ClientID = id
		}
		resp, err := s.provider.NewIntrospectionRequest(ctx, r, newSession())
		if err != nil {
			note.Description = "introspection: " + fosite.ErrorToRFC6749Error(err).ErrorField
			s.provider.WriteIntrospectionError(ctx, w, err)
			return
		}
		note.Description = "introspection: active " + string(resp.GetTokenUse())
		s.provider.WriteIntrospectionResponse(ctx, w, resp)
	})
}

// RevocationHandler serves POST /v1/auth/oauth2/revoke (RFC 7009): the
// client the token was issued to revokes it. A refresh token takes its whole
// session with it (every refresh token of the family, and its access tokens
// through the revocation list); an access token is revoked by its jti.
// The answer is 200 whether or not the token was known.
func (s *Server) RevocationHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		note := access.NoteOf(ctx)
		note.Action = access.NoteSecurity
		note.ClientID = requestClientID(r)
		err := s.provider.NewRevocationRequest(ctx, r)
		if err != nil {
			note.Description = "token revocation refused: " + fosite.ErrorToRFC6749Error(err).ErrorField
		} else {
			note.Description = "token revoked"
		}
		s.provider.WriteRevocationResponse(ctx, w, err)
	})
}

// introspector is the introspection strategy: the verifier for access
// tokens, the store for refresh tokens.
type introspector struct{ s *Server }

func (i introspector) IntrospectToken(ctx context.Context, token string, use fosite.TokenUse, ar fosite.AccessRequester, scopes []string) (fosite.TokenUse, error) {
	s := i.s
	var (
		or   fosite.Requester
		kind fosite.TokenUse
	)
	if strings.Count(token, ".") == 2 {
		if _, err := s.verifier.Verify(ctx, token); err != nil {
			return "", fosite.ErrInactiveToken.WithWrap(err).WithDebug(err.Error())
		}
		var err error
		or, err = s.store.GetAccessTokenSession(ctx, s.strategy.AccessTokenSignature(ctx, token), ar.GetSession())
		if err != nil {
			return "", inactive(err)
		}
		kind = fosite.AccessToken
	} else {
		var err error
		or, err = s.store.GetRefreshTokenSession(ctx, s.strategy.RefreshTokenSignature(ctx, token), ar.GetSession())
		if err != nil {
			return "", inactive(err)
		}
		if err := s.strategy.ValidateRefreshToken(ctx, or, token); err != nil {
			return "", fosite.ErrInactiveToken.WithWrap(err)
		}
		sess, _ := or.GetSession().(*Session)
		if sess == nil || !s.sessionAlive(ctx, sess.SessionID) {
			return "", fosite.ErrInactiveToken.WithHint("The session has ended.")
		}
		// Report the refresh token's own expiry.
		sess.SetExpiresAt(fosite.AccessToken, sess.GetExpiresAt(fosite.RefreshToken))
		kind = fosite.RefreshToken
	}
	for _, sc := range scopes {
		if !access.ScopeStrategy(or.GetGrantedScopes(), sc) {
			return "", fosite.ErrInvalidScope.WithHintf("The token was not granted %q.", sc)
		}
	}
	ar.Merge(or)
	return kind, nil
}

func inactive(err error) error {
	if errors.Is(err, fosite.ErrNotFound) || errors.Is(err, fosite.ErrInactiveToken) {
		return fosite.ErrInactiveToken.WithWrap(err)
	}
	return err
}

// sessionAlive reports whether the sign-in session sid exists, is not
// revoked and has not expired.
func (s *Server) sessionAlive(ctx context.Context, sid string) bool {
	id, err := uuid.Parse(sid)
	if err != nil {
		return false
	}
	as, err := s.store.GetAuthSession(ctx, id)
	return err == nil && as.Active(s.now())
}
