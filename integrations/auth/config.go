package auth

import (
	"errors"
	"time"
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
	// TokenTTL is the access token lifetime; DefaultTokenTTL when zero.
	TokenTTL time.Duration
}

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
	if c.TokenTTL < 0 {
		errs = append(errs, errors.New("auth: TokenTTL must not be negative"))
	}
	return errors.Join(errs...)
}

func (c Config) tokenTTL() time.Duration {
	if c.TokenTTL == 0 {
		return DefaultTokenTTL
	}
	return c.TokenTTL
}
