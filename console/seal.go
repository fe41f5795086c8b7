package console

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// KeySize is the length of the console's cookie key: AES-256.
const KeySize = 32

// errSealed is any cookie that does not open: forged, altered, sealed
// under another key or for another cookie, or expired.
var errSealed = errors.New("console: cookie does not open")

// sealer encrypts and authenticates the console's cookies with AES-256-GCM,
// and derives the CSRF tokens from a second key.
type sealer struct {
	aead cipher.AEAD
	csrf []byte
}

// newSealer derives the cookie and CSRF keys from key (KeySize bytes).
func newSealer(key []byte) (*sealer, error) {
	if len(key) != KeySize {
		return nil, fmt.Errorf("console: cookie key: want %d bytes, got %d", KeySize, len(key))
	}
	enc, err := hkdf.Key(sha256.New, key, nil, "zarish console cookie v1", KeySize)
	if err != nil {
		return nil, err
	}
	csrf, err := hkdf.Key(sha256.New, key, nil, "zarish console csrf v1", KeySize)
	if err != nil {
		return nil, err
	}
	block, err := aes.NewCipher(enc)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &sealer{aead: aead, csrf: csrf}, nil
}

// envelope is what a sealed cookie holds: its expiry and its value.
type envelope struct {
	Exp int64           `json:"exp"`
	V   json.RawMessage `json:"v"`
}

// seal encrypts v for the cookie called name until exp; the name is bound
// as additional data, so one cookie's value never opens as another's.
func (s *sealer) seal(name string, v any, exp time.Time) (string, error) {
	raw, err := json.Marshal(v)
	if err != nil {
		return "", err
	}
	plain, err := json.Marshal(envelope{Exp: exp.Unix(), V: raw})
	if err != nil {
		return "", err
	}
	nonce := make([]byte, s.aead.NonceSize(), s.aead.NonceSize()+len(plain)+s.aead.Overhead())
	if _, err := rand.Read(nonce); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(s.aead.Seal(nonce, nonce, plain, []byte(name))), nil
}

// open decrypts the cookie called name into v; errSealed unless it was
// sealed by this key for this name and has not expired at now.
func (s *sealer) open(name, value string, now time.Time, v any) error {
	b, err := base64.RawURLEncoding.DecodeString(value)
	if err != nil || len(b) < s.aead.NonceSize()+s.aead.Overhead() {
		return errSealed
	}
	n := s.aead.NonceSize()
	plain, err := s.aead.Open(nil, b[:n], b[n:], []byte(name))
	if err != nil {
		return errSealed
	}
	var env envelope
	if err := json.Unmarshal(plain, &env); err != nil || now.Unix() >= env.Exp {
		return errSealed
	}
	if err := json.Unmarshal(env.V, v); err != nil {
		return errSealed
	}
	return nil
}

// csrfToken is the CSRF token of the session with id sessionID: every form
// of that session carries it, and no other session's matches.
func (s *sealer) csrfToken(sessionID string) string {
	m := hmac.New(sha256.New, s.csrf)
	m.Write([]byte(sessionID))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// checkCSRF reports whether token is the session's CSRF token.
func (s *sealer) checkCSRF(sessionID, token string) bool {
	if sessionID == "" || token == "" {
		return false
	}
	return hmac.Equal([]byte(s.csrfToken(sessionID)), []byte(token))
}

// randomString is n random bytes, base64url without padding.
func randomString(n int) (string, error) {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// NewKey returns a random cookie key, for a process that has none
// configured: its sessions end when it stops.
func NewKey() ([]byte, error) {
	k := make([]byte, KeySize)
	if _, err := rand.Read(k); err != nil {
		return nil, err
	}
	return k, nil
}
