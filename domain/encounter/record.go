package encounter

import (
	"time"

	"github.com/google/uuid"
)

// Record is an encounter as the read model keeps it, for listing and display.
type Record struct {
	ID             uuid.UUID   `json:"id"`
	PatientID      uuid.UUID   `json:"patientId"`
	Class          Class       `json:"class"`
	Status         Status      `json:"status"`
	Reason         string      `json:"reason,omitempty"`
	Location       string      `json:"location"`
	Priority       string      `json:"priority,omitempty"`
	Acuity         Acuity      `json:"acuity,omitempty"`
	ChiefComplaint string      `json:"chiefComplaint,omitempty"`
	Attending      *uuid.UUID  `json:"attending,omitempty"`
	Disposition    Disposition `json:"disposition,omitempty"`
	CreatedAt      time.Time   `json:"createdAt"`
	ArrivedAt      *time.Time  `json:"arrivedAt,omitempty"`
	TriagedAt      *time.Time  `json:"triagedAt,omitempty"`
	StartedAt      *time.Time  `json:"startedAt,omitempty"`
	EndedAt        *time.Time  `json:"endedAt,omitempty"` // discharged or cancelled
	Version        int         `json:"version"`           // the last timeline entry recorded
	// WorkflowID is the encounter's workflow, as operators find it in the
	// Temporal Web UI; the process's contract fills it in.
	WorkflowID string `json:"workflowId,omitempty"`
	// Filled by a single-encounter read.
	Timeline  []Entry `json:"timeline,omitempty"`
	Locations []Stay  `json:"locations,omitempty"`
	Orders    []Order `json:"orders,omitempty"`
}

// Record is the encounter as the read model keeps it after the state's last
// entry: the one shape every reader of an encounter sees.
func (s State) Record() Record {
	d := s.Details
	r := Record{
		ID: d.EncounterID, PatientID: d.PatientID, Class: d.Class, Status: s.Status,
		Reason: d.Reason, Location: s.Location, Priority: d.Priority, Acuity: s.Acuity,
		ChiefComplaint: s.ChiefComplaint, Disposition: s.Disposition, CreatedAt: s.CreatedAt,
		ArrivedAt: s.ArrivedAt, TriagedAt: s.TriagedAt, StartedAt: s.StartedAt, EndedAt: s.EndedAt,
		Version:  len(s.Timeline),
		Timeline: s.Timeline, Locations: s.Locations, Orders: s.Orders,
	}
	if s.Attending != uuid.Nil {
		a := s.Attending
		r.Attending = &a
	}
	return r
}

// Visit is the visit number another system gave an encounter (HL7 v2
// PV1-19, a CX), with the authority that assigned it: later messages about
// the visit (a discharge, a cancellation, an order) find the encounter by
// it.
type Visit struct {
	// System is the assigning authority (CX-4), else the sending facility.
	System string `json:"system"`
	// Number is the visit number (CX-1).
	Number string `json:"number"`
}
