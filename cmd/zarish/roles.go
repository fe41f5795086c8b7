package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"strings"

	"golang.org/x/sync/errgroup"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/zarish-sphere/zarish/api"
	"github.com/zarish-sphere/zarish/config"
	services "github.com/zarish-sphere/zarish/domain/registry"
	"github.com/zarish-sphere/zarish/integrations/auth"
	"github.com/zarish-sphere/zarish/integrations/auth/access"
	"github.com/zarish-sphere/zarish/integrations/hl7v2/ingest"
	"github.com/zarish-sphere/zarish/integrations/kafka"
	"github.com/zarish-sphere/zarish/integrations/postgres"
	"github.com/zarish-sphere/zarish/integrations/temporal"
	"github.com/zarish-sphere/zarish/workers"
)

// runAPI serves the REST API against external PostgreSQL, Temporal and Kafka.
func runAPI(ctx context.Context, cfg config.Config, args []string, logger *slog.Logger, stdout io.Writer) error {
	fs := flag.NewFlagSet("api", flag.ContinueOnError)
	fs.SetOutput(stdout)
	listen := fs.String("listen", cfg.Service.Addr(), "listen address (SERVICE_HOST:SERVICE_PORT)")
	if err := fs.Parse(args); err != nil {
		return usageError{err}
	}
	if len(cfg.Kafka.Brokers) == 0 {
		return usageError{errors.New("KAFKA_BROKERS is required (the API's readiness checks the broker)")}
	}
	ac, err := authConfig(cfg, false)
	if err != nil {
		return usageError{err}
	}
	security, err := kafkaSecurity(cfg.Kafka)
	if err != nil {
		return usageError{err}
	}
	pool, err := openDatabase(ctx, cfg.Database, logger)
	if err != nil {
		return err
	}
	defer pool.Close()
	tcfg, err := temporalClient(cfg)
	if err != nil {
		return usageError{err}
	}
	tc, err := temporal.Dial(ctx, tcfg, logger)
	if err != nil {
		return err
	}
	defer tc.Close()
	publisher := kafka.NewPublisher(cfg.Kafka.Brokers, logger, kafka.WithSecurity(security))
	defer publisher.Close()
	oauth, err := auth.NewServer(ac, postgres.NewOAuthStore(pool), logger, auth.WithUsers(postgres.NewUserStore(pool)))
	if err != nil {
		return err
	}
	limits, closeLimits, err := rateLimits(ctx, cfg, logger)
	if err != nil {
		return usageError{err}
	}
	defer closeLimits()
	kb, err := loadMedications(cfg.Medications)
	if err != nil {
		return err
	}
	metrics := api.NewMetrics()
	// The clinical console at /console: sent back to JWT_ISSUER, the
	// API's public URL, and signing people in as its own client.
	consoleBase := strings.TrimRight(ac.Issuer, "/")
	if err := ensureConsoleClient(ctx, postgres.NewOAuthStore(pool), consoleBase, logger); err != nil {
		logger.Warn("the clinical console cannot sign anyone in", "error", err)
	}
	// With TEMPORAL_UI_URL the console links each process to its workflow
	// there, and that Web UI opens payloads through the console's codec
	// (CodecEndpoint) with the operator's session.
	handler, err := consoleHandler(ctx, consoleBase, cfg.Temporal.UIURL, cfg.Temporal.Namespace, ac.GlobalSecret, logger, func(console http.Handler) http.Handler {
		return apiParts{pool: pool, temporal: tc, publisher: publisher, oauth: oauth, metrics: metrics, limits: limits,
			medications: kb, console: console, codec: tcfg.Codec, codecOrigins: cfg.Temporal.CodecOrigins}.router(cfg, logger)
	})
	if err != nil {
		return err
	}
	l, scheme, err := listenAPI(*listen, cfg.Service)
	if err != nil {
		return err
	}
	logger.Info("api listening", "addr", l.Addr().String(), "scheme", scheme)
	g, gctx := errgroup.WithContext(ctx)
	heartbeat(gctx, g, pool, cfg, services.ServiceAPI, cfg.Service.Port, nil, logger)
	g.Go(func() error { return serveHTTP(gctx, l, handler, metrics, logger.With("component", "http")) })
	g.Go(func() error { return oauth.Run(gctx) }) // revocation list, key reloads, expired grants
	if err := serveMetrics(gctx, g, cfg, metrics, logger); err != nil {
		return err
	}
	return g.Wait()
}

// runWorker runs Temporal workers for the chosen task queues. The worker of
// the alerts queue also raises the review alert of every break-the-glass
// access, read from Kafka.
func runWorker(ctx context.Context, cfg config.Config, args []string, logger *slog.Logger, stdout io.Writer) error {
	fs := flag.NewFlagSet("worker", flag.ContinueOnError)
	fs.SetOutput(stdout)
	queuesFlag := fs.String("queues", "all", "task queues to serve: "+strings.Join(workers.Queues, ",")+" or all")
	if err := fs.Parse(args); err != nil {
		return usageError{err}
	}
	queues, err := workers.ParseQueues(*queuesFlag)
	if err != nil {
		return usageError{err}
	}
	kb, err := loadMedications(cfg.Medications)
	if err != nil {
		return err
	}
	pool, err := openDatabase(ctx, cfg.Database, logger)
	if err != nil {
		return err
	}
	defer pool.Close()
	tcfg, err := temporalClient(cfg)
	if err != nil {
		return usageError{err}
	}
	tc, err := temporal.Dial(ctx, tcfg, logger)
	if err != nil {
		return err
	}
	defer tc.Close()
	security, err := kafkaSecurity(cfg.Kafka)
	if err != nil {
		return usageError{err}
	}
	sizeWorkflowCache(cfg)
	g, gctx := errgroup.WithContext(ctx)
	for _, q := range queues {
		heartbeat(gctx, g, pool, cfg, services.WorkerService(q), cfg.Metrics.Port, map[string]string{"taskQueue": q}, logger)
	}
	g.Go(func() error {
		return workers.Run(gctx, tc, queues, workerSet(pool, tc, kb, cfg.Alerts, logger), workerOptions(cfg), logger.With("component", "workers"))
	})
	// A worker is ready when it can reach Temporal, its work, and
	// PostgreSQL, where its activities write.
	if err := serveMetrics(gctx, g, cfg, api.NewMetrics(), logger, databaseCheck(pool), temporalCheck(tc)); err != nil {
		return err
	}
	if slices.Contains(queues, workers.QueuePrescriptions) {
		if len(cfg.Kafka.Brokers) == 0 {
			logger.Warn("KAFKA_BROKERS is not set: this prescriptions worker does not recheck prescriptions when an allergy is recorded",
				"component", "workers")
		} else {
			rechecks := prescriptionRecheckConsumer(pool, tc, cfg.Kafka.Brokers, logger).WithKafkaSecurity(security)
			g.Go(func() error { return rechecks.Run(gctx) })
		}
	}
	if slices.Contains(queues, workers.QueueAlerts) {
		if len(cfg.Kafka.Brokers) == 0 {
			logger.Warn("KAFKA_BROKERS is not set: this alerts worker raises no review alert for break-the-glass accesses "+
				"and no alert for critical values or NEWS2", "component", "workers")
		} else {
			consumer := breakGlassConsumer(pool, tc, cfg.Kafka.Brokers, logger).WithKafkaSecurity(security)
			g.Go(func() error { return consumer.Run(gctx) })
			observations := observationConsumer(pool, tc, cfg.Kafka.Brokers, logger).WithKafkaSecurity(security)
			g.Go(func() error { return observations.Run(gctx) })
		}
	}
	return g.Wait()
}

// runRelay publishes outbox rows to Kafka, starts the workflows that writes
// asked for, and seals audit records into the hash chain. Several may run;
// for each job one instance leads. Temporal being down holds up only the
// workflow starts.
func runRelay(ctx context.Context, cfg config.Config, args []string, logger *slog.Logger, stdout io.Writer) error {
	fs := flag.NewFlagSet("relay", flag.ContinueOnError)
	fs.SetOutput(stdout)
	if err := fs.Parse(args); err != nil {
		return usageError{err}
	}
	if len(cfg.Kafka.Brokers) == 0 {
		return usageError{errors.New("KAFKA_BROKERS is required")}
	}
	security, err := kafkaSecurity(cfg.Kafka)
	if err != nil {
		return usageError{err}
	}
	pool, err := openDatabase(ctx, cfg.Database, logger)
	if err != nil {
		return err
	}
	defer pool.Close()
	publisher := kafka.NewPublisher(cfg.Kafka.Brokers, logger, kafka.WithSecurity(security))
	defer publisher.Close()
	metrics := api.NewMetrics()
	outbox := postgres.NewOutboxReader(pool)
	defer outbox.Close()
	relay := kafka.NewRelay(outbox, publisher, logger)
	metrics.Registry.MustRegister(relay.Collectors()...)
	sealer := postgres.NewAuditSealer(pool, logger)
	metrics.Registry.MustRegister(sealer.Collectors()...)
	tcfg, err := temporalClient(cfg)
	if err != nil {
		return usageError{err}
	}
	tc, err := temporal.DialLazy(tcfg, logger)
	if err != nil {
		return err
	}
	defer tc.Close()
	starts := postgres.NewWorkflowStartStore(pool)
	defer starts.Close()
	starter := temporal.NewStarter(starts, tc, logger)
	metrics.Registry.MustRegister(starter.Collectors()...)
	g, gctx := errgroup.WithContext(ctx)
	heartbeat(gctx, g, pool, cfg, services.ServiceRelay, cfg.Metrics.Port, nil, logger)
	g.Go(func() error { return relay.Run(gctx) })
	g.Go(func() error { return sealer.Run(gctx) })
	purge := retention(pool, cfg, logger)
	metrics.Registry.MustRegister(purge.Collectors()...)
	g.Go(func() error { return purge.Run(gctx) })
	g.Go(func() error { return starter.Run(gctx) })
	// The relay's work is in PostgreSQL; a broker outage grows its backlog
	// (zarish_outbox_backlog_events), which it drains when Kafka returns.
	if err := serveMetrics(gctx, g, cfg, metrics, logger, databaseCheck(pool)); err != nil {
		return err
	}
	err = g.Wait()
	if errors.Is(err, context.Canceled) {
		return nil
	}
	return err
}

// runMigrate applies pending migrations and exits.
func runMigrate(ctx context.Context, cfg config.Config, args []string, logger *slog.Logger, stdout io.Writer) error {
	fs := flag.NewFlagSet("migrate", flag.ContinueOnError)
	fs.SetOutput(stdout)
	if err := fs.Parse(args); err != nil {
		return usageError{err}
	}
	pool, err := openDatabase(ctx, cfg.Database, logger)
	if err != nil {
		return err
	}
	defer pool.Close()
	return postgres.Migrate(ctx, pool, logger.With("component", "migrate"))
}

// adminUsage lists the administrative commands.
const adminUsage = `usage:
  zarish admin create-client --id ID --secret SECRET [--roles nurse,clinician] [--scopes 'system/Patient.read system/Patient.write'] [--name NAME]
  zarish admin set-client-access --id ID [--roles …] [--scopes …]   replace what the client may be granted
  zarish admin disable-client --id ID                              stop the client from getting tokens; its tokens are refused
` + identityAdminUsage

// runAdmin holds administrative commands on OAuth2 clients.
func runAdmin(ctx context.Context, cfg config.Config, args []string, logger *slog.Logger, stdout io.Writer) error {
	if len(args) == 0 {
		return usageError{errors.New(adminUsage)}
	}
	if run, ok := identityAdmin[args[0]]; ok {
		return run(ctx, cfg, args[1:], logger, stdout)
	}
	fs := flag.NewFlagSet("admin "+args[0], flag.ContinueOnError)
	fs.SetOutput(stdout)
	id := fs.String("id", "", "client id")
	var secret, scopes, roles, name *string
	switch args[0] {
	case "create-client":
		secret = fs.String("secret", "", "client secret (at least 8 characters)")
		name = fs.String("name", "", "human-readable name")
		fallthrough
	case "set-client-access":
		scopes = fs.String("scopes", "", "space- or comma-separated SMART scopes, e.g. 'system/Patient.read'")
		roles = fs.String("roles", "", "comma- or space-separated roles, each granting its scopes: "+strings.Join(access.RoleNames(), ","))
	case "disable-client":
	default:
		return usageError{fmt.Errorf("unknown admin command %q\n%s", args[0], adminUsage)}
	}
	if err := fs.Parse(args[1:]); err != nil {
		return usageError{err}
	}
	if *id == "" {
		return usageError{errors.New("--id is required")}
	}
	var c postgres.OAuthClient
	switch args[0] {
	case "create-client":
		var err error
		if c, err = auth.NewClient(*id, *secret, *name, splitList(*scopes), splitList(*roles)); err != nil {
			return usageError{err}
		}
	case "set-client-access":
		var err error
		if c.Scopes, c.Roles, err = auth.ClientAccess(splitList(*scopes), splitList(*roles)); err != nil {
			return usageError{err}
		}
	}
	pool, err := openDatabase(ctx, cfg.Database, logger)
	if err != nil {
		return err
	}
	defer pool.Close()
	store := postgres.NewOAuthStore(pool)
	switch args[0] {
	case "create-client":
		if err := store.CreateClient(ctx, c); err != nil {
			return fmt.Errorf("create client %q: %w", *id, err)
		}
		fmt.Fprintf(stdout, "created client %s with roles [%s] and scopes [%s]\n", *id,
			strings.Join(c.Roles, " "), strings.Join(access.GrantableScopes(c.Scopes, c.Roles), " "))
	case "set-client-access":
		if err := store.SetClientAccess(ctx, *id, c.Scopes, c.Roles); err != nil {
			return fmt.Errorf("set access of client %q: %w", *id, err)
		}
		fmt.Fprintf(stdout, "client %s now has roles [%s] and scopes [%s]; tokens already issued keep theirs until they expire\n", *id,
			strings.Join(c.Roles, " "), strings.Join(access.GrantableScopes(c.Scopes, c.Roles), " "))
	case "disable-client":
		if err := store.DisableClient(ctx, *id); err != nil {
			return fmt.Errorf("disable client %q: %w", *id, err)
		}
		fmt.Fprintf(stdout, "client %s can no longer get tokens; the tokens already issued to it are refused from now on\n", *id)
	}
	return nil
}

// splitList splits a flag value on spaces and commas.
func splitList(v string) []string {
	return strings.FieldsFunc(v, func(r rune) bool { return r == ' ' || r == ',' })
}

// hl7v2Ingester takes HL7 v2 messages into the stores on pool: patients,
// observations, diagnostic orders and their results, encounters, with the
// care-team directory naming who acts. workflows, when given, is the
// Temporal client that starts the workflows of what the messages place and
// sends the Updates of results, discharges and cancellations; without it
// the workflow starter starts them from their rows, and a message that
// needs an Update is answered AE (stored, replayable).
func hl7v2Ingester(pool *pgxpool.Pool, logger *slog.Logger, workflows ...ingest.Workflows) *ingest.Ingester {
	opts := []ingest.Option{
		ingest.WithOrders(postgres.NewDiagnosticStore(pool), nil),
		ingest.WithEncounters(postgres.NewEncounterStore(pool)),
		ingest.WithDirectory(postgres.NewCareTeamStore(pool)),
	}
	for _, w := range workflows {
		opts = append(opts, ingest.WithWorkflows(w))
	}
	return ingest.New(postgres.NewHL7v2Store(pool), postgres.NewPatientStore(pool), postgres.NewObservationStore(pool), logger, opts...)
}

// runMLLP is `zarish mllp`: the HL7 v2 listener on MLLP_LISTEN, each
// message stored before it is acknowledged.
func runMLLP(ctx context.Context, cfg config.Config, args []string, logger *slog.Logger, stdout io.Writer) error {
	fs := flag.NewFlagSet("mllp", flag.ContinueOnError)
	fs.SetOutput(stdout)
	if err := fs.Parse(args); err != nil {
		return usageError{err}
	}
	pool, err := openDatabase(ctx, cfg.Database, logger)
	if err != nil {
		return err
	}
	defer pool.Close()
	tcfg, err := temporalClient(cfg)
	if err != nil {
		return usageError{err}
	}
	// Lazy: messages are stored and acknowledged while Temporal is down;
	// one that needs an Update is then answered AE and can be replayed.
	tc, err := temporal.DialLazy(tcfg, logger)
	if err != nil {
		return err
	}
	defer tc.Close()
	ln, err := net.Listen("tcp", cfg.MLLP.Address)
	if err != nil {
		return fmt.Errorf("mllp listen: %w", err)
	}
	logger.Info("HL7 v2 listener ready", "address", ln.Addr().String())
	g, gctx := errgroup.WithContext(ctx)
	heartbeat(gctx, g, pool, cfg, services.ServiceMLLP, mllpPort(ln.Addr()), nil, logger)
	g.Go(func() error { return hl7v2Ingester(pool, logger, tc).Serve(gctx, ln, cfg.MLLP.MaxFrame) })
	if err := serveMetrics(gctx, g, cfg, api.NewMetrics(), logger, databaseCheck(pool)); err != nil {
		return err
	}
	err = g.Wait()
	if errors.Is(err, context.Canceled) {
		return nil
	}
	return err
}

// temporalClient is the Temporal client of the production roles: the
// cluster, and the codec sealing every payload with TEMPORAL_PAYLOAD_KEYS
// (required while TEMPORAL_PAYLOAD_ENCRYPTION is on).
func temporalClient(cfg config.Config) (temporal.ClientConfig, error) {
	c := temporal.ClientConfig{Address: cfg.Temporal.Address, Namespace: cfg.Temporal.Namespace, Identity: instanceID}
	var err error
	if c.TLS, err = cfg.Temporal.TLS.Config(); err != nil {
		return c, err
	}
	if !cfg.Temporal.PayloadEncryption {
		return c, nil
	}
	if cfg.Temporal.PayloadKeys == "" {
		return c, errors.New("TEMPORAL_PAYLOAD_KEYS is required: patient data in workflow payloads is sealed " +
			"(id:base64 of 32 random bytes; or TEMPORAL_PAYLOAD_ENCRYPTION=off)")
	}
	keys, err := temporal.ParsePayloadKeys(cfg.Temporal.PayloadKeys.Reveal())
	if err != nil {
		return c, fmt.Errorf("TEMPORAL_PAYLOAD_KEYS: %w", err)
	}
	if c.Codec, err = temporal.NewCodec(keys); err != nil {
		return c, fmt.Errorf("TEMPORAL_PAYLOAD_KEYS: %w", err)
	}
	return c, nil
}
