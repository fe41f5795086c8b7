package kafka

import (
	"context"
	"crypto/tls"
	"strings"
	"testing"
	"time"

	kafkago "github.com/segmentio/kafka-go"

	"github.com/zarish-sphere/zarish/config"
	"github.com/zarish-sphere/zarish/integrations/postgres"
	"github.com/zarish-sphere/zarish/internal/testpki"
)

// roundTrip publishes one event through sec and reads it back as a member
// of a consumer group, as the engine's consumers read, returning the first
// failure.
func roundTrip(t *testing.T, addr string, sec Security) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	pub := NewPublisher([]string{addr}, testLogger(t), WithSecurity(sec))
	defer pub.Close()
	if err := pub.Ping(ctx); err != nil {
		return err
	}
	e := clinicalEvent("patient-tls", 1)
	if err := pub.Publish(ctx, []postgres.OutboxEvent{e}); err != nil {
		return err
	}
	r := sec.NewReader(kafkago.ReaderConfig{Brokers: []string{addr}, GroupID: "security-test", Topic: TopicClinical,
		StartOffset: kafkago.FirstOffset, MaxWait: 200 * time.Millisecond})
	defer r.Close()
	m, err := r.ReadMessage(ctx)
	if err != nil {
		return err
	}
	if got := string(m.Key); got != "patient-tls" {
		t.Fatalf("read key %q, want patient-tls", got)
	}
	return nil
}

// refused asserts that publishing through sec fails (with want in the
// error, when given), and that a reader through sec reads nothing.
func refused(t *testing.T, addr string, sec Security, want string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	pub := NewPublisher([]string{addr}, testLogger(t), WithSecurity(sec))
	defer pub.Close()
	err := pub.Publish(ctx, []postgres.OutboxEvent{clinicalEvent("patient-tls", 2)})
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("publish: err %v, want one saying %q", err, want)
	}
	rctx, rcancel := context.WithTimeout(t.Context(), 2*time.Second)
	defer rcancel()
	r := sec.NewReader(kafkago.ReaderConfig{Brokers: []string{addr}, Topic: TopicClinical, Partition: 0, MaxWait: 200 * time.Millisecond})
	defer r.Close()
	if m, err := r.ReadMessage(rctx); err == nil {
		t.Fatalf("a reader with the wrong security read offset %d", m.Offset)
	}
}

func TestSecuritySASL(t *testing.T) {
	for _, mechanism := range []string{SASLPlain, SASLSCRAMSHA256, SASLSCRAMSHA512} {
		t.Run(mechanism, func(t *testing.T) {
			b, err := StartBroker("127.0.0.1:0", testLogger(t), WithSASLUser(mechanism, "relay", "right-password"))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(b.Close)

			right, err := NewSecurity(nil, mechanism, "relay", "right-password")
			if err != nil {
				t.Fatal(err)
			}
			if err := roundTrip(t, b.Addr(), right); err != nil {
				t.Fatalf("with the right credentials: %v", err)
			}
			wrong, err := NewSecurity(nil, mechanism, "relay", "wrong-password")
			if err != nil {
				t.Fatal(err)
			}
			refused(t, b.Addr(), wrong, "")      // the broker drops the connection
			refused(t, b.Addr(), Security{}, "") // no SASL at all
		})
	}
}

func TestNewSecurityRefuses(t *testing.T) {
	for _, c := range []struct{ mechanism, user, password, want string }{
		{"plain", "", "pw", "needs a username and a password"},
		{"scram-sha-256", "relay", "", "needs a username and a password"},
		{"gssapi", "relay", "pw", `"gssapi" is not one of plain, scram-sha-256, scram-sha-512`},
	} {
		if _, err := NewSecurity(nil, c.mechanism, c.user, c.password); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("NewSecurity(%s, %q, %q): err %v, want %q", c.mechanism, c.user, c.password, err, c.want)
		}
	}
}

func TestSecurityMutualTLS(t *testing.T) {
	pki := testpki.New(t)
	b, err := StartBroker("127.0.0.1:0", testLogger(t),
		WithTLS(&tls.Config{Certificates: []tls.Certificate{pki.Server}, ClientCAs: pki.Pool, ClientAuth: tls.RequireAndVerifyClientCert, MinVersion: tls.VersionTLS12}),
		WithSASLUser(SASLSCRAMSHA512, "relay", "right-password"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Close)

	security := func(t *testing.T, c config.ClientTLS, password string) Security {
		t.Helper()
		tc, err := c.Config()
		if err != nil {
			t.Fatal(err)
		}
		s, err := NewSecurity(tc, SASLSCRAMSHA512, "relay", password)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	mutual := config.ClientTLS{Enabled: true, CAFile: pki.CAFile, CertFile: pki.ClientCert, KeyFile: pki.ClientKey}
	if err := roundTrip(t, b.Addr(), security(t, mutual, "right-password")); err != nil {
		t.Fatalf("TLS with the client certificate and the right password: %v", err)
	}

	t.Run("wrong password over TLS", func(t *testing.T) {
		refused(t, b.Addr(), security(t, mutual, "wrong-password"), "")
	})
	t.Run("no client certificate", func(t *testing.T) {
		refused(t, b.Addr(), security(t, config.ClientTLS{Enabled: true, CAFile: pki.CAFile}, "right-password"), "")
	})
	t.Run("server not trusted", func(t *testing.T) {
		// The system's CAs do not know the test CA.
		refused(t, b.Addr(), security(t, config.ClientTLS{Enabled: true, CertFile: pki.ClientCert, KeyFile: pki.ClientKey}, "right-password"),
			"certificate signed by unknown authority")
	})
	t.Run("wrong server name", func(t *testing.T) {
		refused(t, b.Addr(), security(t, config.ClientTLS{Enabled: true, CAFile: pki.CAFile, CertFile: pki.ClientCert, KeyFile: pki.ClientKey,
			ServerName: "kafka.hospital.example"}, "right-password"), "kafka.hospital.example")
	})
	t.Run("plaintext", func(t *testing.T) {
		right, err := NewSecurity(nil, SASLSCRAMSHA512, "relay", "right-password")
		if err != nil {
			t.Fatal(err)
		}
		refused(t, b.Addr(), right, "")
	})
}
