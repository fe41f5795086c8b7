package webhook

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/zarish-sphere/zarish/domain/subscription"
	"github.com/zarish-sphere/zarish/integrations/retry"
)

// Store is what the Deliverer needs of the subscription store
// (postgres.SubscriptionStore).
type Store interface {
	Due(ctx context.Context, now time.Time, limit int, lease time.Duration) ([]subscription.Due, error)
	RecordAttempt(ctx context.Context, o subscription.Outcome, pauseAfter int) (paused bool, err error)
}

// Deliverer POSTs due deliveries to their subscriptions' endpoints. Several
// may run: each claims its deliveries (Store.Due skips the ones another has
// claimed), so a delivery is sent by one at a time.
type Deliverer struct {
	store  Store
	client *http.Client
	policy subscription.Policy
	now    func() time.Time
	logger *slog.Logger
	// interval is the wait between polls when nothing was due; batch the
	// deliveries claimed at once, sent concurrently; lease how long a
	// claimed delivery is left to this deliverer.
	interval time.Duration
	batch    int
	lease    time.Duration
}

// Option changes a Deliverer's defaults.
type Option func(*Deliverer)

// WithPolicy replaces subscription.DefaultPolicy.
func WithPolicy(p subscription.Policy) Option { return func(d *Deliverer) { d.policy = p } }

// WithClock replaces time.Now.
func WithClock(now func() time.Time) Option { return func(d *Deliverer) { d.now = now } }

// WithInterval sets the wait between polls when nothing is due (1 s).
func WithInterval(interval time.Duration) Option { return func(d *Deliverer) { d.interval = interval } }

// WithBatch sets how many deliveries one poll claims and sends at once (16).
func WithBatch(n int) Option { return func(d *Deliverer) { d.batch = n } }

// NewDeliverer returns a deliverer sending with client (NewClient's, in
// production) the deliveries store holds.
func NewDeliverer(store Store, client *http.Client, logger *slog.Logger, opts ...Option) *Deliverer {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	d := &Deliverer{store: store, client: client, policy: subscription.DefaultPolicy, now: time.Now,
		logger: logger.With("component", "webhook"), interval: time.Second, batch: 16}
	for _, o := range opts {
		o(d)
	}
	// A claim outlives the longest attempt, so no other deliverer sends it
	// while this one still may.
	d.lease = 3 * Timeout
	return d
}

// Run delivers until ctx ends, then returns nil. A store failure is logged
// and retried after a pause.
func (d *Deliverer) Run(ctx context.Context) error {
	for {
		n, err := d.DeliverDue(ctx)
		if ctx.Err() != nil {
			return nil
		}
		wait := time.Duration(0)
		switch {
		case err != nil:
			d.logger.Warn("deliver subscriptions' events", "err", err)
			wait = 5 * d.interval
		case n < d.batch:
			wait = d.interval
		}
		if wait > 0 && !retry.Sleep(ctx, wait) {
			return nil
		}
	}
}

// DeliverDue claims one batch of due deliveries, sends them and records
// each outcome, and returns how many it claimed.
func (d *Deliverer) DeliverDue(ctx context.Context) (int, error) {
	due, err := d.store.Due(ctx, d.now(), d.batch, d.lease)
	if err != nil {
		return 0, fmt.Errorf("claim due deliveries: %w", err)
	}
	var wg sync.WaitGroup
	errs := make([]error, len(due))
	for i, dl := range due {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = d.deliver(ctx, dl)
		}()
	}
	wg.Wait()
	return len(due), errors.Join(errs...)
}

// deliver sends one delivery and records its outcome.
func (d *Deliverer) deliver(ctx context.Context, dl subscription.Due) error {
	attempt := dl.Attempt + 1
	delivered, httpStatus, problem := d.send(ctx, dl)
	at := d.now()
	o := subscription.Outcome{DeliveryID: dl.ID, SubscriptionID: dl.SubscriptionID, Attempt: attempt,
		HTTPStatus: httpStatus, Error: problem, At: at, Status: subscription.DeliveryDelivered}
	if !delivered {
		o.Status, o.NextAttemptAt = d.policy.Failed(attempt, at)
	}
	log := d.logger.With("subscription", dl.SubscriptionID, "delivery", dl.ID, "event", dl.EventID, "attempt", attempt)
	// The outcome is recorded even when ctx ends meanwhile: the POST was made.
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	paused, err := d.store.RecordAttempt(rctx, o, d.policy.PauseAfter)
	if err != nil {
		return fmt.Errorf("record attempt %d of delivery %s: %w", attempt, dl.ID, err)
	}
	switch {
	case o.Status == subscription.DeliveryDelivered:
		log.Debug("event delivered", "httpStatus", httpStatus)
	case o.Status == subscription.DeliveryDead:
		log.Warn("delivery given up", "httpStatus", httpStatus, "error", problem)
	default:
		log.Info("delivery failed; retrying", "httpStatus", httpStatus, "error", problem, "next", o.NextAttemptAt)
	}
	if paused {
		log.Warn("subscription paused after consecutive failed deliveries", "failures", d.policy.PauseAfter)
	}
	return nil
}

// maxResponse is how much of a response is read (and discarded), so the
// connection can be reused.
const maxResponse = 64 << 10

// send POSTs the delivery's payload, signed, and reports whether it was
// delivered, the response's status (0 without one) and, when not
// delivered, why; the response body is never kept.
func (d *Deliverer) send(ctx context.Context, dl subscription.Due) (delivered bool, httpStatus int, problem string) {
	ctx, cancel := context.WithTimeout(ctx, Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, dl.Endpoint, bytes.NewReader(dl.Payload))
	if err != nil {
		return false, 0, "invalid endpoint: " + err.Error()
	}
	req.Header.Set("Content-Type", "application/cloudevents+json; charset=UTF-8")
	req.Header.Set("User-Agent", "zarish-webhook/1")
	req.Header.Set(subscription.HeaderSignature, subscription.Sign(dl.Secret, d.now(), dl.Payload))
	req.Header.Set(subscription.HeaderEventID, dl.EventID.String())
	req.Header.Set(subscription.HeaderEventType, dl.EventType)
	resp, err := d.client.Do(req)
	if err != nil {
		return false, 0, err.Error()
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxResponse))
	_ = resp.Body.Close()
	if subscription.Succeeded(resp.StatusCode) {
		return true, resp.StatusCode, ""
	}
	if resp.StatusCode >= 300 && resp.StatusCode < 400 {
		return false, resp.StatusCode, fmt.Sprintf("HTTP %d: redirects are not followed", resp.StatusCode)
	}
	return false, resp.StatusCode, fmt.Sprintf("HTTP %d", resp.StatusCode)
}
