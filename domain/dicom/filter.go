package dicom

import (
	"strconv"
	"strings"
	"time"

	"github.com/zarish-sphere/zarish/domain"
)

// Page sizes of a study search.
const (
	DefaultLimit = 100
	MaxLimit     = 1000
	// MaxOffset bounds how far a search pages; narrow the filter instead.
	MaxOffset = 100_000
)

// DateRange is a QIDO-RS date match: a single date, or a range open at
// either end. From and To are midnight UTC, inclusive; zero means open.
type DateRange struct {
	From, To time.Time
}

// IsZero reports whether the range matches every date.
func (r DateRange) IsZero() bool { return r.From.IsZero() && r.To.IsZero() }

// ParseDateRange reads a DA query value as QIDO-RS allows it (PS3.18
// §8.3.4.1, PS3.4 C.2.2.2.5): "YYYYMMDD", "YYYYMMDD-YYYYMMDD",
// "-YYYYMMDD" or "YYYYMMDD-". The empty string is the zero range.
func ParseDateRange(s string) (DateRange, error) {
	if s == "" {
		return DateRange{}, nil
	}
	bad := &domain.ValidationError{}
	bad.Add("StudyDate", "must be YYYYMMDD or a range YYYYMMDD-YYYYMMDD (either end may be left open)")
	from, to, isRange := strings.Cut(s, "-")
	if !isRange {
		to = from
	}
	if from == "" && to == "" {
		return DateRange{}, bad
	}
	var r DateRange
	var err error
	if from != "" {
		if r.From, err = parseDA(from); err != nil {
			return DateRange{}, bad
		}
	}
	if to != "" {
		if r.To, err = parseDA(to); err != nil {
			return DateRange{}, bad
		}
	}
	if !r.From.IsZero() && !r.To.IsZero() && r.To.Before(r.From) {
		return DateRange{}, &domain.ValidationError{Fields: []domain.FieldError{{Field: "StudyDate", Message: "ends before it begins"}}}
	}
	return r, nil
}

// parseDA reads YYYYMMDD as midnight UTC, refusing dates that do not exist.
func parseDA(s string) (time.Time, error) {
	if len(s) != 8 {
		return time.Time{}, strconv.ErrSyntax
	}
	return time.Parse("20060102", s)
}

// Filter is a QIDO-RS study search. Empty fields match every study.
type Filter struct {
	// PatientID is the DICOM Patient ID (0010,0020), matched exactly.
	PatientID string
	StudyDate DateRange
	// ModalitiesInStudy matches a study holding a series of any of them.
	ModalitiesInStudy []string
	AccessionNumber   string
	StudyInstanceUID  string
	Limit, Offset     int
}

// Check reports every field of the filter no search can answer, named as
// the QIDO-RS query parameters.
func (f Filter) Check() error {
	var v domain.ValidationError
	if f.StudyInstanceUID != "" && !ValidUID(f.StudyInstanceUID) {
		v.Add("StudyInstanceUID", "is not a UID (digits and dots, at most 64 characters)")
	}
	if len(f.PatientID) > 64 {
		v.Add("PatientID", "is longer than 64 characters")
	}
	if len(f.AccessionNumber) > 16 {
		v.Add("AccessionNumber", "is longer than 16 characters")
	}
	if len(f.ModalitiesInStudy) > 16 {
		v.Add("ModalitiesInStudy", "names more than 16 modalities")
	}
	for _, m := range f.ModalitiesInStudy {
		if m == "" || len(m) > 16 {
			v.Add("ModalitiesInStudy", "must be modality codes (CT, MR, …) separated by commas")
			break
		}
	}
	if f.Limit < 0 || f.Limit > MaxLimit {
		v.Add("limit", "must be from 1 to "+strconv.Itoa(MaxLimit))
	}
	if f.Offset < 0 || f.Offset > MaxOffset {
		v.Add("offset", "must be from 0 to "+strconv.Itoa(MaxOffset))
	}
	return v.OrNil()
}

// PageSize is how many studies one search of f answers.
func (f Filter) PageSize() int {
	if f.Limit == 0 {
		return DefaultLimit
	}
	return f.Limit
}
