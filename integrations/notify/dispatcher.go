package notify

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"
	kafkago "github.com/segmentio/kafka-go"

	"github.com/zarish-sphere/zarish/domain/notification"
	"github.com/zarish-sphere/zarish/integrations/kafka"
)

// GroupID is the Kafka consumer group of the dispatchers: each request is
// accepted by one of them.
const GroupID = "zarish-notify"

// Store keeps notifications between their request and their delivery;
// *postgres.NotificationStore implements it.
type Store interface {
	Accept(ctx context.Context, n notification.Notification) (bool, error)
	Due(ctx context.Context, limit int) ([]notification.Notification, error)
	NextDue(ctx context.Context) (time.Time, bool, error)
	RecordAttempt(ctx context.Context, id uuid.UUID, r notification.AttemptResult) (int, error)
	Release(ctx context.Context, id uuid.UUID) error
	AddInboxItem(ctx context.Context, id uuid.UUID) (notification.InboxItem, error)
	QueueDepth(ctx context.Context) (int64, error)
	DeadLetters(ctx context.Context) (map[string]int64, error)
}

// Dispatcher consumes notification requests from Kafka into the store and
// delivers what the store says is due.
//
// Requests are committed to Kafka only once the store has them, so none is
// lost; a request read twice has the same notification id and is stored,
// and so delivered, once. Delivery is retried with exponential backoff and
// jitter until MaxAttempts, then the notification is dead (kept, with every
// attempt, for an operator); a permanent failure is dead at once.
//
// Work is found in the store, not in the process: every poll claims what is
// due, so a retry scheduled by another dispatcher, or a dead notification an
// operator requeued (NotificationStore.Requeue), is picked up by whichever
// dispatcher polls next, without a restart and without a new request on the
// topic (which the dedupe on the notification id would rightly drop).
type Dispatcher struct {
	cfg      Config
	store    Store
	brokers  []string
	security kafka.Security
	logger   *slog.Logger
	senders  map[string]Sender
	metrics  *metrics

	workers      int
	pollInterval time.Duration
	wake         chan struct{}
}

// Option configures NewDispatcher.
type Option func(*Dispatcher)

// WithKafkaSecurity has the dispatcher's consumer connect with sec (TLS,
// SASL).
func WithKafkaSecurity(sec kafka.Security) Option {
	return func(d *Dispatcher) { d.security = sec }
}

// WithSender sends channel's notifications through s instead of the sender
// built from Config.
func WithSender(channel string, s Sender) Option {
	return func(d *Dispatcher) { d.senders[channel] = s }
}

// WithWorkers sets how many notifications are sent at once (default 8).
func WithWorkers(n int) Option {
	return func(d *Dispatcher) {
		if n > 0 {
			d.workers = n
		}
	}
}

// WithPollInterval sets how often the store is checked for due notifications
// when nothing wakes the dispatcher sooner (default 1 s).
func WithPollInterval(p time.Duration) Option {
	return func(d *Dispatcher) {
		if p > 0 {
			d.pollInterval = p
		}
	}
}

// NewDispatcher returns a dispatcher reading the notifications topic from
// the cluster at brokers. Email goes out when cfg.SMTP.Host is set, SMS and
// push when their webhook URLs are; an unconfigured channel's notifications
// fail their attempts (and are retried) until it is configured.
func NewDispatcher(cfg Config, store Store, brokers []string, logger *slog.Logger, opts ...Option) (*Dispatcher, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	d := &Dispatcher{
		cfg:          cfg.withDefaults(),
		store:        store,
		brokers:      brokers,
		logger:       logger.With("component", "notify"),
		senders:      map[string]Sender{},
		metrics:      newMetrics(),
		workers:      8,
		pollInterval: time.Second,
		wake:         make(chan struct{}, 1),
	}
	if cfg.SMTP.Host != "" {
		email, err := NewEmailSender(cfg.SMTP)
		if err != nil {
			return nil, err
		}
		d.senders[notification.ChannelEmail] = email
	}
	if (cfg.SMSWebhookURL != "" || cfg.PushWebhookURL != "") && len(cfg.WebhookSecret) == 0 {
		return nil, errors.New("notify: a webhook secret is required with an SMS or push webhook URL")
	}
	if cfg.SMSWebhookURL != "" {
		d.senders[notification.ChannelSMS] = NewWebhookSender(cfg.SMSWebhookURL, cfg.WebhookSecret, nil)
	}
	if cfg.PushWebhookURL != "" {
		d.senders[notification.ChannelPush] = NewWebhookSender(cfg.PushWebhookURL, cfg.WebhookSecret, nil)
	}
	for _, o := range opts {
		o(d)
	}
	return d, nil
}

// Collectors returns the dispatcher's Prometheus metrics for the caller to
// register.
func (d *Dispatcher) Collectors() []prometheus.Collector { return d.metrics.collectors() }

// Run consumes and delivers until ctx ends, then returns nil once in-flight
// sends have stopped; a notification whose send was cut short is handed back
// to the store unrecorded.
func (d *Dispatcher) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	wg.Go(func() { d.consumeRequests(ctx) })
	wg.Go(func() { d.deliverLoop(ctx) })
	wg.Wait()
	return nil
}

// consumeRequests reads requests from the topic, stores them and commits them.
func (d *Dispatcher) consumeRequests(ctx context.Context) {
	consume(ctx, d.brokers, d.security, kafka.TopicNotifications, GroupID, d.logger, d.handle)
}

// handle stores one message's request. Messages that are not requests, or
// cannot be read, are logged and skipped; only a store failure is returned
// (and the message retried).
func (d *Dispatcher) handle(ctx context.Context, m kafkago.Message) error {
	ev, eventType, err := eventOf(m)
	if err != nil {
		d.metrics.requests.WithLabelValues("rejected").Inc()
		d.logger.Error("skip malformed message on notifications topic", "partition", m.Partition, "offset", m.Offset, "err", err)
		return nil
	}
	if eventType != EventNotificationRequested {
		d.metrics.requests.WithLabelValues("skipped").Inc()
		d.logger.Debug("skip event", "type", eventType, "id", ev.ID, "partition", m.Partition, "offset", m.Offset)
		return nil
	}
	req, err := parseRequested(ev.Data)
	if err != nil {
		d.metrics.requests.WithLabelValues("rejected").Inc()
		d.logger.Error("skip invalid notification request", "id", ev.ID, "partition", m.Partition, "offset", m.Offset, "err", err)
		return nil
	}
	n := req.toNotification()
	if n.CreatedAt.IsZero() {
		n.CreatedAt = ev.Time
	}
	fresh, err := d.store.Accept(ctx, n)
	if err != nil {
		return err
	}
	if !fresh {
		d.metrics.requests.WithLabelValues("duplicate").Inc()
		d.logger.Debug("duplicate notification request", "notification", n.ID)
		return nil
	}
	d.metrics.requests.WithLabelValues("accepted").Inc()
	d.logger.Debug("notification accepted", "notification", n.ID, "alert", n.AlertID, "channel", n.Channel, "level", n.Level)
	d.poke()
	return nil
}

func header(m kafkago.Message, key string) string {
	for _, h := range m.Headers {
		if h.Key == key {
			return string(h.Value)
		}
	}
	return ""
}

// poke wakes the delivery loop.
func (d *Dispatcher) poke() {
	select {
	case d.wake <- struct{}{}:
	default:
	}
}

// deliverLoop claims due notifications, as many as there are free workers,
// and sends each on its own goroutine.
func (d *Dispatcher) deliverLoop(ctx context.Context) {
	var inflight sync.WaitGroup
	defer inflight.Wait()
	slots := make(chan struct{}, d.workers)
	done := make(chan struct{}, d.workers)
	var lastDepth time.Time
	for {
		if time.Since(lastDepth) >= gaugeInterval {
			d.updateGauges(ctx)
			lastDepth = time.Now()
		}
		free := d.workers - len(slots)
		var claimed []notification.Notification
		if free > 0 {
			var err error
			claimed, err = d.store.Due(ctx, free)
			if err != nil && ctx.Err() == nil {
				d.logger.Warn("claim due notifications", "err", err)
			}
		}
		for _, n := range claimed {
			slots <- struct{}{}
			inflight.Go(func() {
				defer func() {
					<-slots
					select {
					case done <- struct{}{}:
					default:
					}
				}()
				d.deliver(ctx, n)
			})
		}
		if ctx.Err() != nil {
			return
		}
		if free > 0 && len(claimed) == free {
			continue // there may be more due
		}
		wait := d.pollInterval
		if next, ok, err := d.store.NextDue(ctx); err == nil && ok {
			wait = min(wait, max(time.Until(next), 0))
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-d.wake:
		case <-done:
		case <-t.C:
		}
		t.Stop()
	}
}

// gaugeInterval is how often the queue depth and dead-letter gauges are
// read from the store.
const gaugeInterval = 5 * time.Second

func (d *Dispatcher) updateGauges(ctx context.Context) {
	if depth, err := d.store.QueueDepth(ctx); err == nil {
		d.metrics.queueDepth.Set(float64(depth))
	}
	if dead, err := d.store.DeadLetters(ctx); err == nil {
		// Every channel has a series, zero included, so an alert rule sees it.
		for _, ch := range []string{notification.ChannelInApp, notification.ChannelEmail, notification.ChannelSMS, notification.ChannelPush} {
			d.metrics.deadLetters.WithLabelValues(ch).Set(float64(dead[ch]))
		}
	}
}

// deliver makes one attempt to deliver n and records it.
func (d *Dispatcher) deliver(ctx context.Context, n notification.Notification) {
	attempt := n.Attempts + 1
	log := d.logger.With("notification", n.ID, "alert", n.AlertID, "channel", n.Channel, "attempt", attempt)

	if n.Channel == notification.ChannelInApp {
		item, err := d.store.AddInboxItem(ctx, n.ID)
		if err == nil {
			d.metrics.delivered.WithLabelValues(n.Channel).Inc()
			log.Info("notification delivered", "inboxItem", item.ID)
			return
		}
		if ctx.Err() != nil {
			d.release(n.ID)
			return
		}
		d.failed(ctx, log, n, attempt, err)
		return
	}

	sender, ok := d.senders[n.Channel]
	if !ok {
		d.failed(ctx, log, n, attempt, fmt.Errorf("channel %s is not configured", n.Channel))
		return
	}
	sendCtx, cancel := context.WithTimeout(ctx, DefaultSendTimeout)
	receipt, err := sender.Send(sendCtx, n)
	cancel()
	if err != nil && ctx.Err() != nil {
		d.release(n.ID)
		return
	}
	if err != nil {
		d.failed(ctx, log, n, attempt, err)
		return
	}
	d.record(log, n.ID, notification.AttemptResult{Outcome: notification.AttemptDelivered, Detail: receipt})
	d.metrics.delivered.WithLabelValues(n.Channel).Inc()
	log.Info("notification delivered", "receipt", receipt)
}

// failed records a failed attempt: dead when err is permanent or the
// attempts are used up, else due again after a backoff.
func (d *Dispatcher) failed(ctx context.Context, log *slog.Logger, n notification.Notification, attempt int, err error) {
	d.metrics.failed.WithLabelValues(n.Channel).Inc()
	if IsPermanent(err) || attempt >= d.cfg.MaxAttempts {
		d.record(log, n.ID, notification.AttemptResult{Outcome: notification.AttemptDead, Detail: err.Error()})
		d.metrics.dead.WithLabelValues(n.Channel).Inc()
		log.Error("notification dead-lettered", "permanent", IsPermanent(err), "err", err)
		return
	}
	wait := d.backoff(attempt)
	d.record(log, n.ID, notification.AttemptResult{
		Outcome:       notification.AttemptFailed,
		Detail:        err.Error(),
		NextAttemptAt: time.Now().Add(wait),
	})
	log.Warn("notification attempt failed; will retry", "retryIn", wait, "err", err)
}

// record stores an attempt's result, trying a few times: a result that
// cannot be stored leaves the claim to expire, and the notification is tried
// again then.
func (d *Dispatcher) record(log *slog.Logger, id uuid.UUID, r notification.AttemptResult) {
	var err error
	for i := range 3 {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		_, err = d.store.RecordAttempt(ctx, id, r)
		cancel()
		if err == nil {
			return
		}
		time.Sleep(time.Duration(i+1) * 200 * time.Millisecond)
	}
	log.Error("record notification attempt", "outcome", r.Outcome, "err", err)
}

func (d *Dispatcher) release(id uuid.UUID) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := d.store.Release(ctx, id); err != nil {
		d.logger.Warn("release notification", "notification", id, "err", err)
	}
}

// backoff is the wait after failed attempt number attempt (1-based):
// BaseBackoff doubled per earlier failure, capped at MaxBackoff, then
// jittered to between half and all of it.
func (d *Dispatcher) backoff(attempt int) time.Duration {
	w := d.cfg.BaseBackoff
	for i := 1; i < attempt && w < d.cfg.MaxBackoff; i++ {
		w *= 2
	}
	w = min(w, d.cfg.MaxBackoff)
	half := w / 2
	return half + rand.N(w-half+1)
}
