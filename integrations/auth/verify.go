package auth

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-jose/go-jose/v3"
	"github.com/go-jose/go-jose/v3/jwt"
	"github.com/google/uuid"
	"github.com/zarish-sphere/zarish/integrations/auth/access"
)

// Leeway is the clock skew tolerated when checking exp, nbf and iat.
const Leeway = 30 * time.Second

// tokenType is the JWT typ header of access tokens (RFC 9068 section 2.1).
const tokenType = "at+jwt"

// Verifier checks access tokens with public keys alone, so any API replica can
// verify tokens from the server's JWKS without a database round trip. With a
// revocation list it also refuses revoked tokens, by a lookup in memory.
//
// A token's signature is checked once: the principal it yields is kept, by
// the exact token, until the token expires (at most verifiedCacheSize
// tokens), so an app presenting the same token on every request pays for
// the ECDSA verification (~90 µs here) once, and the expiry, audience and
// revocation checks (well under a microsecond) on every request.
type Verifier struct {
	issuer   string
	audience string
	keys     atomic.Pointer[map[string]jose.JSONWebKey] // by kid; public keys with alg set
	revoked  *RevocationList
	cache    verifiedCache
	now      func() time.Time
	// onUnknownKey, when set, may load new keys (a rotation elsewhere) and
	// reports whether it did; the lookup is then tried again.
	onUnknownKey func() bool
}

// VerifierOption configures a Verifier.
type VerifierOption func(*Verifier)

// WithAudience makes the verifier demand aud in every token's aud claim
// (the default is the issuer).
func WithAudience(aud string) VerifierOption { return func(v *Verifier) { v.audience = aud } }

// WithRevocations makes the verifier refuse tokens the list revokes.
func WithRevocations(l *RevocationList) VerifierOption { return func(v *Verifier) { v.revoked = l } }

// NewVerifier returns a verifier that accepts tokens from issuer, for the
// audience (the issuer unless WithAudience says otherwise), signed by one of
// the keys in jwks (as served by Server.JWKSHandler). Every key must be a
// public RS256 or ES256 signing key with a kid.
func NewVerifier(issuer string, jwks jose.JSONWebKeySet, opts ...VerifierOption) (*Verifier, error) {
	if issuer == "" {
		return nil, errors.New("auth: verifier needs an issuer")
	}
	v := &Verifier{issuer: issuer, audience: issuer, now: time.Now}
	for _, o := range opts {
		o(v)
	}
	if err := v.SetKeys(jwks); err != nil {
		return nil, err
	}
	return v, nil
}

// SetKeys replaces the keys tokens may be signed with (after a rotation).
func (v *Verifier) SetKeys(jwks jose.JSONWebKeySet) error {
	if len(jwks.Keys) == 0 {
		return errors.New("auth: verifier needs at least one key")
	}
	keys := make(map[string]jose.JSONWebKey, len(jwks.Keys))
	for _, k := range jwks.Keys {
		switch {
		case k.KeyID == "":
			return errors.New("auth: verifier key without kid")
		case !k.IsPublic():
			return fmt.Errorf("auth: verifier key %q is not a public key", k.KeyID)
		case k.Use != "" && k.Use != "sig":
			return fmt.Errorf("auth: verifier key %q has use %q, want sig", k.KeyID, k.Use)
		case k.Algorithm != string(jose.RS256) && k.Algorithm != string(jose.ES256):
			return fmt.Errorf("auth: verifier key %q has alg %q, want RS256 or ES256", k.KeyID, k.Algorithm)
		}
		keys[k.KeyID] = k
	}
	v.keys.Store(&keys)
	return nil
}

// accessClaims are the claims of an access token beyond the registered ones.
type accessClaims struct {
	ClientID string   `json:"client_id"`
	Scope    string   `json:"scope"`
	Roles    []string `json:"roles"`
	FHIRUser string   `json:"fhirUser"`
	SID      string   `json:"sid"`
	Patient  string   `json:"patient"`
}

// Verify checks bearer (the token, with or without a "Bearer " prefix): its
// typ, its signature by the key its kid names with that key's algorithm, its
// issuer and audience, exp (required), nbf and iat within Leeway, and the
// revocation list. Any failure is ErrInvalidToken wrapping the reason.
//
// A user's token (one with sid) names the user in sub and may name their
// practitioner in fhirUser (Practitioner/<id>); a machine client's names
// the client in sub.
func (v *Verifier) Verify(_ context.Context, bearer string) (access.Principal, error) {
	raw := strings.TrimSpace(bearer)
	if len(raw) > 7 && strings.EqualFold(raw[:7], "bearer ") {
		raw = strings.TrimSpace(raw[7:])
	}
	now := v.now()
	p, ok := v.cache.get(raw)
	if ok {
		if !now.Before(p.ExpiresAt.Add(Leeway)) {
			return access.Principal{}, fmt.Errorf("%w: token is expired", access.ErrInvalidToken)
		}
	} else {
		var err error
		if p, err = v.verify(raw, now); err != nil {
			return access.Principal{}, fmt.Errorf("%w: %w", access.ErrInvalidToken, err)
		}
		v.cache.put(raw, p, now)
	}
	if v.revoked != nil {
		if err := v.revoked.check(p.SessionID, p.UserID, p.ClientID, p.TokenID, p.IssuedAt); err != nil {
			return access.Principal{}, fmt.Errorf("%w: %w", access.ErrInvalidToken, err)
		}
	}
	return p, nil
}

func (v *Verifier) verify(raw string, now time.Time) (access.Principal, error) {
	if raw == "" {
		return access.Principal{}, errors.New("empty token")
	}
	tok, err := jwt.ParseSigned(raw)
	if err != nil {
		return access.Principal{}, fmt.Errorf("malformed token: %w", err)
	}
	if len(tok.Headers) != 1 {
		return access.Principal{}, fmt.Errorf("token has %d signatures, want 1", len(tok.Headers))
	}
	h := tok.Headers[0]
	if typ, _ := h.ExtraHeaders[jose.HeaderType].(string); !strings.EqualFold(typ, tokenType) && !strings.EqualFold(typ, "application/"+tokenType) {
		return access.Principal{}, fmt.Errorf("token typ %q, want %s", typ, tokenType)
	}
	key, ok := (*v.keys.Load())[h.KeyID]
	if !ok && v.onUnknownKey != nil && v.onUnknownKey() {
		key, ok = (*v.keys.Load())[h.KeyID]
	}
	if !ok {
		return access.Principal{}, fmt.Errorf("unknown signing key %q", h.KeyID)
	}
	if h.Algorithm != key.Algorithm {
		return access.Principal{}, fmt.Errorf("token alg %q, key %q wants %q", h.Algorithm, h.KeyID, key.Algorithm)
	}
	var (
		std    jwt.Claims
		claims accessClaims
	)
	if err := tok.Claims(key.Key, &std, &claims); err != nil {
		return access.Principal{}, fmt.Errorf("signature: %w", err)
	}
	if std.Expiry == nil {
		return access.Principal{}, errors.New("token has no exp")
	}
	if err := std.ValidateWithLeeway(jwt.Expected{Issuer: v.issuer, Time: now}, Leeway); err != nil {
		if errors.Is(err, jwt.ErrInvalidIssuer) {
			return access.Principal{}, fmt.Errorf("%w: got %q", err, std.Issuer)
		}
		return access.Principal{}, err
	}
	if !slices.Contains(std.Audience, v.audience) {
		return access.Principal{}, fmt.Errorf("wrong audience: token is for %q, not %q", []string(std.Audience), v.audience)
	}
	if std.Subject == "" || claims.ClientID == "" {
		return access.Principal{}, errors.New("token has no sub or client_id")
	}
	p := access.Principal{
		Subject:   std.Subject,
		ClientID:  claims.ClientID,
		Scopes:    strings.Fields(claims.Scope),
		Roles:     claims.Roles,
		TokenID:   std.ID,
		ExpiresAt: std.Expiry.Time(),
	}
	if std.IssuedAt != nil {
		p.IssuedAt = std.IssuedAt.Time()
	}
	if claims.SID != "" {
		if _, err := uuid.Parse(std.Subject); err != nil {
			return access.Principal{}, fmt.Errorf("user token's sub %q is not a user id", std.Subject)
		}
		p.UserID, p.SessionID = std.Subject, claims.SID
		if claims.FHIRUser != "" {
			id, ok := strings.CutPrefix(claims.FHIRUser, "Practitioner/")
			if _, err := uuid.Parse(id); !ok || err != nil {
				return access.Principal{}, fmt.Errorf("fhirUser %q is not Practitioner/<id>", claims.FHIRUser)
			}
			p.PractitionerID = id
		}
		if claims.Patient != "" {
			if _, err := uuid.Parse(claims.Patient); err != nil {
				return access.Principal{}, fmt.Errorf("patient %q is not a patient id", claims.Patient)
			}
			p.Patient = claims.Patient
		}
	}
	return p, nil
}

// verifiedCacheSize bounds how many verified tokens the cache keeps.
const verifiedCacheSize = 8192

// verifiedCache keeps the principals of tokens whose signature checked out,
// by the exact token text, until they expire.
type verifiedCache struct {
	mu sync.RWMutex
	m  map[string]access.Principal
}

func (c *verifiedCache) get(raw string) (access.Principal, bool) {
	c.mu.RLock()
	p, ok := c.m[raw]
	c.mu.RUnlock()
	return p, ok
}

func (c *verifiedCache) put(raw string, p access.Principal, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = make(map[string]access.Principal)
	}
	if len(c.m) >= verifiedCacheSize {
		for k, e := range c.m {
			if !now.Before(e.ExpiresAt.Add(Leeway)) {
				delete(c.m, k)
			}
		}
		if len(c.m) >= verifiedCacheSize {
			clear(c.m) // all alive: start over rather than grow
		}
	}
	c.m[raw] = p
}
