package diagnostic

import (
	"time"

	"github.com/google/uuid"
)

// Category is the service an order goes to, as lists name it: the
// laboratory (tests and panels) or imaging.
type Category string

// The categories.
const (
	CategoryLaboratory Category = "laboratory"
	CategoryImaging    Category = "imaging"
)

// Valid reports whether c is a known category.
func (c Category) Valid() bool { return c == CategoryLaboratory || c == CategoryImaging }

// Category is the service the order goes to, from the kind of its items.
func (o Order) Category() Category {
	if o.Imaging() {
		return CategoryImaging
	}
	return CategoryLaboratory
}

// ReportFilter narrows a list of reports. Zero fields match everything.
// From and To bound when the order was placed, as [From, To). Limit
// defaults to 50 and is capped at 200.
type ReportFilter struct {
	PatientID uuid.UUID
	Status    Status
	Category  Category
	// Test keeps the orders of one ordered item: a test, panel or imaging
	// procedure code, as ordered.
	Test     string
	From, To time.Time
	Limit    int
	Cursor   string // Next of the previous page
}

// ReportPage is one page of reports, newest order first; Next is empty on
// the last page.
type ReportPage struct {
	Reports []Report
	Next    string
}
