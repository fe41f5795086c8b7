package kafka

import (
	"crypto/tls"
	"fmt"
	"time"

	kafkago "github.com/segmentio/kafka-go"
	"github.com/segmentio/kafka-go/sasl"
	"github.com/segmentio/kafka-go/sasl/plain"
	"github.com/segmentio/kafka-go/sasl/scram"
)

// SASL mechanisms NewSecurity takes, as KAFKA_SASL_MECHANISM names them.
const (
	SASLPlain       = "plain"
	SASLSCRAMSHA256 = "scram-sha-256"
	SASLSCRAMSHA512 = "scram-sha-512"
)

// Security is how every Kafka client of the engine reaches the brokers: over
// TLS when it has a tls.Config, authenticated with a SASL mechanism when it
// has one. The zero value is plaintext without authentication. Publishers,
// readers and admin connections all take their dialer or transport from
// here, so none of them connects differently.
type Security struct {
	tls  *tls.Config
	sasl sasl.Mechanism
}

// NewSecurity returns the security of tlsConfig (nil: plaintext) and a SASL
// mechanism ("" for none; SASLPlain, SASLSCRAMSHA256 or SASLSCRAMSHA512)
// with its credentials.
func NewSecurity(tlsConfig *tls.Config, mechanism, username, password string) (Security, error) {
	s := Security{tls: tlsConfig}
	if mechanism == "" {
		return s, nil
	}
	if username == "" || password == "" {
		return Security{}, fmt.Errorf("kafka SASL %s needs a username and a password", mechanism)
	}
	var err error
	switch mechanism {
	case SASLPlain:
		s.sasl = plain.Mechanism{Username: username, Password: password}
	case SASLSCRAMSHA256:
		s.sasl, err = scram.Mechanism(scram.SHA256, username, password)
	case SASLSCRAMSHA512:
		s.sasl, err = scram.Mechanism(scram.SHA512, username, password)
	default:
		return Security{}, fmt.Errorf("kafka SASL mechanism %q is not one of %s, %s, %s", mechanism, SASLPlain, SASLSCRAMSHA256, SASLSCRAMSHA512)
	}
	if err != nil {
		return Security{}, fmt.Errorf("kafka SASL %s: %w", mechanism, err)
	}
	return s, nil
}

// dialTimeout bounds each connection, its TLS handshake and SASL exchange
// included.
const dialTimeout = 5 * time.Second

// Dialer is a new dialer for readers (kafkago.ReaderConfig.Dialer) and
// direct connections (DialLeader, topic administration).
func (s Security) Dialer() *kafkago.Dialer {
	return &kafkago.Dialer{
		ClientID:      clientID,
		Timeout:       dialTimeout,
		DualStack:     true,
		TLS:           s.tlsConfig(),
		SASLMechanism: s.sasl,
	}
}

// Transport is a new transport, the kafkago.RoundTripper of writers and
// clients (kafkago.Writer.Transport, kafkago.Client.Transport). The caller
// closes its idle connections when done.
func (s Security) Transport() *kafkago.Transport {
	return &kafkago.Transport{
		ClientID:    clientID,
		DialTimeout: dialTimeout,
		TLS:         s.tlsConfig(),
		SASL:        s.sasl,
	}
}

// tlsConfig is a copy of the TLS configuration for one dialer: kafka-go
// fills in the server name per connection.
func (s Security) tlsConfig() *tls.Config {
	if s.tls == nil {
		return nil
	}
	return s.tls.Clone()
}

// NewReader returns a reader of cfg whose connections use s; cfg's own
// Dialer is replaced.
func (s Security) NewReader(cfg kafkago.ReaderConfig) *kafkago.Reader {
	cfg.Dialer = s.Dialer()
	return kafkago.NewReader(cfg)
}
