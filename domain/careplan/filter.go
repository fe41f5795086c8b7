package careplan

import (
	"time"

	"github.com/google/uuid"
)

// Filter narrows a list of care plans. Zero fields match everything; Overdue keeps
// active plans with an open activity due at or before Now. Limit defaults to
// 50 and is capped at 200.
type Filter struct {
	PatientID uuid.UUID
	Status    Status
	Overdue   bool
	Now       time.Time
	Limit     int
	Cursor    string // Next of the previous page
}

// Page is one page of plans, newest first; Next is empty on the last page.
type Page struct {
	CarePlans []CarePlan
	Next      string
}
