package encounter

import (
	"time"

	"github.com/google/uuid"
)

// Filter narrows a list of encounters. Zero fields match everything; From
// and To bound the creation time as [From, To). Limit defaults to 50 and is
// capped at 200.
type Filter struct {
	PatientID uuid.UUID
	Status    Status
	// Open keeps only the encounters neither discharged nor cancelled.
	Open     bool
	Class    Class
	Location string
	From, To time.Time
	Limit    int
	Cursor   string // Next of the previous page
}

// Page is one page of encounters, newest first; Next is empty on the last page.
type Page struct {
	Encounters []Record
	Next       string
}
