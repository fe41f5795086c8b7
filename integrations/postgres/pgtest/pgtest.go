// Package pgtest gives each test its own PostgreSQL database, migrated, and
// drops it when the test ends.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"io"
	"log/slog"
	"net/url"
	"os"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/zarish-sphere/zarish/domain/patient"
	"github.com/zarish-sphere/zarish/integrations/postgres"
)

// AdminURL is the server the test databases are created on; ZARISH_TEST_DATABASE_URL
// overrides the local default.
func AdminURL() string {
	if u := os.Getenv("ZARISH_TEST_DATABASE_URL"); u != "" {
		return u
	}
	return "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"
}

// NewDatabase creates an empty database with a random name and returns its URL.
// The database is dropped when the test ends. A server that cannot be reached
// fails the test: the suite never skips its database tests.
func NewDatabase(tb testing.TB) string {
	tb.Helper()
	ctx := context.Background()
	admin, err := pgx.Connect(ctx, AdminURL())
	if err != nil {
		tb.Fatalf("pgtest: connect to %s: %v", postgres.Redact(AdminURL()), err)
	}
	defer admin.Close(ctx)
	var b [6]byte
	_, _ = rand.Read(b[:])
	name := "zarish_test_" + hex.EncodeToString(b[:])
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		tb.Fatalf("pgtest: create database: %v", err)
	}
	tb.Cleanup(func() {
		c, err := pgx.Connect(context.Background(), AdminURL())
		if err != nil {
			tb.Logf("pgtest: drop %s: %v", name, err)
			return
		}
		defer c.Close(context.Background())
		if _, err := c.Exec(context.Background(), "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			tb.Logf("pgtest: drop %s: %v", name, err)
		}
	})
	u, err := url.Parse(AdminURL())
	if err != nil {
		tb.Fatalf("pgtest: admin URL: %v", err)
	}
	u.Path = "/" + name
	return u.String()
}

// NewPool creates a migrated database and returns a pool on it, closed when the
// test ends.
func NewPool(tb testing.TB) *pgxpool.Pool {
	tb.Helper()
	dsn := NewDatabase(tb)
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	pool, err := postgres.Connect(context.Background(), postgres.PoolConfig{URL: dsn, MaxConns: 8}, logger)
	if err != nil {
		tb.Fatalf("pgtest: %v", err)
	}
	tb.Cleanup(pool.Close)
	if err := postgres.Migrate(context.Background(), pool, logger); err != nil {
		tb.Fatalf("pgtest: %v", err)
	}
	return pool
}

// Patients registers a patient under each id, so that records the test
// writes for them reference a patient that exists. Each gets a minimal
// profile and, like every registration, a patient.created event.
func Patients(tb testing.TB, pool *pgxpool.Pool, ids ...uuid.UUID) {
	tb.Helper()
	store := postgres.NewPatientStore(pool)
	for _, id := range ids {
		_, _, err := store.Register(context.Background(), nil, nil, func(mrn string) (patient.Patient, error) {
			return patient.NewPatient(id, mrn, patient.Details{
				Name:      patient.Name{Given: []string{"Test"}, Family: "Patient"},
				BirthDate: "1990-01-01",
				Sex:       "unknown",
			}, time.Now())
		})
		if err != nil {
			tb.Fatalf("pgtest: register patient %s: %v", id, err)
		}
	}
}

// Patient registers a new patient and returns its id.
func Patient(tb testing.TB, pool *pgxpool.Pool) uuid.UUID {
	tb.Helper()
	id := uuid.Must(uuid.NewV7())
	Patients(tb, pool, id)
	return id
}
