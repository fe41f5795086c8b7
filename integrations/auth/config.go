package auth

import (
	"errors"
	"time"

	"github.com/zarish-sphere/zarish/integrations/postgres"
)

// DefaultTokenTTL is the access token lifetime when Config.TokenTTL is zero.
const DefaultTokenTTL = time.Hour

// Config is the OAuth2 slice of the process configuration.
type Config struct {
	// Issuer is the iss claim of every token and the only issuer Verify accepts,
	// e.g. https://api.example.org.
	Issuer string
	// SigningKeyFile holds the PEM private key tokens are signed with: PKCS#8,
	// PKCS#1 (RSA) or SEC 1 (EC); RSA of at least 2048 bits (RS256) or ECDSA
	// P-256 (ES256).
	SigningKeyFile string
	// GenerateKey creates an ECDSA P-256 key in SigningKeyFile, mode 0600, when
	// the file does not exist. Without it a missing file is an error.
	GenerateKey bool
	// GlobalSecret is fosite's HMAC secret, at least 32 bytes.
	GlobalSecret []byte
	// TokenTTL is the access token lifetime; DefaultTokenTTL when zero, at
	// most MaxTokenTTL (short lifetimes keep the revocation list small).
	TokenTTL time.Duration
	// Audience is the aud of every access token and the one Verify demands;
	// the issuer when empty.
	Audience string
	// SessionTTL bounds a sign-in session: its refresh tokens stop working
	// that long after the sign-in. DefaultSessionTTL when zero.
	SessionTTL time.Duration
	// MFARoles are the roles whose users must use a second factor (TOTP);
	// DefaultMFARoles when nil.
	MFARoles []string
	// Lockout locks an account after repeated failed sign-ins;
	// DefaultLockout when its Threshold is zero.
	Lockout postgres.LockoutPolicy
}

// Defaults of the sign-in settings.
const (
	// MaxTokenTTL is the longest access token lifetime allowed.
	MaxTokenTTL = time.Hour
	// DefaultSessionTTL is one long shift.
	DefaultSessionTTL = 12 * time.Hour
	// authorizeCodeTTL is how long an authorization code may wait for its
	// exchange (RFC 6749 §4.1.2 recommends at most ten minutes).
	authorizeCodeTTL = 5 * time.Minute
	// signInTTL is how long a sign-in page stays usable.
	signInTTL = 15 * time.Minute
)

// DefaultLockout locks an account for a minute at the fifth consecutive
// failure, doubling with each further one up to an hour.
var DefaultLockout = postgres.LockoutPolicy{Threshold: 5, Base: time.Minute, Max: time.Hour}

// validate reports every problem with c at once.
func (c Config) validate() error {
	var errs []error
	if c.Issuer == "" {
		errs = append(errs, errors.New("auth: Issuer is required"))
	}
	if c.SigningKeyFile == "" {
		errs = append(errs, errors.New("auth: SigningKeyFile is required"))
	}
	if len(c.GlobalSecret) < 32 {
		errs = append(errs, errors.New("auth: GlobalSecret must be at least 32 bytes"))
	}
	if c.TokenTTL < 0 || c.TokenTTL > MaxTokenTTL {
		errs = append(errs, errors.New("auth: TokenTTL must be between 0 and one hour"))
	}
	if c.SessionTTL < 0 {
		errs = append(errs, errors.New("auth: SessionTTL must not be negative"))
	}
	return errors.Join(errs...)
}

func (c Config) tokenTTL() time.Duration {
	if c.TokenTTL == 0 {
		return DefaultTokenTTL
	}
	return c.TokenTTL
}

func (c Config) audience() string {
	if c.Audience == "" {
		return c.Issuer
	}
	return c.Audience
}

func (c Config) sessionTTL() time.Duration {
	if c.SessionTTL == 0 {
		return DefaultSessionTTL
	}
	return c.SessionTTL
}

func (c Config) mfaRoles() []string {
	if c.MFARoles == nil {
		return DefaultMFARoles
	}
	return c.MFARoles
}

func (c Config) lockout() postgres.LockoutPolicy {
	if c.Lockout.Threshold == 0 {
		return DefaultLockout
	}
	return c.Lockout
}
