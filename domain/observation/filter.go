package observation

import (
	"strconv"
	"time"

	"github.com/google/uuid"

	"github.com/zarish-sphere/zarish/domain"
)

// Page sizes and query bounds.
const (
	// DefaultPageSize is a list's page size when the filter names none.
	DefaultPageSize = 50
	// MaxPageSize caps a list's page size.
	MaxPageSize = 200
	// MaxQueryCodes bounds the codes one list or latest query names.
	MaxQueryCodes = 50
)

// Filter narrows a list of a patient's observations: their current versions,
// newest effective time first. PatientID is required; other zero fields match
// everything. A component code (8480-6) also matches the panels that hold
// it (see PanelsWith). From and To bound the effective time as [From, To).
// Limit defaults to DefaultPageSize and is capped at MaxPageSize.
type Filter struct {
	PatientID uuid.UUID
	Codes     []string
	Category  Category
	From, To  time.Time
	// Status keeps one status; when empty, every status but entered-in-error
	// (withdrawn observations are listed only when asked for).
	Status Status
	Limit  int
	Cursor string // Next of the previous page
}

// Validate reports every field of the filter that no list can answer,
// named as the API's query parameters.
func (f Filter) Validate() error {
	problems := &domain.ValidationError{}
	if f.PatientID == uuid.Nil {
		problems.Add("patientId", "is required")
	}
	checkCodes(f.Codes, problems)
	if f.Category != "" && f.Category != CategoryVitalSigns && f.Category != CategoryLaboratory {
		problems.Add("category", "must be vital-signs or laboratory")
	}
	if f.Status != "" && !f.Status.Valid() {
		problems.Add("status", "must be one of preliminary, final, amended, corrected, entered-in-error")
	}
	if !f.From.IsZero() && !f.To.IsZero() && !f.From.Before(f.To) {
		problems.Add("to", "must be after from")
	}
	if f.Limit < 0 {
		problems.Add("limit", "must not be negative")
	}
	return problems.OrNil()
}

// PageSize is the number of observations a page of f holds.
func (f Filter) PageSize() int {
	switch {
	case f.Limit <= 0:
		return DefaultPageSize
	case f.Limit > MaxPageSize:
		return MaxPageSize
	}
	return f.Limit
}

// CheckCodes refuses a code list for a latest-values query: at least one and
// at most MaxQueryCodes codes, each in the catalogue, named codes[i].
func CheckCodes(codes []string) error {
	problems := &domain.ValidationError{}
	if len(codes) == 0 {
		problems.Add("codes", "at least one code is required")
	}
	checkCodes(codes, problems)
	return problems.OrNil()
}

func checkCodes(codes []string, problems *domain.ValidationError) {
	if len(codes) > MaxQueryCodes {
		problems.Add("codes", "must name at most "+strconv.Itoa(MaxQueryCodes)+" codes")
		return
	}
	for i, c := range codes {
		if _, ok := byCode[c]; !ok {
			problems.Add("codes["+strconv.Itoa(i)+"]", "LOINC "+strconv.Quote(c)+" is not in the observation catalogue")
		}
	}
}

// Page is one page of observations, newest first; Next is empty on the last page.
type Page struct {
	Observations []Observation
	Next         string
}

// Codes lists the catalogue's codes of category, or every code when category
// is empty, vital signs first: what a list across codes reads.
func Codes(category Category) []string {
	var out []string
	for _, d := range catalogue {
		if category == "" || d.Category == category {
			out = append(out, d.Code)
		}
	}
	return out
}
