package main

import (
	"crypto/tls"
	"fmt"
	"net"

	"github.com/zarish-sphere/zarish/config"
	"github.com/zarish-sphere/zarish/integrations/kafka"
)

// apiTLS is the API's server TLS from svc's certificate and key (TLS 1.2 at
// least, HTTP/2 offered beside HTTP/1.1); nil when none is configured, and
// the API is served in plain HTTP.
func apiTLS(svc config.Service) (*tls.Config, error) {
	if svc.TLSCertFile == "" && svc.TLSKeyFile == "" {
		return nil, nil
	}
	pair, err := tls.LoadX509KeyPair(svc.TLSCertFile, svc.TLSKeyFile)
	if err != nil {
		return nil, fmt.Errorf("TLS_CERT_FILE, TLS_KEY_FILE: %w", err)
	}
	return &tls.Config{
		MinVersion:   tls.VersionTLS12,
		Certificates: []tls.Certificate{pair},
		NextProtos:   []string{"h2", "http/1.1"},
	}, nil
}

// listenAPI listens on addr for the API (and the console on it): HTTPS when
// svc has a certificate, else plain HTTP. It returns the scheme too.
// Only the API listener: the METRICS_PORT one stays plain for the probes.
func listenAPI(addr string, svc config.Service) (net.Listener, string, error) {
	tc, err := apiTLS(svc)
	if err != nil {
		return nil, "", err
	}
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, "", fmt.Errorf("listen: %w", err)
	}
	if tc == nil {
		return l, "http", nil
	}
	return tls.NewListener(l, tc), "https", nil
}

// kafkaSecurity is how every Kafka client of the process connects: TLS and
// SASL as KAFKA_TLS* and KAFKA_SASL_* say.
func kafkaSecurity(cfg config.Kafka) (kafka.Security, error) {
	tc, err := cfg.TLS.Config()
	if err != nil {
		return kafka.Security{}, err
	}
	s, err := kafka.NewSecurity(tc, cfg.SASLMechanism, cfg.SASLUsername, cfg.SASLPassword.Reveal())
	if err != nil {
		return kafka.Security{}, fmt.Errorf("KAFKA_SASL_MECHANISM: %w", err)
	}
	return s, nil
}
