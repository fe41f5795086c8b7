// Package workers runs one Temporal worker per task queue; `--queues` picks
// which queues a process serves, so each queue scales on its own.
package workers

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
)

// The task queues of the engine's processes (DESIGN.md, "Processes").
const (
	QueueEncounters    = "encounters"
	QueuePrescriptions = "prescriptions"
	QueueProcedures    = "procedures"
	QueueDiagnostics   = "diagnostics"
	QueueAlerts        = "alerts"
)

// Queues lists every task queue, in the order `all` starts them.
var Queues = []string{QueueEncounters, QueuePrescriptions, QueueProcedures, QueueDiagnostics, QueueAlerts}

// ParseQueues reads a --queues value: "all", or a comma-separated list of
// known queues without repeats.
func ParseQueues(s string) ([]string, error) {
	s = strings.TrimSpace(s)
	if s == "" || s == "all" {
		return slices.Clone(Queues), nil
	}
	var out []string
	for _, q := range strings.Split(s, ",") {
		q = strings.TrimSpace(q)
		if !slices.Contains(Queues, q) {
			return nil, fmt.Errorf("unknown queue %q (known: %s, or all)", q, strings.Join(Queues, ", "))
		}
		if slices.Contains(out, q) {
			return nil, fmt.Errorf("queue %q named twice", q)
		}
		out = append(out, q)
	}
	return out, nil
}

// Registrar registers one queue's workflows and activities on its worker.
type Registrar func(worker.Registry)

// Set maps each queue to what runs on it. A process's set grows as the
// processes (encounter, prescription, …) are built.
type Set map[string][]Registrar

// Run starts a worker for each queue and blocks until ctx ends, then stops
// them, letting running activities finish.
func Run(ctx context.Context, c client.Client, queues []string, set Set, opts worker.Options, logger *slog.Logger) error {
	var started []worker.Worker
	defer func() {
		for _, w := range started {
			w.Stop()
		}
	}()
	for _, q := range queues {
		w := worker.New(c, q, opts)
		for _, register := range set[q] {
			register(w)
		}
		if err := w.Start(); err != nil {
			return fmt.Errorf("start worker for queue %s: %w", q, err)
		}
		started = append(started, w)
		logger.Info("worker polling", "queue", q, "registrations", len(set[q]))
	}
	<-ctx.Done()
	logger.Info("workers draining", "queues", queues)
	return nil
}
