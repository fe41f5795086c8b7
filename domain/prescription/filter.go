package prescription

import "github.com/google/uuid"

// Filter narrows a list of prescriptions. Zero fields match everything.
// Limit defaults to 50 and is capped at 200.
type Filter struct {
	PatientID uuid.UUID
	Status    Status
	Limit     int
	Cursor    string // Next of the previous page
}

// Page is one page of prescriptions, newest first; Next is empty on the
// last page.
type Page struct {
	Prescriptions []Prescription
	Next          string
}
