package config

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"log/slog"
	"math/big"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

func env(kv map[string]string) func(string) string {
	return func(k string) string { return kv[k] }
}

func TestLoadDefaults(t *testing.T) {
	c, err := Load(env(nil))
	if err != nil {
		t.Fatalf("defaults must load: %v", err)
	}
	if c.Service.Port != 8080 || c.Temporal.Address != "127.0.0.1:7233" || c.Dev.KafkaAddress != "127.0.0.1:9092" ||
		c.Dev.UIAddress != "127.0.0.1:8233" || c.DataDir != ".zarish" || len(c.Kafka.Brokers) != 0 {
		t.Fatalf("unexpected defaults: %+v", c)
	}
	if c.Temporal.WorkflowTaskPollers != 8 || c.Temporal.ActivityTaskPollers != 4 {
		t.Fatalf("unexpected worker poller defaults: %+v", c.Temporal)
	}
	if c.Auth.ExpiresIn != time.Hour || c.Log.Level != slog.LevelInfo {
		t.Fatalf("unexpected auth/log defaults: %+v %+v", c.Auth, c.Log)
	}
}

func TestLoadParses(t *testing.T) {
	c, err := Load(env(map[string]string{
		"SERVICE_PORT":              "9000",
		"DATABASE_URL":              "postgres://app:hunter2@db:5432/zarish",
		"DATABASE_POOL_SIZE":        "50",
		"JWT_EXPIRES_IN":            "900",
		"KAFKA_BROKERS":             "k1:9092, k2:9092",
		"LOG_LEVEL":                 "debug",
		"LOG_FORMAT":                "JSON",
		"ZARISH_TEMPORAL_UI_LISTEN": "off",
	}))
	if err != nil {
		t.Fatal(err)
	}
	if c.Service.Port != 9000 || c.Database.PoolSize != 50 || c.Auth.ExpiresIn != 15*time.Minute ||
		strings.Join(c.Kafka.Brokers, ";") != "k1:9092;k2:9092" || c.Log.Level != slog.LevelDebug ||
		c.Log.Format != "json" || c.Dev.UIAddress != "" {
		t.Fatalf("not parsed: %+v", c)
	}
}

func TestLoadReportsEveryProblem(t *testing.T) {
	_, err := Load(env(map[string]string{
		"SERVICE_PORT":            "eighty",
		"DATABASE_URL":            "mysql://x",
		"DATABASE_POOL_SIZE":      "0",
		"JWT_SECRET":              "short",
		"JWT_EXPIRES_IN":          "-5m",
		"LOG_LEVEL":               "loud",
		"LOG_FORMAT":              "xml",
		"TEMPORAL_ADDRESS":        "nohostport",
		"WORKER_WORKFLOW_POLLERS": "1",
	}))
	if err == nil {
		t.Fatal("expected errors")
	}
	for _, name := range []string{"SERVICE_PORT", "DATABASE_URL", "DATABASE_POOL_SIZE", "JWT_SECRET",
		"JWT_EXPIRES_IN", "LOG_LEVEL", "LOG_FORMAT", "TEMPORAL_ADDRESS", "WORKER_WORKFLOW_POLLERS"} {
		if !strings.Contains(err.Error(), name+":") {
			t.Errorf("error does not name %s:\n%v", name, err)
		}
	}
}

func TestLoadTracing(t *testing.T) {
	for _, tc := range []struct {
		name         string
		env          map[string]string
		wantExporter string
		wantEndpoint string
		wantService  string
		wantErr      string
	}{
		{name: "off by default", env: nil, wantExporter: "none", wantService: "zarish"},
		{name: "an endpoint turns OTLP on", env: map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4317", "SERVICE_NAME": "zarish-api"},
			wantExporter: "otlp", wantEndpoint: "http://collector:4317", wantService: "zarish-api"},
		{name: "the traces endpoint wins", env: map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://a:4317", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "https://b:4317", "OTEL_SERVICE_NAME": "api"},
			wantExporter: "otlp", wantEndpoint: "https://b:4317", wantService: "api"},
		{name: "console", env: map[string]string{"OTEL_TRACES_EXPORTER": "Console"}, wantExporter: "console", wantService: "zarish"},
		{name: "explicitly off", env: map[string]string{"OTEL_TRACES_EXPORTER": "none", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4317"}, wantExporter: "none", wantEndpoint: "http://c:4317", wantService: "zarish"},
		{name: "otlp without an endpoint", env: map[string]string{"OTEL_TRACES_EXPORTER": "otlp"}, wantErr: "OTEL_EXPORTER_OTLP_ENDPOINT:"},
		{name: "unknown exporter", env: map[string]string{"OTEL_TRACES_EXPORTER": "zipkin"}, wantErr: "OTEL_TRACES_EXPORTER:"},
		{name: "endpoint not a URL", env: map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "ftp://x"}, wantErr: "OTEL_EXPORTER_OTLP_ENDPOINT:"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Load(env(tc.env))
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error %v, want one naming %s", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if c.Tracing.Exporter != tc.wantExporter || c.Tracing.Endpoint != tc.wantEndpoint || c.Tracing.ServiceName != tc.wantService {
				t.Fatalf("got %+v", c.Tracing)
			}
		})
	}
}

func TestLoadTrustedProxies(t *testing.T) {
	c, err := Load(env(nil))
	if err != nil || len(c.Service.TrustedProxies) != 0 {
		t.Fatalf("by default no proxy is trusted: %v %v", c.Service.TrustedProxies, err)
	}
	c, err = Load(env(map[string]string{"TRUSTED_PROXIES": "10.0.0.0/8, 192.168.1.10,fd00::/8"}))
	if err != nil || strings.Join(c.Service.TrustedProxies, " ") != "10.0.0.0/8 192.168.1.10 fd00::/8" {
		t.Fatalf("trusted proxies %v, %v", c.Service.TrustedProxies, err)
	}
	if _, err := Load(env(map[string]string{"TRUSTED_PROXIES": "10.0.0.0/8,lb.internal"})); err == nil || !strings.Contains(err.Error(), "TRUSTED_PROXIES:") {
		t.Fatalf("a host name is not an address: %v", err)
	}
}

func TestSecretsNeverPrint(t *testing.T) {
	c, err := Load(env(map[string]string{
		"DATABASE_URL": "postgres://app:hunter2@db/zarish",
		"JWT_SECRET":   strings.Repeat("s3cr3t", 8),
	}))
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	slog.New(slog.NewTextHandler(&b, nil)).Info("config", "db", c.Database.URL, "jwt", c.Auth.Secret)
	out := b.String() + fmt.Sprintf("%v %+v", c.Database, c.Auth)
	if strings.Contains(out, "hunter2") || strings.Contains(out, "s3cr3t") {
		t.Fatalf("secret leaked: %s", out)
	}
}

func TestLoadRateLimits(t *testing.T) {
	c, err := Load(env(nil))
	if err != nil {
		t.Fatal(err)
	}
	wantGroups := []RouteGroup{{"/v1/patients", 600, 120}, {"/v1/observations", 1200, 200},
		{"/health", 600, 100}, {"/ready", 600, 100}, {"/metrics", 600, 100}}
	if !reflect.DeepEqual(c.RateLimit, RateLimit{PerMinute: 1200, Burst: 100, TokenPerMinute: 60, Groups: wantGroups}) || c.Redis.URL != "" {
		t.Fatalf("defaults: %+v, redis %q", c.RateLimit, c.Redis.URL.Reveal())
	}
	c, err = Load(env(map[string]string{
		"RATE_LIMIT_PER_MINUTE":       "6000",
		"RATE_LIMIT_BURST":            "250",
		"RATE_LIMIT_TOKEN_PER_MINUTE": "0",
		"RATE_LIMIT_GROUPS":           " /v1/patients/=60:10, /fhir/R4/Patient=120 ",
		"REDIS_URL":                   "redis://:pw@cache:6379/2",
	}))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(c.RateLimit, RateLimit{PerMinute: 6000, Burst: 250, TokenPerMinute: 0,
		Groups: []RouteGroup{{"/v1/patients", 60, 10}, {"/fhir/R4/Patient", 120, 120}}}) || c.Redis.URL.Reveal() != "redis://:pw@cache:6379/2" {
		t.Fatalf("not parsed: %+v", c.RateLimit)
	}
	_, err = Load(env(map[string]string{
		"RATE_LIMIT_PER_MINUTE":       "-1",
		"RATE_LIMIT_BURST":            "0",
		"RATE_LIMIT_TOKEN_PER_MINUTE": "lots",
		"RATE_LIMIT_GROUPS":           "/v1/patients=0,v1/observations=10,/health=ten,/v1/patients=5",
		"REDIS_URL":                   "memcached://cache:11211",
	}))
	if err == nil {
		t.Fatal("expected errors")
	}
	for _, name := range []string{"RATE_LIMIT_PER_MINUTE", "RATE_LIMIT_BURST", "RATE_LIMIT_TOKEN_PER_MINUTE", "REDIS_URL"} {
		if !strings.Contains(err.Error(), name+":") {
			t.Errorf("error does not name %s:\n%v", name, err)
		}
	}
	for _, bad := range []string{`"/v1/patients=0": per-minute`, `"v1/observations=10" is not`, `"/health=ten" is not`} {
		if !strings.Contains(err.Error(), "RATE_LIMIT_GROUPS: "+bad) {
			t.Errorf("error does not say RATE_LIMIT_GROUPS: %s:\n%v", bad, err)
		}
	}
	if c, err := Load(env(map[string]string{"RATE_LIMIT_GROUPS": "off"})); err != nil || c.RateLimit.Groups != nil {
		t.Fatalf("off: %+v %v", c.RateLimit.Groups, err)
	}
}

func TestLoadAlertFallbackContact(t *testing.T) {
	c, err := Load(env(nil))
	if err != nil || c.Alerts.FallbackContact != "" {
		t.Fatalf("default: %q, %v", c.Alerts.FallbackContact, err)
	}
	c, err = Load(env(map[string]string{"ALERT_FALLBACK_CONTACT": "duty-manager@hospital.example"}))
	if err != nil || c.Alerts.FallbackContact != "duty-manager@hospital.example" {
		t.Fatalf("parsed: %q, %v", c.Alerts.FallbackContact, err)
	}
	for _, bad := range []string{"duty-manager", "Duty Manager <duty@hospital.example>", "a@b, c@d"} {
		if _, err := Load(env(map[string]string{"ALERT_FALLBACK_CONTACT": bad})); err == nil || !strings.Contains(err.Error(), "ALERT_FALLBACK_CONTACT") {
			t.Errorf("%q accepted: %v", bad, err)
		}
	}
}

// testCert writes a self-signed certificate for localhost, its key and an
// unrelated file into a temporary directory and returns their paths.
func testCert(t *testing.T) (cert, key, junk string) {
	t.Helper()
	dir := t.TempDir()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "localhost"}, DNSNames: []string{"localhost"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IsCA: true, BasicConstraintsValid: true}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	cert, key, junk = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem"), filepath.Join(dir, "junk.pem")
	for path, b := range map[string][]byte{
		cert: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		key:  pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}),
		junk: []byte("not a certificate\n"),
	} {
		if err := os.WriteFile(path, b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return cert, key, junk
}

func TestLoadClientTLS(t *testing.T) {
	cert, key, _ := testCert(t)
	for _, prefix := range []string{"KAFKA_TLS", "TEMPORAL_TLS"} {
		c, err := Load(env(map[string]string{
			prefix: "on", prefix + "_CA_FILE": cert, prefix + "_CERT_FILE": cert, prefix + "_KEY_FILE": key,
			prefix + "_SERVER_NAME": "broker.hospital.example",
		}))
		if err != nil {
			t.Fatal(err)
		}
		ct := c.Kafka.TLS
		if prefix == "TEMPORAL_TLS" {
			ct = c.Temporal.TLS
		}
		tc, err := ct.Config()
		if err != nil {
			t.Fatal(err)
		}
		pem, _ := os.ReadFile(cert)
		want := x509.NewCertPool()
		want.AppendCertsFromPEM(pem)
		if tc.ServerName != "broker.hospital.example" || tc.MinVersion != tls.VersionTLS12 || !tc.RootCAs.Equal(want) ||
			len(tc.Certificates) != 1 || tc.Certificates[0].Leaf.Subject.CommonName != "localhost" {
			t.Fatalf("%s: tls.Config = %+v", prefix, tc)
		}
	}
	c, err := Load(env(map[string]string{"KAFKA_TLS": "on"}))
	if err != nil {
		t.Fatal(err)
	}
	if tc, err := c.Kafka.TLS.Config(); err != nil || tc == nil || tc.RootCAs != nil || tc.Certificates != nil {
		t.Fatalf("KAFKA_TLS=on alone is TLS with the system's CAs: %+v, %v", tc, err)
	}
	if tc, err := c.Temporal.TLS.Config(); err != nil || tc != nil {
		t.Fatalf("TEMPORAL_TLS is off by default: %+v, %v", tc, err)
	}
}

func TestLoadRefusesBadTLS(t *testing.T) {
	cert, key, junk := testCert(t)
	for _, tc := range []struct {
		name string
		env  map[string]string
		want []string
	}{
		{"cert without key", map[string]string{"KAFKA_TLS": "on", "KAFKA_TLS_CERT_FILE": cert},
			[]string{"KAFKA_TLS_KEY_FILE: is required with KAFKA_TLS_CERT_FILE"}},
		{"key without cert", map[string]string{"TEMPORAL_TLS": "on", "TEMPORAL_TLS_KEY_FILE": key},
			[]string{"TEMPORAL_TLS_CERT_FILE: is required with TEMPORAL_TLS_KEY_FILE"}},
		{"unreadable CA", map[string]string{"KAFKA_TLS": "on", "KAFKA_TLS_CA_FILE": "/nonexistent/ca.pem"},
			[]string{"KAFKA_TLS_CA_FILE: cannot be read"}},
		{"CA without certificates", map[string]string{"TEMPORAL_TLS": "on", "TEMPORAL_TLS_CA_FILE": junk},
			[]string{"TEMPORAL_TLS_CA_FILE: " + junk + " holds no PEM certificate"}},
		{"key not of the cert", map[string]string{"KAFKA_TLS": "on", "KAFKA_TLS_CERT_FILE": cert, "KAFKA_TLS_KEY_FILE": junk},
			[]string{"KAFKA_TLS_CERT_FILE, KAFKA_TLS_KEY_FILE:"}},
		{"files while off", map[string]string{"KAFKA_TLS_CA_FILE": cert, "TEMPORAL_TLS_SERVER_NAME": "t"},
			[]string{"KAFKA_TLS_CA_FILE: is set but KAFKA_TLS is off", "TEMPORAL_TLS_SERVER_NAME: is set but TEMPORAL_TLS is off"}},
		{"not on or off", map[string]string{"KAFKA_TLS": "yes"}, []string{`KAFKA_TLS: "yes" is not one of on, off`}},
		{"mechanism without credentials", map[string]string{"KAFKA_SASL_MECHANISM": "scram-sha-512"},
			[]string{"KAFKA_SASL_USERNAME: is required with KAFKA_SASL_MECHANISM scram-sha-512", "KAFKA_SASL_PASSWORD: is required"}},
		{"credentials without mechanism", map[string]string{"KAFKA_SASL_USERNAME": "relay", "KAFKA_SASL_PASSWORD": "pw"},
			[]string{"KAFKA_SASL_MECHANISM: is required when KAFKA_SASL_USERNAME is set"}},
		{"unknown mechanism", map[string]string{"KAFKA_SASL_MECHANISM": "gssapi"},
			[]string{`KAFKA_SASL_MECHANISM: "gssapi" is not one of plain, scram-sha-256, scram-sha-512`}},
		{"API cert without key", map[string]string{"TLS_CERT_FILE": cert}, []string{"TLS_KEY_FILE: is required with TLS_CERT_FILE"}},
		{"API key without cert", map[string]string{"TLS_KEY_FILE": key}, []string{"TLS_CERT_FILE: is required with TLS_KEY_FILE"}},
		{"API pair that does not load", map[string]string{"TLS_CERT_FILE": junk, "TLS_KEY_FILE": key},
			[]string{"TLS_CERT_FILE: and TLS_KEY_FILE do not load as a certificate and its key"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Load(env(tc.env))
			if err == nil {
				t.Fatal("loaded")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error does not say %q:\n%v", w, err)
				}
			}
		})
	}
}

func TestLoadKafkaSASLAndAPITLS(t *testing.T) {
	cert, key, _ := testCert(t)
	c, err := Load(env(map[string]string{
		"KAFKA_SASL_MECHANISM": "SCRAM-SHA-256", "KAFKA_SASL_USERNAME": "relay", "KAFKA_SASL_PASSWORD": "kafka-pw-1",
		"TLS_CERT_FILE": cert, "TLS_KEY_FILE": key,
	}))
	if err != nil {
		t.Fatal(err)
	}
	if c.Kafka.SASLMechanism != "scram-sha-256" || c.Kafka.SASLUsername != "relay" || c.Kafka.SASLPassword.Reveal() != "kafka-pw-1" ||
		c.Service.TLSCertFile != cert || c.Service.TLSKeyFile != key {
		t.Fatalf("not parsed: %+v %+v", c.Kafka, c.Service)
	}
	if out := fmt.Sprintf("%v %+v", c.Kafka, c.Kafka); strings.Contains(out, "kafka-pw-1") {
		t.Fatalf("the SASL password printed: %s", out)
	}
}

// The dispatcher's retry limits: its own defaults when unset, set within
// bounds, and every bad one refused by name.
func TestLoadNotifyRetries(t *testing.T) {
	c, err := Load(env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if n := c.Notify; n.MaxAttempts != 8 || n.BaseBackoff != 5*time.Second || n.MaxBackoff != 15*time.Minute {
		t.Fatalf("defaults: %d attempts, %s then up to %s", n.MaxAttempts, n.BaseBackoff, n.MaxBackoff)
	}
	c, err = Load(env(map[string]string{"NOTIFY_MAX_ATTEMPTS": "3", "NOTIFY_BASE_BACKOFF": "2s", "NOTIFY_MAX_BACKOFF": "120"}))
	if err != nil {
		t.Fatal(err)
	}
	if n := c.Notify; n.MaxAttempts != 3 || n.BaseBackoff != 2*time.Second || n.MaxBackoff != 2*time.Minute {
		t.Fatalf("parsed: %d attempts, %s then up to %s", n.MaxAttempts, n.BaseBackoff, n.MaxBackoff)
	}
	if c, err := Load(env(map[string]string{"NOTIFY_MAX_ATTEMPTS": "1", "NOTIFY_BASE_BACKOFF": "1h", "NOTIFY_MAX_BACKOFF": "1h"})); err != nil ||
		c.Notify.MaxAttempts != 1 || c.Notify.BaseBackoff != time.Hour || c.Notify.MaxBackoff != time.Hour {
		t.Fatalf("a single attempt, an hour apart: %+v, %v", c.Notify, err)
	}

	for _, tc := range []struct {
		env  map[string]string
		want string
	}{
		{map[string]string{"NOTIFY_MAX_ATTEMPTS": "0"}, `NOTIFY_MAX_ATTEMPTS: "0" is not a whole number from 1 to 100`},
		{map[string]string{"NOTIFY_MAX_ATTEMPTS": "-2"}, `NOTIFY_MAX_ATTEMPTS: "-2" is not a whole number from 1 to 100`},
		{map[string]string{"NOTIFY_MAX_ATTEMPTS": "101"}, `NOTIFY_MAX_ATTEMPTS: "101" is not a whole number from 1 to 100`},
		{map[string]string{"NOTIFY_MAX_ATTEMPTS": "eight"}, `NOTIFY_MAX_ATTEMPTS: "eight" is not a whole number`},
		{map[string]string{"NOTIFY_BASE_BACKOFF": "0s"}, `NOTIFY_BASE_BACKOFF: "0s" is not a positive duration`},
		{map[string]string{"NOTIFY_BASE_BACKOFF": "-5s"}, `NOTIFY_BASE_BACKOFF: "-5s" is not a positive duration`},
		{map[string]string{"NOTIFY_BASE_BACKOFF": "500ms"}, `NOTIFY_BASE_BACKOFF: "500ms" is not a duration from 1s to 1h`},
		{map[string]string{"NOTIFY_BASE_BACKOFF": "2h", "NOTIFY_MAX_BACKOFF": "3h"}, `NOTIFY_BASE_BACKOFF: "2h" is not a duration from 1s to 1h`},
		{map[string]string{"NOTIFY_MAX_BACKOFF": "soon"}, `NOTIFY_MAX_BACKOFF: "soon" is not a positive duration`},
		{map[string]string{"NOTIFY_MAX_BACKOFF": "25h"}, `NOTIFY_MAX_BACKOFF: "25h" is not a duration from 1s to 24h`},
		{map[string]string{"NOTIFY_BASE_BACKOFF": "10m", "NOTIFY_MAX_BACKOFF": "5m"}, `NOTIFY_MAX_BACKOFF: 5m is shorter than NOTIFY_BASE_BACKOFF (10m)`},
		{map[string]string{"NOTIFY_MAX_BACKOFF": "2s"}, `NOTIFY_MAX_BACKOFF: 2s is shorter than NOTIFY_BASE_BACKOFF (5s)`},
	} {
		_, err := Load(env(tc.env))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: error %v, want %q", tc.env, err, tc.want)
		}
	}

	// Every bad one is reported together.
	_, err = Load(env(map[string]string{"NOTIFY_MAX_ATTEMPTS": "0", "NOTIFY_BASE_BACKOFF": "0.1s", "NOTIFY_MAX_BACKOFF": "48h"}))
	for _, name := range []string{"NOTIFY_MAX_ATTEMPTS:", "NOTIFY_BASE_BACKOFF:", "NOTIFY_MAX_BACKOFF:"} {
		if err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("error does not name %s\n%v", name, err)
		}
	}
}
