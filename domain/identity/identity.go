// Package identity is who signs in: users of this server, each linked to a
// practitioner of the care-team directory or, as an administrator or
// auditor, to none, and the sessions their sign-ins open.
package identity

import (
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/zarish-sphere/zarish/domain"
)

// Size limits of a user, in characters and items.
const (
	MinUsernameLen    = 3
	MaxUsernameLen    = 64
	MaxDisplayNameLen = 200
	MaxRoles          = 10
	// MinPasswordLen and MaxPasswordLen bound a password: NIST SP 800-63B
	// §3.1.1.2 asks for at least 15 characters when a password is the only
	// factor and lets verifiers allow at least 64; the hash makes length free.
	MinPasswordLen = 15
	MaxPasswordLen = 256
)

// User is a person who signs in.
type User struct {
	ID          uuid.UUID
	Username    string // lower-case, unique
	DisplayName string
	// PractitionerID links the user to the care-team directory; nil for an
	// administrator or auditor who is not a practitioner.
	PractitionerID *uuid.UUID
	Roles          []string
	// MFAEnrolled says a TOTP authenticator is enrolled.
	MFAEnrolled bool
	// LockedUntil is set while sign-in is refused after repeated failures.
	LockedUntil  *time.Time
	LastSignInAt *time.Time
	CreatedAt    time.Time
	UpdatedAt    time.Time
	// DisabledAt is set once the user may no longer sign in; their tokens
	// are refused from then on.
	DisabledAt *time.Time
	Version    int
}

// Active reports whether the user may sign in (locks aside).
func (u User) Active() bool { return u.DisabledAt == nil }

// NormalizeUsername trims and lower-cases a username.
func NormalizeUsername(s string) string { return strings.ToLower(strings.TrimSpace(s)) }

// ValidateUsername adds to v what is wrong with a normalized username: 3–64
// characters from a–z 0–9 . _ - @.
func ValidateUsername(v *domain.ValidationError, field, name string) {
	if n := utf8.RuneCountInString(name); n < MinUsernameLen || n > MaxUsernameLen {
		v.Add(field, "must be 3 to 64 characters")
		return
	}
	for _, c := range name {
		switch {
		case 'a' <= c && c <= 'z', '0' <= c && c <= '9', c == '.', c == '_', c == '-', c == '@':
		default:
			v.Add(field, "may hold only a-z 0-9 . _ - @")
			return
		}
	}
}

// ValidatePassword adds to v what is wrong with a new password: its length
// (NIST SP 800-63B §3.1.1.2), and whether it repeats the username.
func ValidatePassword(v *domain.ValidationError, field, password, username string) {
	n := utf8.RuneCountInString(password)
	switch {
	case n < MinPasswordLen:
		v.Add(field, "must be at least 15 characters")
	case n > MaxPasswordLen:
		v.Add(field, "must be at most 256 characters")
	case !utf8.ValidString(password):
		v.Add(field, "must be UTF-8 text")
	case username != "" && strings.Contains(strings.ToLower(password), username):
		v.Add(field, "must not contain the username")
	}
}

// ValidateDisplayName adds to v what is wrong with a display name.
func ValidateDisplayName(v *domain.ValidationError, field, name string) {
	if utf8.RuneCountInString(name) > MaxDisplayNameLen {
		v.Add(field, "must be at most 200 characters")
	}
}

// Session is one completed sign-in of a user into one client: the sid of its
// tokens and the family of its refresh tokens.
type Session struct {
	ID         uuid.UUID
	UserID     uuid.UUID
	ClientID   string
	AMR        []string // how the user authenticated: pwd, otp
	SourceIP   string
	UserAgent  string
	CreatedAt  time.Time
	LastUsedAt time.Time
	ExpiresAt  time.Time
	RevokedAt  *time.Time
	// RevokedReason says why: signed out, revoked by an administrator,
	// refresh token reuse, user disabled.
	RevokedReason string
}

// Active reports whether the session can still refresh at now.
func (s Session) Active(now time.Time) bool { return s.RevokedAt == nil && now.Before(s.ExpiresAt) }

// UserFilter selects users for a list. Zero fields do not filter.
type UserFilter struct {
	// Role matches users holding it.
	Role string
	// IncludeDisabled lists disabled users too.
	IncludeDisabled bool
	Limit           int
	Cursor          string
}

// UserPage is one page of users; Next is empty on the last.
type UserPage struct {
	Users []User
	Next  string
}

// Launch is a SMART launch context: the patient (and encounter) an app is
// opened for, which confines the patient/ scopes of the sign-in that uses
// it. The app holds an opaque value; stores keep only its digest.
type Launch struct {
	PatientID   uuid.UUID
	EncounterID *uuid.UUID
	// ClientID and UserID are who created it.
	ClientID  string
	UserID    *uuid.UUID
	CreatedAt time.Time
	ExpiresAt time.Time
}

// LaunchTTL is how long a launch context can be used: an app is opened
// straight after the launch is made.
const LaunchTTL = 5 * time.Minute
