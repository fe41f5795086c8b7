package temporal

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"
	"go.temporal.io/server/common/config"
	pgplugin "go.temporal.io/server/common/persistence/sql/sqlplugin/postgresql"
	"go.temporal.io/server/tools/common/schema"
	sqltool "go.temporal.io/server/tools/sql"
	"google.golang.org/protobuf/types/known/durationpb"
)

// PostgresStore persists a server on PostgreSQL, as production does: the
// Temporal server's own databases, never the engine's.
type PostgresStore struct {
	// DatabaseURL is the history and metadata database,
	// postgres://user:password@host:port/temporal?sslmode=…
	DatabaseURL string
	// VisibilityDatabaseURL is the visibility database; empty is the same
	// server's database named after DatabaseURL's with _visibility appended.
	VisibilityDatabaseURL string
	// HistoryShards is fixed when the database is first set up; a server
	// started later with another number refuses to start.
	HistoryShards int
	// Retention is how long a new namespace keeps closed workflows'
	// histories (30 days when zero).
	Retention time.Duration
	// PoolSize bounds the connections each of the server's four services
	// (frontend, history, matching, worker) opens to each of the two
	// databases: up to 8×PoolSize in all (5 when zero).
	PoolSize int
}

// The schemas shipped inside the server module, brought up to date on
// every start (temporal-sql-tool setup-schema -v 0.0, then update-schema).
const (
	postgresSchema           = "postgresql/v12/temporal"
	postgresVisibilitySchema = "postgresql/v12/visibility"
)

// schemaLock is the advisory lock two servers starting on one fresh
// database take in turn, so one sets the schema up and the other finds it.
const schemaLock = 7_233_000

// postgresPersistence creates the two databases where they are missing,
// brings their schemas to the version this server needs, and returns the
// server's persistence on them.
func postgresPersistence(ctx context.Context, s PostgresStore, logger *slog.Logger) (persistence, error) {
	if s.PoolSize <= 0 {
		s.PoolSize = 5
	}
	main, err := postgresSQL(s.DatabaseURL, s.PoolSize)
	if err != nil {
		return persistence{}, fmt.Errorf("temporal database: %w", err)
	}
	visURL := s.VisibilityDatabaseURL
	if visURL == "" {
		u, _ := url.Parse(s.DatabaseURL)
		u.Path = "/" + main.DatabaseName + "_visibility"
		visURL = u.String()
	}
	vis, err := postgresSQL(visURL, s.PoolSize)
	if err != nil {
		return persistence{}, fmt.Errorf("temporal visibility database: %w", err)
	}
	for _, db := range []struct {
		url, schema string
		cfg         *config.SQL
	}{{s.DatabaseURL, postgresSchema, main}, {visURL, postgresVisibilitySchema, vis}} {
		if err := setUpDatabase(ctx, db.url, db.cfg, db.schema, logger); err != nil {
			return persistence{}, err
		}
	}
	shards := s.HistoryShards
	if shards <= 0 {
		shards = 4
	}
	return persistence{
		stores:          map[string]config.DataStore{"postgres": {SQL: main}, "postgres-visibility": {SQL: vis}},
		defaultStore:    "postgres",
		visibilityStore: "postgres-visibility",
		shards:          int32(shards),
		clusterID:       "zarish",
	}, nil
}

// postgresSQL is the server's SQL configuration for a postgres:// URL; the
// URL's query (sslmode, sslrootcert, …) passes through as connection
// attributes.
func postgresSQL(raw string, poolSize int) (*config.SQL, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, errors.New("not a URL")
	}
	if u.Scheme != "postgres" && u.Scheme != "postgresql" {
		return nil, fmt.Errorf("scheme %q is not postgres", u.Scheme)
	}
	name := strings.TrimPrefix(u.Path, "/")
	if name == "" || strings.Contains(name, "/") {
		return nil, errors.New("names no database")
	}
	host, port := u.Hostname(), u.Port()
	if host == "" {
		return nil, errors.New("names no host")
	}
	if port == "" {
		port = "5432"
	}
	cfg := &config.SQL{
		PluginName:        pgplugin.PluginNamePGX,
		DatabaseName:      name,
		ConnectAddr:       net.JoinHostPort(host, port),
		ConnectProtocol:   "tcp",
		User:              u.User.Username(),
		ConnectAttributes: map[string]string{},
		// Each service's pool per store: every service opens its own.
		MaxConns:        poolSize,
		MaxIdleConns:    poolSize,
		MaxConnLifetime: time.Hour,
	}
	cfg.Password, _ = u.User.Password()
	for k, v := range u.Query() {
		cfg.ConnectAttributes[k] = v[0]
	}
	return cfg, nil
}

// setUpDatabase creates the database when it is missing and applies every
// schema version the server module ships that it does not have yet, under
// an advisory lock.
func setUpDatabase(ctx context.Context, rawURL string, cfg *config.SQL, schemaName string, logger *slog.Logger) error {
	if err := createDatabase(ctx, rawURL, cfg.DatabaseName); err != nil {
		return err
	}
	lock, err := pgx.Connect(ctx, rawURL)
	if err != nil {
		return fmt.Errorf("temporal database %s: %w", cfg.DatabaseName, err)
	}
	defer lock.Close(context.Background())
	// Held until lock closes, when the session ends.
	if _, err := lock.Exec(ctx, "SELECT pg_advisory_lock($1)", schemaLock); err != nil {
		return fmt.Errorf("temporal database %s: lock: %w", cfg.DatabaseName, err)
	}

	tl := serverLogger{log: logger}
	conn, err := sqltool.NewConnection(cfg, tl)
	if err != nil {
		return fmt.Errorf("temporal database %s: %w", cfg.DatabaseName, err)
	}
	defer conn.Close()
	if _, err := conn.ReadSchemaVersion(); err != nil {
		// A database without the version tables: set them up at 0.0, and
		// let the update apply every version from the first.
		setup := schema.NewSetupSchemaTask(conn, &schema.SetupConfig{InitialVersion: "0.0"}, tl)
		if err := setup.Run(); err != nil {
			return fmt.Errorf("temporal database %s: set up schema: %w", cfg.DatabaseName, err)
		}
	}
	update := schema.NewUpdateSchemaTask(conn, &schema.UpdateConfig{DBName: cfg.DatabaseName, SchemaName: schemaName}, tl)
	if err := update.Run(); err != nil {
		return fmt.Errorf("temporal database %s: update schema: %w", cfg.DatabaseName, err)
	}
	return nil
}

// createDatabase creates name on the server rawURL points at, connecting
// to its postgres database, when it does not exist yet.
func createDatabase(ctx context.Context, rawURL, name string) error {
	u, _ := url.Parse(rawURL)
	u.Path = "/postgres"
	conn, err := pgx.Connect(ctx, u.String())
	if err != nil {
		return fmt.Errorf("temporal database server: %w", err)
	}
	defer conn.Close(context.Background())
	var exists bool
	if err := conn.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", name).Scan(&exists); err != nil {
		return fmt.Errorf("temporal database %s: %w", name, err)
	}
	if exists {
		return nil
	}
	_, err = conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize())
	if err != nil && !strings.Contains(err.Error(), "already exists") {
		return fmt.Errorf("create temporal database %s: %w", name, err)
	}
	return nil
}

// registerNamespace registers the namespace through the frontend when it
// does not exist, then every search attribute it lacks. A namespace just
// registered reaches the frontend's cache within seconds, so the attributes
// are retried until then.
func registerNamespace(ctx context.Context, address, namespace string, retention time.Duration, logger *slog.Logger) error {
	if retention <= 0 {
		retention = 30 * 24 * time.Hour
	}
	c, err := client.Dial(client.Options{HostPort: address, Namespace: namespace, Logger: sdklog.NewStructuredLogger(logger.With("component", "temporal-sdk"))})
	if err != nil {
		return fmt.Errorf("dial temporal frontend: %w", err)
	}
	defer c.Close()
	_, err = c.WorkflowService().RegisterNamespace(ctx, &workflowservice.RegisterNamespaceRequest{
		Namespace:                        namespace,
		WorkflowExecutionRetentionPeriod: durationpb.New(retention),
	})
	var exists *serviceerror.NamespaceAlreadyExists
	if err != nil && !errors.As(err, &exists) {
		return fmt.Errorf("register namespace %s: %w", namespace, err)
	}
	// Ready once the frontend lists every attribute: a start naming one it
	// has not seen yet would be refused. A namespace just registered may
	// not be in its cache yet, so listing and adding are retried.
	deadline := time.Now().Add(time.Minute)
	for {
		missing, err := missingSearchAttributes(ctx, c, namespace)
		if err == nil && len(missing) == 0 {
			return nil
		}
		if err == nil {
			err = addSearchAttributes(ctx, c, namespace, missing)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("namespace %s: search attributes not registered within a minute: %v", namespace, err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(500 * time.Millisecond):
		}
	}
}
