package temporal

import (
	"context"
	"io"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"go.temporal.io/api/operatorservice/v1"
)

// TestEnsureSearchAttributesUpgradesAnOlderNamespace: a dev database made
// before AlertStatus existed gets it on the next start.
func TestEnsureSearchAttributesUpgradesAnOlderNamespace(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	file := filepath.Join(t.TempDir(), "temporal.db")
	start := func() (*DevServer, func()) {
		srv, err := StartDevServer(ctx, DevServerConfig{FrontendAddress: "127.0.0.1:0", Namespace: "default", DatabaseFile: file}, logger)
		if err != nil {
			t.Fatal(err)
		}
		return srv, srv.Stop
	}

	kind := SearchAttributes["AlertStatus"]
	delete(SearchAttributes, "AlertStatus") // what an older build registered
	_, stop := start()
	stop()
	SearchAttributes["AlertStatus"] = kind

	srv, stop := start()
	defer stop()
	c, err := Dial(ctx, ClientConfig{Address: srv.FrontendAddress(), Namespace: srv.Namespace()}, logger)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	before, err := c.OperatorService().ListSearchAttributes(ctx, &operatorservice.ListSearchAttributesRequest{Namespace: srv.Namespace()})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := before.GetCustomAttributes()["AlertStatus"]; ok {
		t.Fatal("the older namespace already had AlertStatus: the test shows nothing")
	}
	for range 2 { // the second finds nothing missing
		if err := EnsureSearchAttributes(ctx, c, srv.Namespace()); err != nil {
			t.Fatal(err)
		}
	}
	have, err := c.OperatorService().ListSearchAttributes(ctx, &operatorservice.ListSearchAttributesRequest{Namespace: srv.Namespace()})
	if err != nil {
		t.Fatal(err)
	}
	for name := range SearchAttributes {
		if _, ok := have.GetCustomAttributes()[name]; !ok {
			t.Errorf("%s is not registered", name)
		}
	}
}
