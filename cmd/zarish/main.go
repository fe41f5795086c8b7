// Command zarish is the ZARISH SPHERE engine: one binary, its roles as
// subcommands.
//
//	zarish dev                       everything in one process on embedded Temporal and Kafka
//	zarish api                       the REST API
//	zarish worker --queues a,b|all   Temporal workers for the named task queues
//	zarish relay                     the outbox relay and the audit chain sealer
//	zarish notify                    the notification dispatcher
//	zarish temporal-server           the Temporal server on PostgreSQL persistence
//	zarish migrate                   apply database migrations
//	zarish admin create-client …     register an OAuth2 client
//	zarish admin create-user …       add a user who signs in (the first administrator)
//	zarish admin rotate-signing-key  put a new token signing key in front of the current one
//	zarish version                   print the version
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/zarish-sphere/zarish/config"
	"github.com/zarish-sphere/zarish/integrations/telemetry"
)

func main() {
	os.Exit(run(os.Args[1:], os.Getenv, os.Stdout, os.Stderr))
}

type command struct {
	summary string
	run     func(ctx context.Context, cfg config.Config, args []string, logger *slog.Logger, stdout io.Writer) error
}

var commands = map[string]command{
	"dev":             {"run the whole engine in one process on embedded Temporal and Kafka", runDev},
	"api":             {"serve the REST API", runAPI},
	"worker":          {"run Temporal workers (--queues encounters,prescriptions,…|all)", runWorker},
	"relay":           {"publish outbox events to Kafka and seal the audit hash chain", runRelay},
	"notify":          {"deliver notifications: in-app, email, SMS, push", runNotify},
	"mllp":            {"take HL7 v2 messages over MLLP, each stored before it is acknowledged", runMLLP},
	"temporal-server": {"run the Temporal server on PostgreSQL persistence, as production does", runTemporalServer},
	"migrate":         {"apply database migrations", runMigrate},
	"admin":           {"administration: create-client, create-app, create-user, rotate-signing-key", runAdmin},
	"health":          {"probe this machine's zarish process: exit 0 when its /health answers 200", runHealth},
	"version":         {"print the version", runVersion},
}

var order = []string{"dev", "api", "worker", "relay", "notify", "mllp", "temporal-server", "migrate", "admin", "health", "version"}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: zarish <command> [flags]")
	fmt.Fprintln(w)
	for _, name := range order {
		fmt.Fprintf(w, "  %-15s %s\n", name, commands[name].summary)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Configuration comes from the environment (see README: Configuration).")
}

func run(args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage(stderr)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	cmd, ok := commands[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "zarish: unknown command %q\n\n", args[0])
		usage(stderr)
		return 2
	}
	if args[0] == "version" {
		fmt.Fprintln(stdout, "zarish", config.Version)
		return 0
	}
	cfg, err := config.Load(getenv)
	if err != nil {
		fmt.Fprintf(stderr, "zarish: invalid configuration:\n%v\n", err)
		return 2
	}
	logger := newLogger(cfg.Log, stderr)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	stopTracing, err := telemetry.Setup(ctx, cfg.Tracing, cfg.Service.Version, args[0])
	if err != nil {
		logger.Error("tracing", "error", err)
		return 1
	}
	defer func() {
		// Flush the spans still buffered, without waiting on a lost collector.
		fctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := stopTracing(fctx); err != nil {
			logger.Warn("flush traces", "error", err)
		}
	}()
	if err := cmd.run(ctx, cfg, args[1:], logger, stdout); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		var usageErr usageError
		if errors.As(err, &usageErr) {
			fmt.Fprintf(stderr, "zarish %s: %v\n", args[0], err)
			return 2
		}
		logger.Error("stopped with an error", "command", args[0], "error", err)
		return 1
	}
	return 0
}

// usageError is a mistake in the command line rather than a failure.
type usageError struct{ error }

func newLogger(c config.Log, w io.Writer) *slog.Logger {
	opts := &slog.HandlerOptions{Level: c.Level}
	if c.Format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// runVersion is answered before configuration is read (see run).
func runVersion(_ context.Context, _ config.Config, _ []string, _ *slog.Logger, stdout io.Writer) error {
	fmt.Fprintln(stdout, "zarish", config.Version)
	return nil
}
