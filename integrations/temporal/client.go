// Package temporal connects the engine to Temporal: the SDK client, and for
// `zarish dev` and tests, an embedded single-process server with its Web UI.
package temporal

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"
)

// ClientConfig is the Temporal slice of the configuration.
type ClientConfig struct {
	Address   string
	Namespace string
}

// Dial connects to the frontend, retrying until it answers or ctx ends, so a
// worker can start before the cluster it joins.
func Dial(ctx context.Context, cfg ClientConfig, logger *slog.Logger) (client.Client, error) {
	opts := client.Options{
		HostPort:  cfg.Address,
		Namespace: cfg.Namespace,
		Logger:    sdklog.NewStructuredLogger(logger.With("component", "temporal-sdk")),
	}
	delay := 250 * time.Millisecond
	for {
		c, err := client.DialContext(ctx, opts)
		if err == nil {
			return c, nil
		}
		logger.Warn("temporal not reachable yet", "address", cfg.Address, "error", err, "retryIn", delay)
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("dial temporal at %s: %w", cfg.Address, err)
		case <-time.After(delay):
		}
		delay = min(delay*2, 5*time.Second)
	}
}

// Check reports whether the frontend answers, for /ready.
func Check(c client.Client) func(context.Context) error {
	return func(ctx context.Context) error {
		_, err := c.CheckHealth(ctx, &client.CheckHealthRequest{})
		return err
	}
}
