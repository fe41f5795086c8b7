package temporal

import (
	"context"
	"crypto/tls"
	"log/slog"
	"net"
	"testing"
	"time"

	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/zarish-sphere/zarish/config"
	"github.com/zarish-sphere/zarish/internal/testpki"
)

// startTLSFrontend serves, over mutual TLS with pki's certificates, the
// gRPC health service answering SERVING for the workflow service (what the
// SDK's CheckHealth asks) and a workflow service whose every method is
// unimplemented; it returns the address.
func startTLSFrontend(t *testing.T, pki testpki.PKI) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer(grpc.Creds(credentials.NewTLS(&tls.Config{
		Certificates: []tls.Certificate{pki.Server}, ClientCAs: pki.Pool,
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
	pki := testpki.New(t)
	addr := startTLSFrontend(t, pki)
	mutual := config.ClientTLS{Enabled: true, CAFile: pki.CAFile, CertFile: pki.ClientCert, KeyFile: pki.ClientKey}
	if err := dialTLS(t, addr, mutual); err != nil {
		t.Fatalf("mutual TLS with the test CA: %v", err)
	}
	named := mutual
	named.ServerName = "localhost" // on the server's certificate
	if err := dialTLS(t, addr, named); err != nil {
		t.Fatalf("mutual TLS naming localhost: %v", err)
	}
	for name, c := range map[string]config.ClientTLS{
		"no client certificate": {Enabled: true, CAFile: pki.CAFile},
		"server not trusted":    {Enabled: true, CertFile: pki.ClientCert, KeyFile: pki.ClientKey},
		"wrong server name":     {Enabled: true, CAFile: pki.CAFile, CertFile: pki.ClientCert, KeyFile: pki.ClientKey, ServerName: "temporal.hospital.example"},
		"plaintext":             {},
	} {
		if err := dialTLS(t, addr, c); err == nil {
			t.Errorf("%s: the client reached the frontend", name)
		}
	}
}

func TestClientOptionsCarryTLS(t *testing.T) {
	pki := testpki.New(t)
	tc, err := config.ClientTLS{Enabled: true, CAFile: pki.CAFile, CertFile: pki.ClientCert, KeyFile: pki.ClientKey,
		ServerName: "temporal.hospital.example"}.Config()
	if err != nil {
		t.Fatal(err)
	}
	opts, err := clientOptions(ClientConfig{Address: "temporal:7233", Namespace: "default", TLS: tc}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	got := opts.ConnectionOptions.TLS
	if got == nil || got.ServerName != "temporal.hospital.example" || len(got.Certificates) != 1 || !got.RootCAs.Equal(pki.Pool) ||
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
