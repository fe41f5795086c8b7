package notify

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"

	"github.com/google/uuid"
	kafkago "github.com/segmentio/kafka-go"

	"github.com/zarish-sphere/zarish/domain"
	"github.com/zarish-sphere/zarish/domain/alert"
	"github.com/zarish-sphere/zarish/domain/observation"
	"github.com/zarish-sphere/zarish/integrations/kafka"
)

// ObservationsGroupID is the consumer group of the observation consumers.
const ObservationsGroupID = "zarish-observations"

// ObservationAlerter raises the alerts observations call for (workflows/alert
// ObservationAlerts): a critical value's, and the NEWS2 score's that a
// reading completes.
type ObservationAlerter interface {
	Critical(ctx context.Context, ev observation.EventData) (alert.Raised, bool, error)
	NEWS2(ctx context.Context, ev observation.EventData) (*observation.NEWS2Score, error)
}

// ObservationConsumer makes every critical value and every NEWS2 that
// calls for a response reach a human: it reads the observation events of
// the clinical topic (keyed by patient, so one patient's readings arrive in
// order) and has each one's alert raised and NEWS2 set scored. An event is
// committed once that is done; a failure is retried with backoff. An event
// no alert can ever be raised for is logged at error level and skipped.
type ObservationConsumer struct {
	brokers []string
	alerter ObservationAlerter
	logger  *slog.Logger
}

// NewObservationConsumer returns a consumer reading from the cluster at
// brokers and raising through alerter.
func NewObservationConsumer(brokers []string, alerter ObservationAlerter, logger *slog.Logger) *ObservationConsumer {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &ObservationConsumer{brokers: brokers, alerter: alerter, logger: logger.With("component", "observations")}
}

// Run consumes until ctx ends, then returns nil.
func (c *ObservationConsumer) Run(ctx context.Context) error {
	consume(ctx, c.brokers, kafka.TopicClinical, ObservationsGroupID, c.logger, c.handle)
	return nil
}

// handle acts on one observation event; every other message is skipped.
// observation.critical and observation.recorded are both published for a
// critical value: the alert is raised on either, once.
func (c *ObservationConsumer) handle(ctx context.Context, m kafkago.Message) error {
	ev, typ, err := eventOf(m)
	if err != nil {
		return nil // not a CloudEvent: not ours
	}
	switch typ {
	case observation.EventRecorded, observation.EventCritical, observation.EventAmended:
	default:
		return nil
	}
	var data observation.EventData
	if err := json.Unmarshal(ev.Data, &data); err != nil || data.PatientID == uuid.Nil {
		c.logger.Error("skip an observation event that names no observation", "event", ev.ID, "type", typ, "err", err)
		return nil
	}
	raised, ok, err := c.alerter.Critical(ctx, data)
	var verr *domain.ValidationError
	switch {
	case errors.As(err, &verr):
		c.logger.Error("a critical value raised no alert", "observation", data.ID, "patient", data.PatientID, "err", err)
	case err != nil:
		return err
	case ok:
		c.logger.Info("critical value alert raised", "observation", data.ID, "alert", raised.Record.ID,
			"created", raised.Created, "replayed", raised.Replayed)
	}
	if typ == observation.EventCritical {
		return nil // its observation.recorded scores NEWS2
	}
	score, err := c.alerter.NEWS2(ctx, data)
	switch {
	case errors.As(err, &verr):
		c.logger.Error("a NEWS2 set raised no alert", "observation", data.ID, "patient", data.PatientID, "err", err)
	case err != nil:
		return err
	case score != nil:
		c.logger.Info("NEWS2 scored", "patient", data.PatientID, "score", score.ID, "total", score.Total, "risk", score.Risk)
	}
	return nil
}
