// Package allergy holds the rules of a patient's allergies and intolerances
// (FHIR R4 AllergyIntolerance): what a valid record is, when it is active,
// and when two records name the same substance. It is pure: functions that
// need the time take it as a parameter.
package allergy

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/zarish-sphere/zarish/domain"
)

// The coded fields take their values from the FHIR R4 value sets of
// AllergyIntolerance (https://hl7.org/fhir/R4/allergyintolerance.html):
//   - category: http://hl7.org/fhir/ValueSet/allergy-intolerance-category
//   - criticality: http://hl7.org/fhir/ValueSet/allergy-intolerance-criticality
//   - type: http://hl7.org/fhir/ValueSet/allergy-intolerance-type
//   - clinicalStatus: http://hl7.org/fhir/ValueSet/allergyintolerance-clinical
//   - verificationStatus: http://hl7.org/fhir/ValueSet/allergyintolerance-verification
//   - reaction.severity: http://hl7.org/fhir/ValueSet/reaction-event-severity

// Category is the kind of substance the patient reacts to.
type Category string

// The categories.
const (
	CategoryFood        Category = "food"
	CategoryMedication  Category = "medication"
	CategoryEnvironment Category = "environment"
	CategoryBiologic    Category = "biologic"
)

// Categories lists every category, for validation.
var Categories = []Category{CategoryFood, CategoryMedication, CategoryEnvironment, CategoryBiologic}

// Criticality is the potential for a serious, life-threatening reaction on
// future exposure; it is not the severity of a past reaction.
type Criticality string

// The criticalities.
const (
	CriticalityLow            Criticality = "low"
	CriticalityHigh           Criticality = "high"
	CriticalityUnableToAssess Criticality = "unable-to-assess"
)

// Criticalities lists every criticality, for validation.
var Criticalities = []Criticality{CriticalityLow, CriticalityHigh, CriticalityUnableToAssess}

// Type tells an immune-mediated allergy from a non-immune intolerance.
type Type string

// The types.
const (
	TypeAllergy     Type = "allergy"
	TypeIntolerance Type = "intolerance"
)

// Types lists every type, for validation.
var Types = []Type{TypeAllergy, TypeIntolerance}

// ClinicalStatus says whether the condition is present.
type ClinicalStatus string

// The clinical statuses.
const (
	ClinicalActive   ClinicalStatus = "active"
	ClinicalInactive ClinicalStatus = "inactive"
	ClinicalResolved ClinicalStatus = "resolved"
)

// ClinicalStatuses lists every clinical status, for validation.
var ClinicalStatuses = []ClinicalStatus{ClinicalActive, ClinicalInactive, ClinicalResolved}

// Valid reports whether s is a known clinical status.
func (s ClinicalStatus) Valid() bool { return slices.Contains(ClinicalStatuses, s) }

// VerificationStatus is how certain the record is.
type VerificationStatus string

// The verification statuses.
const (
	VerificationUnconfirmed    VerificationStatus = "unconfirmed"
	VerificationConfirmed      VerificationStatus = "confirmed"
	VerificationRefuted        VerificationStatus = "refuted"
	VerificationEnteredInError VerificationStatus = "entered-in-error"
)

// VerificationStatuses lists every verification status, for validation.
var VerificationStatuses = []VerificationStatus{VerificationUnconfirmed, VerificationConfirmed,
	VerificationRefuted, VerificationEnteredInError}

// Severity is how bad a past reaction was.
type Severity string

// The reaction severities.
const (
	SeverityMild     Severity = "mild"
	SeverityModerate Severity = "moderate"
	SeveritySevere   Severity = "severe"
)

// Severities lists every reaction severity, for validation.
var Severities = []Severity{SeverityMild, SeverityModerate, SeveritySevere}

// Size limits of a record's free text.
const (
	MaxTextLen          = 500
	MaxNoteLen          = 5000
	MaxReactions        = 20
	MaxManifestations   = 20
	MaxManifestationLen = 200
	MaxCodeComponentLen = 255
)

// ErrDuplicate means the patient already has an active record of the same
// substance; a *DuplicateError names it.
var ErrDuplicate = errors.New("the patient already has an active allergy to this substance")

// DuplicateError names the active record a new or changed one duplicates.
type DuplicateError struct {
	ExistingID uuid.UUID
}

func (e *DuplicateError) Error() string {
	return fmt.Sprintf("%v: %s", ErrDuplicate, e.ExistingID)
}

// Unwrap makes errors.Is(err, ErrDuplicate) hold.
func (e *DuplicateError) Unwrap() error { return ErrDuplicate }

// Code is a coded substance: a code from a terminology such as SNOMED CT or
// RxNorm.
type Code struct {
	System  string `json:"system"`
	Code    string `json:"code"`
	Display string `json:"display,omitempty"`
}

// Substance is what the patient reacts to: always a text, and a code when
// one is known.
type Substance struct {
	Text string `json:"text"`
	Code *Code  `json:"code,omitempty"`
}

// CodeKey identifies a coded substance as system|code; empty when uncoded.
func (s Substance) CodeKey() string {
	if s.Code == nil {
		return ""
	}
	return s.Code.System + "|" + s.Code.Code
}

// TextKey identifies a substance by its text, ignoring case and surrounding space.
func (s Substance) TextKey() string { return strings.ToLower(strings.TrimSpace(s.Text)) }

// Same reports whether s and o name the same substance: the same code, or
// the same text regardless of case.
func (s Substance) Same(o Substance) bool {
	if k := s.CodeKey(); k != "" && k == o.CodeKey() {
		return true
	}
	return s.TextKey() != "" && s.TextKey() == o.TextKey()
}

// Reaction is one past reaction: what was seen and how bad it was.
type Reaction struct {
	Manifestations []string `json:"manifestations"`
	Severity       Severity `json:"severity,omitempty"`
}

// Details are the fields a clinician records and may later revise.
type Details struct {
	Substance          Substance          `json:"substance"`
	Category           Category           `json:"category"`
	Criticality        Criticality        `json:"criticality"`
	Type               Type               `json:"type"`
	ClinicalStatus     ClinicalStatus     `json:"clinicalStatus"`
	VerificationStatus VerificationStatus `json:"verificationStatus"`
	Reactions          []Reaction         `json:"reactions"`
	// Onset is when the condition began, as a FHIR partial date: YYYY,
	// YYYY-MM or YYYY-MM-DD.
	Onset string `json:"onset,omitempty"`
	Note  string `json:"note"`
	// RecordedBy is the practitioner who recorded this version.
	RecordedBy uuid.UUID `json:"recordedBy"`
}

// Allergy is one allergy or intolerance of a patient.
type Allergy struct {
	ID        uuid.UUID `json:"id"`
	PatientID uuid.UUID `json:"patientId"`
	Details
	// Version starts at 1 and grows by one with every change, for
	// optimistic concurrency.
	Version   int       `json:"version"`
	CreatedAt time.Time `json:"createdAt"`
	UpdatedAt time.Time `json:"updatedAt"`
}

// Active reports whether the record should be acted on: clinically active
// and neither refuted nor entered in error.
func (a Allergy) Active() bool {
	return a.ClinicalStatus == ClinicalActive &&
		a.VerificationStatus != VerificationRefuted && a.VerificationStatus != VerificationEnteredInError
}

// New records an allergy of the patient at version 1. Type defaults to
// allergy, clinicalStatus to active and verificationStatus to unconfirmed;
// an empty substance text takes the code's display. It reports every
// invalid field at once as a *domain.ValidationError.
func New(id, patientID uuid.UUID, d Details, now time.Time) (Allergy, error) {
	problems := &domain.ValidationError{}
	if id == uuid.Nil {
		problems.Add("id", "is required")
	}
	if patientID == uuid.Nil {
		problems.Add("patientId", "is required")
	}
	d = d.normalized()
	d.validate(problems, now)
	if err := problems.OrNil(); err != nil {
		return Allergy{}, err
	}
	now = now.UTC()
	return Allergy{ID: id, PatientID: patientID, Details: d, Version: 1, CreatedAt: now, UpdatedAt: now}, nil
}

// Revise replaces the record's details with d, keeping its id, patient and
// creation time, and bumps the version. Defaults and validation are those
// of New.
func (a Allergy) Revise(d Details, now time.Time) (Allergy, error) {
	problems := &domain.ValidationError{}
	d = d.normalized()
	d.validate(problems, now)
	if err := problems.OrNil(); err != nil {
		return a, err
	}
	a.Details = d
	a.Version++
	a.UpdatedAt = now.UTC()
	return a, nil
}

// FindDuplicate returns the active record among existing, other than a
// itself, that names the same substance as a, when a is active.
func FindDuplicate(existing []Allergy, a Allergy) (Allergy, bool) {
	if !a.Active() {
		return Allergy{}, false
	}
	for _, e := range existing {
		if e.ID != a.ID && e.PatientID == a.PatientID && e.Active() && e.Substance.Same(a.Substance) {
			return e, true
		}
	}
	return Allergy{}, false
}

// normalized trims the free text and fills in the defaults; reactions and
// their manifestations are never nil.
func (d Details) normalized() Details {
	d.Substance.Text = strings.TrimSpace(d.Substance.Text)
	if d.Substance.Code != nil {
		c := Code{System: strings.TrimSpace(d.Substance.Code.System), Code: strings.TrimSpace(d.Substance.Code.Code),
			Display: strings.TrimSpace(d.Substance.Code.Display)}
		d.Substance.Code = &c
		if d.Substance.Text == "" {
			d.Substance.Text = c.Display
		}
	}
	if d.Type == "" {
		d.Type = TypeAllergy
	}
	if d.ClinicalStatus == "" {
		d.ClinicalStatus = ClinicalActive
	}
	if d.VerificationStatus == "" {
		d.VerificationStatus = VerificationUnconfirmed
	}
	reactions := make([]Reaction, 0, len(d.Reactions))
	for _, r := range d.Reactions {
		ms := make([]string, 0, len(r.Manifestations))
		for _, m := range r.Manifestations {
			ms = append(ms, strings.TrimSpace(m))
		}
		reactions = append(reactions, Reaction{Manifestations: ms, Severity: r.Severity})
	}
	d.Reactions = reactions
	d.Onset = strings.TrimSpace(d.Onset)
	d.Note = strings.TrimSpace(d.Note)
	return d
}

func (d Details) validate(problems *domain.ValidationError, now time.Time) {
	switch {
	case d.Substance.Text == "":
		problems.Add("substance.text", "is required (or give substance.code.display)")
	case tooLong(d.Substance.Text, MaxTextLen):
		problems.Add("substance.text", "must be at most 500 characters")
	}
	if c := d.Substance.Code; c != nil {
		for _, part := range []struct{ field, value string }{
			{"substance.code.system", c.System}, {"substance.code.code", c.Code}} {
			switch {
			case part.value == "":
				problems.Add(part.field, "is required when a code is given")
			case tooLong(part.value, MaxCodeComponentLen):
				problems.Add(part.field, "must be at most 255 characters")
			}
		}
		if tooLong(c.Display, MaxTextLen) {
			problems.Add("substance.code.display", "must be at most 500 characters")
		}
	}
	if !slices.Contains(Categories, d.Category) {
		problems.Add("category", "must be food, medication, environment or biologic")
	}
	if !slices.Contains(Criticalities, d.Criticality) {
		problems.Add("criticality", "must be low, high or unable-to-assess")
	}
	if !slices.Contains(Types, d.Type) {
		problems.Add("type", "must be allergy or intolerance")
	}
	if !d.ClinicalStatus.Valid() {
		problems.Add("clinicalStatus", "must be active, inactive or resolved")
	}
	if !slices.Contains(VerificationStatuses, d.VerificationStatus) {
		problems.Add("verificationStatus", "must be unconfirmed, confirmed, refuted or entered-in-error")
	}
	if len(d.Reactions) > MaxReactions {
		problems.Add("reactions", "must hold at most 20 reactions")
	}
	for i, r := range d.Reactions {
		field := "reactions[" + strconv.Itoa(i) + "]"
		switch {
		case len(r.Manifestations) == 0:
			problems.Add(field+".manifestations", "needs at least one manifestation, e.g. hives")
		case len(r.Manifestations) > MaxManifestations:
			problems.Add(field+".manifestations", "must hold at most 20 manifestations")
		}
		for j, m := range r.Manifestations {
			mf := field + ".manifestations[" + strconv.Itoa(j) + "]"
			switch {
			case m == "":
				problems.Add(mf, "must not be empty")
			case tooLong(m, MaxManifestationLen):
				problems.Add(mf, "must be at most 200 characters")
			}
		}
		if r.Severity != "" && !slices.Contains(Severities, r.Severity) {
			problems.Add(field+".severity", "must be mild, moderate or severe")
		}
	}
	if d.Onset != "" {
		if msg := checkOnset(d.Onset, now); msg != "" {
			problems.Add("onset", msg)
		}
	}
	if tooLong(d.Note, MaxNoteLen) {
		problems.Add("note", "must be at most 5000 characters")
	}
	if d.RecordedBy == uuid.Nil {
		problems.Add("recordedBy", "is required: the practitioner recording the allergy")
	}
}

// checkOnset accepts a FHIR partial date (YYYY, YYYY-MM, YYYY-MM-DD) that is
// not after now; it returns what is wrong, or "".
func checkOnset(s string, now time.Time) string {
	var layout string
	switch len(s) {
	case 4:
		layout = "2006"
	case 7:
		layout = "2006-01"
	case 10:
		layout = "2006-01-02"
	default:
		return "must be a date in YYYY, YYYY-MM or YYYY-MM-DD form"
	}
	t, err := time.Parse(layout, s)
	if err != nil || t.Format(layout) != s {
		return "must be a real date in YYYY, YYYY-MM or YYYY-MM-DD form"
	}
	if t.After(now.UTC()) {
		return "must not be in the future"
	}
	return ""
}

// tooLong reports whether s has more than max characters (not bytes).
func tooLong(s string, max int) bool { return utf8.RuneCountInString(s) > max }
