package main

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/zarish-sphere/zarish/config"
	"github.com/zarish-sphere/zarish/integrations/auth/access"
	"github.com/zarish-sphere/zarish/integrations/postgres"
	"github.com/zarish-sphere/zarish/integrations/postgres/pgtest"
)

// TestAdminCreateUser makes the first administrator from the command line,
// with the password on standard input, and refuses a weak password.
func TestAdminCreateUser(t *testing.T) {
	pool := pgtest.NewPool(t)
	env := map[string]string{"DATABASE_URL": pool.Config().ConnString(), "LOG_LEVEL": "warn"}
	getenv := func(k string) string { return env[k] }

	passwordInput = strings.NewReader("a long administrator password\n")
	t.Cleanup(func() { passwordInput = os.Stdin })
	var out bytes.Buffer
	if code := run([]string{"admin", "create-user", "--username", "Ada.Admin", "--name", "Ada", "--password-stdin"}, getenv, &out, &out); code != 0 {
		t.Fatalf("create-user: %d %s", code, out.String())
	}
	if !strings.Contains(out.String(), "created user ada.admin") || !strings.Contains(out.String(), "TOTP") {
		t.Errorf("output %q", out.String())
	}
	cred, err := postgres.NewUserStore(pool).SignInRecord(context.Background(), "ada.admin")
	if err != nil || cred.User.Roles[0] != "admin" || cred.User.PractitionerID != nil {
		t.Fatalf("stored user %+v %v", cred.User, err)
	}
	if err := access.CheckPassword(context.Background(), cred.PasswordHash, "a long administrator password"); err != nil {
		t.Errorf("stored hash does not check: %v", err)
	}
	if !strings.HasPrefix(cred.PasswordHash, "$argon2id$v=19$m=65536,t=3,p=4$") {
		t.Errorf("hash %q is not argon2id with the RFC 9106 parameters", cred.PasswordHash)
	}
	out.Reset()
	if code := run([]string{"admin", "create-user", "--username", "bob", "--password", "short"}, getenv, &out, &out); code != 2 ||
		!strings.Contains(out.String(), "15 characters") {
		t.Errorf("weak password: %d %s", code, out.String())
	}
	out.Reset()
	if code := run([]string{"admin", "create-user", "--username", "nina", "--roles", "nurse", "--password", "a long nurse password here"}, getenv, &out, &out); code != 2 ||
		!strings.Contains(out.String(), "practitionerId") {
		t.Errorf("a nurse without a practitioner: %d %s", code, out.String())
	}
}

// TestAdminRotateSigningKey rotates a key file: the new key in front, the
// old one behind it.
func TestAdminRotateSigningKey(t *testing.T) {
	dir := t.TempDir()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, _ := x509.MarshalPKCS8PrivateKey(key)
	file := filepath.Join(dir, "signing.pem")
	if err := os.WriteFile(file, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	getenv := func(k string) string { return map[string]string{"JWT_SIGNING_KEY_FILE": file}[k] }
	if code := run([]string{"admin", "rotate-signing-key"}, getenv, &out, &out); code != 0 {
		t.Fatalf("rotate: %d %s", code, out.String())
	}
	data, _ := os.ReadFile(file)
	if n := strings.Count(string(data), "BEGIN PRIVATE KEY"); n != 2 || !strings.Contains(out.String(), "new kid") {
		t.Errorf("after a rotation the file holds %d keys; output %q", n, out.String())
	}
	if fi, _ := os.Stat(file); fi.Mode().Perm() != 0o600 {
		t.Errorf("key file mode %v", fi.Mode().Perm())
	}
}

// TestAPIRefusesToStartWithoutIssuer: production names its issuer.
func TestAPIRefusesToStartWithoutIssuer(t *testing.T) {
	var out bytes.Buffer
	env := map[string]string{"KAFKA_BROKERS": "127.0.0.1:1", "JWT_SIGNING_KEY_FILE": "/nonexistent.pem", "JWT_SECRET": strings.Repeat("s", 32)}
	if code := run([]string{"api"}, func(k string) string { return env[k] }, &out, &out); code != 2 || !strings.Contains(out.String(), "JWT_ISSUER is required") {
		t.Errorf("api without JWT_ISSUER: %d %s", code, out.String())
	}
}

// TestDevRefusesBuiltInSecretRemotely: the published dev secret only on
// this machine's database.
func TestDevRefusesBuiltInSecretRemotely(t *testing.T) {
	for url, refused := range map[string]bool{
		"postgres://postgres@127.0.0.1:5432/zarish":                   false,
		"postgres://postgres@localhost/zarish":                        false,
		"postgres://postgres@[::1]:5432/zarish":                       false,
		"postgres:///zarish?host=/var/run/postgresql":                 false,
		"postgres://zarish@db.hospital.example:5432/zarish":           true,
		"postgres://zarish@10.1.2.3/zarish":                           true,
		"postgres://zarish@127.0.0.1,db.hospital.example:5432/zarish": true,
	} {
		err := refuseBuiltInSecretRemotely(url, builtInDevSecret)
		if (err != nil) != refused {
			t.Errorf("%s: %v, want refused %v", url, err, refused)
		}
		if err := refuseBuiltInSecretRemotely(url, "a-secret-of-my-own"); err != nil {
			t.Errorf("%s with a secret of one's own: %v", url, err)
		}
	}
}

// TestDevBannerPrintsDemoUsers: a newcomer reads how to sign in, and as whom.
func TestDevBannerPrintsDemoUsers(t *testing.T) {
	var out bytes.Buffer
	s := &devStack{APIURL: "http://127.0.0.1:8080", KafkaAddress: "127.0.0.1:9092"}
	s.printBanner(&out, devConfigWithoutDatabase(t))
	for _, d := range demoUsers {
		if !strings.Contains(out.String(), d.Username) || !strings.Contains(out.String(), d.Password) {
			t.Errorf("banner lacks %s / %s:\n%s", d.Username, d.Password, out.String())
		}
	}
	for _, want := range []string{"/v1/auth/oauth2/authorize", devAppClientID, "admin, pharmacist", "Ctrl-C stops everything."} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("banner lacks %q:\n%s", want, out.String())
		}
	}
}

func devConfigWithoutDatabase(t *testing.T) config.Config {
	t.Helper()
	cfg, err := config.Load(func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}
