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
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/zarish-sphere/zarish/api"
	"github.com/zarish-sphere/zarish/config"
	"github.com/zarish-sphere/zarish/console"
	services "github.com/zarish-sphere/zarish/domain/registry"
	"github.com/zarish-sphere/zarish/integrations/auth"
	"github.com/zarish-sphere/zarish/integrations/auth/access"
	"github.com/zarish-sphere/zarish/integrations/kafka"
	"github.com/zarish-sphere/zarish/integrations/notify"
	"github.com/zarish-sphere/zarish/integrations/postgres"
	"github.com/zarish-sphere/zarish/integrations/temporal"
	"github.com/zarish-sphere/zarish/workers"
)

// devClientID is the OAuth2 client `zarish dev` creates for a newcomer.
const devClientID = "dev-admin"

// devFallbackContact is ALERT_FALLBACK_CONTACT under `zarish dev` with its
// local mail sink: an alert no level could deliver is mailed there.
const devFallbackContact = "operator@localhost"

func runDev(ctx context.Context, cfg config.Config, args []string, logger *slog.Logger, stdout io.Writer) error {
	fs := flag.NewFlagSet("dev", flag.ContinueOnError)
	fs.SetOutput(stdout)
	fs.StringVar(&cfg.DataDir, "data-dir", cfg.DataDir, "where the embedded servers keep their files (ZARISH_DATA_DIR)")
	listen := fs.String("listen", cfg.Service.Addr(), "API listen address (SERVICE_HOST:SERVICE_PORT)")
	fs.StringVar(&cfg.Dev.TemporalAddress, "temporal-listen", cfg.Dev.TemporalAddress, "embedded Temporal frontend (ZARISH_TEMPORAL_LISTEN)")
	fs.StringVar(&cfg.Dev.UIAddress, "ui-listen", cfg.Dev.UIAddress, "Temporal Web UI; empty disables it (ZARISH_TEMPORAL_UI_LISTEN)")
	fs.StringVar(&cfg.Dev.KafkaAddress, "kafka-listen", cfg.Dev.KafkaAddress, "embedded Kafka broker, used when KAFKA_BROKERS is unset (ZARISH_KAFKA_LISTEN)")
	if err := fs.Parse(args); err != nil {
		return usageError{err}
	}
	host, port, err := net.SplitHostPort(*listen)
	if err != nil {
		return usageError{fmt.Errorf("--listen %q: %w", *listen, err)}
	}
	cfg.Service.Host = host
	if _, err := fmt.Sscan(port, &cfg.Service.Port); err != nil {
		return usageError{fmt.Errorf("--listen port %q is not a number", port)}
	}
	stack, err := startDev(ctx, cfg, logger)
	if err != nil {
		return err
	}
	stack.printBanner(stdout, cfg)
	return stack.wait()
}

// devStack is the whole engine in one process.
type devStack struct {
	APIURL          string
	TemporalAddress string
	UIURL           string
	KafkaAddress    string
	DatabaseURL     string
	MailAddress     string
	MailDir         string
	// MLLPAddress is where the HL7 v2 listener takes messages.
	MLLPAddress string
	// Codec seals the workflows' payloads (nil with
	// TEMPORAL_PAYLOAD_ENCRYPTION=off).
	Codec *temporal.Codec

	// temporal and broker are the embedded servers (broker nil with
	// KAFKA_BROKERS set): either may be stopped and started again on the
	// same address and files while the rest runs on.
	temporal *temporal.DevServer
	broker   *kafka.Broker
	// queues are the task queues the stack's own workers serve: every one
	// unless an option at start names fewer, the rest served elsewhere.
	queues []string

	group *errgroup.Group
	stop  []func()
}

// startDev starts the embedded servers, the database, the API, every worker
// queue, the relay, the workflow starter, the dispatcher and the
// break-the-glass consumer, and returns once the API listens. Cancelling ctx drains
// the API, workers and relay, then stops the embedded servers; wait reports
// how that went. Each opt adjusts the stack before anything starts.
func startDev(ctx context.Context, cfg config.Config, logger *slog.Logger, opts ...func(*devStack)) (_ *devStack, err error) {
	s := &devStack{queues: workers.Queues}
	for _, o := range opts {
		o(s)
	}
	defer func() {
		if err != nil {
			s.shutdown()
		}
	}()
	if err := os.MkdirAll(cfg.DataDir, 0o750); err != nil {
		return nil, fmt.Errorf("data dir %s: %w", cfg.DataDir, err)
	}

	pool, err := openDatabase(ctx, cfg.Database, logger)
	if err != nil {
		return nil, err
	}
	s.stop = append(s.stop, pool.Close)
	s.DatabaseURL = postgres.Redact(cfg.Database.URL.Reveal())
	if err := postgres.Migrate(ctx, pool, logger.With("component", "migrate")); err != nil {
		return nil, err
	}

	// The API's address is known first: the Web UI opens sealed payloads
	// through the console there.
	l, err := net.Listen("tcp", cfg.Service.Addr())
	if err != nil {
		return nil, fmt.Errorf("api listen: %w", err)
	}
	s.stop = append(s.stop, func() { _ = l.Close() })
	s.APIURL = "http://" + l.Addr().String()

	sizeWorkflowCache(cfg)
	tsrv, err := temporal.StartDevServer(ctx, temporal.DevServerConfig{
		FrontendAddress: cfg.Dev.TemporalAddress,
		UIAddress:       cfg.Dev.UIAddress,
		CodecEndpoint:   s.APIURL + console.CodecEndpoint,
		DatabaseFile:    filepath.Join(cfg.DataDir, "temporal.db"),
		Namespace:       cfg.Temporal.Namespace,
	}, logger.With("component", "temporal-server"))
	if err != nil {
		return nil, err
	}
	s.temporal = tsrv
	s.stop = append(s.stop, func() { s.temporal.Stop() })
	s.TemporalAddress = tsrv.FrontendAddress()
	if ui := tsrv.UIAddress(); ui != "" {
		s.UIURL = "http://" + ui
	}

	brokers := cfg.Kafka.Brokers
	// With KAFKA_BROKERS the clients take its TLS and SASL settings; the
	// embedded broker takes plaintext on this machine.
	var security kafka.Security
	if len(brokers) > 0 {
		if security, err = kafkaSecurity(cfg.Kafka); err != nil {
			return nil, err
		}
	}
	if len(brokers) == 0 {
		broker, err := kafka.StartBroker(cfg.Dev.KafkaAddress, logger.With("component", "kafka-broker"),
			kafka.WithDataDir(filepath.Join(cfg.DataDir, "kafka")))
		if err != nil {
			return nil, err
		}
		s.broker = broker
		s.stop = append(s.stop, func() { s.broker.Close() })
		brokers = []string{broker.Addr()}
	}
	s.KafkaAddress = strings.Join(brokers, ",")

	// Payloads are sealed here too: with TEMPORAL_PAYLOAD_KEYS when given,
	// else with a key made once and kept in the data directory.
	tcfg := temporal.ClientConfig{Address: tsrv.FrontendAddress(), Namespace: tsrv.Namespace(), Identity: instanceID}
	if cfg.Temporal.PayloadEncryption {
		keys := []temporal.PayloadKey{}
		if cfg.Temporal.PayloadKeys != "" {
			if keys, err = temporal.ParsePayloadKeys(cfg.Temporal.PayloadKeys.Reveal()); err != nil {
				return nil, fmt.Errorf("TEMPORAL_PAYLOAD_KEYS: %w", err)
			}
		} else {
			k, err := temporal.DevPayloadKey(cfg.DataDir)
			if err != nil {
				return nil, fmt.Errorf("payload key: %w", err)
			}
			keys = append(keys, k)
		}
		if tcfg.Codec, err = temporal.NewCodec(keys); err != nil {
			return nil, err
		}
	}
	s.Codec = tcfg.Codec
	tc, err := temporal.Dial(ctx, tcfg, logger)
	if err != nil {
		return nil, err
	}
	s.stop = append(s.stop, tc.Close)
	if err := temporal.EnsureSearchAttributes(ctx, tc, tsrv.Namespace()); err != nil {
		return nil, err
	}

	publisher := kafka.NewPublisher(brokers, logger, kafka.WithSecurity(security))
	s.stop = append(s.stop, func() { _ = publisher.Close() })

	ac, err := authConfig(cfg, true)
	if err != nil {
		return nil, err
	}
	oauthStore := postgres.NewOAuthStore(pool)
	oauth, err := auth.NewServer(ac, oauthStore, logger, auth.WithUsers(postgres.NewUserStore(pool)))
	if err != nil {
		return nil, err
	}
	if err := refuseBuiltInSecretRemotely(cfg.Database.URL.Reveal(), cfg.Dev.ClientSecret.Reveal()); err != nil {
		return nil, err
	}
	if err := ensureDevClient(ctx, oauthStore, cfg.Dev.ClientSecret.Reveal(), logger); err != nil {
		return nil, err
	}
	if err := seedDevIdentity(ctx, pool, oauthStore, logger); err != nil {
		return nil, err
	}
	if err := seedDevOnCall(ctx, postgres.NewCareTeamStore(pool), time.Now(), logger); err != nil {
		return nil, err
	}

	metrics := api.NewMetrics()
	outbox := postgres.NewOutboxReader(pool)
	s.stop = append(s.stop, outbox.Close)
	relay := kafka.NewRelay(outbox, publisher, logger)
	metrics.Registry.MustRegister(relay.Collectors()...)
	sealer := postgres.NewAuditSealer(pool, logger)
	metrics.Registry.MustRegister(sealer.Collectors()...)
	metrics.Registry.MustRegister(postgres.NewAlertMetrics(pool, logger.With("component", "alerts")).Collectors()...)
	starts := postgres.NewWorkflowStartStore(pool)
	s.stop = append(s.stop, starts.Close)
	starter := temporal.NewStarter(starts, tc, logger)
	metrics.Registry.MustRegister(starter.Collectors()...)

	sinkAddr := ""
	if cfg.Notify.SMTPHost == "" {
		sink, err := notify.StartMailSink(cfg.Dev.MailAddress, filepath.Join(cfg.DataDir, "mail"), logger.With("component", "mail-sink"))
		if err != nil {
			return nil, err
		}
		s.stop = append(s.stop, sink.Close)
		sinkAddr, s.MailAddress, s.MailDir = sink.Addr(), sink.Addr(), sink.Dir()
		if cfg.Alerts.FallbackContact == "" {
			// Alerts that reach nobody land in the mail sink, for the operator to see.
			cfg.Alerts.FallbackContact = devFallbackContact
		}
	}
	// A webhook receiver tried on this machine is on loopback: let it be,
	// unless WEBHOOKS_ALLOW_PRIVATE says false.
	if os.Getenv("WEBHOOKS_ALLOW_PRIVATE") != "false" {
		cfg.WebhooksAllowPrivate = true
	}
	nc, err := notifyConfig(cfg.Notify, sinkAddr)
	if err != nil {
		return nil, err
	}
	dispatcher, err := notify.NewDispatcher(nc, postgres.NewNotificationStore(pool), brokers, logger.With("component", "notify"),
		notify.WithKafkaSecurity(security))
	if err != nil {
		return nil, err
	}
	metrics.Registry.MustRegister(dispatcher.Collectors()...)
	limits, closeLimits, err := rateLimits(ctx, cfg, logger)
	if err != nil {
		return nil, err
	}
	s.stop = append(s.stop, closeLimits)
	kb, err := loadMedications(cfg.Medications)
	if err != nil {
		return nil, err
	}
	mllp, err := net.Listen("tcp", cfg.MLLP.Address)
	if err != nil {
		return nil, fmt.Errorf("mllp listen: %w", err)
	}
	s.MLLPAddress = mllp.Addr().String()
	s.stop = append(s.stop, func() { _ = mllp.Close() })
	// The clinical console at /console signs people in as its own client,
	// sent back to this address.
	if err := ensureConsoleClient(ctx, oauthStore, s.APIURL, logger); err != nil {
		logger.Warn("the clinical console cannot sign anyone in", "error", err)
	}
	handler, err := consoleHandler(ctx, s.APIURL, s.UIURL, tsrv.Namespace(), ac.GlobalSecret, logger, func(console http.Handler) http.Handler {
		return apiParts{pool: pool, temporal: tc, publisher: publisher, oauth: oauth, metrics: metrics, limits: limits,
			medications: kb, console: console, codec: tcfg.Codec,
			codecOrigins: slices.Concat(cfg.Temporal.CodecOrigins, []string{s.UIURL})}.router(cfg, logger)
	})
	if err != nil {
		return nil, err
	}

	// Everything below runs until ctx ends; the first failure stops the rest.
	g, gctx := errgroup.WithContext(ctx)
	s.group = g
	// One process, every service: each is in the registry as this instance.
	heartbeat(gctx, g, pool, cfg, services.ServiceAPI, apiPort(l.Addr()), nil, logger)
	for _, name := range []string{services.ServiceRelay, services.ServiceNotify} {
		heartbeat(gctx, g, pool, cfg, name, cfg.Metrics.Port, map[string]string{"embedded": "true"}, logger)
	}
	heartbeat(gctx, g, pool, cfg, services.ServiceMLLP, mllpPort(mllp.Addr()), nil, logger)
	for _, q := range s.queues {
		heartbeat(gctx, g, pool, cfg, services.WorkerService(q), cfg.Metrics.Port, map[string]string{"taskQueue": q}, logger)
	}
	g.Go(func() error { return serveHTTP(gctx, l, handler, metrics, logger.With("component", "http")) })
	g.Go(func() error {
		return workers.Run(gctx, tc, s.queues, workerSet(pool, tc, kb, cfg.Alerts, logger), workerOptions(cfg), logger.With("component", "workers"))
	})
	g.Go(func() error { return oauth.Run(gctx) })
	g.Go(func() error { return relay.Run(gctx) })
	g.Go(func() error { return sealer.Run(gctx) })
	purge := retention(pool, cfg, logger)
	metrics.Registry.MustRegister(purge.Collectors()...)
	g.Go(func() error { return purge.Run(gctx) })
	g.Go(func() error { return starter.Run(gctx) })
	g.Go(func() error { return dispatcher.Run(gctx) })
	g.Go(func() error {
		return breakGlassConsumer(pool, tc, brokers, logger).WithKafkaSecurity(security).Run(gctx)
	})
	g.Go(func() error {
		return observationConsumer(pool, tc, brokers, logger).WithKafkaSecurity(security).Run(gctx)
	})
	g.Go(func() error {
		return prescriptionRecheckConsumer(pool, tc, brokers, logger).WithKafkaSecurity(security).Run(gctx)
	})
	g.Go(func() error { return hl7v2Ingester(pool, logger, tc).Serve(gctx, mllp, cfg.MLLP.MaxFrame) })
	g.Go(func() error { return webhookConsumer(pool, brokers, logger).WithKafkaSecurity(security).Run(gctx) })
	g.Go(func() error { return webhookDeliverer(pool, cfg.WebhooksAllowPrivate, logger).Run(gctx) })
	return s, nil
}

// wait blocks until every part has stopped, then stops the embedded servers.
func (s *devStack) wait() error {
	err := s.group.Wait()
	s.shutdown()
	if errors.Is(err, context.Canceled) {
		return nil
	}
	return err
}

func (s *devStack) shutdown() {
	for i := len(s.stop) - 1; i >= 0; i-- {
		s.stop[i]()
	}
	s.stop = nil
}

// ensureDevClient registers dev-admin with system/*.* and
// system/Practitioner.act unless it exists, so a newcomer's curl can act for
// a demo practitioner with X-On-Behalf-Of. It holds no role: its scopes
// already cover every route, and a role on it would label its clinical
// reads in the audit trail with a job (admin) whose scopes exclude clinical
// records.
func ensureDevClient(ctx context.Context, store *postgres.OAuthStore, secret string, logger *slog.Logger) error {
	c, err := auth.NewClient(devClientID, secret, "Development administrator", []string{"system/*.*", access.ScopeActOnBehalf}, nil)
	if err != nil {
		return fmt.Errorf("dev client: %w", err)
	}
	created, err := store.EnsureClient(ctx, c)
	if err != nil {
		return fmt.Errorf("dev client: %w", err)
	}
	if created {
		logger.Info("created OAuth2 client", "client", devClientID, "scopes", c.Scopes)
	}
	return nil
}

func (s *devStack) printBanner(w io.Writer, cfg config.Config) {
	fmt.Fprintf(w, `
ZARISH SPHERE %s is running (dev: embedded Temporal and Kafka, data in %s)

  API           %s        OpenAPI: %s/v1/openapi.json
  Temporal      %s (namespace %s)
  Temporal UI   %s
  Kafka         %s        kcat -b %s -t zarish.clinical.v1 -C -e
  PostgreSQL    %s
  Mail sink     %s        messages land in %s
  Rate limits   %s

  Get a token:
    curl -s -u %s:%s -d grant_type=client_credentials %s/v1/auth/oauth2/token

`, cfg.Service.Version, cfg.DataDir, s.APIURL, s.APIURL, s.TemporalAddress, cfg.Temporal.Namespace,
		orOff(s.UIURL), s.KafkaAddress, strings.Split(s.KafkaAddress, ",")[0], s.DatabaseURL,
		orOff(s.MailAddress), orOff(s.MailDir), limitStore(cfg),
		devClientID, cfg.Dev.ClientSecret.Reveal(), s.APIURL)
	fmt.Fprintf(w, "  Console       %s/console/   (clinical console; a ward board: %s/console/wards/ward-3)\n", s.APIURL, s.APIURL)
	fmt.Fprintf(w, "  HL7 v2 MLLP   %s   (or POST %s/v1/integration/hl7v2)\n", s.MLLPAddress, s.APIURL)
	printDemoUsers(w, s.APIURL, cfg.Auth.MFARoles)
	fmt.Fprint(w, "\nCtrl-C stops everything.\n")
}

// limitStore says where the rate-limit budgets are kept, without the
// Redis URL's credentials.
func limitStore(cfg config.Config) string {
	if cfg.Redis.URL == "" {
		return "kept in this process (REDIS_URL shares them across replicas)"
	}
	if u, err := url.Parse(cfg.Redis.URL.Reveal()); err == nil {
		return "kept in Redis at " + u.Host
	}
	return "kept in Redis"
}

func orOff(s string) string {
	if s == "" {
		return "off"
	}
	return s
}
