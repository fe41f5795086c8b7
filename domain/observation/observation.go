// Package observation holds the rules of vital signs and laboratory results:
// a cited LOINC catalogue, UCUM unit conversion to one canonical unit per
// code, interpretation against reference ranges and critical limits (HL7 v3
// ObservationInterpretation flags), delta checks against a patient's earlier
// results, and the Royal College of Physicians' NEWS2 score. It is pure:
// functions that need the time take it as a parameter.
//
// This material contains content from LOINC (http://loinc.org); see
// LOINC-NOTICE.md beside this file.
package observation

import (
	"errors"
	"math"
	"time"
)

// Category is the FHIR observation category of a code.
type Category string

// The categories the catalogue uses (FHIR observation-category codes).
const (
	CategoryVitalSigns Category = "vital-signs"
	CategoryLaboratory Category = "laboratory"
)

// ValueKind is what an observation of a code carries.
type ValueKind string

// The kinds of value.
const (
	// KindQuantity is a number in one of the code's units.
	KindQuantity ValueKind = "quantity"
	// KindCoded is one answer of the code's answer list.
	KindCoded ValueKind = "coded"
	// KindBoolean is true or false. No catalogued code is boolean today: NEWS2's
	// "air or oxygen?" is derived from 3150-0 or 3151-8, because no LOINC code
	// for "on supplemental oxygen [presence]" could be verified.
	KindBoolean ValueKind = "boolean"
	// KindPanel has no value of its own: it groups component codes.
	KindPanel ValueKind = "panel"
)

// Sex selects a reference range. Patients carry FHIR administrative sex
// (male, female, other, unknown); ranges are male, female or any.
type Sex string

// The sexes a range is written for.
const (
	SexMale   Sex = "male"
	SexFemale Sex = "female"
	SexAny    Sex = "any"
)

// year is an age of one year, in the months AgeBand counts.
const year = 12

// AgeBand is a span of ages in completed calendar months, from FromMonths
// (inclusive) up to ToMonths (exclusive); ToMonths 0 means no upper limit.
// Month 0 is the first month of life, so the neonatal period (0–28 days) is
// taken as month 0.
type AgeBand struct {
	FromMonths int `json:"fromMonths"`
	ToMonths   int `json:"toMonths,omitempty"`
}

// Contains reports whether an age in completed months falls in the band.
func (b AgeBand) Contains(months int) bool {
	return months >= b.FromMonths && (b.ToMonths == 0 || months < b.ToMonths)
}

// allAges is the band every age falls in.
var allAges = AgeBand{}

// from is the band of ages from months on.
func from(months int) AgeBand { return AgeBand{FromMonths: months} }

// ages is the band [fromMonths, toMonths).
func ages(fromMonths, toMonths int) AgeBand {
	return AgeBand{FromMonths: fromMonths, ToMonths: toMonths}
}

// Subject is who a value is interpreted for: the patient's sex and age at the
// observation's effective time.
type Subject struct {
	// Sex is the patient's administrative sex; anything but male or female
	// matches the "any" ranges, or both sexes' ranges combined.
	Sex Sex `json:"sex"`
	// AgeMonths is the age in completed calendar months at the effective time.
	AgeMonths int `json:"ageMonths"`
}

// dateLayout is the FHIR date form patient birth dates use.
const dateLayout = "2006-01-02"

var (
	errBirthDate   = errors.New("must be a date in YYYY-MM-DD form")
	errBornLater   = errors.New("is after the effective time")
	errNoEffective = errors.New("effective time is required")
)

// SubjectAt builds the subject for an observation effective at, from the
// patient's sex and birth date (YYYY-MM-DD). The age is counted on the
// calendar date of at in at's own location.
func SubjectAt(sex, birthDate string, at time.Time) (Subject, error) {
	if at.IsZero() {
		return Subject{}, errNoEffective
	}
	born, err := time.Parse(dateLayout, birthDate)
	if err != nil {
		return Subject{}, errBirthDate
	}
	months, ok := completedMonths(born, at)
	if !ok {
		return Subject{}, errBornLater
	}
	return Subject{Sex: Sex(sex), AgeMonths: months}, nil
}

// completedMonths counts whole calendar months from a birth date to the
// calendar date of at; false when at's date is before the birth date.
func completedMonths(born, at time.Time) (int, bool) {
	by, bm, bd := born.Date()
	ay, am, ad := at.Date()
	months := (ay-by)*year + int(am-bm)
	if ad < bd {
		months--
	}
	if months < 0 {
		return 0, false
	}
	return months, true
}

// roundTo rounds v half away from zero to the given number of decimals. A
// relative nudge of 1e-12 makes decimal inputs that binary floating point
// stores just below a half (35.05 is stored as 35.04999…) round the way they
// were written; no real measurement carries that many digits.
func roundTo(v float64, decimals int) float64 {
	p := math.Pow10(decimals)
	x := v * p
	if x >= 0 {
		return math.Floor(x*(1+1e-12)+0.5) / p
	}
	return -math.Floor(-x*(1+1e-12)+0.5) / p
}
