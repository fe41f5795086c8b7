package api

import (
	"context"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/zarish-sphere/zarish/domain/audit"
	"github.com/zarish-sphere/zarish/integrations/auth/access"
)

// SignIn holds the authorization server's endpoints beyond the token
// endpoint (cmd/zarish fills it from auth.Server); a nil handler is
// answered 404.
type SignIn struct {
	Authorize, Introspect, Revoke, Userinfo, Discovery http.Handler
	// Revocations reloads this replica's revocation list, so that a
	// revocation the API made is enforced before the API answers (other
	// replicas follow on the database's notification).
	Revocations interface {
		Load(ctx context.Context) error
	}
}

// Paths of the sign-in routes.
const (
	authorizePath = "/v1/auth/oauth2/authorize"
	discoveryPath = "/.well-known/openid-configuration"
)

// authRoutes serve /v1/auth beyond the token endpoint: sign-in, the users
// who sign in and their sessions.
type authRoutes struct {
	*edge
	endpoints SignIn
	users     UserDirectory
	sessions  SignInSessions
	// admitSignIn spends the caller's token-endpoint budget: sign-in posts
	// are password guesses as much as token requests are.
	admitSignIn func(c *gin.Context) bool
}

func (s *authRoutes) routes() []Route {
	const (
		userR, userW = "system/Person.read", "system/Person.write"
		signedIn     = access.ScopeOpenID // a signed-in user's token
	)
	return []Route{
		{http.MethodGet, discoveryPath, "", "", s.endpoint(func() http.Handler { return s.endpoints.Discovery }, "", false)},
		{http.MethodGet, authorizePath, "", "User", s.endpoint(func() http.Handler { return s.endpoints.Authorize }, "User", false)},
		{http.MethodPost, authorizePath, "", "User", s.endpoint(func() http.Handler { return s.endpoints.Authorize }, "User", true)},
		{http.MethodPost, "/v1/auth/oauth2/introspect", "", "Client", s.endpoint(func() http.Handler { return s.endpoints.Introspect }, "Client", true)},
		{http.MethodPost, "/v1/auth/oauth2/revoke", "", "Client", s.endpoint(func() http.Handler { return s.endpoints.Revoke }, "Client", true)},
		{http.MethodGet, "/v1/auth/userinfo", "", "User", s.endpoint(func() http.Handler { return s.endpoints.Userinfo }, "User", false)},

		{http.MethodPost, "/v1/auth/users", userW, "User", s.createUser},
		{http.MethodGet, "/v1/auth/users", userR, "User", s.listUsers},
		{http.MethodGet, "/v1/auth/users/:id", userR, "User", s.getUser},
		{http.MethodPut, "/v1/auth/users/:id/roles", userW, "User", s.setUserRoles},
		{http.MethodPost, "/v1/auth/users/:id/disable", userW, "User", s.disableUser},
		{http.MethodPost, "/v1/auth/users/:id/unlock", userW, "User", s.unlockUser},
		{http.MethodDelete, "/v1/auth/users/:id/mfa", userW, "User", s.resetMFA},
		{http.MethodGet, "/v1/auth/users/:id/sessions", userR, "Session", s.listUserSessions},
		{http.MethodDelete, "/v1/auth/users/:id/sessions/:sessionId", userW, "Session", s.revokeUserSession},

		{http.MethodGet, "/v1/auth/sessions", signedIn, "Session", s.listOwnSessions},
		{http.MethodDelete, "/v1/auth/sessions/:id", signedIn, "Session", s.revokeOwnSession},
	}
}

// endpoint serves one of the authorization server's handlers, audited as a
// sign-in: the handler's note names the person and says what happened.
func (s *authRoutes) endpoint(h func() http.Handler, entity string, limited bool) gin.HandlerFunc {
	return func(c *gin.Context) {
		a := auditOf(c)
		a.rec.Action, a.rec.EntityType = audit.ActionLogin, entity
		if entity == "" {
			a.rec.EntityType = "Configuration"
		}
		if limited && s.admitSignIn != nil && !s.admitSignIn(c) {
			return
		}
		handler := h()
		if handler == nil {
			abort(c, http.StatusNotFound, CodeNotFound, "This server does not offer this endpoint.")
			return
		}
		ctx, note := access.WithAuditNote(c.Request.Context(), c.ClientIP())
		c.Request = c.Request.WithContext(ctx)
		handler.ServeHTTP(c.Writer, c.Request)
		applyNote(a, note)
	}
}

// applyNote copies what an auth handler said into the request's audit record.
func applyNote(a *auditing, n *access.AuditNote) {
	r := &a.rec
	switch n.Action {
	case access.NoteLogin:
		r.Action = audit.ActionLogin
	case access.NoteSecurity:
		r.Action = audit.ActionSecurity
	}
	if n.Description != "" {
		r.Description = truncate(n.Description, audit.MaxDescriptionLen)
	}
	if n.UserID != "" {
		r.EntityID = n.UserID
	}
	if r.Actor.ClientID != "" || n.ClientID == "" && n.UserID == "" && n.Username == "" {
		return // the request's token named the actor, or nobody is known
	}
	subject := n.UserID
	if subject == "" {
		subject = n.Username
	}
	if subject == "" {
		subject = n.ClientID
	}
	client := n.ClientID
	if client == "" {
		client = "anonymous"
	}
	r.Actor = audit.Actor{
		Subject: truncate(subject, 100), ClientID: truncate(client, 100), Roles: n.Roles,
		UserID: n.UserID, PractitionerID: n.PractitionerID, SessionID: n.SessionID,
	}
}

// reloadRevocations makes this replica enforce a revocation just made.
func (s *authRoutes) reloadRevocations(c *gin.Context) {
	if s.endpoints.Revocations == nil {
		return
	}
	if err := s.endpoints.Revocations.Load(c.Request.Context()); err != nil {
		s.log.WarnContext(c.Request.Context(), "revocation list not reloaded; the notification will do it", "error", err)
	}
}
