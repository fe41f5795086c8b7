package auth

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v3"
	"github.com/go-jose/go-jose/v3/jwt"
	"github.com/zarish-sphere/zarish/integrations/auth/access"
)

func TestVerifyRoundTrip(t *testing.T) {
	f := newFixture(t)
	tok := f.issue(t, "")

	for _, bearer := range []string{tok, "Bearer " + tok, "bearer  " + tok} {
		p, err := f.server.Verify(context.Background(), bearer)
		if err != nil {
			t.Fatalf("Verify(%.10q…): %v", bearer, err)
		}
		if p.Subject != "lab" || p.ClientID != "lab" || !slices.Equal(p.Scopes, labScopes) {
			t.Errorf("Principal = %+v, want lab with %q", p, labScopes)
		}
		if !p.Allows("system/Patient.read") || !p.Allows("user/Encounter.read") || p.Allows("system/Patient.write") {
			t.Errorf("Allows does not follow the granted scopes %q", p.Scopes)
		}
	}
}

// TestAccessTokenClaims pins the claims resource servers rely on (RFC 9068).
func TestAccessTokenClaims(t *testing.T) {
	f := newFixture(t)
	tok := f.issue(t, "system/Patient.read")
	parsed, err := jwt.ParseSigned(tok)
	if err != nil {
		t.Fatal(err)
	}
	h := parsed.Headers[0]
	if h.KeyID != f.server.KeyID() || h.Algorithm != string(jose.ES256) || h.ExtraHeaders[jose.HeaderType] != "at+jwt" {
		t.Errorf("header kid=%q alg=%q typ=%v", h.KeyID, h.Algorithm, h.ExtraHeaders[jose.HeaderType])
	}
	var claims map[string]any
	if err := parsed.UnsafeClaimsWithoutVerification(&claims); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"iss", "sub", "client_id", "iat", "exp", "jti", "scope"} {
		if _, ok := claims[name]; !ok {
			t.Errorf("claim %q missing from %v", name, claims)
		}
	}
	if claims["iss"] != testIssuer || claims["sub"] != "lab" || claims["client_id"] != "lab" || claims["scope"] != "system/Patient.read" {
		t.Errorf("claims = %v", claims)
	}
	if _, ok := claims["scp"]; ok {
		t.Errorf("scp present; scope is carried only as the space-separated scope claim")
	}
	exp, iat := claims["exp"].(float64), claims["iat"].(float64)
	if exp-iat != DefaultTokenTTL.Seconds() {
		t.Errorf("exp - iat = %v s, want %v", exp-iat, DefaultTokenTTL.Seconds())
	}
}

func TestVerifyRejects(t *testing.T) {
	f := newFixture(t)
	good := f.issue(t, "")
	now := time.Now()

	otherEC, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	otherJWK, err := newSigningJWK(otherEC)
	if err != nil {
		t.Fatal(err)
	}
	// Same kid as the server's key, different key material.
	impostor := *otherJWK
	impostor.KeyID = f.server.KeyID()
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	// The server's kid with an RSA key: the alg does not match the kid's key.
	rsaImpostor := &jose.JSONWebKey{Key: rsaKey, KeyID: f.server.KeyID(), Algorithm: string(jose.RS256)}

	claims := func(edit func(map[string]any)) map[string]any {
		c := map[string]any{
			"iss": testIssuer, "aud": []string{testIssuer}, "sub": "lab", "client_id": "lab", "scope": "system/*.*",
			"iat": now.Unix(), "exp": now.Add(time.Hour).Unix(), "jti": "t1",
		}
		if edit != nil {
			edit(c)
		}
		return c
	}

	tests := []struct {
		name  string
		token string
		want  string // in the error
	}{
		{"tampered payload", tamper(t, good), "signature"},
		{"truncated", good[:len(good)-10], "signature"},
		{"garbage", "not-a-jwt", "malformed"},
		{"empty", "", "empty"},
		{"expired", sign(t, f.server.signingKey(), "at+jwt", claims(func(c map[string]any) {
			c["iat"] = now.Add(-2 * time.Hour).Unix()
			c["exp"] = now.Add(-time.Minute).Unix()
		})), "expired"},
		{"no exp", sign(t, f.server.signingKey(), "at+jwt", claims(func(c map[string]any) { delete(c, "exp") })), "no exp"},
		{"not yet valid", sign(t, f.server.signingKey(), "at+jwt", claims(func(c map[string]any) { c["nbf"] = now.Add(5 * time.Minute).Unix() })), "not valid yet"},
		{"issued in the future", sign(t, f.server.signingKey(), "at+jwt", claims(func(c map[string]any) { c["iat"] = now.Add(5 * time.Minute).Unix() })), "future"},
		{"wrong issuer", sign(t, f.server.signingKey(), "at+jwt", claims(func(c map[string]any) { c["iss"] = "https://evil.test" })), "issuer"},
		{"no issuer", sign(t, f.server.signingKey(), "at+jwt", claims(func(c map[string]any) { delete(c, "iss") })), "issuer"},
		{"wrong audience", sign(t, f.server.signingKey(), "at+jwt", claims(func(c map[string]any) { c["aud"] = []string{"https://other-api.test"} })), "audience"},
		{"no audience", sign(t, f.server.signingKey(), "at+jwt", claims(func(c map[string]any) { delete(c, "aud") })), "audience"},
		{"user token whose sub is no user id", sign(t, f.server.signingKey(), "at+jwt", claims(func(c map[string]any) { c["sid"] = "s1" })), "user id"},
		{"user token with a bad fhirUser", sign(t, f.server.signingKey(), "at+jwt", claims(func(c map[string]any) {
			c["sub"], c["sid"], c["fhirUser"] = "0190a7a4-7b2c-7d3e-8f00-000000000001", "s1", "Patient/0190a7a4-7b2c-7d3e-8f00-000000000001"
		})), "fhirUser"},
		{"no client_id", sign(t, f.server.signingKey(), "at+jwt", claims(func(c map[string]any) { delete(c, "client_id") })), "client_id"},
		{"not an access token", sign(t, f.server.signingKey(), "JWT", claims(nil)), "typ"},
		{"wrong key, unknown kid", sign(t, otherJWK, "at+jwt", claims(nil)), "unknown signing key"},
		{"wrong key, known kid", sign(t, &impostor, "at+jwt", claims(nil)), "signature"},
		{"wrong algorithm for kid", sign(t, rsaImpostor, "at+jwt", claims(nil)), "alg"},
	}
	// The control: a token built the same way with the right key verifies.
	if _, err := f.server.Verify(context.Background(), sign(t, f.server.signingKey(), "at+jwt", claims(nil))); err != nil {
		t.Fatalf("control token rejected: %v", err)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := f.server.Verify(context.Background(), tt.token)
			if !errors.Is(err, access.ErrInvalidToken) {
				t.Fatalf("Verify = %+v, %v; want access.ErrInvalidToken", p, err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not give the reason %q", err, tt.want)
			}
			if p.Subject != "" || p.Scopes != nil {
				t.Errorf("rejected token yields a principal: %+v", p)
			}
		})
	}
}

func TestJWKSVerifiesToken(t *testing.T) {
	f := newFixture(t)
	tok := f.issue(t, "system/Observation.write")

	resp, err := http.Get(f.jwks.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		t.Fatalf("JWKS: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	var set jose.JSONWebKeySet
	if err := json.NewDecoder(resp.Body).Decode(&set); err != nil {
		t.Fatal(err)
	}
	if len(set.Keys) != 1 {
		t.Fatalf("JWKS has %d keys, want 1", len(set.Keys))
	}
	k := set.Keys[0]
	if k.KeyID != f.server.KeyID() || k.Algorithm != "ES256" || k.Use != "sig" || !k.IsPublic() {
		t.Errorf("JWK kid=%q alg=%q use=%q public=%v", k.KeyID, k.Algorithm, k.Use, k.IsPublic())
	}

	// A resource server with only the JWKS and go-jose verifies the token.
	parsed, err := jwt.ParseSigned(tok)
	if err != nil {
		t.Fatal(err)
	}
	keys := set.Key(parsed.Headers[0].KeyID)
	if len(keys) != 1 {
		t.Fatalf("no JWKS key for kid %q", parsed.Headers[0].KeyID)
	}
	var claims jwt.Claims
	if err := parsed.Claims(keys[0].Key, &claims); err != nil {
		t.Fatalf("go-jose verification with the JWKS key: %v", err)
	}
	if err := claims.ValidateWithLeeway(jwt.Expected{Issuer: testIssuer, Time: time.Now()}, 0); err != nil || claims.Subject != "lab" {
		t.Errorf("claims %+v: %v", claims, err)
	}

	// So does a Verifier built from the JWKS alone, as an API replica would.
	v, err := NewVerifier(testIssuer, set)
	if err != nil {
		t.Fatal(err)
	}
	p, err := v.Verify(context.Background(), tok)
	if err != nil || p.ClientID != "lab" || !slices.Equal(p.Scopes, []string{"system/Observation.write"}) {
		t.Errorf("Verifier from JWKS: %+v, %v", p, err)
	}

	// Only GET and HEAD.
	post, err := http.Post(f.jwks.URL, "text/plain", nil)
	if err != nil {
		t.Fatal(err)
	}
	post.Body.Close()
	if post.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST JWKS = %d, want 405", post.StatusCode)
	}
}

func TestNewVerifierRejectsUnsafeKeySets(t *testing.T) {
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	pub := jose.JSONWebKey{Key: &priv.PublicKey, KeyID: "k", Algorithm: "ES256", Use: "sig"}
	private := pub
	private.Key = priv
	noKid := pub
	noKid.KeyID = ""
	hmac := jose.JSONWebKey{Key: []byte("0123456789abcdef0123456789abcdef"), KeyID: "h", Algorithm: "HS256"}
	enc := pub
	enc.Use = "enc"

	if _, err := NewVerifier(testIssuer, jose.JSONWebKeySet{Keys: []jose.JSONWebKey{pub}}); err != nil {
		t.Fatalf("valid set rejected: %v", err)
	}
	for name, set := range map[string]jose.JSONWebKeySet{
		"empty":       {},
		"private key": {Keys: []jose.JSONWebKey{private}},
		"no kid":      {Keys: []jose.JSONWebKey{noKid}},
		"hmac":        {Keys: []jose.JSONWebKey{hmac}},
		"enc key":     {Keys: []jose.JSONWebKey{enc}},
	} {
		if _, err := NewVerifier(testIssuer, set); err == nil {
			t.Errorf("%s: NewVerifier accepted it", name)
		}
	}
	if _, err := NewVerifier("", jose.JSONWebKeySet{Keys: []jose.JSONWebKey{pub}}); err == nil {
		t.Error("NewVerifier accepted an empty issuer")
	}
}

// sign builds a compact JWS over claims with key (its kid and alg) and typ.
func sign(t *testing.T, key *jose.JSONWebKey, typ string, claims map[string]any) string {
	t.Helper()
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.SignatureAlgorithm(key.Algorithm), Key: key},
		(&jose.SignerOptions{}).WithType(jose.ContentType(typ)))
	if err != nil {
		t.Fatal(err)
	}
	tok, err := jwt.Signed(signer).Claims(claims).CompactSerialize()
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// tamper widens the scope claim of tok, keeping its signature.
func tamper(t *testing.T, tok string) string {
	t.Helper()
	parts := strings.Split(tok, ".")
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var claims map[string]any
	if err := json.Unmarshal(payload, &claims); err != nil {
		t.Fatal(err)
	}
	claims["scope"] = "system/*.*"
	payload, err = json.Marshal(claims)
	if err != nil {
		t.Fatal(err)
	}
	parts[1] = base64.RawURLEncoding.EncodeToString(payload)
	return strings.Join(parts, ".")
}
