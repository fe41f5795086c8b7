package auth

import (
	"errors"
	"fmt"
	"slices"

	"golang.org/x/crypto/bcrypt"

	"github.com/zarish-sphere/zarish/integrations/auth/access"
	"github.com/zarish-sphere/zarish/integrations/postgres"
)

// Client secret length bounds: bcrypt ignores bytes past 72, so longer secrets
// are refused rather than silently truncated.
const (
	MinSecretLength = 8
	MaxSecretLength = 72
)

// NewClient returns a client_credentials client ready for
// postgres.OAuthStore.CreateClient or EnsureClient: secret hashed with bcrypt,
// scopes validated with ParseScope and roles against Roles, both deduplicated.
// The client may be granted its scopes and those its roles grant
// (GrantableScopes); it needs at least one of either. The id is 1–100
// characters from A–Z a–z 0–9 . _ ~ - (safe in HTTP Basic credentials without
// encoding); name defaults to the id. Every problem is reported at once.
func NewClient(id, secret, name string, scopes, roles []string) (postgres.OAuthClient, error) {
	var errs []error
	if !validClientID(id) {
		errs = append(errs, fmt.Errorf("client id %q: want 1-100 characters from A-Z a-z 0-9 . _ ~ -", id))
	}
	if len(secret) < MinSecretLength || len(secret) > MaxSecretLength {
		errs = append(errs, fmt.Errorf("client secret: want %d to %d bytes, got %d", MinSecretLength, MaxSecretLength, len(secret)))
	}
	granted, held, err := ClientAccess(scopes, roles)
	if err != nil {
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		return postgres.OAuthClient{}, fmt.Errorf("auth: new client: %w", err)
	}
	hash, err := bcrypt.GenerateFromPassword([]byte(secret), bcrypt.DefaultCost)
	if err != nil {
		return postgres.OAuthClient{}, fmt.Errorf("auth: hash client secret: %w", err)
	}
	if name == "" {
		name = id
	}
	return postgres.OAuthClient{
		ID:         id,
		Name:       name,
		SecretHash: hash,
		Scopes:     granted,
		Roles:      held,
		GrantTypes: []string{"client_credentials"},
		Audience:   []string{},
	}, nil
}

// ClientAccess checks what a client may be granted: its own scopes (SMART
// scopes, the special ones or the sign-in ones) and its roles, at least one of either. It
// returns them without repeats, or every problem found.
func ClientAccess(scopes, roles []string) (granted, held []string, err error) {
	var errs []error
	if len(scopes) == 0 && len(roles) == 0 {
		errs = append(errs, errors.New("client scopes and roles: at least one scope or role is required"))
	}
	for _, s := range scopes {
		if _, err := access.ParseScope(s); err != nil && !slices.Contains(access.SpecialScopes, s) && !slices.Contains(access.SignInScopes, s) {
			errs = append(errs, err)
			continue
		}
		if !slices.Contains(granted, s) {
			granted = append(granted, s)
		}
	}
	held, roleErrs := access.ValidateRoles(roles)
	errs = append(errs, roleErrs...)
	return granted, held, errors.Join(errs...)
}

func validClientID(id string) bool {
	if id == "" || len(id) > 100 {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '.', c == '_', c == '~', c == '-':
		default:
			return false
		}
	}
	return true
}
