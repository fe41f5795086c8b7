package notify

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"

	"github.com/google/uuid"
	kafkago "github.com/segmentio/kafka-go"

	"github.com/zarish-sphere/zarish/domain"
	"github.com/zarish-sphere/zarish/domain/alert"
	"github.com/zarish-sphere/zarish/integrations/kafka"
)

// EventBreakGlass is the CloudEvent type the audit trail publishes on the
// notifications topic for every break-the-glass access, in the transaction
// of its audit record (integrations/postgres EventBreakGlassAlert). Its
// subject is AuditEvent/<record id> and its data the record.
const EventBreakGlass = "alert.break-glass"

// BreakGlassGroupID is the consumer group of the break-the-glass consumers:
// a group of its own, so that a review alert waiting on Temporal never holds
// up the dispatchers' notifications.
const BreakGlassGroupID = "zarish-break-glass"

// BreakGlassRaiser raises the review alert of the break-the-glass access
// audit record recordID holds, once per record however often it is asked
// (workflows/alert BreakGlass). A missing record (domain.ErrNotFound) or one
// no alert can be raised for (*domain.ValidationError) never will be.
type BreakGlassRaiser interface {
	RaiseBreakGlass(ctx context.Context, recordID uuid.UUID) (alert.Raised, error)
}

// BreakGlassConsumer makes every break-the-glass access reach a human: it
// reads the alert.break-glass events and has each one's review alert
// raised, which escalates to the privacy officer on call like any alert
// (and, with nobody holding the role, ends in the operator's alarm). An
// event is committed once its alert is raised; a raise that fails is
// retried with backoff. An event naming no record, or a record no alert can
// be raised for, is logged at error level and skipped: the break-glass
// report still lists the access.
type BreakGlassConsumer struct {
	brokers  []string
	security kafka.Security
	raiser   BreakGlassRaiser
	logger   *slog.Logger
}

// NewBreakGlassConsumer returns a consumer reading from the cluster at
// brokers and raising through raiser.
func NewBreakGlassConsumer(brokers []string, raiser BreakGlassRaiser, logger *slog.Logger) *BreakGlassConsumer {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &BreakGlassConsumer{brokers: brokers, raiser: raiser, logger: logger.With("component", "break-glass")}
}

// Run consumes until ctx ends, then returns nil.
func (c *BreakGlassConsumer) Run(ctx context.Context) error {
	consume(ctx, c.brokers, c.security, kafka.TopicNotifications, BreakGlassGroupID, c.logger, c.handle)
	return nil
}

// handle raises the review alert of one event; every other message is
// skipped.
func (c *BreakGlassConsumer) handle(ctx context.Context, m kafkago.Message) error {
	ev, typ, err := eventOf(m)
	if err != nil || typ != EventBreakGlass {
		return nil // not ours; the dispatcher reports malformed messages
	}
	recordID, ok := breakGlassRecordID(ev.Subject, ev.Data)
	if !ok {
		c.logger.Error("skip a break-the-glass event naming no audit record: it raises no review alert",
			"event", ev.ID, "subject", ev.Subject, "partition", m.Partition, "offset", m.Offset)
		return nil
	}
	raised, err := c.raiser.RaiseBreakGlass(ctx, recordID)
	var verr *domain.ValidationError
	switch {
	case errors.As(err, &verr), errors.Is(err, domain.ErrNotFound):
		c.logger.Error("a break-the-glass access raised no review alert; it is in the break-glass report",
			"record", recordID, "event", ev.ID, "err", err)
		return nil
	case err != nil:
		return err
	}
	c.logger.Info("break-the-glass review alert raised", "record", recordID, "alert", raised.Record.ID,
		"created", raised.Created, "replayed", raised.Replayed)
	return nil
}

// breakGlassRecordID is the audit record an event is about: its subject,
// AuditEvent/<id>, else the id of the record in its data.
func breakGlassRecordID(subject string, data json.RawMessage) (uuid.UUID, bool) {
	if rest, ok := strings.CutPrefix(subject, "AuditEvent/"); ok {
		if id, err := uuid.Parse(rest); err == nil {
			return id, true
		}
	}
	var rec struct {
		ID uuid.UUID `json:"id"`
	}
	if json.Unmarshal(data, &rec) == nil && rec.ID != uuid.Nil {
		return rec.ID, true
	}
	return uuid.Nil, false
}

// WithKafkaSecurity has the consumer connect with sec (TLS, SASL).
func (c *BreakGlassConsumer) WithKafkaSecurity(sec kafka.Security) *BreakGlassConsumer {
	c.security = sec
	return c
}
