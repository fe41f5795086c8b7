package audit

import (
	"time"

	"github.com/google/uuid"
)

// VerifyResult is what Verify found.
type VerifyResult struct {
	// Intact is true when every link checked matched and every record in
	// the period is sealed or queued for sealing.
	Intact bool `json:"intact"`
	// Checked counts the links examined, the broken one included.
	Checked int `json:"checked"`
	// Unsealed counts records of the period still queued for the sealer.
	Unsealed int `json:"unsealed"`
	// BrokenAt is the first break in link order; nil when intact.
	BrokenAt *BrokenLink `json:"brokenAt,omitempty"`
}

// BrokenLink names where the chain stops verifying and why.
type BrokenLink struct {
	// Link is the chain position; 0 for a record that has no link at all.
	Link       int64     `json:"link"`
	EventID    uuid.UUID `json:"eventId"`
	RecordedAt time.Time `json:"recordedAt"`
	Reason     string    `json:"reason"`
}
