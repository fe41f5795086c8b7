// Package patient holds the patient registry's rules: what a valid profile is,
// how a registered patient changes over time, how medical record numbers are
// formed and checked, and how names, phones and identifiers are keyed for search.
package patient

import (
	"errors"
	"time"

	"github.com/google/uuid"

	"github.com/zarish-sphere/zarish/domain"
)

// Name is a patient's name: one or more given names and a family name.
type Name struct {
	Given  []string `json:"given"`
	Family string   `json:"family"`
}

// ContactPoint is one way to reach a patient: a phone number or an email address.
type ContactPoint struct {
	// System is "phone" or "email".
	System string `json:"system"`
	Value  string `json:"value"`
	// Use is optional; when set it is a FHIR contact-point-use code:
	// home, work, temp, old or mobile.
	Use string `json:"use,omitempty"`
}

// Address is a postal address; at least one of line, city, postal code or
// country must be present.
type Address struct {
	// Use is optional; when set it is a FHIR address-use code:
	// home, work, temp, old or billing.
	Use        string   `json:"use,omitempty"`
	Line       []string `json:"line,omitempty"`
	City       string   `json:"city,omitempty"`
	District   string   `json:"district,omitempty"`
	State      string   `json:"state,omitempty"`
	PostalCode string   `json:"postalCode,omitempty"`
	// Country is an ISO 3166-1 alpha-2 code such as "BD".
	Country string `json:"country,omitempty"`
}

// EmergencyContact is a person to call on the patient's behalf.
type EmergencyContact struct {
	Name         string `json:"name"`
	Relationship string `json:"relationship"`
	Phone        string `json:"phone"`
}

// Identifier is a business identifier issued by some authority, such as a
// national ID or an insurance number; System names the authority.
type Identifier struct {
	System string `json:"system"`
	Value  string `json:"value"`
}

// Details is what a client sends to register or replace a profile.
type Details struct {
	Name Name `json:"name"`
	// BirthDate is a calendar date in YYYY-MM-DD form.
	BirthDate string `json:"birthDate"`
	// Sex is a FHIR administrative-gender code: male, female, other or unknown.
	Sex               string             `json:"sex"`
	Telecom           []ContactPoint     `json:"telecom,omitempty"`
	Address           []Address          `json:"address,omitempty"`
	EmergencyContacts []EmergencyContact `json:"emergencyContacts,omitempty"`
	Identifiers       []Identifier       `json:"identifiers,omitempty"`
}

// Patient is a registered patient.
type Patient struct {
	ID uuid.UUID `json:"id"`
	// MRN is the medical record number; see FormatMRN.
	MRN string `json:"mrn"`
	// Version starts at 1 and grows by one with every change, for
	// optimistic concurrency.
	Version int  `json:"version"`
	Active  bool `json:"active"`
	Details
	CreatedAt time.Time `json:"createdAt"`
	UpdatedAt time.Time `json:"updatedAt"`
}

// NewPatient registers a patient: it checks the ID, the MRN and the details
// (reporting every problem at once as a *domain.ValidationError) and returns
// an active patient at version 1 holding the normalized details.
func NewPatient(id uuid.UUID, mrn string, d Details, now time.Time) (Patient, error) {
	problems := &domain.ValidationError{}
	if id == uuid.Nil {
		problems.Add("id", "is required")
	}
	if err := ValidateMRN(mrn); err != nil {
		problems.Add("mrn", mrnMessage(err))
	}
	if err := d.Validate(now); err != nil {
		problems.Fields = append(problems.Fields, validationFields(err)...)
	}
	if err := problems.OrNil(); err != nil {
		return Patient{}, err
	}
	now = now.UTC()
	return Patient{
		ID:        id,
		MRN:       mrn,
		Version:   1,
		Active:    true,
		Details:   d.Normalized(),
		CreatedAt: now,
		UpdatedAt: now,
	}, nil
}

// Replace swaps the patient's details for d (normalized), bumps the version and
// stamps UpdatedAt. It works on inactive patients too, so a deactivated record
// can still be corrected; Replace leaves Active as it is.
func (p Patient) Replace(d Details, now time.Time) (Patient, error) {
	if err := d.Validate(now); err != nil {
		return p, err
	}
	p.Details = d.Normalized()
	p.Version++
	p.UpdatedAt = now.UTC()
	return p, nil
}

// Deactivate marks the patient inactive, bumps the version and stamps
// UpdatedAt. It reports false, and returns p unchanged, when the patient is
// already inactive, so callers can treat a repeat as a no-op.
func (p Patient) Deactivate(now time.Time) (Patient, bool) {
	if !p.Active {
		return p, false
	}
	p.Active = false
	p.Version++
	p.UpdatedAt = now.UTC()
	return p, true
}

// validationFields unpacks the field errors Details.Validate returns.
func validationFields(err error) []domain.FieldError {
	var ve *domain.ValidationError
	if errors.As(err, &ve) {
		return ve.Fields
	}
	return []domain.FieldError{{Field: "", Message: err.Error()}}
}
