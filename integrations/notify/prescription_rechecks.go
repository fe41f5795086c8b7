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

// PrescriptionRechecker asks every open prescription of the patient to run
// its checks again, because the allergy named by cause was recorded or
// changed (workflows/prescription Rechecks). Asking twice is harmless: a
// recheck that finds nothing new changes nothing but the timeline.
type PrescriptionRechecker interface {
	RecheckForAllergy(ctx context.Context, patientID uuid.UUID, cause string) error
}

// PrescriptionRecheckConsumer makes a new or changed allergy reach every
// prescription it may concern: it reads the allergy events and has each
// patient's open prescriptions checked again, so a prescription the allergy
// rules out is held and its prescriber told. An event is committed once
// every prescription was asked; a failure is retried with backoff.
type PrescriptionRecheckConsumer struct {
	brokers   []string
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
	consume(ctx, c.brokers, kafka.TopicClinical, PrescriptionRecheckGroupID, c.logger, c.handle)
	return nil
}

// handle rechecks the prescriptions of one allergy event's patient; every
// other message is skipped.
func (c *PrescriptionRecheckConsumer) handle(ctx context.Context, m kafkago.Message) error {
	ev, typ, err := eventOf(m)
	if err != nil || (typ != EventAllergyRecorded && typ != EventAllergyUpdated) {
		return nil
	}
	var a struct {
		PatientID uuid.UUID `json:"patientId"`
	}
	if err := json.Unmarshal(ev.Data, &a); err != nil || a.PatientID == uuid.Nil {
		c.logger.Error("skip an allergy event naming no patient: no prescription is rechecked for it",
			"event", ev.ID, "subject", ev.Subject, "partition", m.Partition, "offset", m.Offset)
		return nil
	}
	cause := strings.TrimPrefix(ev.Subject, "AllergyIntolerance/")
	if err := c.rechecker.RecheckForAllergy(ctx, a.PatientID, "allergy/"+cause); err != nil {
		return err
	}
	c.logger.Debug("prescriptions rechecked for an allergy", "patient", a.PatientID, "event", ev.ID)
	return nil
}
