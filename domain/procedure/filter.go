package procedure

import (
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/zarish-sphere/zarish/domain"
)

// Page sizes of a list.
const (
	DefaultPageSize = 50
	MaxPageSize     = 200
)

// Filter narrows a list of procedures. Zero fields match everything. From
// and To bound the planned start of the slot as [From, To): a procedure
// holding no slot matches only when both are nil. ResourceID keeps the
// procedures whose slot takes that resource. Limit is 1 to MaxPageSize,
// DefaultPageSize when 0.
type Filter struct {
	PatientID  uuid.UUID
	Status     Status
	ResourceID uuid.UUID
	From, To   *time.Time
	Limit      int
	Cursor     string // Next of the previous page
}

// Check reports every field of the filter no list can answer, named as
// the API's query parameters.
func (f Filter) Check() error {
	var v domain.ValidationError
	if f.Limit < 0 || f.Limit > MaxPageSize {
		v.Add("limit", "must be from 1 to "+strconv.Itoa(MaxPageSize))
	}
	if f.Status != "" && !f.Status.Valid() {
		names := make([]string, len(Statuses))
		for i, s := range Statuses {
			names[i] = string(s)
		}
		v.Add("status", "must be one of "+strings.Join(names, ", "))
	}
	if f.From != nil && f.To != nil && !f.From.Before(*f.To) {
		v.Add("to", "must be after from")
	}
	return v.OrNil()
}

// PageSize is how many procedures a page of f holds.
func (f Filter) PageSize() int {
	if f.Limit <= 0 {
		return DefaultPageSize
	}
	return min(f.Limit, MaxPageSize)
}

// Page is one page of procedures; Next is empty on the last page.
type Page struct {
	Procedures []Procedure
	Next       string
}
