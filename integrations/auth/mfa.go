package auth

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/hotp"
	"github.com/pquerna/otp/totp"
	qrcode "github.com/skip2/go-qrcode"
	"github.com/zarish-sphere/zarish/integrations/auth/access"
)

// TOTP as RFC 6238 defines it and authenticator apps expect: HMAC-SHA1, six
// digits, a 30-second time step. A code of the step before or after the
// current one is accepted (clocks drift, people type slowly); two steps away
// is refused. Each step is accepted once (RFC 6238 §5.2).
const (
	totpPeriod = 30
	totpDigits = otp.DigitsSix
	totpSkew   = 1
	// totpSecretSize is the key length: 160 bits, RFC 4226 §4's recommendation.
	totpSecretSize = 20
)

// RecoveryCodeCount is how many single-use recovery codes an enrolment makes.
const RecoveryCodeCount = 10

// newTOTPKey makes a fresh TOTP key for account, issued by issuer (the
// names an authenticator app shows).
func newTOTPKey(issuer, account string) (*otp.Key, error) {
	return totp.Generate(totp.GenerateOpts{
		Issuer: issuer, AccountName: account, Period: totpPeriod, SecretSize: totpSecretSize,
		Digits: totpDigits, Algorithm: otp.AlgorithmSHA1,
	})
}

// totpURI returns the otpauth:// URI of secret (base32) for account.
func totpURI(issuer, account, secret string) (string, error) {
	raw, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(strings.ToUpper(secret))
	if err != nil {
		return "", fmt.Errorf("auth: TOTP secret: %w", err)
	}
	k, err := totp.Generate(totp.GenerateOpts{
		Issuer: issuer, AccountName: account, Period: totpPeriod, Secret: raw,
		Digits: totpDigits, Algorithm: otp.AlgorithmSHA1,
	})
	if err != nil {
		return "", err
	}
	return k.URL(), nil
}

// totpQRCode renders uri as a PNG QR code.
func totpQRCode(uri string) ([]byte, error) { return qrcode.Encode(uri, qrcode.Medium, 240) }

// totpStep returns the RFC 6238 time step of t.
func totpStep(t time.Time) int64 { return t.Unix() / totpPeriod }

// checkTOTP reports the time step code is valid for, secret being the
// base32 key, within totpSkew steps of at; false when it matches none.
func checkTOTP(secret, code string, at time.Time) (int64, bool) {
	code = strings.TrimSpace(code)
	if len(code) != totpDigits.Length() {
		return 0, false
	}
	opts := hotp.ValidateOpts{Digits: totpDigits, Algorithm: otp.AlgorithmSHA1}
	now := totpStep(at)
	matched, found := int64(0), false
	// Every candidate is computed, match or not, so the time taken does not
	// say which step matched.
	for step := now - totpSkew; step <= now+totpSkew; step++ {
		ok, err := hotp.ValidateCustom(code, uint64(step), secret, opts)
		if err == nil && ok && !found {
			matched, found = step, true
		}
	}
	return matched, found
}

// totpCode returns the code of secret at t (for tests and the dev banner).
func totpCode(secret string, t time.Time) (string, error) {
	return totp.GenerateCodeCustom(secret, t, totp.ValidateOpts{Period: totpPeriod, Digits: totpDigits, Algorithm: otp.AlgorithmSHA1})
}

// newRecoveryCodes returns RecoveryCodeCount fresh codes (ten base32
// characters, 50 bits each, shown as xxxxx-xxxxx) and their hashes.
func newRecoveryCodes() (codes, hashes []string, err error) {
	enc := base32.StdEncoding.WithPadding(base32.NoPadding)
	for range RecoveryCodeCount {
		var b [7]byte
		if _, err := rand.Read(b[:]); err != nil {
			return nil, nil, fmt.Errorf("auth: recovery code: %w", err)
		}
		c := strings.ToLower(enc.EncodeToString(b[:]))[:10]
		codes = append(codes, c[:5]+"-"+c[5:])
		hashes = append(hashes, recoveryHash(c))
	}
	return codes, hashes, nil
}

// recoveryHash is how a recovery code is stored: SHA-256 of the code without
// its dash, lower-case. The codes are random and long enough that a fast
// hash is no weakness.
func recoveryHash(code string) string {
	c := strings.ToLower(strings.ReplaceAll(strings.TrimSpace(code), "-", ""))
	sum := sha256.Sum256([]byte(c))
	return hex.EncodeToString(sum[:])
}

// looksLikeRecoveryCode tells a recovery code (xxxxx-xxxxx) from a TOTP code.
func looksLikeRecoveryCode(s string) bool {
	return len(strings.ReplaceAll(strings.TrimSpace(s), "-", "")) == 10
}

// sealer encrypts TOTP keys at rest with AES-256-GCM under a key derived
// from the server's secret (HKDF-SHA256), so a copy of the users table
// alone yields no authenticator.
type sealer struct{ aead cipher.AEAD }

func newSealer(secret []byte) (*sealer, error) {
	key, err := hkdf.Key(sha256.New, secret, nil, "zarish totp key sealing v1", 32)
	if err != nil {
		return nil, fmt.Errorf("auth: derive sealing key: %w", err)
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &sealer{aead: aead}, nil
}

func (s *sealer) seal(plain string) ([]byte, error) {
	nonce := make([]byte, s.aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return nil, err
	}
	return s.aead.Seal(nonce, nonce, []byte(plain), nil), nil
}

func (s *sealer) open(sealed []byte) (string, error) {
	n := s.aead.NonceSize()
	if len(sealed) < n {
		return "", errors.New("auth: sealed value too short")
	}
	plain, err := s.aead.Open(nil, sealed[:n], sealed[n:], nil)
	if err != nil {
		return "", fmt.Errorf("auth: open sealed value: %w", err)
	}
	return string(plain), nil
}

// DefaultMFARoles are the roles whose users must use a second factor unless
// the configuration says otherwise: administrators, and pharmacists, whose
// overrides release medication.
var DefaultMFARoles = []string{string(access.RoleAdmin), string(access.RolePharmacist)}

// mfaRequired reports whether a user holding roles must use a second factor.
func mfaRequired(policy, roles []string) bool {
	for _, r := range roles {
		if slices.Contains(policy, r) {
			return true
		}
	}
	return false
}
