package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"github.com/zarish-sphere/zarish/domain"
	"github.com/zarish-sphere/zarish/domain/audit"
	"github.com/zarish-sphere/zarish/domain/identity"
	"github.com/zarish-sphere/zarish/integrations/auth/access"
)

// UserDirectory is the users who sign in.
type UserDirectory interface {
	CreateUser(ctx context.Context, u identity.User, passwordHash string) (identity.User, error)
	GetUser(ctx context.Context, id uuid.UUID) (identity.User, error)
	ListUsers(ctx context.Context, f identity.UserFilter) (identity.UserPage, error)
	// SetUserRoles replaces the roles when the user is still at version,
	// revoking the user's tokens so the next refresh gets the new scopes.
	SetUserRoles(ctx context.Context, id uuid.UUID, version int, roles []string) (before, after identity.User, err error)
	// DisableUser stops sign-in and revokes every session and token.
	DisableUser(ctx context.Context, id uuid.UUID) (identity.User, error)
	Unlock(ctx context.Context, id uuid.UUID) (identity.User, error)
	// ResetMFA removes the TOTP authenticator and recovery codes.
	ResetMFA(ctx context.Context, id uuid.UUID) (identity.User, error)
}

// userView is a user as the API shows it: never a secret.
type userView struct {
	ID           uuid.UUID  `json:"id"`
	Username     string     `json:"username"`
	DisplayName  string     `json:"displayName"`
	Practitioner *uuid.UUID `json:"practitionerId"`
	Roles        []string   `json:"roles"`
	// Scopes are what the roles grant (a sign-in is granted no more).
	Scopes       []string   `json:"scopes"`
	MFAEnrolled  bool       `json:"mfaEnrolled"`
	Active       bool       `json:"active"`
	LockedUntil  *time.Time `json:"lockedUntil,omitempty"`
	LastSignInAt *time.Time `json:"lastSignInAt,omitempty"`
	CreatedAt    time.Time  `json:"createdAt"`
	UpdatedAt    time.Time  `json:"updatedAt"`
	DisabledAt   *time.Time `json:"disabledAt,omitempty"`
}

func viewUser(u identity.User) userView {
	roles := u.Roles
	if roles == nil {
		roles = []string{}
	}
	return userView{
		ID: u.ID, Username: u.Username, DisplayName: u.DisplayName, Practitioner: u.PractitionerID,
		Roles: roles, Scopes: access.GrantableScopes(nil, roles), MFAEnrolled: u.MFAEnrolled, Active: u.Active(),
		LockedUntil: u.LockedUntil, LastSignInAt: u.LastSignInAt, CreatedAt: u.CreatedAt, UpdatedAt: u.UpdatedAt,
		DisabledAt: u.DisabledAt,
	}
}

// userBody is POST /v1/auth/users.
type userBody struct {
	Username       string     `json:"username"`
	DisplayName    string     `json:"displayName"`
	PractitionerID *uuid.UUID `json:"practitionerId"`
	Roles          []string   `json:"roles"`
	Password       string     `json:"password"`
}

func (s *authRoutes) createUser(c *gin.Context) {
	var b userBody
	if readJSON(c, &b) == nil {
		return
	}
	id, err := s.newID()
	if err != nil {
		s.fail(c, err)
		return
	}
	verr := &domain.ValidationError{}
	u, err := access.NewUser(id, b.Username, b.DisplayName, b.PractitionerID, b.Roles)
	if err != nil && !errors.As(err, &verr) {
		s.fail(c, err)
		return
	}
	identity.ValidatePassword(verr, "password", b.Password, identity.NormalizeUsername(b.Username))
	if err := verr.OrNil(); err != nil {
		s.fail(c, err)
		return
	}
	hash, err := access.HashPassword(c.Request.Context(), b.Password)
	if err != nil {
		s.fail(c, err)
		return
	}
	a := auditOf(c)
	a.about(audit.ActionCreate, "User", id.String(), nil)
	a.rec.Description = fmt.Sprintf("user %s created with roles [%s]%s", u.Username, strings.Join(u.Roles, " "), practitionerText(u.PractitionerID))
	created, err := s.users.CreateUser(c.Request.Context(), u, hash)
	switch {
	case errors.Is(err, domain.ErrConflict):
		abort(c, http.StatusConflict, CodeConflict, "The username is taken, or the practitioner already has an account.")
		return
	case errors.Is(err, domain.ErrNotFound):
		fieldError(c, "practitionerId", "names no practitioner of the directory")
		return
	case err != nil:
		s.fail(c, err)
		return
	}
	c.Header("Location", location("/v1/auth/users", created.ID.String()))
	c.Header("ETag", etag(created.Version))
	c.JSON(http.StatusCreated, viewUser(created))
}

func practitionerText(p *uuid.UUID) string {
	if p == nil {
		return ", no practitioner"
	}
	return ", practitioner " + p.String()
}

func (s *authRoutes) listUsers(c *gin.Context) {
	verr := &domain.ValidationError{}
	onlyParams(c, verr, "role", "includeDisabled", "limit", "cursor")
	f := identity.UserFilter{Role: c.Query("role"), Limit: limitParam(c, verr, 50, 200), Cursor: c.Query("cursor")}
	switch c.Query("includeDisabled") {
	case "", "false":
	case "true":
		f.IncludeDisabled = true
	default:
		verr.Add("includeDisabled", "must be true or false")
	}
	if f.Role != "" && !access.Role(f.Role).Valid() {
		verr.Add("role", "must be one of "+strings.Join(access.RoleNames(), ", "))
	}
	if err := verr.OrNil(); err != nil {
		s.fail(c, err)
		return
	}
	auditOf(c).about(audit.ActionSearch, "User", "", nil)
	page, err := s.users.ListUsers(c.Request.Context(), f)
	if err != nil {
		s.fail(c, err)
		return
	}
	views := make([]userView, len(page.Users))
	for i, u := range page.Users {
		views[i] = viewUser(u)
	}
	c.JSON(http.StatusOK, pageBody(views, page.Next))
}

func (s *authRoutes) getUser(c *gin.Context) {
	id, ok := uuidParam(c, "must be a user id (UUID)")
	if !ok {
		return
	}
	auditOf(c).about(audit.ActionRead, "User", id.String(), nil)
	u, err := s.users.GetUser(c.Request.Context(), id)
	if err != nil {
		s.fail(c, err)
		return
	}
	if notModified(c, u.Version) {
		return
	}
	c.Header("ETag", etag(u.Version))
	c.JSON(http.StatusOK, viewUser(u))
}

// rolesBody is PUT /v1/auth/users/{id}/roles.
type rolesBody struct {
	Roles []string `json:"roles"`
}

// setUserRoles replaces a user's roles (If-Match required); the audit
// record says what changed, and the user's tokens are revoked so that
// their next refresh carries the new roles' scopes.
func (s *authRoutes) setUserRoles(c *gin.Context) {
	id, ok := uuidParam(c, "must be a user id (UUID)")
	if !ok {
		return
	}
	want, ok := requireIfMatch(c)
	if !ok {
		return
	}
	var b rolesBody
	if readJSON(c, &b) == nil {
		return
	}
	ctx := c.Request.Context()
	a := auditOf(c)
	a.about(audit.ActionAdmin, "User", id.String(), nil)
	current, err := s.users.GetUser(ctx, id)
	if err != nil {
		s.fail(c, err)
		return
	}
	if err := checkVersion(current.Version, want); err != nil {
		s.fail(c, err)
		return
	}
	roles, err := access.ValidateUserRoles(current.PractitionerID != nil, b.Roles)
	if err != nil {
		s.fail(c, err)
		return
	}
	before, after, err := s.users.SetUserRoles(ctx, id, current.Version, roles)
	if err != nil {
		s.fail(c, err)
		return
	}
	a.rec.Description = fmt.Sprintf("roles of user %s changed from [%s] to [%s]; their tokens were revoked",
		after.Username, strings.Join(before.Roles, " "), strings.Join(after.Roles, " "))
	s.reloadRevocations(c)
	c.Header("ETag", etag(after.Version))
	c.JSON(http.StatusOK, viewUser(after))
}

// disableUser stops a user from signing in and revokes their sessions and
// tokens at once.
func (s *authRoutes) disableUser(c *gin.Context) {
	s.adminUserChange(c, "disabled; every session and token revoked", func(ctx context.Context, id uuid.UUID) (identity.User, error) {
		return s.users.DisableUser(ctx, id)
	}, true)
}

// unlockUser lifts a lockout.
func (s *authRoutes) unlockUser(c *gin.Context) {
	s.adminUserChange(c, "unlocked", s.users.Unlock, false)
}

// resetMFA removes a user's authenticator (a lost phone): the next sign-in
// enrols a new one where the role requires it.
func (s *authRoutes) resetMFA(c *gin.Context) {
	s.adminUserChange(c, "MFA reset: authenticator and recovery codes removed", s.users.ResetMFA, false)
}

func (s *authRoutes) adminUserChange(c *gin.Context, what string, change func(context.Context, uuid.UUID) (identity.User, error), revokes bool) {
	id, ok := uuidParam(c, "must be a user id (UUID)")
	if !ok {
		return
	}
	a := auditOf(c)
	a.about(audit.ActionAdmin, "User", id.String(), nil)
	a.rec.Description = "user " + id.String() + " " + what
	if c.Request.Method == http.MethodDelete || strings.HasSuffix(c.FullPath(), "/mfa") {
		a.rec.Action = audit.ActionSecurity
	}
	u, err := change(c.Request.Context(), id)
	if err != nil {
		s.fail(c, err)
		return
	}
	a.rec.Description = "user " + u.Username + " " + what
	if revokes {
		s.reloadRevocations(c)
	}
	c.Header("ETag", etag(u.Version))
	c.JSON(http.StatusOK, viewUser(u))
}
