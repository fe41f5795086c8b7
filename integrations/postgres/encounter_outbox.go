package postgres

import (
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/google/uuid"

	"github.com/zarish-sphere/zarish/domain/encounter"
)

// encounterEventSpace namespaces the encounter events' stable ids.
var encounterEventSpace = uuid.MustParse("3b8f7c2e-5d41-4a0b-9e26-8c1f0d7a5e93")

// EncounterEventType is the CloudEvent type of an encounter transition:
// encounter.created, encounter.arrived, …, encounter.discharged.
func EncounterEventType(kind encounter.EventKind) string { return "encounter." + string(kind) }

// EncounterEventID is the stable id of the event for an encounter's seq-th
// timeline entry, the same on every retry.
func EncounterEventID(encounterID uuid.UUID, seq int) uuid.UUID {
	return uuid.NewSHA1(encounterEventSpace, []byte(encounterID.String()+"/"+strconv.Itoa(seq)))
}

// EncounterChanged is the data of every encounter.<transition> event.
type EncounterChanged struct {
	EncounterID    string          `json:"encounterId"`
	PatientID      string          `json:"patientId"`
	Class          string          `json:"class"`
	Status         string          `json:"status"`
	Location       string          `json:"location"`
	Priority       string          `json:"priority,omitempty"`
	Acuity         int             `json:"acuity,omitempty"`
	ChiefComplaint string          `json:"chiefComplaint,omitempty"`
	Attending      string          `json:"attending,omitempty"`
	Disposition    string          `json:"disposition,omitempty"`
	Entry          encounter.Entry `json:"entry"`
	// Summary is set on encounter.discharged only.
	Summary *EncounterSummary `json:"summary,omitempty"`
}

// EncounterSummary is the whole encounter, published at discharge.
type EncounterSummary struct {
	Timeline        []encounter.Entry `json:"timeline"`
	Locations       []encounter.Stay  `json:"locations"`
	Orders          []encounter.Order `json:"orders"`
	DischargeReason string            `json:"dischargeReason,omitempty"`
}

// encounterEvent turns a transition into its outbox event on the clinical
// topic, keyed by the patient.
func encounterEvent(s encounter.State, e encounter.Entry) (OutboxEvent, error) {
	d := s.Details
	data := EncounterChanged{
		EncounterID: d.EncounterID.String(), PatientID: d.PatientID.String(), Class: string(d.Class),
		Status: string(s.Status), Location: s.Location, Priority: d.Priority, Acuity: int(s.Acuity),
		ChiefComplaint: s.ChiefComplaint, Disposition: string(s.Disposition), Entry: e,
	}
	if s.Attending != uuid.Nil {
		data.Attending = s.Attending.String()
	}
	if e.Kind == encounter.EventDischarged {
		data.Summary = &EncounterSummary{Timeline: s.Timeline, Locations: s.Locations, Orders: s.Orders, DischargeReason: s.DischargeReason}
	}
	raw, err := json.Marshal(data)
	if err != nil {
		return OutboxEvent{}, fmt.Errorf("encode encounter event: %w", err)
	}
	return OutboxEvent{
		ID: EncounterEventID(d.EncounterID, e.Seq), Topic: ClinicalTopic, Key: d.PatientID.String(),
		Type: EncounterEventType(e.Kind), Source: "/v1/encounters/" + d.EncounterID.String(),
		Subject: d.EncounterID.String(), Time: e.At.UTC().Truncate(time.Microsecond), Data: raw,
		Link: "/v1/clinical/encounters/" + d.EncounterID.String(),
	}, nil
}
