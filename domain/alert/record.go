package alert

import (
	"time"

	"github.com/google/uuid"
)

// Record is an alert as the read model keeps it, for listing and display.
type Record struct {
	ID             uuid.UUID  `json:"id"`
	PatientID      uuid.UUID  `json:"patientId"`
	EncounterID    *uuid.UUID `json:"encounterId,omitempty"`
	Unit           string     `json:"unit"`
	Severity       Severity   `json:"severity"`
	Category       string     `json:"category"`
	Source         string     `json:"source"`
	Message        string     `json:"message"`
	Status         Status     `json:"status"`
	Level          int        `json:"level"` // 1-based; 0 before the first notification
	Round          int        `json:"round"`
	PolicyID       string     `json:"policyId"`
	RaisedAt       time.Time  `json:"raisedAt"`
	AcknowledgedBy *uuid.UUID `json:"acknowledgedBy,omitempty"`
	AcknowledgedAt *time.Time `json:"acknowledgedAt,omitempty"`
	ResolvedBy     *uuid.UUID `json:"resolvedBy,omitempty"`
	ResolvedAt     *time.Time `json:"resolvedAt,omitempty"`
	ResolveNote    string     `json:"resolveNote,omitempty"`
	Timeline       []Event    `json:"timeline,omitempty"` // filled by a single-alert read
}
