package audit

import (
	"time"

	"github.com/google/uuid"
)

// Filter selects audit records. Zero fields do not filter.
type Filter struct {
	// PatientID matches records about the patient: its subject, or among the
	// patients a search returned.
	PatientID *uuid.UUID
	// Actor matches the actor's subject, user id or practitioner id, or the
	// user or practitioner who submitted the record.
	Actor      string
	Action     Action
	EntityType string
	// From and To bound the record time: From ≤ time < To.
	From, To time.Time
	// Limit is the page size: 50 when zero, at most 1000.
	Limit int
	// Cursor is the next value of the previous page; empty for the first.
	Cursor string
}
