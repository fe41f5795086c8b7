package auth

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/go-jose/go-jose/v3"

	"github.com/zarish-sphere/zarish/integrations/postgres"
	"github.com/zarish-sphere/zarish/integrations/postgres/pgtest"
)

func TestSigningKeyGeneratedOnceAndReused(t *testing.T) {
	f := newFixture(t)
	fi, err := os.Stat(f.cfg.SigningKeyFile)
	if err != nil {
		t.Fatalf("key file not generated: %v", err)
	}
	if perm := fi.Mode().Perm(); perm != 0o600 {
		t.Errorf("key file mode %v, want 0600", perm)
	}
	before, err := os.ReadFile(f.cfg.SigningKeyFile)
	if err != nil {
		t.Fatal(err)
	}

	// A second server (a restart, or another replica) on the same file.
	again, err := NewServer(f.cfg, f.store, testLogger(t))
	if err != nil {
		t.Fatalf("second NewServer: %v", err)
	}
	if again.KeyID() != f.server.KeyID() {
		t.Errorf("kid changed across NewServer calls: %q then %q", f.server.KeyID(), again.KeyID())
	}
	after, err := os.ReadFile(f.cfg.SigningKeyFile)
	if err != nil {
		t.Fatal(err)
	}
	if string(before) != string(after) {
		t.Error("key file rewritten by the second NewServer")
	}
	// Tokens from one verify on the other.
	if _, err := again.Verify(context.Background(), f.issue(t, "")); err != nil {
		t.Errorf("token from the first server rejected by the second: %v", err)
	}
}

func TestSigningKeyMissingWithoutGenerate(t *testing.T) {
	cfg := testConfig(t)
	cfg.GenerateKey = false
	_, err := NewServer(cfg, postgres.NewOAuthStore(nil), testLogger(t))
	if err == nil || !strings.Contains(err.Error(), "signing key") {
		t.Fatalf("NewServer = %v, want a signing key error", err)
	}
	if _, statErr := os.Stat(cfg.SigningKeyFile); !os.IsNotExist(statErr) {
		t.Error("a key file was created although GenerateKey is false")
	}
}

func TestSigningKeyRSAFile(t *testing.T) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	cfg := testConfig(t)
	cfg.GenerateKey = false
	cfg.SigningKeyFile = filepath.Join(t.TempDir(), "rsa.pem")
	data := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)})
	if err := os.WriteFile(cfg.SigningKeyFile, data, 0o600); err != nil {
		t.Fatal(err)
	}

	pool := pgtest.NewPool(t)
	store := postgres.NewOAuthStore(pool)
	c, err := NewClient("svc", "svc-secret", "", []string{"system/*.*"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := store.CreateClient(context.Background(), c); err != nil {
		t.Fatal(err)
	}
	srv, err := NewServer(cfg, store, testLogger(t))
	if err != nil {
		t.Fatalf("NewServer with an RSA key: %v", err)
	}
	if srv.signingKey().Algorithm != string(jose.RS256) {
		t.Errorf("alg = %s, want RS256", srv.signingKey().Algorithm)
	}
	f := &fixture{server: srv}
	f.token = httptest.NewServer(srv.TokenHandler())
	t.Cleanup(f.token.Close)
	r := f.requestToken(t, "svc", "svc-secret", url.Values{"grant_type": {"client_credentials"}})
	if r.status != 200 {
		t.Fatalf("token: %d %v", r.status, r.body)
	}
	p, err := srv.Verify(context.Background(), r.body["access_token"].(string))
	if err != nil || p.ClientID != "svc" || !p.Allows("system/Patient.write") {
		t.Errorf("Verify = %+v, %v", p, err)
	}
}

func TestSigningKeyRejectsWeakOrForeignKeys(t *testing.T) {
	small, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	for name, data := range map[string][]byte{
		"not PEM":       []byte("hello"),
		"certificate":   pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: []byte{1, 2, 3}}),
		"RSA 1024":      pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(small)}),
		"corrupt PKCS8": pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: []byte{1, 2, 3}}),
	} {
		if _, err := parsePrivateKey(data); err == nil {
			t.Errorf("%s: parsePrivateKey accepted it", name)
		}
	}
}

func TestNewServerReportsEveryConfigProblem(t *testing.T) {
	_, err := NewServer(Config{GlobalSecret: []byte("short"), TokenTTL: -1}, postgres.NewOAuthStore(nil), testLogger(t))
	for _, want := range []string{"Issuer", "SigningKeyFile", "GlobalSecret", "TokenTTL"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v does not mention %s", err, want)
		}
	}
}
