package auth

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v3"
	"github.com/go-jose/go-jose/v3/jwt"
)

// ErrInvalidToken is returned, wrapped with the reason, for any bearer token
// that does not verify.
var ErrInvalidToken = errors.New("invalid access token")

// Leeway is the clock skew tolerated when checking exp, nbf and iat.
const Leeway = 30 * time.Second

// tokenType is the JWT typ header of access tokens (RFC 9068 section 2.1).
const tokenType = "at+jwt"

// Verifier checks access tokens with public keys alone, so any API replica can
// verify tokens from the server's JWKS without a database round trip.
type Verifier struct {
	issuer string
	keys   map[string]jose.JSONWebKey // by kid; public keys with alg set
	now    func() time.Time
}

// NewVerifier returns a verifier that accepts tokens from issuer signed by one
// of the keys in jwks (as served by Server.JWKSHandler). Every key must be a
// public RS256 or ES256 signing key with a kid.
func NewVerifier(issuer string, jwks jose.JSONWebKeySet) (*Verifier, error) {
	if issuer == "" {
		return nil, errors.New("auth: verifier needs an issuer")
	}
	if len(jwks.Keys) == 0 {
		return nil, errors.New("auth: verifier needs at least one key")
	}
	v := &Verifier{issuer: issuer, keys: make(map[string]jose.JSONWebKey, len(jwks.Keys)), now: time.Now}
	for _, k := range jwks.Keys {
		switch {
		case k.KeyID == "":
			return nil, errors.New("auth: verifier key without kid")
		case !k.IsPublic():
			return nil, fmt.Errorf("auth: verifier key %q is not a public key", k.KeyID)
		case k.Use != "" && k.Use != "sig":
			return nil, fmt.Errorf("auth: verifier key %q has use %q, want sig", k.KeyID, k.Use)
		case k.Algorithm != string(jose.RS256) && k.Algorithm != string(jose.ES256):
			return nil, fmt.Errorf("auth: verifier key %q has alg %q, want RS256 or ES256", k.KeyID, k.Algorithm)
		}
		v.keys[k.KeyID] = k
	}
	return v, nil
}

// accessClaims are the claims of an access token beyond the registered ones.
type accessClaims struct {
	ClientID string   `json:"client_id"`
	Scope    string   `json:"scope"`
	Roles    []string `json:"roles"`
}

// Verify checks bearer (the token, with or without a "Bearer " prefix): its
// typ, its signature by the key its kid names with that key's algorithm, its
// issuer, and exp (required), nbf and iat within Leeway. Any failure is
// ErrInvalidToken wrapping the reason.
func (v *Verifier) Verify(_ context.Context, bearer string) (Principal, error) {
	p, err := v.verify(bearer)
	if err != nil {
		return Principal{}, fmt.Errorf("%w: %w", ErrInvalidToken, err)
	}
	return p, nil
}

func (v *Verifier) verify(bearer string) (Principal, error) {
	raw := strings.TrimSpace(bearer)
	if len(raw) > 7 && strings.EqualFold(raw[:7], "bearer ") {
		raw = strings.TrimSpace(raw[7:])
	}
	if raw == "" {
		return Principal{}, errors.New("empty token")
	}
	tok, err := jwt.ParseSigned(raw)
	if err != nil {
		return Principal{}, fmt.Errorf("malformed token: %w", err)
	}
	if len(tok.Headers) != 1 {
		return Principal{}, fmt.Errorf("token has %d signatures, want 1", len(tok.Headers))
	}
	h := tok.Headers[0]
	if typ, _ := h.ExtraHeaders[jose.HeaderType].(string); !strings.EqualFold(typ, tokenType) && !strings.EqualFold(typ, "application/"+tokenType) {
		return Principal{}, fmt.Errorf("token typ %q, want %s", typ, tokenType)
	}
	key, ok := v.keys[h.KeyID]
	if !ok {
		return Principal{}, fmt.Errorf("unknown signing key %q", h.KeyID)
	}
	if h.Algorithm != key.Algorithm {
		return Principal{}, fmt.Errorf("token alg %q, key %q wants %q", h.Algorithm, h.KeyID, key.Algorithm)
	}
	var (
		std    jwt.Claims
		access accessClaims
	)
	if err := tok.Claims(key.Key, &std, &access); err != nil {
		return Principal{}, fmt.Errorf("signature: %w", err)
	}
	if std.Expiry == nil {
		return Principal{}, errors.New("token has no exp")
	}
	if err := std.ValidateWithLeeway(jwt.Expected{Issuer: v.issuer, Time: v.now()}, Leeway); err != nil {
		if errors.Is(err, jwt.ErrInvalidIssuer) {
			return Principal{}, fmt.Errorf("%w: got %q", err, std.Issuer)
		}
		return Principal{}, err
	}
	if std.Subject == "" || access.ClientID == "" {
		return Principal{}, errors.New("token has no sub or client_id")
	}
	return Principal{
		Subject:  std.Subject,
		ClientID: access.ClientID,
		Scopes:   strings.Fields(access.Scope),
		Roles:    access.Roles,
	}, nil
}
