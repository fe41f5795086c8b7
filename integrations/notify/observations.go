package notify

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
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
// patient's readings complete.
type ObservationAlerter interface {
	Critical(ctx context.Context, ev observation.EventData) (alert.Raised, bool, error)
	// NEWS2 scores the set that evs, one write's observations of one
	// patient, complete.
	NEWS2(ctx context.Context, evs []observation.EventData) (*observation.NEWS2Score, error)
}

// ObservationConsumer makes every critical value and every NEWS2 that
// calls for a response reach a human: it reads the observation events of
// the clinical topic (keyed by patient, so one patient's readings arrive in
// order) and has each one's alert raised and NEWS2 set scored. An event is
// committed once that is done; a failure is retried with backoff. An event
// no alert can ever be raised for is logged at error level and skipped.
type ObservationConsumer struct {
	brokers  []string
	security kafka.Security
	alerter  ObservationAlerter
	logger   *slog.Logger
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
	consume(ctx, c.brokers, c.security, kafka.TopicClinical, ObservationsGroupID, c.logger, c.handle)
	return nil
}

// handle acts on one observation event; every other message is skipped.
// observation.recorded carries one write's observations of a patient: each
// critical value among them has its alert raised, and the set they complete
// is scored once. observation.critical follows it for each critical value,
// and raises the same alert (once: raising is idempotent); an
// observation.amended version is acted on as a write of its own.
func (c *ObservationConsumer) handle(ctx context.Context, m kafkago.Message) error {
	ev, typ, err := eventOf(m)
	if err != nil {
		return nil // not a CloudEvent: not ours
	}
	var evs []observation.EventData
	switch typ {
	case observation.EventRecorded:
		evs, err = recordedObservations(ev.Data)
	case observation.EventCritical, observation.EventAmended:
		var data observation.EventData
		if err = json.Unmarshal(ev.Data, &data); err == nil && data.PatientID == uuid.Nil {
			err = errors.New("no patient")
		}
		evs = []observation.EventData{data}
	default:
		return nil
	}
	if err != nil {
		c.logger.Error("skip an observation event that names no observation", "event", ev.ID, "type", typ, "err", err)
		return nil
	}
	var verr *domain.ValidationError
	for _, data := range evs {
		raised, ok, err := c.alerter.Critical(ctx, data)
		switch {
		case errors.As(err, &verr):
			c.logger.Error("a critical value raised no alert", "observation", data.ID, "patient", data.PatientID, "err", err)
		case err != nil:
			return err
		case ok:
			c.logger.Info("critical value alert raised", "observation", data.ID, "alert", raised.Record.ID,
				"created", raised.Created, "replayed", raised.Replayed)
		}
	}
	if typ == observation.EventCritical {
		return nil // its observation.recorded scores NEWS2
	}
	score, err := c.alerter.NEWS2(ctx, evs)
	switch {
	case errors.As(err, &verr):
		c.logger.Error("a NEWS2 set raised no alert", "event", ev.ID, "patient", evs[0].PatientID, "err", err)
	case err != nil:
		return err
	case score != nil:
		c.logger.Info("NEWS2 scored", "patient", evs[0].PatientID, "score", score.ID, "total", score.Total, "risk", score.Risk)
	}
	return nil
}

// recordedObservations decodes the data of an observation.recorded event:
// {"patientId": …, "observations": [EventData, …]}, every observation of
// that patient. An event written before a write's observations were
// published together carries one EventData, and is read as a write of one.
func recordedObservations(data []byte) ([]observation.EventData, error) {
	var recorded struct {
		observation.EventData                         // the older form; its patientId is the newer's too
		Observations          []observation.EventData `json:"observations"`
	}
	if err := json.Unmarshal(data, &recorded); err != nil {
		return nil, err
	}
	patient := recorded.PatientID
	switch {
	case patient == uuid.Nil:
		return nil, errors.New("no patient")
	case recorded.Observations == nil:
		if recorded.ID == uuid.Nil {
			return nil, errors.New("no observations")
		}
		return []observation.EventData{recorded.EventData}, nil
	case len(recorded.Observations) == 0:
		return nil, errors.New("no observations")
	}
	for i, o := range recorded.Observations {
		if o.PatientID != patient || o.ID == uuid.Nil {
			return nil, fmt.Errorf("observation %d is of patient %s, not %s, or has no id", i, o.PatientID, patient)
		}
	}
	return recorded.Observations, nil
}

// WithKafkaSecurity has the consumer connect with sec (TLS, SASL).
func (c *ObservationConsumer) WithKafkaSecurity(sec kafka.Security) *ObservationConsumer {
	c.security = sec
	return c
}
