package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"

	"go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"
	"golang.org/x/sync/errgroup"

	"github.com/zarish-sphere/zarish/api"
	"github.com/zarish-sphere/zarish/config"
	"github.com/zarish-sphere/zarish/integrations/temporal"
)

// runTemporalServer runs the Temporal server — frontend, history, matching
// and its internal worker in one process — on PostgreSQL persistence, as
// production runs it: its databases (TEMPORAL_SERVER_DATABASE_URL and the
// visibility one) are created with their schemas on the first start and
// brought up to date on every start, and the engine's namespace
// (TEMPORAL_NAMESPACE) is registered with its search attributes. The api,
// worker and relay roles join it at TEMPORAL_ADDRESS. With METRICS_PORT it
// answers /health and /ready on whether its frontend serves.
func runTemporalServer(ctx context.Context, cfg config.Config, args []string, logger *slog.Logger, stdout io.Writer) error {
	fs := flag.NewFlagSet("temporal-server", flag.ContinueOnError)
	fs.SetOutput(stdout)
	if err := fs.Parse(args); err != nil {
		return usageError{err}
	}
	ts := cfg.TemporalServer
	srv, err := temporal.StartDevServer(ctx, temporal.DevServerConfig{
		FrontendAddress: ts.Listen,
		UIAddress:       ts.UIListen,
		Namespace:       cfg.Temporal.Namespace,
		Postgres: &temporal.PostgresStore{
			DatabaseURL:           ts.DatabaseURL.Reveal(),
			VisibilityDatabaseURL: ts.VisibilityDatabaseURL.Reveal(),
			HistoryShards:         ts.HistoryShards,
			PoolSize:              ts.PoolSize,
		},
	}, logger)
	if err != nil {
		return err
	}
	defer srv.Stop()
	logger.Info("temporal server started on PostgreSQL", "frontend", srv.FrontendAddress(), "ui", srv.UIAddress(),
		"namespace", srv.Namespace(), "historyShards", ts.HistoryShards)
	fmt.Fprintf(stdout, "temporal server: %s (namespace %s)\n", srv.FrontendAddress(), srv.Namespace())

	tc, err := client.NewLazyClient(client.Options{HostPort: srv.FrontendAddress(), Namespace: srv.Namespace(), Logger: sdklog.NewStructuredLogger(logger.With("component", "temporal-sdk"))})
	if err != nil {
		return err
	}
	defer tc.Close()
	g, gctx := errgroup.WithContext(ctx)
	if err := serveMetrics(gctx, g, cfg, api.NewMetrics(), logger, temporalCheck(tc)); err != nil {
		return err
	}
	g.Go(func() error {
		<-gctx.Done()
		return gctx.Err()
	})
	err = g.Wait()
	if errors.Is(err, context.Canceled) {
		return nil
	}
	return err
}
