package api

import (
	"context"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"github.com/zarish-sphere/zarish/domain"
	"github.com/zarish-sphere/zarish/domain/audit"
	"github.com/zarish-sphere/zarish/domain/identity"
)

// SignInSessions is the sessions users' sign-ins open.
type SignInSessions interface {
	// ListAuthSessions returns a user's sessions, newest first: the active
	// ones, and with ended also those revoked or expired.
	ListAuthSessions(ctx context.Context, userID uuid.UUID, ended bool) ([]identity.Session, error)
	GetAuthSession(ctx context.Context, id uuid.UUID) (identity.Session, error)
	// RevokeAuthSession ends a session at once: its refresh tokens stop
	// working and its access tokens go on the revocation list.
	RevokeAuthSession(ctx context.Context, id uuid.UUID, reason string) (identity.Session, error)
}

// sessionView is a session as the API shows it.
type sessionView struct {
	ID            uuid.UUID  `json:"id"`
	UserID        uuid.UUID  `json:"userId"`
	ClientID      string     `json:"clientId"`
	AMR           []string   `json:"amr"`
	SourceIP      string     `json:"sourceIp,omitempty"`
	UserAgent     string     `json:"userAgent,omitempty"`
	CreatedAt     time.Time  `json:"createdAt"`
	LastUsedAt    time.Time  `json:"lastUsedAt"`
	ExpiresAt     time.Time  `json:"expiresAt"`
	Active        bool       `json:"active"`
	Current       bool       `json:"current"` // the session of the caller's own token
	RevokedAt     *time.Time `json:"revokedAt,omitempty"`
	RevokedReason string     `json:"revokedReason,omitempty"`
}

func viewSession(s identity.Session, now time.Time, current string) sessionView {
	amr := s.AMR
	if amr == nil {
		amr = []string{}
	}
	return sessionView{
		ID: s.ID, UserID: s.UserID, ClientID: s.ClientID, AMR: amr, SourceIP: s.SourceIP, UserAgent: s.UserAgent,
		CreatedAt: s.CreatedAt, LastUsedAt: s.LastUsedAt, ExpiresAt: s.ExpiresAt, Active: s.Active(now),
		Current: s.ID.String() == current, RevokedAt: s.RevokedAt, RevokedReason: s.RevokedReason,
	}
}

// listOwnSessions serves GET /v1/auth/sessions: the caller's own sessions,
// or with ?userId= another user's, for a caller who administers users.
func (s *authRoutes) listOwnSessions(c *gin.Context) {
	p, _ := principal(c)
	verr := &domain.ValidationError{}
	onlyParams(c, verr, "userId", "ended")
	target := optionalUUID(c, "userId", verr)
	ended := s.endedParam(c, verr)
	if err := verr.OrNil(); err != nil {
		s.fail(c, err)
		return
	}
	user, err := uuid.Parse(p.UserID)
	if err != nil {
		abort(c, http.StatusForbidden, CodeForbidden, "Only a signed-in user has sessions.")
		return
	}
	if target != nil && *target != user {
		if !p.Allows("system/Person.read") {
			abort(c, http.StatusForbidden, CodeForbidden, "Listing another user's sessions needs the scope system/Person.read.")
			return
		}
		user = *target
	}
	s.listSessions(c, user, ended, p.SessionID)
}

// listUserSessions serves GET /v1/auth/users/{id}/sessions.
func (s *authRoutes) listUserSessions(c *gin.Context) {
	id, ok := uuidParam(c, "must be a user id (UUID)")
	if !ok {
		return
	}
	verr := &domain.ValidationError{}
	onlyParams(c, verr, "ended")
	ended := s.endedParam(c, verr)
	if err := verr.OrNil(); err != nil {
		s.fail(c, err)
		return
	}
	if _, err := s.users.GetUser(c.Request.Context(), id); err != nil {
		s.fail(c, err)
		return
	}
	p, _ := principal(c)
	s.listSessions(c, id, ended, p.SessionID)
}

func (s *authRoutes) endedParam(c *gin.Context, verr *domain.ValidationError) bool {
	switch c.Query("ended") {
	case "", "false":
		return false
	case "true":
		return true
	}
	verr.Add("ended", "must be true or false")
	return false
}

func (s *authRoutes) listSessions(c *gin.Context, user uuid.UUID, ended bool, current string) {
	auditOf(c).about(audit.ActionSearch, "Session", user.String(), nil)
	list, err := s.sessions.ListAuthSessions(c.Request.Context(), user, ended)
	if err != nil {
		s.fail(c, err)
		return
	}
	now := s.now()
	views := make([]sessionView, len(list))
	for i, ss := range list {
		views[i] = viewSession(ss, now, current)
	}
	c.JSON(http.StatusOK, pageBody(views, ""))
}

// revokeOwnSession serves DELETE /v1/auth/sessions/{id}: signing out of one
// of one's own sessions (a caller who administers users may end anyone's).
func (s *authRoutes) revokeOwnSession(c *gin.Context) {
	id, ok := uuidParam(c, "must be a session id (UUID)")
	if !ok {
		return
	}
	p, _ := principal(c)
	a := auditOf(c)
	a.about(audit.ActionSecurity, "Session", id.String(), nil)
	sess, err := s.sessions.GetAuthSession(c.Request.Context(), id)
	if err != nil {
		s.fail(c, err)
		return
	}
	reason := "signed out"
	if sess.UserID.String() != p.UserID {
		if !p.Allows("system/Person.write") {
			// Another user's session is none of the caller's business: as
			// if it did not exist.
			abort(c, http.StatusNotFound, CodeNotFound, "No such resource.")
			return
		}
		reason = "revoked by an administrator"
	}
	s.revoke(c, sess, reason)
}

// revokeUserSession serves DELETE /v1/auth/users/{id}/sessions/{sessionId}.
func (s *authRoutes) revokeUserSession(c *gin.Context) {
	id, ok := uuidParam(c, "must be a user id (UUID)")
	if !ok {
		return
	}
	sid, err := uuid.Parse(c.Param("sessionId"))
	if err != nil {
		fieldError(c, "sessionId", "must be a session id (UUID)")
		return
	}
	a := auditOf(c)
	a.about(audit.ActionSecurity, "Session", sid.String(), nil)
	sess, err := s.sessions.GetAuthSession(c.Request.Context(), sid)
	if err != nil {
		s.fail(c, err)
		return
	}
	if sess.UserID != id {
		abort(c, http.StatusNotFound, CodeNotFound, "No such resource.")
		return
	}
	s.revoke(c, sess, "revoked by an administrator")
}

func (s *authRoutes) revoke(c *gin.Context, sess identity.Session, reason string) {
	a := auditOf(c)
	revoked, err := s.sessions.RevokeAuthSession(c.Request.Context(), sess.ID, reason)
	if err != nil {
		s.fail(c, err)
		return
	}
	s.reloadRevocations(c)
	a.rec.Description = "session " + sess.ID.String() + " of user " + sess.UserID.String() + " (" + sess.ClientID + ") revoked: " + reason
	p, _ := principal(c)
	c.JSON(http.StatusOK, viewSession(revoked, s.now(), p.SessionID))
}
