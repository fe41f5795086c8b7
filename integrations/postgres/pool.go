// Package postgres implements the domain stores, the outbox and the OAuth2
// storage on PostgreSQL with pgx. It is the only package that speaks SQL.
package postgres

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// PoolConfig is the database slice of the process configuration.
type PoolConfig struct {
	URL      string
	MaxConns int32
	// Timeout bounds connecting and each health check.
	Timeout time.Duration
}

// Connect opens a pool on cfg.URL, creating the database first when it does not
// exist (so a fresh machine needs no manual step), and checks it answers.
func Connect(ctx context.Context, cfg PoolConfig, logger *slog.Logger) (*pgxpool.Pool, error) {
	pc, err := pgxpool.ParseConfig(cfg.URL)
	if err != nil {
		return nil, fmt.Errorf("parse DATABASE_URL: %w", err)
	}
	if cfg.MaxConns > 0 {
		pc.MaxConns = cfg.MaxConns
	}
	timeout := cfg.Timeout
	if timeout <= 0 {
		timeout = 5 * time.Second
	}
	pc.ConnConfig.ConnectTimeout = timeout
	pc.ConnConfig.Tracer = queryTracer{database: pc.ConnConfig.Database}
	// Session settings every connection shares, set once when it opens
	// rather than on each query.
	pc.AfterConnect = func(ctx context.Context, conn *pgx.Conn) error {
		_, err := conn.Exec(ctx, sessionSettings)
		return err
	}
	if err := ensureDatabase(ctx, pc.ConnConfig); err != nil {
		return nil, err
	}
	pool, err := pgxpool.NewWithConfig(ctx, pc)
	if err != nil {
		return nil, fmt.Errorf("open pool on %s: %w", Redact(cfg.URL), err)
	}
	pingCtx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if err := pool.Ping(pingCtx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("connect to %s: %w", Redact(cfg.URL), err)
	}
	logger.Info("postgres connected", "url", Redact(cfg.URL), "maxConns", pc.MaxConns)
	return pool, nil
}

// ensureDatabase creates the target database through the maintenance database
// when connecting reports it missing (SQLSTATE 3D000).
func ensureDatabase(ctx context.Context, cc *pgx.ConnConfig) error {
	conn, err := pgx.ConnectConfig(ctx, cc)
	if err == nil {
		return conn.Close(ctx)
	}
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) || pgErr.Code != "3D000" {
		return fmt.Errorf("connect to database %q: %w", cc.Database, err)
	}
	admin := cc.Copy()
	admin.Database = "postgres"
	aconn, err := pgx.ConnectConfig(ctx, admin)
	if err != nil {
		return fmt.Errorf("connect to maintenance database: %w", err)
	}
	defer aconn.Close(ctx)
	_, err = aconn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{cc.Database}.Sanitize())
	if err != nil && !(errors.As(err, &pgErr) && pgErr.Code == "42P04") {
		return fmt.Errorf("create database %q: %w", cc.Database, err)
	}
	return nil
}

// sessionSettings loosen pg_trgm's word-similarity threshold (default 0.6)
// so a single transposed or mistyped letter in a short name still matches
// the patient search; results are ranked, so the extra candidates sort below
// exact matches. Setting it before the extension loads is allowed: the value
// waits as a placeholder.
const sessionSettings = `SET pg_trgm.word_similarity_threshold = 0.45`

// Redact hides the password in a connection URL so it can be logged.
func Redact(dsn string) string {
	u, err := url.Parse(dsn)
	if err != nil || u.User == nil {
		return dsn
	}
	if _, ok := u.User.Password(); ok {
		u.User = url.UserPassword(u.User.Username(), "REDACTED")
	}
	return u.String()
}
