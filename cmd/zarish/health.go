package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/zarish-sphere/zarish/config"
)

// runHealth is `zarish health`: the container's own probe of the process
// beside it, for images with no shell or HTTP client. It asks /health on
// METRICS_PORT when set (every role serves it there), else on SERVICE_PORT
// (the API), and exits non-zero unless the answer is 200.
func runHealth(ctx context.Context, cfg config.Config, args []string, _ *slog.Logger, stdout io.Writer) error {
	fs := flag.NewFlagSet("health", flag.ContinueOnError)
	fs.SetOutput(stdout)
	port := cfg.Service.Port
	if cfg.Metrics.Port != 0 {
		port = cfg.Metrics.Port
	}
	url := fs.String("url", "http://"+net.JoinHostPort("127.0.0.1", strconv.Itoa(port))+"/health", "the health endpoint to ask")
	timeout := fs.Duration("timeout", 3*time.Second, "how long to wait for the answer")
	if err := fs.Parse(args); err != nil {
		return usageError{err}
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, *url, nil)
	if err != nil {
		return usageError{fmt.Errorf("--url: %w", err)}
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("health: %w", err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("health: %s answered %d", *url, res.StatusCode)
	}
	fmt.Fprintln(stdout, "healthy")
	return nil
}
