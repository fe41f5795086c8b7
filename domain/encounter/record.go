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
	// Filled by a single-encounter read.
	Timeline  []Entry `json:"timeline,omitempty"`
	Locations []Stay  `json:"locations,omitempty"`
	Orders    []Order `json:"orders,omitempty"`
}
