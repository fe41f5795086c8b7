package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"net"
	"os"
	"strconv"

	"github.com/jackc/pgx/v5/pgxpool"
	"golang.org/x/sync/errgroup"

	"github.com/zarish-sphere/zarish/config"
	services "github.com/zarish-sphere/zarish/domain/registry"
	"github.com/zarish-sphere/zarish/integrations/postgres"
)

// instanceID names this process in the service registry: its host, its
// pid and a random suffix, so a restarted process is a new instance.
var instanceID = func() string {
	host, _ := os.Hostname()
	var b [3]byte
	_, _ = rand.Read(b[:])
	return host + "-" + strconv.Itoa(os.Getpid()) + "-" + hex.EncodeToString(b[:])
}()

// heartbeat adds to g the heartbeat of this process as an instance of
// service, reachable on port (0: none), every HEALTH_CHECK_INTERVAL until
// ctx ends; its health check is /health on the port that serves it.
func heartbeat(ctx context.Context, g *errgroup.Group, pool *pgxpool.Pool, cfg config.Config, service string, port int,
	metadata map[string]string, logger *slog.Logger) {
	host, _ := os.Hostname()
	b := services.Heartbeat{ID: instanceID, Service: service, Version: cfg.Service.Version, Host: host, Port: port, Metadata: metadata}
	// /health is on the API's own port, and on METRICS_PORT for every role.
	probe := cfg.Metrics.Port
	if service == services.ServiceAPI {
		probe = port
	}
	if probe != 0 {
		b.HealthCheck = "http://" + net.JoinHostPort(host, strconv.Itoa(probe)) + "/health"
	}
	store := postgres.NewServiceRegistry(pool)
	g.Go(func() error {
		return store.Heartbeat(ctx, b, cfg.Health.Interval, logger.With("component", "registry"))
	})
}

// apiPort is the port the API listener took.
func apiPort(a net.Addr) int { return mllpPort(a) }

// mllpPort is the port the MLLP listener took.
func mllpPort(a net.Addr) int {
	if t, ok := a.(*net.TCPAddr); ok {
		return t.Port
	}
	return 0
}
