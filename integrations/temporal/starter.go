package temporal

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	enumspb "go.temporal.io/api/enums/v1"
	"log/slog"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/zarish-sphere/zarish/domain/outbox"
	"github.com/zarish-sphere/zarish/integrations/retry"
)

// StartQueue is the store side of the starter;
// *postgres.WorkflowStartStore implements it.
type StartQueue interface {
	// Lead calls run while this process is the one starter allowed to
	// start, waiting for that first.
	Lead(ctx context.Context, run func(ctx context.Context) error) error
	// Pending returns up to limit starts due, oldest first.
	Pending(ctx context.Context, limit int) ([]outbox.PendingStart, error)
	// MarkStarted records that Temporal runs the start's workflow.
	MarkStarted(ctx context.Context, id uuid.UUID, runID string) error
	// MarkFailed records a failed try and when to try again.
	MarkFailed(ctx context.Context, id uuid.UUID, cause string, retryAt time.Time) error
	// WaitForNotify returns when new starts commit or timeout passes.
	WaitForNotify(ctx context.Context, timeout time.Duration) error
	// Backlog counts the starts not yet started and dates the oldest.
	Backlog(ctx context.Context) (count int64, oldest time.Time, err error)
}

// Starter starts the workflows that writes asked for in their transactions
// (outbox.WorkflowStart), as the one starter of its database. A start is
// idempotent: the workflow id comes from the resource, and a workflow
// already running under it counts as started. When Temporal refuses or
// cannot be reached the start is retried with exponential backoff; nothing
// is marked started until Temporal has the run, so no start is lost.
type Starter struct {
	queue   StartQueue
	client  client.Client
	logger  *slog.Logger
	metrics *starterMetrics

	batchSize       int
	pollInterval    time.Duration
	maxBackoff      time.Duration
	backlogInterval time.Duration
	now             func() time.Time
}

// StarterOption configures NewStarter.
type StarterOption func(*Starter)

// WithStarterPollInterval sets how long the starter waits for a commit
// notification before looking for due starts anyway; default 1 s. Retries
// fall due on this clock.
func WithStarterPollInterval(d time.Duration) StarterOption {
	return func(s *Starter) {
		if d > 0 {
			s.pollInterval = d
		}
	}
}

// WithStarterMaxBackoff caps the wait between tries of one start; default
// one minute.
func WithStarterMaxBackoff(d time.Duration) StarterOption {
	return func(s *Starter) {
		if d > 0 {
			s.maxBackoff = d
		}
	}
}

// WithStarterBacklogInterval sets how often the backlog metrics are
// refreshed; default 5 s.
func WithStarterBacklogInterval(d time.Duration) StarterOption {
	return func(s *Starter) {
		if d > 0 {
			s.backlogInterval = d
		}
	}
}

// NewStarter returns a starter from queue to the Temporal client c.
func NewStarter(queue StartQueue, c client.Client, logger *slog.Logger, opts ...StarterOption) *Starter {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	s := &Starter{
		queue:           queue,
		client:          c,
		logger:          logger.With("component", "workflow-starter"),
		metrics:         newStarterMetrics(),
		batchSize:       100,
		pollInterval:    time.Second,
		maxBackoff:      time.Minute,
		backlogInterval: 5 * time.Second,
		now:             time.Now,
	}
	for _, o := range opts {
		o(s)
	}
	return s
}

// Collectors returns the starter's metrics for the caller to register:
// workflows started and failed tries (counters), the starts waiting and the
// age of the oldest (gauges), and whether this process leads.
func (s *Starter) Collectors() []prometheus.Collector { return s.metrics.collectors() }

// Run starts workflows until ctx is cancelled, then returns nil. It waits to
// lead, and steps down and waits again if it loses the lock.
func (s *Starter) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	defer wg.Wait()
	wg.Go(func() { s.watchBacklog(ctx) })
	return retry.Lead(ctx, s.logger, "workflow starter", func(ctx context.Context) error { return s.queue.Lead(ctx, s.lead) })
}

// lead starts due workflows while this starter holds the lock.
func (s *Starter) lead(ctx context.Context) error {
	s.logger.Info("workflow starter leading", "pollInterval", s.pollInterval)
	s.metrics.leader.Set(1)
	defer s.metrics.leader.Set(0)
	for {
		n, err := s.StartDue(ctx)
		if ctx.Err() != nil {
			return nil
		}
		if err != nil {
			s.logger.Warn("workflow starts unavailable", "err", err)
		}
		if n == s.batchSize {
			continue
		}
		if err := s.queue.WaitForNotify(ctx, s.pollInterval); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			if !retry.Sleep(ctx, s.pollInterval) {
				return nil
			}
		}
	}
}

// StartDue tries each due start once and returns how many it tried. A start
// Temporal refuses is scheduled again with backoff; the error is for the
// store alone.
func (s *Starter) StartDue(ctx context.Context) (int, error) {
	pending, err := s.queue.Pending(ctx, s.batchSize)
	if err != nil {
		return 0, err
	}
	for _, p := range pending {
		runID, err := s.start(ctx, p)
		if ctx.Err() != nil {
			return 0, nil
		}
		// The outcome is recorded even if ctx is ending now.
		mctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		if err == nil {
			err = s.queue.MarkStarted(mctx, p.ID, runID)
			cancel()
			if err != nil {
				return 0, err
			}
			s.metrics.started.Inc()
			continue
		}
		s.metrics.failures.Inc()
		wait := retry.Backoff(p.Attempts+1, time.Second, s.maxBackoff)
		if p.Attempts == 0 || (p.Attempts+1)%10 == 0 {
			s.logger.Warn("workflow not started; retrying", "workflowId", p.WorkflowID, "attempts", p.Attempts+1, "retryIn", wait, "err", err)
		}
		err = s.queue.MarkFailed(mctx, p.ID, err.Error(), s.now().Add(wait))
		cancel()
		if err != nil {
			return 0, err
		}
	}
	return len(pending), nil
}

// start starts p's workflow, or finds it running already (runID empty).
func (s *Starter) start(ctx context.Context, p outbox.PendingStart) (runID string, err error) {
	opts := client.StartWorkflowOptions{
		ID:        p.WorkflowID,
		TaskQueue: p.TaskQueue,
		// Already running is success, and says so rather than returning
		// the running workflow as though it were started now.
		WorkflowExecutionErrorWhenAlreadyStarted: true,
		// A start row starts its workflow once: a run that has already
		// closed (an encounter cancelled meanwhile) is not started again.
		WorkflowIDReusePolicy: enumspb.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
	}
	if len(p.SearchAttributes) > 0 {
		updates := make([]temporal.SearchAttributeUpdate, 0, len(p.SearchAttributes))
		for name, value := range p.SearchAttributes {
			u, err := searchAttributeUpdate(name, value)
			if err != nil {
				// A bad value of a start-only attribute costs its search,
				// never the process's start.
				s.logger.Warn("search attribute left unset", "workflowId", p.WorkflowID, "err", err)
				continue
			}
			updates = append(updates, u)
		}
		opts.TypedSearchAttributes = temporal.NewSearchAttributes(updates...)
	}
	var args []any
	if len(p.Input) > 0 && string(p.Input) != "null" {
		args = append(args, json.RawMessage(p.Input))
	}
	sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	run, err := s.client.ExecuteWorkflow(sctx, opts, p.WorkflowType, args...)
	var already *serviceerror.WorkflowExecutionAlreadyStarted
	switch {
	case errors.As(err, &already):
		return "", nil
	case err != nil:
		return "", fmt.Errorf("start %s: %w", p.WorkflowID, err)
	}
	return run.GetRunID(), nil
}

// watchBacklog refreshes the backlog metrics until ctx ends, on every
// replica, leader or not.
func (s *Starter) watchBacklog(ctx context.Context) {
	for {
		count, oldest, err := s.queue.Backlog(ctx)
		if err == nil {
			s.metrics.setBacklog(count, oldest)
		} else if ctx.Err() == nil {
			s.logger.Debug("workflow start backlog unavailable", "err", err)
		}
		if !retry.Sleep(ctx, s.backlogInterval) {
			return
		}
	}
}

// searchAttributeUpdate is a start row's search attribute as the type it is
// registered with: a Datetime (Deadline) is written in the row as RFC 3339,
// every other one is a Keyword.
func searchAttributeUpdate(name, value string) (temporal.SearchAttributeUpdate, error) {
	if searchAttributeKind(name) == enumspb.INDEXED_VALUE_TYPE_DATETIME {
		at, err := time.Parse(time.RFC3339Nano, value)
		if err != nil {
			return nil, fmt.Errorf("search attribute %s: %q is not an RFC 3339 time", name, value)
		}
		return temporal.NewSearchAttributeKeyTime(name).ValueSet(at), nil
	}
	return temporal.NewSearchAttributeKeyKeyword(name).ValueSet(value), nil
}
