// Package temporal connects the engine to Temporal: the SDK client, and for
// `zarish dev` and tests, an embedded single-process server with its Web UI.
package temporal

import (
	"context"
	"crypto/tls"
	"fmt"
	"log/slog"
	"time"

	"go.opentelemetry.io/otel"
	"go.temporal.io/sdk/client"
	temporalotel "go.temporal.io/sdk/contrib/opentelemetry"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/interceptor"
	sdklog "go.temporal.io/sdk/log"
)

// ClientConfig is the Temporal slice of the configuration.
type ClientConfig struct {
	Address   string
	Namespace string
	// Codec, when set, seals every payload the client and its workers
	// write (see Codec); nil leaves them in the clear.
	Codec *Codec
	// TLS, when set, is how the client reaches the frontend: the CAs it
	// trusts, its certificate for mutual TLS and the server name
	// (config.ClientTLS builds it); nil connects in plaintext.
	TLS *tls.Config
	// Identity names the process to Temporal (its workers' pollers, the
	// history's "identity"); the SDK's pid@host when empty. The engine
	// gives the service registry's instance id, so the registry sees a
	// worker's heartbeat and its polling as one instance.
	Identity string
}

// Dial connects to the frontend, retrying until it answers or ctx ends, so a
// worker can start before the cluster it joins.
//
// The client carries the OpenTelemetry tracing interceptor, and so do the
// workers built on it: starting a workflow, sending it an update or signal,
// and every workflow and activity task continue the caller's trace, whose
// context travels in the Temporal headers.
func Dial(ctx context.Context, cfg ClientConfig, logger *slog.Logger) (client.Client, error) {
	opts, err := clientOptions(cfg, logger)
	if err != nil {
		return nil, err
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

// DialLazy returns a client like Dial's that connects on its first call
// rather than now, so a process whose other work must not wait for Temporal
// (the relay) starts while Temporal is down; calls fail until it answers.
func DialLazy(cfg ClientConfig, logger *slog.Logger) (client.Client, error) {
	opts, err := clientOptions(cfg, logger)
	if err != nil {
		return nil, err
	}
	c, err := client.NewLazyClient(opts)
	if err != nil {
		return nil, fmt.Errorf("temporal client for %s: %w", cfg.Address, err)
	}
	return c, nil
}

// clientOptions are the SDK options of every client: the address and
// namespace, TLS when configured, the SDK logging through logger, and the
// tracing interceptor.
func clientOptions(cfg ClientConfig, logger *slog.Logger) (client.Options, error) {
	tracing, err := temporalotel.NewTracingInterceptor(temporalotel.TracerOptions{
		TextMapPropagator: otel.GetTextMapPropagator(),
	})
	if err != nil {
		return client.Options{}, fmt.Errorf("temporal tracing interceptor: %w", err)
	}
	opts := client.Options{
		HostPort:     cfg.Address,
		Namespace:    cfg.Namespace,
		Logger:       sdklog.NewStructuredLogger(logger.With("component", "temporal-sdk")),
		Interceptors: []interceptor.ClientInterceptor{tracing},
		Identity:     cfg.Identity,
	}
	if cfg.TLS != nil {
		opts.ConnectionOptions.TLS = cfg.TLS.Clone()
	}
	if cfg.Codec != nil {
		opts.DataConverter = converter.NewCodecDataConverter(converter.GetDefaultDataConverter(), cfg.Codec)
	}
	return opts, nil
}

// Check reports whether the frontend answers, for /ready.
func Check(c client.Client) func(context.Context) error {
	return func(ctx context.Context) error {
		_, err := c.CheckHealth(ctx, &client.CheckHealthRequest{})
		return err
	}
}
