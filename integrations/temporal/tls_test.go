package temporal

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"log/slog"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/zarish-sphere/zarish/config"
)

// testPKI is a CA, a server certificate for 127.0.0.1 and localhost and a
// client certificate, all signed by the CA, with the CA and the client's
// pair written as PEM files.
type testPKI struct {
	caFile, clientCert, clientKey string
	server                        tls.Certificate
	pool                          *x509.CertPool
}

func newTestPKI(t *testing.T) testPKI {
	t.Helper()
	dir := t.TempDir()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "zarish test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	issue := func(serial int64, name string, usage x509.ExtKeyUsage) ([]byte, []byte) {
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		tmpl := &x509.Certificate{
			SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: name},
			NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
			KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{usage},
			DNSNames: []string{"localhost"}, IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
		if err != nil {
			t.Fatal(err)
		}
		keyDER, err := x509.MarshalECPrivateKey(key)
		if err != nil {
			t.Fatal(err)
		}
		return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER})
	}
	p := testPKI{caFile: filepath.Join(dir, "ca.pem"), clientCert: filepath.Join(dir, "client.pem"), clientKey: filepath.Join(dir, "client-key.pem"),
		pool: x509.NewCertPool()}
	p.pool.AddCert(ca)
	write := func(path string, b []byte) {
		if err := os.WriteFile(path, b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write(p.caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}))
	cert, key := issue(2, "zarish client", x509.ExtKeyUsageClientAuth)
	write(p.clientCert, cert)
	write(p.clientKey, key)
	cert, key = issue(3, "localhost", x509.ExtKeyUsageServerAuth)
	if p.server, err = tls.X509KeyPair(cert, key); err != nil {
		t.Fatal(err)
	}
	return p
}

// startTLSFrontend serves, over mutual TLS with pki's certificates, the
// gRPC health service answering SERVING for the workflow service (what the
// SDK's CheckHealth asks) and a workflow service whose every method is
// unimplemented; it returns the address.
func startTLSFrontend(t *testing.T, pki testPKI) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer(grpc.Creds(credentials.NewTLS(&tls.Config{
		Certificates: []tls.Certificate{pki.server}, ClientCAs: pki.pool,
		ClientAuth: tls.RequireAndVerifyClientCert, MinVersion: tls.VersionTLS12,
	})))
	hs := health.NewServer()
	hs.SetServingStatus("temporal.api.workflowservice.v1.WorkflowService", healthpb.HealthCheckResponse_SERVING)
	healthpb.RegisterHealthServer(srv, hs)
	workflowservice.RegisterWorkflowServiceServer(srv, workflowservice.UnimplementedWorkflowServiceServer{})
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(srv.Stop)
	return l.Addr().String()
}

// dialTLS dials addr with tc and asks for the frontend's health.
func dialTLS(t *testing.T, addr string, c config.ClientTLS) error {
	t.Helper()
	tc, err := c.Config()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Second)
	defer cancel()
	cl, err := Dial(ctx, ClientConfig{Address: addr, Namespace: "default", TLS: tc}, slog.New(slog.DiscardHandler))
	if err != nil {
		return err
	}
	defer cl.Close()
	_, err = cl.CheckHealth(ctx, &client.CheckHealthRequest{})
	return err
}

func TestClientMutualTLS(t *testing.T) {
	pki := newTestPKI(t)
	addr := startTLSFrontend(t, pki)
	mutual := config.ClientTLS{Enabled: true, CAFile: pki.caFile, CertFile: pki.clientCert, KeyFile: pki.clientKey}
	if err := dialTLS(t, addr, mutual); err != nil {
		t.Fatalf("mutual TLS with the test CA: %v", err)
	}
	named := mutual
	named.ServerName = "localhost" // on the server's certificate
	if err := dialTLS(t, addr, named); err != nil {
		t.Fatalf("mutual TLS naming localhost: %v", err)
	}
	for name, c := range map[string]config.ClientTLS{
		"no client certificate": {Enabled: true, CAFile: pki.caFile},
		"server not trusted":    {Enabled: true, CertFile: pki.clientCert, KeyFile: pki.clientKey},
		"wrong server name":     {Enabled: true, CAFile: pki.caFile, CertFile: pki.clientCert, KeyFile: pki.clientKey, ServerName: "temporal.hospital.example"},
		"plaintext":             {},
	} {
		if err := dialTLS(t, addr, c); err == nil {
			t.Errorf("%s: the client reached the frontend", name)
		}
	}
}

func TestClientOptionsCarryTLS(t *testing.T) {
	pki := newTestPKI(t)
	tc, err := config.ClientTLS{Enabled: true, CAFile: pki.caFile, CertFile: pki.clientCert, KeyFile: pki.clientKey,
		ServerName: "temporal.hospital.example"}.Config()
	if err != nil {
		t.Fatal(err)
	}
	opts, err := clientOptions(ClientConfig{Address: "temporal:7233", Namespace: "default", TLS: tc}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	got := opts.ConnectionOptions.TLS
	if got == nil || got.ServerName != "temporal.hospital.example" || len(got.Certificates) != 1 || !got.RootCAs.Equal(pki.pool) ||
		got.MinVersion != tls.VersionTLS12 {
		t.Fatalf("connection TLS = %+v, want the CA pool, the client certificate and the server name", got)
	}
	plain, err := clientOptions(ClientConfig{Address: "temporal:7233", Namespace: "default"}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	if plain.ConnectionOptions.TLS != nil {
		t.Fatalf("no TLS configured, but the connection has %+v", plain.ConnectionOptions.TLS)
	}
}
