package auth

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v3"
)

func jwksOf(t *testing.T, s *Server) jose.JSONWebKeySet {
	t.Helper()
	rec := httptest.NewRecorder()
	s.JWKSHandler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
	var set jose.JSONWebKeySet
	if err := json.Unmarshal(rec.Body.Bytes(), &set); err != nil {
		t.Fatal(err)
	}
	return set
}

// TestRotateSigningKey: a rotation signs new tokens with a new key and
// keeps verifying those signed before it; the JWKS publishes both; the next
// rotation retires the oldest.
func TestRotateSigningKey(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	before := f.issue(t, "")
	first := f.server.KeyID()
	// Another replica on the same file, started before the rotation.
	replica, err := NewServer(f.cfg, f.store, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}

	newKID, oldKID, err := RotateSigningKey(f.cfg.SigningKeyFile)
	if err != nil || oldKID != first || newKID == first {
		t.Fatalf("rotate: %q %q %v", newKID, oldKID, err)
	}
	if !f.server.reloadKeys() || f.server.KeyID() != newKID {
		t.Fatalf("not reloaded: kid %q", f.server.KeyID())
	}
	set := jwksOf(t, f.server)
	if len(set.Keys) != 2 || set.Keys[0].KeyID != newKID || set.Keys[1].KeyID != first {
		t.Fatalf("JWKS after a rotation: %+v", set.Keys)
	}
	after := f.issue(t, "")
	if h := claimsHeader(t, after); h != newKID {
		t.Errorf("new token signed by %q, want %q", h, newKID)
	}
	for name, tok := range map[string]string{"before": before, "after": after} {
		if _, err := f.server.Verify(ctx, tok); err != nil {
			t.Errorf("token from %s the rotation: %v", name, err)
		}
	}
	// A resource server with only the new JWKS verifies both.
	v, err := NewVerifier(testIssuer, set)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := v.Verify(ctx, before); err != nil {
		t.Errorf("verifier from the JWKS refuses the older token: %v", err)
	}
	// The replica meets the new kid before its poll and reloads at once.
	replica.keyCheck.Lock()
	replica.keyChecked = time.Now().Add(-time.Minute)
	replica.keyCheck.Unlock()
	if _, err := replica.Verify(ctx, after); err != nil {
		t.Errorf("replica refuses a token signed after the rotation: %v", err)
	}

	// The next rotation drops the first key: its tokens have expired by then.
	if _, _, err := RotateSigningKey(f.cfg.SigningKeyFile); err != nil {
		t.Fatal(err)
	}
	f.server.reloadKeys()
	if set := jwksOf(t, f.server); len(set.Keys) != 2 || set.Keys[1].KeyID != newKID {
		t.Errorf("JWKS after two rotations: %+v", set.Keys)
	}
	v2, _ := NewVerifier(testIssuer, jwksOf(t, f.server))
	if _, err := v2.Verify(ctx, before); err == nil {
		t.Error("a token of a retired key verifies")
	}
}

func claimsHeader(t *testing.T, tok string) string {
	t.Helper()
	sig, err := jose.ParseSigned(tok)
	if err != nil {
		t.Fatal(err)
	}
	return sig.Signatures[0].Header.KeyID
}
