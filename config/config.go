// Package config reads the process configuration from the environment once,
// into typed values, reporting every problem together.
package config

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/mail"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Config is the whole process configuration. Each component receives only its
// own section.
type Config struct {
	Service  Service
	Log      Log
	Database Database
	Temporal Temporal
	Kafka    Kafka
	Auth     Auth
	Metrics  Metrics
	Health   Health
	// Retention is how long the machinery's copies of patient data stay.
	Retention Retention
	Redis     Redis
	// RateLimit is the API's request budgets.
	RateLimit RateLimit
	Notify    Notify
	Alerts    Alerts
	// Medications is the medication knowledge base the checks run on.
	Medications Medications
	Tracing     Tracing
	// MLLP is the HL7 v2 listener (zarish mllp, and zarish dev).
	MLLP MLLP
	// WebhooksAllowPrivate lets subscriptions' endpoints be on loopback and
	// private networks (WEBHOOKS_ALLOW_PRIVATE; on under zarish dev, so a
	// local receiver can be tried).
	WebhooksAllowPrivate bool
	// DICOMDir is where received DICOM files are kept (DICOM_STORAGE_DIR;
	// ZARISH_DATA_DIR/dicom by default). One filesystem: files are received
	// beside it and renamed into place.
	DICOMDir string
	Dev      Dev
	// TemporalServer is the Temporal server `zarish temporal-server` runs.
	TemporalServer TemporalServer
	// DataDir holds the embedded servers' files and generated keys (ZARISH_DATA_DIR).
	DataDir string
}

// Service identifies the process and where the API listens.
type Service struct {
	Name    string // SERVICE_NAME
	Version string // SERVICE_VERSION
	Host    string // SERVICE_HOST
	Port    int    // SERVICE_PORT
	// TrustedProxies are the addresses (IPs or CIDRs) of the load balancers
	// whose X-Forwarded-For the API believes (TRUSTED_PROXIES). With none,
	// the client address is the connection's peer: a caller cannot choose
	// the address its audit records and rate limits name.
	TrustedProxies []string
	// TLSCertFile and TLSKeyFile, both set, serve the API (and the console
	// on it) over HTTPS with this PEM certificate chain and its key
	// (TLS_CERT_FILE, TLS_KEY_FILE). The METRICS_PORT listener stays plain.
	TLSCertFile string
	TLSKeyFile  string
}

// Addr is the API listen address.
func (s Service) Addr() string { return net.JoinHostPort(s.Host, strconv.Itoa(s.Port)) }

// Log selects the logger's level and format.
type Log struct {
	Level  slog.Level // LOG_LEVEL: debug|info|warn|error
	Format string     // LOG_FORMAT: json|text
}

// Database is the PostgreSQL connection.
type Database struct {
	URL      Secret        // DATABASE_URL (may carry a password)
	PoolSize int32         // DATABASE_POOL_SIZE
	Timeout  time.Duration // DATABASE_TIMEOUT
}

// Temporal is the workflow service connection.
type Temporal struct {
	Address   string // TEMPORAL_ADDRESS
	Namespace string // TEMPORAL_NAMESPACE
	// PayloadKeys seal every Temporal payload: comma-separated id:base64
	// pairs of 32-byte keys, the first sealing, all opening
	// (TEMPORAL_PAYLOAD_KEYS). Required by api, worker and relay while
	// PayloadEncryption is on; zarish dev makes one of its own without.
	PayloadKeys Secret
	// PayloadEncryption turns the sealing off ("off"); on by default
	// (TEMPORAL_PAYLOAD_ENCRYPTION).
	PayloadEncryption bool
	// CodecOrigins are the Temporal Web UI origins (scheme://host:port) a
	// browser may call the API's codec endpoint from, comma-separated
	// (TEMPORAL_CODEC_ORIGINS); zarish dev allows its own Web UI.
	CodecOrigins []string
	// UIURL is the Temporal Web UI operators use (TEMPORAL_UI_URL): the
	// console links each care process to its workflow there, and the Web
	// UI may open payloads through the console's codec from it.
	UIURL string
	// WorkflowTaskPollers and ActivityTaskPollers are each worker's
	// concurrent pollers per queue (WORKER_WORKFLOW_POLLERS,
	// WORKER_ACTIVITY_POLLERS). Enough workflow-task pollers keep a freshly
	// started workflow's first task from queueing behind busy ones.
	WorkflowTaskPollers int
	ActivityTaskPollers int
	// WorkflowCacheSize is how many workflows a process keeps in memory
	// between their tasks (WORKER_WORKFLOW_CACHE_SIZE); one evicted
	// replays its history on its next task. Open workflows — a report
	// kept open for amendments, a booked procedure — each hold about
	// 150–200 KB and a goroutine while cached, so the SDK's 10,000 would
	// outgrow a 1 GiB worker.
	WorkflowCacheSize int
	// TLS is how every role reaches the frontend (TEMPORAL_TLS*).
	TLS ClientTLS
}

// Kafka is the event broker connection; no brokers means `zarish dev` embeds one.
type Kafka struct {
	Brokers []string // KAFKA_BROKERS, comma-separated
	// TLS is how every client reaches the brokers (KAFKA_TLS*).
	TLS ClientTLS
	// SASLMechanism is KAFKA_SASL_MECHANISM: plain, scram-sha-256 or
	// scram-sha-512; empty authenticates no one.
	SASLMechanism string
	SASLUsername  string // KAFKA_SASL_USERNAME
	SASLPassword  Secret // KAFKA_SASL_PASSWORD
}

// ClientTLS is how a client reaches its server over TLS: on or off, the CAs
// it trusts (the system's when CAFile is unset), its own certificate for
// mutual TLS, and the name the server's certificate must carry (the host
// dialled when unset). Load has checked the files; Config reads them again.
type ClientTLS struct {
	Enabled    bool   // <PREFIX>: on|off
	CAFile     string // <PREFIX>_CA_FILE: PEM certificates
	CertFile   string // <PREFIX>_CERT_FILE: PEM certificate chain
	KeyFile    string // <PREFIX>_KEY_FILE: PEM private key of CertFile
	ServerName string // <PREFIX>_SERVER_NAME
	// prefix names the variables in errors (KAFKA_TLS, TEMPORAL_TLS).
	prefix string
}

// name is the variable of one setting, e.g. KAFKA_TLS_CA_FILE for "_CA_FILE".
func (t ClientTLS) name(suffix string) string {
	if t.prefix == "" {
		return strings.ToLower(strings.ReplaceAll(strings.TrimPrefix(suffix, "_"), "_", " "))
	}
	return t.prefix + suffix
}

// Config is the client's tls.Config (TLS 1.2 at least), nil when TLS is off.
// Every problem with the files is reported, each naming its variable.
func (t ClientTLS) Config() (*tls.Config, error) {
	if !t.Enabled {
		return nil, nil
	}
	c := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: t.ServerName}
	var errs []error
	if t.CAFile != "" {
		pem, err := os.ReadFile(t.CAFile)
		pool := x509.NewCertPool()
		switch {
		case err != nil:
			errs = append(errs, fmt.Errorf("%s: cannot be read: %w", t.name("_CA_FILE"), err))
		case !pool.AppendCertsFromPEM(pem):
			errs = append(errs, fmt.Errorf("%s: %s holds no PEM certificate", t.name("_CA_FILE"), t.CAFile))
		default:
			c.RootCAs = pool
		}
	}
	switch {
	case t.CertFile != "" && t.KeyFile == "":
		errs = append(errs, fmt.Errorf("%s: is required with %s (mutual TLS)", t.name("_KEY_FILE"), t.name("_CERT_FILE")))
	case t.CertFile == "" && t.KeyFile != "":
		errs = append(errs, fmt.Errorf("%s: is required with %s (mutual TLS)", t.name("_CERT_FILE"), t.name("_KEY_FILE")))
	case t.CertFile != "":
		pair, err := tls.LoadX509KeyPair(t.CertFile, t.KeyFile)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s, %s: %w", t.name("_CERT_FILE"), t.name("_KEY_FILE"), err))
		} else {
			c.Certificates = []tls.Certificate{pair}
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return c, nil
}

// Auth configures the OAuth2 server and sign-in.
type Auth struct {
	Issuer         string        // JWT_ISSUER: required by `zarish api`
	Secret         Secret        // JWT_SECRET: the HMAC secret (≥32 bytes)
	ExpiresIn      time.Duration // JWT_EXPIRES_IN: access-token lifetime, at most one hour
	SigningKeyFile string        // JWT_SIGNING_KEY_FILE: PEM private key(s), current first
	// Audience is JWT_AUDIENCE: the aud every access token carries and
	// every verifier demands; the issuer when unset.
	Audience string
	// SessionTTL is AUTH_SESSION_TTL: how long a sign-in's refresh tokens
	// work, at most (default 12h).
	SessionTTL time.Duration
	// MFARoles is AUTH_MFA_ROLES: the roles whose users must use a TOTP
	// second factor (default admin,pharmacist; "none" for no role).
	MFARoles []string
	// LockoutThreshold is AUTH_LOCKOUT_THRESHOLD: the consecutive failed
	// sign-ins that lock an account (for a minute, doubling with each
	// further failure up to an hour).
	LockoutThreshold int
}

// MaxTokenTTL is the longest JWT_EXPIRES_IN allowed: short access tokens
// keep the revocation list every request checks small.
const MaxTokenTTL = time.Hour

// Metrics configures the optional second listener for /metrics.
type Metrics struct {
	Port int // METRICS_PORT; 0 serves /metrics on the API port only
}

// Health configures dependency checks.
type Health struct {
	Interval time.Duration // HEALTH_CHECK_INTERVAL
}

// Retention is how long the working copies of patient data the machinery
// leaves behind are kept once done with (RETENTION_*); zero keeps them.
// The relay purges them every Interval.
type Retention struct {
	OutboxSent        time.Duration // RETENTION_OUTBOX_SENT: events Kafka took
	WorkflowStarts    time.Duration // RETENTION_WORKFLOW_STARTS: start rows of started workflows
	Idempotency       time.Duration // RETENTION_IDEMPOTENCY_KEYS: Idempotency-Key replays
	Notifications     time.Duration // RETENTION_NOTIFICATIONS: delivered messages' text, read inbox items
	WebhookDeliveries time.Duration // RETENTION_WEBHOOK_DELIVERIES: delivered webhooks' log
	Interval          time.Duration // RETENTION_INTERVAL
}

// Redis is the shared cache (used for cross-replica rate limits).
type Redis struct {
	URL Secret // REDIS_URL
}

// RateLimit sets the API's request budgets. With REDIS_URL they are shared
// by every API replica; without it each process keeps its own. Zero turns a
// budget off.
type RateLimit struct {
	// PerMinute is RATE_LIMIT_PER_MINUTE: requests a minute for each OAuth2
	// client, and for each source IP calling without a valid token.
	PerMinute int
	// Burst is RATE_LIMIT_BURST: how many of those may come at once.
	Burst int
	// TokenPerMinute is RATE_LIMIT_TOKEN_PER_MINUTE: token endpoint requests
	// a minute for each source IP, all of them allowed at once.
	TokenPerMinute int
	// Groups are RATE_LIMIT_GROUPS: budgets of route groups, spent on top
	// of the client's — strict for the patient register, moderate for
	// observations, lenient for the probes. PerMinute 0 turns them off
	// with the rest.
	Groups []RouteGroup
}

// RouteGroup is the budget of the routes under Prefix (the path itself and
// every path below it): requests a minute, and at once, for each client
// (each signed-in user within a client) — for each source IP on routes
// without a token.
type RouteGroup struct {
	Prefix           string
	PerMinute, Burst int
}

// defaultRouteGroups are the route groups' budgets when RATE_LIMIT_GROUPS
// is unset: prefix=per-minute:burst, comma-separated.
const defaultRouteGroups = "/v1/patients=600:120,/v1/observations=1200:200,/health=600:100,/ready=600:100,/metrics=600:100"

// Notify configures notification delivery.
type Notify struct {
	SMTPHost       string // SMTP_HOST; unset under `zarish dev` starts a local mail sink
	SMTPPort       int    // SMTP_PORT
	SMTPUsername   string // SMTP_USERNAME
	SMTPPassword   Secret // SMTP_PASSWORD
	SMTPFrom       string // SMTP_FROM
	SMTPTLS        string // SMTP_TLS: none|starttls|tls
	SMSWebhookURL  string // SMS_WEBHOOK_URL
	PushWebhookURL string // PUSH_WEBHOOK_URL
	WebhookSecret  Secret // NOTIFY_WEBHOOK_SECRET: HMAC key of webhook bodies
	// MaxAttempts is NOTIFY_MAX_ATTEMPTS: the attempts a notification gets
	// (in each round an operator requeues) before it is dead and kept for
	// an operator. A permanent refusal is dead at once whatever it is.
	MaxAttempts int
	// BaseBackoff is NOTIFY_BASE_BACKOFF: the wait after the first failed
	// attempt; it doubles after each further failure, up to MaxBackoff
	// (NOTIFY_MAX_BACKOFF), and each wait is jittered to between half and
	// all of it.
	BaseBackoff time.Duration
	MaxBackoff  time.Duration
}

// The retry bounds the dispatcher uses when nothing is set (its own
// notify.DefaultMaxAttempts, DefaultBaseBackoff and DefaultMaxBackoff), and
// the range each may be set in: from a single attempt to a day between
// attempts, and no wait shorter than a second to start from.
const (
	defaultNotifyMaxAttempts = 8
	defaultNotifyBaseBackoff = 5 * time.Second
	defaultNotifyMaxBackoff  = 15 * time.Minute
	maxNotifyAttempts        = 100
	minNotifyBackoff         = time.Second
	maxNotifyBaseBackoff     = time.Hour
	maxNotifyMaxBackoff      = 24 * time.Hour
)

// Alerts configures alert escalation.
type Alerts struct {
	// FallbackContact is ALERT_FALLBACK_CONTACT: the email address alerted
	// when no level of an alert's policy had anyone to notify. `zarish dev`
	// defaults it to an address its local mail sink keeps.
	FallbackContact string
}

// Medications configures the medication knowledge base. The version shipped
// with the binary is always loaded; MEDICATION_KB_DIRS names directories of
// further versions (each a manifest.json and its tables, as in
// domain/medication/data) loaded beside it, and MEDICATION_KB_ACTIVE the
// version the checks use (default: the shipped one).
type Medications struct {
	Dirs   []string
	Active string
}

// Tracing configures OpenTelemetry traces, by the standard OTEL_* names. The
// OTLP exporter also reads the rest of its OTEL_EXPORTER_OTLP_* settings
// (headers, TLS, timeout) and the sampler its OTEL_TRACES_SAMPLER[_ARG].
type Tracing struct {
	// Exporter is OTEL_TRACES_EXPORTER: otlp, console (spans as JSON on
	// stderr) or none. It defaults to otlp when an OTLP endpoint is set.
	Exporter string
	// Endpoint is OTEL_EXPORTER_OTLP_TRACES_ENDPOINT, else
	// OTEL_EXPORTER_OTLP_ENDPOINT: where the collector receives OTLP/gRPC.
	Endpoint string
	// ServiceName is OTEL_SERVICE_NAME, defaulting to SERVICE_NAME.
	ServiceName string
}

// MLLP configures the HL7 v2 listener.
type MLLP struct {
	Address string // MLLP_LISTEN: host:port, 127.0.0.1:2575 by default
	// MaxFrame is the largest message taken, in bytes (MLLP_MAX_FRAME_BYTES).
	MaxFrame int
}

// Dev configures the embedded servers `zarish dev` starts.
type Dev struct {
	TemporalAddress string // ZARISH_TEMPORAL_LISTEN
	UIAddress       string // ZARISH_TEMPORAL_UI_LISTEN
	KafkaAddress    string // ZARISH_KAFKA_LISTEN
	ClientSecret    Secret // ZARISH_DEV_CLIENT_SECRET
	MailAddress     string // ZARISH_MAIL_LISTEN: the local mail sink
}

// TemporalServer configures `zarish temporal-server`: the Temporal server
// (frontend, history, matching and its internal worker in one process) on
// PostgreSQL persistence, as production runs it.
type TemporalServer struct {
	// DatabaseURL is the Temporal server's own database
	// (TEMPORAL_SERVER_DATABASE_URL), never the engine's: created with its
	// schema on first start and brought up to date on every start.
	DatabaseURL Secret
	// VisibilityDatabaseURL is the visibility store
	// (TEMPORAL_SERVER_VISIBILITY_DATABASE_URL); by default the same server's
	// database named after the first with _visibility appended.
	VisibilityDatabaseURL Secret
	// Listen is where the gRPC frontend listens (TEMPORAL_SERVER_LISTEN);
	// the history, matching and worker services take the next ports.
	Listen string
	// UIListen is where its Web UI listens (TEMPORAL_SERVER_UI_LISTEN);
	// "off" (the default) runs none.
	UIListen string
	// HistoryShards is the number of history shards
	// (TEMPORAL_SERVER_HISTORY_SHARDS), fixed when the database is created.
	HistoryShards int
	// PoolSize is the connections each of the server's four services opens
	// to each of its two databases (TEMPORAL_SERVER_POOL_SIZE): up to eight
	// times as many in all.
	PoolSize int
}

// Secret is a string that never prints.
type Secret string

// String hides the value.
func (s Secret) String() string {
	if s == "" {
		return ""
	}
	return "REDACTED"
}

// LogValue hides the value from slog.
func (s Secret) LogValue() slog.Value { return slog.StringValue(s.String()) }

// Reveal returns the value for the one place that needs it.
func (s Secret) Reveal() string { return string(s) }

// Load reads the configuration through getenv (os.Getenv in main, a map in
// tests). Every invalid variable is reported in one joined error.
func Load(getenv func(string) string) (Config, error) {
	r := reader{getenv: getenv}
	c := Config{
		Service: Service{
			Name:    r.str("SERVICE_NAME", "zarish"),
			Version: r.str("SERVICE_VERSION", Version),
			Host:    r.str("SERVICE_HOST", "127.0.0.1"),
			Port:    r.port("SERVICE_PORT", 8080),

			TrustedProxies: r.addresses("TRUSTED_PROXIES"),
			TLSCertFile:    r.str("TLS_CERT_FILE", ""),
			TLSKeyFile:     r.str("TLS_KEY_FILE", ""),
		},
		Log: Log{
			Level:  r.level("LOG_LEVEL", slog.LevelInfo),
			Format: r.oneOf("LOG_FORMAT", "text", "json", "text"),
		},
		Database: Database{
			URL:      Secret(r.url("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/zarish?sslmode=disable", "postgres", "postgresql")),
			PoolSize: int32(r.intRange("DATABASE_POOL_SIZE", 20, 1, 1000)),
			Timeout:  r.duration("DATABASE_TIMEOUT", 5*time.Second),
		},
		Temporal: Temporal{
			Address:           r.hostPort("TEMPORAL_ADDRESS", "127.0.0.1:7233"),
			Namespace:         r.str("TEMPORAL_NAMESPACE", "default"),
			PayloadKeys:       Secret(r.str("TEMPORAL_PAYLOAD_KEYS", "")),
			PayloadEncryption: r.oneOf("TEMPORAL_PAYLOAD_ENCRYPTION", "on", "on", "off") == "on",
			CodecOrigins:      r.list("TEMPORAL_CODEC_ORIGINS"),
			UIURL:             strings.TrimRight(r.optionalURL("TEMPORAL_UI_URL", "http", "https"), "/"),

			WorkflowTaskPollers: r.intRange("WORKER_WORKFLOW_POLLERS", 8, 2, 256),
			ActivityTaskPollers: r.intRange("WORKER_ACTIVITY_POLLERS", 4, 1, 256),
			WorkflowCacheSize:   r.intRange("WORKER_WORKFLOW_CACHE_SIZE", 1000, 10, 100_000),
			TLS:                 r.clientTLS("TEMPORAL_TLS"),
		},
		Kafka: Kafka{
			Brokers:       r.list("KAFKA_BROKERS"),
			TLS:           r.clientTLS("KAFKA_TLS"),
			SASLMechanism: r.optionalOneOf("KAFKA_SASL_MECHANISM", "plain", "scram-sha-256", "scram-sha-512"),
			SASLUsername:  r.str("KAFKA_SASL_USERNAME", ""),
			SASLPassword:  Secret(r.str("KAFKA_SASL_PASSWORD", "")),
		},
		Auth: Auth{
			Issuer:         r.str("JWT_ISSUER", ""),
			Secret:         Secret(r.str("JWT_SECRET", "")),
			ExpiresIn:      r.duration("JWT_EXPIRES_IN", time.Hour),
			SigningKeyFile: r.str("JWT_SIGNING_KEY_FILE", ""),
			Audience:       r.str("JWT_AUDIENCE", ""),
			SessionTTL:     r.duration("AUTH_SESSION_TTL", 12*time.Hour),
			MFARoles:       r.mfaRoles("AUTH_MFA_ROLES"),

			LockoutThreshold: r.intRange("AUTH_LOCKOUT_THRESHOLD", 5, 1, 100),
		},
		Metrics: Metrics{Port: r.optionalPort("METRICS_PORT")},
		Health:  Health{Interval: r.duration("HEALTH_CHECK_INTERVAL", 10*time.Second)},
		Retention: Retention{
			OutboxSent:        r.duration("RETENTION_OUTBOX_SENT", 7*24*time.Hour),
			WorkflowStarts:    r.duration("RETENTION_WORKFLOW_STARTS", 7*24*time.Hour),
			Idempotency:       r.duration("RETENTION_IDEMPOTENCY_KEYS", 7*24*time.Hour),
			Notifications:     r.duration("RETENTION_NOTIFICATIONS", 90*24*time.Hour),
			WebhookDeliveries: r.duration("RETENTION_WEBHOOK_DELIVERIES", 30*24*time.Hour),
			Interval:          r.duration("RETENTION_INTERVAL", time.Hour),
		},
		Redis: Redis{URL: Secret(r.optionalURL("REDIS_URL", "redis", "rediss"))},
		RateLimit: RateLimit{
			PerMinute:      r.intRange("RATE_LIMIT_PER_MINUTE", 1200, 0, 1_000_000),
			Burst:          r.intRange("RATE_LIMIT_BURST", 100, 1, 1_000_000),
			TokenPerMinute: r.intRange("RATE_LIMIT_TOKEN_PER_MINUTE", 60, 0, 1_000_000),
			Groups:         r.routeGroups("RATE_LIMIT_GROUPS", defaultRouteGroups),
		},
		Notify: Notify{
			SMTPHost:       r.str("SMTP_HOST", ""),
			SMTPPort:       r.port("SMTP_PORT", 0),
			SMTPUsername:   r.str("SMTP_USERNAME", ""),
			SMTPPassword:   Secret(r.str("SMTP_PASSWORD", "")),
			SMTPFrom:       r.str("SMTP_FROM", "ZARISH SPHERE <alerts@zarish.invalid>"),
			SMTPTLS:        r.oneOf("SMTP_TLS", "starttls", "none", "starttls", "tls"),
			SMSWebhookURL:  r.optionalURL("SMS_WEBHOOK_URL", "http", "https"),
			PushWebhookURL: r.optionalURL("PUSH_WEBHOOK_URL", "http", "https"),
			WebhookSecret:  Secret(r.str("NOTIFY_WEBHOOK_SECRET", "")),
			MaxAttempts:    r.intRange("NOTIFY_MAX_ATTEMPTS", defaultNotifyMaxAttempts, 1, maxNotifyAttempts),
			BaseBackoff:    r.durationRange("NOTIFY_BASE_BACKOFF", defaultNotifyBaseBackoff, minNotifyBackoff, maxNotifyBaseBackoff),
			MaxBackoff:     r.durationRange("NOTIFY_MAX_BACKOFF", defaultNotifyMaxBackoff, minNotifyBackoff, maxNotifyMaxBackoff),
		},
		Alerts:      Alerts{FallbackContact: r.email("ALERT_FALLBACK_CONTACT")},
		Medications: Medications{Dirs: r.list("MEDICATION_KB_DIRS"), Active: r.str("MEDICATION_KB_ACTIVE", "")},
		Tracing: Tracing{
			Endpoint:    r.optionalURL("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "http", "https"),
			ServiceName: r.str("OTEL_SERVICE_NAME", r.str("SERVICE_NAME", "zarish")),
		},
		Dev: Dev{
			TemporalAddress: r.hostPort("ZARISH_TEMPORAL_LISTEN", "127.0.0.1:7233"),
			UIAddress:       r.optionalHostPort("ZARISH_TEMPORAL_UI_LISTEN", "127.0.0.1:8233"),
			KafkaAddress:    r.hostPort("ZARISH_KAFKA_LISTEN", "127.0.0.1:9092"),
			ClientSecret:    Secret(r.str("ZARISH_DEV_CLIENT_SECRET", "dev-secret")),
			MailAddress:     r.hostPort("ZARISH_MAIL_LISTEN", "127.0.0.1:2525"),
		},
		TemporalServer: TemporalServer{
			DatabaseURL:           Secret(r.url("TEMPORAL_SERVER_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/temporal?sslmode=disable", "postgres", "postgresql")),
			VisibilityDatabaseURL: Secret(r.optionalURL("TEMPORAL_SERVER_VISIBILITY_DATABASE_URL", "postgres", "postgresql")),
			Listen:                r.hostPort("TEMPORAL_SERVER_LISTEN", "127.0.0.1:7233"),
			HistoryShards:         r.intRange("TEMPORAL_SERVER_HISTORY_SHARDS", 4, 1, 16384),
			PoolSize:              r.intRange("TEMPORAL_SERVER_POOL_SIZE", 5, 1, 200),
		},
		MLLP:    MLLP{Address: r.hostPort("MLLP_LISTEN", "127.0.0.1:2575"), MaxFrame: r.intRange("MLLP_MAX_FRAME_BYTES", 16<<20, 1024, 1<<30)},
		DataDir: r.str("ZARISH_DATA_DIR", ".zarish"),
	}
	if strings.TrimSpace(r.getenv("TEMPORAL_SERVER_UI_LISTEN")) != "" {
		c.TemporalServer.UIListen = r.optionalHostPort("TEMPORAL_SERVER_UI_LISTEN", "")
	}
	c.DICOMDir = r.str("DICOM_STORAGE_DIR", filepath.Join(c.DataDir, "dicom"))
	c.WebhooksAllowPrivate = r.oneOf("WEBHOOKS_ALLOW_PRIVATE", "false", "true", "false") == "true"
	if c.Tracing.Endpoint == "" {
		c.Tracing.Endpoint = r.optionalURL("OTEL_EXPORTER_OTLP_ENDPOINT", "http", "https")
	}
	exporter := "none"
	if c.Tracing.Endpoint != "" {
		exporter = "otlp"
	}
	c.Tracing.Exporter = r.oneOf("OTEL_TRACES_EXPORTER", exporter, "otlp", "console", "none")
	if c.Tracing.Exporter == "otlp" && c.Tracing.Endpoint == "" {
		r.fail("OTEL_EXPORTER_OTLP_ENDPOINT", "is required when OTEL_TRACES_EXPORTER is otlp")
	}
	if c.Auth.ExpiresIn > MaxTokenTTL {
		r.fail("JWT_EXPIRES_IN", "must be at most one hour (3600): short access tokens keep the revocation list small")
	}
	if s := c.Auth.Secret.Reveal(); s != "" && len(s) < 32 {
		r.fail("JWT_SECRET", "must be at least 32 bytes")
	}
	if (c.Notify.SMSWebhookURL != "" || c.Notify.PushWebhookURL != "") && len(c.Notify.WebhookSecret) < 16 {
		r.fail("NOTIFY_WEBHOOK_SECRET", "must be at least 16 bytes when a webhook URL is set")
	}
	if c.Notify.MaxBackoff < c.Notify.BaseBackoff {
		r.fail("NOTIFY_MAX_BACKOFF", fmt.Sprintf("%s is shorter than NOTIFY_BASE_BACKOFF (%s): the longest wait between attempts cannot be shorter than the first",
			shortDuration(c.Notify.MaxBackoff), shortDuration(c.Notify.BaseBackoff)))
	}
	r.kafkaSASL(c.Kafka)
	r.serverTLS(c.Service)
	if len(c.Dev.ClientSecret.Reveal()) < 8 {
		r.fail("ZARISH_DEV_CLIENT_SECRET", "must be at least 8 characters")
	}
	return c, errors.Join(r.errs...)
}

// Version is the build's version, set with -ldflags "-X …/config.Version=…".
var Version = "0.1.0-dev"

type reader struct {
	getenv func(string) string
	errs   []error
}

func (r *reader) fail(name, msg string) {
	r.errs = append(r.errs, fmt.Errorf("%s: %s", name, msg))
}

func (r *reader) str(name, def string) string {
	if v := strings.TrimSpace(r.getenv(name)); v != "" {
		return v
	}
	return def
}

// email is an optional bare email address (alerts@hospital.example, no
// display name).
func (r *reader) email(name string) string {
	v := r.str(name, "")
	if v == "" {
		return ""
	}
	a, err := mail.ParseAddress(v)
	if err != nil || a.Address != v {
		r.fail(name, fmt.Sprintf("%q is not an email address (name@host)", v))
		return ""
	}
	return v
}

func (r *reader) oneOf(name, def string, allowed ...string) string {
	v := strings.ToLower(r.str(name, def))
	for _, a := range allowed {
		if v == a {
			return v
		}
	}
	r.fail(name, fmt.Sprintf("%q is not one of %s", v, strings.Join(allowed, ", ")))
	return def
}

// optionalOneOf is empty when name is unset, else one of allowed.
func (r *reader) optionalOneOf(name string, allowed ...string) string {
	if r.str(name, "") == "" {
		return ""
	}
	return r.oneOf(name, "", allowed...)
}

func (r *reader) level(name string, def slog.Level) slog.Level {
	v := r.str(name, "")
	if v == "" {
		return def
	}
	var l slog.Level
	if err := l.UnmarshalText([]byte(v)); err != nil {
		r.fail(name, fmt.Sprintf("%q is not a log level (debug, info, warn, error)", v))
		return def
	}
	return l
}

func (r *reader) intRange(name string, def, lo, hi int) int {
	v := r.str(name, "")
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < lo || n > hi {
		r.fail(name, fmt.Sprintf("%q is not a whole number from %d to %d", v, lo, hi))
		return def
	}
	return n
}

func (r *reader) port(name string, def int) int { return r.intRange(name, def, 0, 65535) }

func (r *reader) optionalPort(name string) int { return r.intRange(name, 0, 0, 65535) }

// duration accepts Go durations ("90s", "1h") and, as the seed's examples do,
// bare seconds ("3600").
func (r *reader) duration(name string, def time.Duration) time.Duration {
	v := r.str(name, "")
	if v == "" {
		return def
	}
	if n, err := strconv.Atoi(v); err == nil && n > 0 {
		return time.Duration(n) * time.Second
	}
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		r.fail(name, fmt.Sprintf("%q is not a positive duration (e.g. 30s, 1h, or seconds)", v))
		return def
	}
	return d
}

// durationRange is duration bounded to lo..hi.
func (r *reader) durationRange(name string, def, lo, hi time.Duration) time.Duration {
	d := r.duration(name, def)
	if d < lo || d > hi {
		r.fail(name, fmt.Sprintf("%q is not a duration from %s to %s", r.str(name, ""), shortDuration(lo), shortDuration(hi)))
		return def
	}
	return d
}

// shortDuration is d as Go writes it without the zero minutes and seconds
// ("1h", not "1h0m0s").
func shortDuration(d time.Duration) string {
	s := d.String()
	if t, ok := strings.CutSuffix(s, "m0s"); ok {
		s = t + "m"
	}
	if t, ok := strings.CutSuffix(s, "h0m"); ok {
		s = t + "h"
	}
	return s
}

func (r *reader) url(name, def string, schemes ...string) string {
	v := r.str(name, def)
	u, err := url.Parse(v)
	if err != nil || u.Host == "" && u.Scheme != "" && u.Opaque != "" {
		r.fail(name, "is not a URL")
		return v
	}
	for _, s := range schemes {
		if u.Scheme == s {
			return v
		}
	}
	r.fail(name, fmt.Sprintf("scheme %q is not one of %s", u.Scheme, strings.Join(schemes, ", ")))
	return v
}

func (r *reader) optionalURL(name string, schemes ...string) string {
	if r.str(name, "") == "" {
		return ""
	}
	return r.url(name, "", schemes...)
}

func (r *reader) hostPort(name, def string) string {
	v := r.str(name, def)
	if _, p, err := net.SplitHostPort(v); err != nil || p == "" {
		r.fail(name, fmt.Sprintf("%q is not host:port", v))
	}
	return v
}

func (r *reader) optionalHostPort(name, def string) string {
	v := r.getenv(name)
	if strings.TrimSpace(v) == "off" {
		return ""
	}
	return r.hostPort(name, def)
}

// addresses reads a comma-separated list of IP addresses and CIDR ranges.
func (r *reader) addresses(name string) []string {
	list := r.list(name)
	for _, a := range list {
		if _, err := netip.ParsePrefix(a); err == nil {
			continue
		}
		if _, err := netip.ParseAddr(a); err != nil {
			r.fail(name, fmt.Sprintf("%q is neither an IP address nor a CIDR range", a))
		}
	}
	return list
}

// mfaRoles reads AUTH_MFA_ROLES: nil (the default policy) when unset, none
// for an empty list.
func (r *reader) mfaRoles(name string) []string {
	v := r.str(name, "")
	if v == "" {
		return nil
	}
	if strings.EqualFold(v, "none") {
		return []string{}
	}
	return r.list(name)
}

// routeGroups reads prefix=per-minute[:burst] pairs, comma-separated;
// "off" sets none. A burst left out is the whole minute's budget.
func (r *reader) routeGroups(name, def string) []RouteGroup {
	v := r.str(name, def)
	if strings.EqualFold(v, "off") {
		return nil
	}
	var out []RouteGroup
	seen := map[string]bool{}
	for _, part := range strings.Split(v, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		prefix, budget, ok := strings.Cut(part, "=")
		prefix = strings.TrimRight(strings.TrimSpace(prefix), "/")
		perMinute, burst, hasBurst := strings.Cut(strings.TrimSpace(budget), ":")
		g := RouteGroup{Prefix: prefix}
		var err1, err2 error
		g.PerMinute, err1 = strconv.Atoi(perMinute)
		g.Burst = g.PerMinute
		if hasBurst {
			g.Burst, err2 = strconv.Atoi(burst)
		}
		switch {
		case !ok || !strings.HasPrefix(prefix, "/") || err1 != nil || err2 != nil:
			r.fail(name, fmt.Sprintf("%q is not /path=per-minute[:burst]", part))
			continue
		case g.PerMinute < 1 || g.PerMinute > 1_000_000 || g.Burst < 1 || g.Burst > 1_000_000:
			r.fail(name, fmt.Sprintf("%q: per-minute and burst must be from 1 to 1000000", part))
			continue
		case seen[prefix]:
			r.fail(name, fmt.Sprintf("%s is given twice", prefix))
			continue
		}
		seen[prefix] = true
		out = append(out, g)
	}
	return out
}

// clientTLS reads a client's TLS settings, prefix (on|off) and
// prefix_CA_FILE, _CERT_FILE, _KEY_FILE, _SERVER_NAME, and checks the files.
func (r *reader) clientTLS(prefix string) ClientTLS {
	t := ClientTLS{
		Enabled:    r.oneOf(prefix, "off", "on", "off") == "on",
		CAFile:     r.str(prefix+"_CA_FILE", ""),
		CertFile:   r.str(prefix+"_CERT_FILE", ""),
		KeyFile:    r.str(prefix+"_KEY_FILE", ""),
		ServerName: r.str(prefix+"_SERVER_NAME", ""),
		prefix:     prefix,
	}
	if !t.Enabled {
		for _, suffix := range []string{"_CA_FILE", "_CERT_FILE", "_KEY_FILE", "_SERVER_NAME"} {
			if r.str(prefix+suffix, "") != "" {
				r.fail(prefix+suffix, "is set but "+prefix+" is off (set "+prefix+"=on)")
			}
		}
		return t
	}
	if _, err := t.Config(); err != nil {
		r.errs = append(r.errs, err)
	}
	return t
}

// kafkaSASL checks that a SASL mechanism comes with its credentials, and
// credentials with a mechanism.
func (r *reader) kafkaSASL(k Kafka) {
	if k.SASLMechanism == "" {
		for _, name := range []string{"KAFKA_SASL_USERNAME", "KAFKA_SASL_PASSWORD"} {
			if r.str(name, "") != "" {
				r.fail("KAFKA_SASL_MECHANISM", "is required when "+name+" is set (plain, scram-sha-256, scram-sha-512)")
				return
			}
		}
		return
	}
	if k.SASLUsername == "" {
		r.fail("KAFKA_SASL_USERNAME", "is required with KAFKA_SASL_MECHANISM "+k.SASLMechanism)
	}
	if k.SASLPassword == "" {
		r.fail("KAFKA_SASL_PASSWORD", "is required with KAFKA_SASL_MECHANISM "+k.SASLMechanism)
	}
}

// serverTLS checks the API's certificate and key: both or neither, and a
// matching pair.
func (r *reader) serverTLS(s Service) {
	switch {
	case s.TLSCertFile == "" && s.TLSKeyFile == "":
	case s.TLSKeyFile == "":
		r.fail("TLS_KEY_FILE", "is required with TLS_CERT_FILE")
	case s.TLSCertFile == "":
		r.fail("TLS_CERT_FILE", "is required with TLS_KEY_FILE")
	default:
		if _, err := tls.LoadX509KeyPair(s.TLSCertFile, s.TLSKeyFile); err != nil {
			r.fail("TLS_CERT_FILE", fmt.Sprintf("and TLS_KEY_FILE do not load as a certificate and its key: %v", err))
		}
	}
}

func (r *reader) list(name string) []string {
	var out []string
	for _, part := range strings.Split(r.str(name, ""), ",") {
		if p := strings.TrimSpace(part); p != "" {
			out = append(out, p)
		}
	}
	return out
}
