// Package temporaltest runs workflows on a real Temporal server for the tests
// that record histories: the embedded dev server on a file of the test's own,
// and the way a finished run's history is saved for the replay tests.
package temporaltest

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"testing"

	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/sdk/client"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/zarish-sphere/zarish/integrations/temporal"
)

// Start runs the embedded server until the test ends and returns a client
// of its default namespace.
func Start(ctx context.Context, tb testing.TB) client.Client {
	tb.Helper()
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	srv, err := temporal.StartDevServer(ctx, temporal.DevServerConfig{FrontendAddress: "127.0.0.1:0", Namespace: "default",
		DatabaseFile: filepath.Join(tb.TempDir(), "temporal.db")}, logger)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(srv.Stop)
	c, err := temporal.Dial(ctx, temporal.ClientConfig{Address: srv.FrontendAddress(), Namespace: srv.Namespace()}, logger)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(c.Close)
	return c
}

// SaveHistory writes the history of the run to path as the JSON the
// workflow replayer reads.
func SaveHistory(ctx context.Context, tb testing.TB, c client.Client, run client.WorkflowRun, path string) {
	tb.Helper()
	var history historypb.History
	it := c.GetWorkflowHistory(ctx, run.GetID(), run.GetRunID(), false, 0)
	for it.HasNext() {
		e, err := it.Next()
		if err != nil {
			tb.Fatal(err)
		}
		history.Events = append(history.Events, e)
	}
	raw, err := protojson.MarshalOptions{Multiline: true, Indent: "  "}.Marshal(&history)
	if err != nil {
		tb.Fatal(err)
	}
	if err := os.WriteFile(path, raw, 0o644); err != nil {
		tb.Fatal(err)
	}
	tb.Logf("recorded %d events to %s", len(history.Events), path)
}
