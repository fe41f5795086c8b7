package notify

import (
	"context"
	"encoding/json"
	"log/slog"
	"strings"

	"github.com/google/uuid"
	kafkago "github.com/segmentio/kafka-go"

	"github.com/zarish-sphere/zarish/integrations/kafka"
)

// The allergy events on the clinical topic (integrations/postgres
// EventAllergyRecorded, EventAllergyUpdated): their data is the allergy.
const (
	EventAllergyRecorded = "allergy.recorded"
	EventAllergyUpdated  = "allergy.updated"
)

// PrescriptionRecheckGroupID is the consumer group of the prescription
// rechecks: a group of its own, so a recheck waiting on Temporal holds up no
// other consumer.
const PrescriptionRecheckGroupID = "zarish-prescription-rechecks"

// The prescription events that recheck the patient's other prescriptions
// (integrations/postgres: "prescription." + the timeline entry's kind); their
// data is the prescription.
const (
	EventPrescriptionCreated      = "prescription.created"
	EventPrescriptionCancelled    = "prescription.cancelled"
	EventPrescriptionDiscontinued = "prescription.discontinued"
	EventPrescriptionCompleted    = "prescription.completed"
)

// PrescriptionRechecker asks the patient's open prescriptions to run their
// checks again (workflows/prescription Rechecks): all of them because the
// allergy named by cause was recorded or changed, or all but id because
// prescription id was placed or has ended. Asking twice is harmless: a
// recheck that finds nothing new changes nothing.
type PrescriptionRechecker interface {
	RecheckForAllergy(ctx context.Context, patientID uuid.UUID, cause string) error
	RecheckForPrescription(ctx context.Context, patientID, id uuid.UUID, ended bool) error
}

// PrescriptionRecheckConsumer makes a change to the patient reach every
// prescription it may concern: it reads the allergy events, and the events of
// prescriptions placed and ended, and has the patient's (other) open
// prescriptions checked again, so a prescription a new allergy rules out is
// held and its prescriber told, and one held because of a prescription since
// ended is freed. An event is committed once every prescription was asked;
// a failure is retried with backoff.
type PrescriptionRecheckConsumer struct {
	brokers   []string
	security  kafka.Security
	rechecker PrescriptionRechecker
	logger    *slog.Logger
}

// NewPrescriptionRecheckConsumer returns a consumer reading from the cluster
// at brokers and rechecking through rechecker.
func NewPrescriptionRecheckConsumer(brokers []string, rechecker PrescriptionRechecker, logger *slog.Logger) *PrescriptionRecheckConsumer {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &PrescriptionRecheckConsumer{brokers: brokers, rechecker: rechecker, logger: logger.With("component", "prescription-rechecks")}
}

// Run consumes until ctx ends, then returns nil.
func (c *PrescriptionRecheckConsumer) Run(ctx context.Context) error {
	consume(ctx, c.brokers, c.security, kafka.TopicClinical, PrescriptionRecheckGroupID, c.logger, c.handle)
	return nil
}

// handle rechecks the prescriptions of one allergy or prescription event's
// patient; every other message is skipped.
func (c *PrescriptionRecheckConsumer) handle(ctx context.Context, m kafkago.Message) error {
	ev, typ, err := eventOf(m)
	if err != nil {
		return nil
	}
	switch typ {
	case EventAllergyRecorded, EventAllergyUpdated:
		var a struct {
			PatientID uuid.UUID `json:"patientId"`
		}
		if err := json.Unmarshal(ev.Data, &a); err != nil || a.PatientID == uuid.Nil {
			c.logger.Error("skip an allergy event naming no patient: no prescription is rechecked for it",
				"event", ev.ID, "subject", ev.Subject, "partition", m.Partition, "offset", m.Offset)
			return nil
		}
		return c.rechecker.RecheckForAllergy(ctx, a.PatientID, "allergy/"+strings.TrimPrefix(ev.Subject, "AllergyIntolerance/"))
	case EventPrescriptionCreated, EventPrescriptionCancelled, EventPrescriptionDiscontinued, EventPrescriptionCompleted:
		var p struct {
			Details struct {
				ID        uuid.UUID `json:"id"`
				PatientID uuid.UUID `json:"patientId"`
			} `json:"details"`
		}
		if err := json.Unmarshal(ev.Data, &p); err != nil || p.Details.PatientID == uuid.Nil || p.Details.ID == uuid.Nil {
			c.logger.Error("skip a prescription event naming no prescription: the patient's others are not rechecked for it",
				"event", ev.ID, "subject", ev.Subject, "partition", m.Partition, "offset", m.Offset)
			return nil
		}
		return c.rechecker.RecheckForPrescription(ctx, p.Details.PatientID, p.Details.ID, typ != EventPrescriptionCreated)
	}
	return nil
}

// WithKafkaSecurity has the consumer connect with sec (TLS, SASL).
func (c *PrescriptionRecheckConsumer) WithKafkaSecurity(sec kafka.Security) *PrescriptionRecheckConsumer {
	c.security = sec
	return c
}
