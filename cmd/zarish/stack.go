package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/worker"
	"golang.org/x/sync/errgroup"

	alertactivities "github.com/zarish-sphere/zarish/activities/alert"
	careplanactivities "github.com/zarish-sphere/zarish/activities/careplan"
	diagnosticactivities "github.com/zarish-sphere/zarish/activities/diagnostic"
	encounteractivities "github.com/zarish-sphere/zarish/activities/encounter"
	prescriptionactivities "github.com/zarish-sphere/zarish/activities/prescription"
	procedureactivities "github.com/zarish-sphere/zarish/activities/procedure"
	"github.com/zarish-sphere/zarish/api"
	"github.com/zarish-sphere/zarish/config"
	"github.com/zarish-sphere/zarish/domain/medication"
	"github.com/zarish-sphere/zarish/integrations/auth"
	"github.com/zarish-sphere/zarish/integrations/fhir/bundle"
	"github.com/zarish-sphere/zarish/integrations/kafka"
	"github.com/zarish-sphere/zarish/integrations/notify"
	"github.com/zarish-sphere/zarish/integrations/postgres"
	"github.com/zarish-sphere/zarish/integrations/ratelimit"
	"github.com/zarish-sphere/zarish/integrations/temporal"
	"github.com/zarish-sphere/zarish/integrations/webhook"
	"github.com/zarish-sphere/zarish/workers"
	alertworkflow "github.com/zarish-sphere/zarish/workflows/alert"
	careplanworkflow "github.com/zarish-sphere/zarish/workflows/careplan"
	diagnosticworkflow "github.com/zarish-sphere/zarish/workflows/diagnostic"
	encounterworkflow "github.com/zarish-sphere/zarish/workflows/encounter"
	prescriptionworkflow "github.com/zarish-sphere/zarish/workflows/prescription"
	procedureworkflow "github.com/zarish-sphere/zarish/workflows/procedure"
)

// shutdownGrace bounds how long the API waits for in-flight requests on stop.
const shutdownGrace = 15 * time.Second

func openDatabase(ctx context.Context, cfg config.Database, logger *slog.Logger) (*pgxpool.Pool, error) {
	return postgres.Connect(ctx, postgres.PoolConfig{
		URL:      cfg.URL.Reveal(),
		MaxConns: cfg.PoolSize,
		Timeout:  cfg.Timeout,
	}, logger.With("component", "postgres"))
}

// authConfig turns the configuration into the OAuth2 server's. With dev set, a
// missing signing key and HMAC secret are generated into the data dir; in
// production both must be configured, so every replica signs alike.
func authConfig(cfg config.Config, dev bool) (auth.Config, error) {
	ac := auth.Config{
		Issuer:         cfg.Auth.Issuer,
		SigningKeyFile: cfg.Auth.SigningKeyFile,
		GlobalSecret:   []byte(cfg.Auth.Secret.Reveal()),
		TokenTTL:       cfg.Auth.ExpiresIn,
		Audience:       cfg.Auth.Audience,
		SessionTTL:     cfg.Auth.SessionTTL,
		MFARoles:       cfg.Auth.MFARoles,
		Lockout:        postgres.LockoutPolicy{Threshold: cfg.Auth.LockoutThreshold, Base: time.Minute, Max: time.Hour},
	}
	if !dev {
		var errs []error
		// The issuer names this server in every token and in discovery;
		// guessing it from the listen address would name a host the
		// clients never reach.
		if ac.Issuer == "" {
			errs = append(errs, errors.New("JWT_ISSUER is required (the public https URL of the API, e.g. https://api.hospital.example)"))
		}
		if ac.SigningKeyFile == "" {
			errs = append(errs, errors.New("JWT_SIGNING_KEY_FILE is required"))
		}
		if len(ac.GlobalSecret) == 0 {
			errs = append(errs, errors.New("JWT_SECRET is required"))
		}
		return ac, errors.Join(errs...)
	}
	if ac.Issuer == "" {
		ac.Issuer = "http://" + cfg.Service.Addr()
	}
	if ac.SigningKeyFile == "" {
		ac.SigningKeyFile = filepath.Join(cfg.DataDir, "jwt-signing-key.pem")
		ac.GenerateKey = true
	}
	if len(ac.GlobalSecret) == 0 {
		secret, err := devSecret(filepath.Join(cfg.DataDir, "jwt-secret"))
		if err != nil {
			return ac, err
		}
		ac.GlobalSecret = secret
	}
	return ac, nil
}

// devSecret reads, or creates once, a random secret file in the data dir.
func devSecret(path string) ([]byte, error) {
	if b, err := os.ReadFile(path); err == nil && len(strings.TrimSpace(string(b))) >= 64 {
		return []byte(strings.TrimSpace(string(b))), nil
	}
	var raw [32]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return nil, fmt.Errorf("generate secret: %w", err)
	}
	secret := hex.EncodeToString(raw[:])
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("data dir: %w", err)
	}
	if err := os.WriteFile(path, []byte(secret+"\n"), 0o600); err != nil {
		return nil, fmt.Errorf("write %s: %w", path, err)
	}
	return []byte(secret), nil
}

// apiParts are what the API process talks to.
type apiParts struct {
	pool      *pgxpool.Pool
	temporal  client.Client
	publisher *kafka.Publisher
	oauth     *auth.Server
	metrics   *api.Metrics
	limits    api.RateLimits
	// medications is the medication knowledge base the checks run on.
	medications *medication.Registry
	// console is the clinical console served at /console; nil serves none.
	console http.Handler
	// codec opens sealed workflow payloads for the Temporal Web UI, from
	// codecOrigins; nil when payloads are not sealed.
	codec        *temporal.Codec
	codecOrigins []string
}

func (p apiParts) router(cfg config.Config, logger *slog.Logger) http.Handler {
	health := api.NewHealth(map[string]api.Check{
		"database": func(ctx context.Context) error { return p.pool.Ping(ctx) },
		"temporal": func(ctx context.Context) error {
			_, err := p.temporal.CheckHealth(ctx, &client.CheckHealthRequest{})
			return err
		},
		"kafka": p.publisher.Ping,
	}, 2*time.Second).ReuseHealthy(cfg.Health.Interval).ReadyOn("database")
	carePlans := postgres.NewCarePlanStore(p.pool)
	prescriptions := postgres.NewPrescriptionStore(p.pool)
	var codec converter.PayloadCodec
	if p.codec != nil {
		codec = p.codec
	}
	return api.NewRouter(api.Deps{
		Logger:                    logger,
		Version:                   cfg.Service.Version,
		Patients:                  postgres.NewPatientStore(p.pool),
		Audit:                     postgres.NewAuditStore(p.pool),
		Inbox:                     postgres.NewNotificationStore(p.pool),
		Temporal:                  p.temporal,
		Alerts:                    postgres.NewAlertStore(p.pool),
		CareTeam:                  postgres.NewCareTeamStore(p.pool),
		Deliveries:                postgres.NewNotificationStore(p.pool),
		Encounters:                postgres.NewEncounterStore(p.pool),
		StepKeys:                  postgres.NewStepKeys(p.pool),
		Notes:                     postgres.NewNoteStore(p.pool),
		CarePlans:                 carePlans,
		CareReminders:             carePlans, // patient-view lists overdue activities
		Allergies:                 postgres.NewAllergyStore(p.pool),
		Observations:              postgres.NewObservationStore(p.pool),
		Medications:               p.medications,
		MedicationContext:         prescriptions,
		Prescriptions:             prescriptions,
		Diagnostics:               postgres.NewDiagnosticStore(p.pool),
		Procedures:                postgres.NewProcedureStore(p.pool),
		DeadLetters:               postgres.NewDeadLetterStore(p.pool),
		HL7v2:                     hl7v2Ingester(p.pool, logger, p.temporal),
		HL7v2Messages:             postgres.NewHL7v2Store(p.pool),
		DICOM:                     postgres.NewDICOMStore(p.pool),
		FHIRImport:                bundle.New(postgres.NewFHIRImportStore(p.pool), time.Now, uuid.NewV7),
		Subscriptions:             postgres.NewSubscriptionStore(p.pool),
		SubscriptionsAllowPrivate: cfg.WebhooksAllowPrivate,
		DICOMDir:                  cfg.DICOMDir,
		Users:                     postgres.NewUserStore(p.pool),
		Sessions:                  postgres.NewOAuthStore(p.pool),
		Launches:                  postgres.NewOAuthStore(p.pool),
		SignIn:                    signInEndpoints(p.oauth),
		Verifier:                  p.oauth,
		Token:                     p.oauth.TokenHandler(),
		JWKS:                      p.oauth.JWKSHandler(),
		Health:                    health,
		Metrics:                   p.metrics,
		TrustedProxies:            cfg.Service.TrustedProxies,
		RateLimits:                p.limits,
		Console:                   p.console,
		PayloadCodec:              codec,
		Registry:                  postgres.NewServiceRegistry(p.pool),
		TaskQueues:                workers.Queues,
		HeartbeatInterval:         cfg.Health.Interval,
		CodecOrigins:              p.codecOrigins,
	})
}

// rateLimits builds the API's request budgets from the configuration: kept in
// Redis when REDIS_URL is set, so every replica spends from the same budget,
// else in this process. A Redis that does not answer at start is logged, not
// fatal: the API lets requests through unlimited until it answers. The
// returned func releases the Redis connections.
func rateLimits(ctx context.Context, cfg config.Config, logger *slog.Logger) (api.RateLimits, func(), error) {
	rl := cfg.RateLimit
	limits := api.RateLimits{
		Client:    ratelimit.PerMinute(rl.PerMinute, rl.Burst),
		Anonymous: ratelimit.PerMinute(rl.PerMinute, rl.Burst),
		Token:     ratelimit.PerMinute(rl.TokenPerMinute, rl.TokenPerMinute),
	}
	// Route groups spend on top of the client's budget; turning the
	// budgets off (RATE_LIMIT_PER_MINUTE=0) turns them off too.
	if rl.PerMinute > 0 {
		for _, g := range rl.Groups {
			limits.Groups = append(limits.Groups, api.RouteGroup{Prefix: g.Prefix, Limit: ratelimit.PerMinute(g.PerMinute, g.Burst)})
		}
	}
	if cfg.Redis.URL == "" {
		limits.Limiter = ratelimit.NewMemory()
		return limits, func() {}, nil
	}
	ratelimit.LogTo(logger.With("component", "redis"))
	store, err := ratelimit.OpenRedis(cfg.Redis.URL.Reveal())
	if err != nil {
		return limits, nil, fmt.Errorf("REDIS_URL: %w", err)
	}
	pctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	if err := store.Ping(pctx); err != nil {
		logger.Warn("Redis for rate limits is not answering; requests go through unlimited until it does",
			"component", "ratelimit", "error", err)
	}
	limits.Limiter = store
	return limits, func() { _ = store.Close() }, nil
}

// serveHTTP serves handler on l until ctx ends, then drains in-flight requests.
func serveHTTP(ctx context.Context, l net.Listener, handler http.Handler, metrics *api.Metrics, logger *slog.Logger) error {
	// Bounded reads (a trickled body is cut off) and idle connections;
	// streams lift their own deadlines (api.NewHTTPServer).
	srv := api.NewHTTPServer(handler)
	srv.ErrorLog = slog.NewLogLogger(logger.Handler(), slog.LevelWarn)
	if metrics != nil {
		srv.ConnState = metrics.ConnState
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(l) }()
	select {
	case err := <-errc:
		return fmt.Errorf("http server on %s: %w", l.Addr(), err)
	case <-ctx.Done():
	}
	logger.Info("http server draining", "addr", l.Addr().String())
	sctx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("drain http server: %w", err)
	}
	return nil
}

// workerSet is what each task queue runs; the processes register here as they
// are built. Alerts no level could deliver go to alerting's fallback contact.
func workerSet(pool *pgxpool.Pool, tc client.Client, kb *medication.Registry, alerting config.Alerts, logger *slog.Logger) workers.Set {
	if alerting.FallbackContact == "" {
		logger.Warn("ALERT_FALLBACK_CONTACT is not set: an alert no level can deliver is closed as undeliverable and counted, but reaches nobody",
			"component", "workers")
	}
	alerts := alertactivities.New(postgres.NewAlertStore(pool), alertactivities.WithFallbackContact(alerting.FallbackContact))
	encounters := encounteractivities.New(postgres.NewEncounterStore(pool))
	carePlans := careplanactivities.New(postgres.NewCarePlanStore(pool), alertworkflow.Resolver{Client: tc})
	prescriptions := prescriptionactivities.New(postgres.NewPrescriptionStore(pool), kb, alertworkflow.Resolver{Client: tc})
	diagnostics := diagnosticactivities.New(postgres.NewDiagnosticStore(pool), alertworkflow.Resolver{Client: tc}, postgres.NewAlertStore(pool))
	procedures := procedureactivities.New(postgres.NewProcedureStore(pool), procedureactivities.WithAlerts(alertworkflow.Resolver{Client: tc}))
	return workers.Set{
		workers.QueueAlerts:        {func(r worker.Registry) { alertworkflow.Register(r, alerts) }},
		workers.QueuePrescriptions: {func(r worker.Registry) { prescriptionworkflow.Register(r, prescriptions) }},
		workers.QueueDiagnostics:   {func(r worker.Registry) { diagnosticworkflow.Register(r, diagnostics) }},
		workers.QueueProcedures:    {func(r worker.Registry) { procedureworkflow.Register(r, procedures) }},
		// Care plan reminders are clinical work: they run beside the encounters.
		workers.QueueEncounters: {
			func(r worker.Registry) { encounterworkflow.Register(r, encounters) },
			func(r worker.Registry) { careplanworkflow.Register(r, carePlans) },
		},
	}
}

// breakGlassConsumer raises the privacy officer's review alert of every
// break-the-glass access whose event reaches brokers: the worker that owns
// the alerts runs it.
// webhookConsumer queues the clinical events for the subscriptions on pool.
func webhookConsumer(pool *pgxpool.Pool, brokers []string, logger *slog.Logger) *notify.WebhookConsumer {
	return notify.NewWebhookConsumer(brokers, webhook.NewEnqueuer(postgres.NewSubscriptionStore(pool), logger), logger)
}

// webhookDeliverer sends the queued deliveries of the subscriptions on pool.
func webhookDeliverer(pool *pgxpool.Pool, allowPrivate bool, logger *slog.Logger) *webhook.Deliverer {
	return webhook.NewDeliverer(postgres.NewSubscriptionStore(pool), webhook.NewClient(allowPrivate), logger)
}

func breakGlassConsumer(pool *pgxpool.Pool, tc client.Client, brokers []string, logger *slog.Logger) *notify.BreakGlassConsumer {
	raiser := alertworkflow.BreakGlass{Client: tc, Alerts: postgres.NewAlertStore(pool), Audit: postgres.NewAuditStore(pool)}
	return notify.NewBreakGlassConsumer(brokers, raiser, logger)
}

// observationConsumer raises the alerts of critical values and scores the
// NEWS2 sets readings complete, raising and clearing NEWS2 alerts, for
// every observation event that reaches brokers: the worker that owns the
// alerts runs it.
func observationConsumer(pool *pgxpool.Pool, tc client.Client, brokers []string, logger *slog.Logger) *notify.ObservationConsumer {
	alerter := alertworkflow.ObservationAlerts{Client: tc, Alerts: postgres.NewAlertStore(pool), Observations: postgres.NewObservationStore(pool),
		Orders: postgres.NewDiagnosticStore(pool)}
	return notify.NewObservationConsumer(brokers, alerter, logger)
}

// prescriptionRecheckConsumer has every open prescription of a patient
// checked again when an allergy of theirs is recorded or changed: the
// worker that owns the prescriptions runs it.
func prescriptionRecheckConsumer(pool *pgxpool.Pool, tc client.Client, brokers []string, logger *slog.Logger) *notify.PrescriptionRecheckConsumer {
	rechecks := prescriptionworkflow.Rechecks{Client: tc, Store: postgres.NewPrescriptionStore(pool)}
	return notify.NewPrescriptionRecheckConsumer(brokers, rechecks, logger)
}

// loadMedications is the knowledge base of cfg, loaded once per process for
// the API and the prescription workers alike: the version shipped with the
// binary, the versions in cfg.Dirs beside it, and cfg.Active active.
func loadMedications(cfg config.Medications) (*medication.Registry, error) {
	kb, err := medication.Embedded()
	if err != nil {
		return nil, fmt.Errorf("medication knowledge base: %w", err)
	}
	reg, err := medication.NewRegistry(kb)
	if err != nil {
		return nil, err
	}
	for _, dir := range cfg.Dirs {
		more, err := medication.Load(os.DirFS(dir), ".")
		if err != nil {
			return nil, fmt.Errorf("MEDICATION_KB_DIRS: %s: %w", dir, err)
		}
		if err := reg.Add(more); err != nil {
			return nil, fmt.Errorf("MEDICATION_KB_DIRS: %s: %w", dir, err)
		}
	}
	if cfg.Active != "" {
		if err := reg.Activate(cfg.Active); err != nil {
			return nil, fmt.Errorf("MEDICATION_KB_ACTIVE: %w", err)
		}
	}
	return reg, nil
}

// sizeWorkflowCache sets the size of the process's workflow cache, which
// its first worker makes and every later one shares: so before any starts
// (under zarish dev, before the embedded server's own system workers).
func sizeWorkflowCache(cfg config.Config) {
	worker.SetStickyWorkflowCacheSize(cfg.Temporal.WorkflowCacheSize)
}

// workerOptions are every queue's worker settings from the configuration.
func workerOptions(cfg config.Config) worker.Options {
	return worker.Options{
		MaxConcurrentWorkflowTaskPollers: cfg.Temporal.WorkflowTaskPollers,
		MaxConcurrentActivityTaskPollers: cfg.Temporal.ActivityTaskPollers,
		// On SIGTERM a worker stops polling and gives the activities it
		// runs this long to finish before it cancels them (Temporal then
		// retries them elsewhere); within the pods' 30 s grace.
		WorkerStopTimeout: workerStopTimeout,
	}
}

// retention is the purge of what the configuration no longer keeps.
func retention(pool *pgxpool.Pool, cfg config.Config, logger *slog.Logger) *postgres.Retention {
	r := cfg.Retention
	return postgres.NewRetention(pool, postgres.RetentionPolicy{OutboxSent: r.OutboxSent, WorkflowStarts: r.WorkflowStarts,
		Idempotency: r.Idempotency, Notifications: r.Notifications, WebhookDeliveries: r.WebhookDeliveries}, r.Interval, logger)
}

// roleCheck is a dependency a role's /ready waits for.
type roleCheck struct {
	name  string
	check api.Check
}

// databaseCheck is PostgreSQL answering on pool.
func databaseCheck(pool *pgxpool.Pool) roleCheck {
	return roleCheck{"database", func(ctx context.Context) error { return pool.Ping(ctx) }}
}

// temporalCheck is the Temporal frontend answering tc.
func temporalCheck(tc client.Client) roleCheck {
	return roleCheck{"temporal", func(ctx context.Context) error {
		_, err := tc.CheckHealth(ctx, &client.CheckHealthRequest{})
		return err
	}}
}

// workerStopTimeout is how long a stopping worker lets its running
// activities finish.
const workerStopTimeout = 20 * time.Second

// serveMetrics adds, when METRICS_PORT is set, a listener to g serving
// /metrics, and /health and /ready over the role's checks (none: ready
// while the process runs), so every role is probed the same way.
func serveMetrics(ctx context.Context, g *errgroup.Group, cfg config.Config, metrics *api.Metrics, logger *slog.Logger, checks ...roleCheck) error {
	if cfg.Metrics.Port == 0 {
		return nil
	}
	ml, err := net.Listen("tcp", net.JoinHostPort(cfg.Service.Host, strconv.Itoa(cfg.Metrics.Port)))
	if err != nil {
		return fmt.Errorf("metrics listen: %w", err)
	}
	named := map[string]api.Check{}
	for _, c := range checks {
		named[c.name] = c.check
	}
	health := api.NewHealth(named, 2*time.Second).ReuseHealthy(cfg.Health.Interval)
	h := api.OpsHandler(cfg.Service.Version, health, metrics, logger.With("component", "health"))
	g.Go(func() error { return serveHTTP(ctx, ml, h, nil, logger.With("component", "metrics")) })
	return nil
}
