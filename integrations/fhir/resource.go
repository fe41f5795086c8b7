// Package fhir maps the engine's records to FHIR R4 resources
// (https://hl7.org/fhir/R4/) as JSON: Patient, Observation, Encounter,
// AllergyIntolerance, Practitioner, Task, MedicationRequest, ServiceRequest
// and DiagnosticReport, Procedure and Appointment, CarePlan, Flag and
// AuditEvent, and the OperationOutcome, Bundle and CapabilityStatement the
// FHIR API answers with. It holds no store and does
// no I/O: the API reads the records and this package says how they read in
// FHIR.
package fhir

import (
	"strconv"
	"time"
)

// Version is the FHIR version the resources follow.
const Version = "4.0.1"

// MediaType is the FHIR JSON media type.
const MediaType = "application/fhir+json"

// Code systems and identifier systems the mappings use.
const (
	// SystemMRN is the identifier system of our medical record numbers.
	SystemMRN = "urn:zarish:mrn"
	// SystemLOINC is LOINC, the code system of every observation code.
	SystemLOINC = "http://loinc.org"
	// SystemUCUM is UCUM, the system of every quantity's unit.
	SystemUCUM = "http://unitsofmeasure.org"
	// SystemInterpretation is HL7 v3 ObservationInterpretation.
	SystemInterpretation = "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation"
	// SystemObservationCategory is the observation-category code system.
	SystemObservationCategory = "http://terminology.hl7.org/CodeSystem/observation-category"
	// SystemActCode is HL7 v3 ActCode, the system of Encounter.class.
	SystemActCode = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
	// SystemActPriority is HL7 v3 ActPriority, the system of Encounter.priority.
	SystemActPriority = "http://terminology.hl7.org/CodeSystem/v3-ActPriority"
	// SystemParticipationType is HL7 v3 ParticipationType.
	SystemParticipationType = "http://terminology.hl7.org/CodeSystem/v3-ParticipationType"
	// SystemAllergyClinical is the AllergyIntolerance clinical status system.
	SystemAllergyClinical = "http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical"
	// SystemAllergyVerification is the AllergyIntolerance verification status system.
	SystemAllergyVerification = "http://terminology.hl7.org/CodeSystem/allergyintolerance-verification"
)

// Meta is a resource's metadata: its version and when it last changed.
type Meta struct {
	VersionID   string `json:"versionId,omitempty"`
	LastUpdated string `json:"lastUpdated,omitempty"`
}

// Coding is one code of a code system.
type Coding struct {
	System  string `json:"system,omitempty"`
	Code    string `json:"code,omitempty"`
	Display string `json:"display,omitempty"`
	// UserSelected marks the code a person chose, beside those the engine
	// derived from it.
	UserSelected bool `json:"userSelected,omitempty"`
}

// CodeableConcept is a concept given by codes, a text, or both.
type CodeableConcept struct {
	Coding []Coding `json:"coding,omitempty"`
	Text   string   `json:"text,omitempty"`
}

// Reference points at another resource ("Patient/<id>"), or names one of
// Type by its business identifier (a resource this server does not serve),
// or only names it.
type Reference struct {
	Reference  string      `json:"reference,omitempty"`
	Type       string      `json:"type,omitempty"`
	Identifier *Identifier `json:"identifier,omitempty"`
	Display    string      `json:"display,omitempty"`
}

// Identifier is a business identifier in the system of its issuer.
type Identifier struct {
	Use    string           `json:"use,omitempty"`
	Type   *CodeableConcept `json:"type,omitempty"`
	System string           `json:"system,omitempty"`
	Value  string           `json:"value,omitempty"`
}

// HumanName is a person's name.
type HumanName struct {
	Use    string   `json:"use,omitempty"`
	Text   string   `json:"text,omitempty"`
	Family string   `json:"family,omitempty"`
	Given  []string `json:"given,omitempty"`
}

// ContactPoint is a phone number or an email address.
type ContactPoint struct {
	System string `json:"system,omitempty"`
	Value  string `json:"value,omitempty"`
	Use    string `json:"use,omitempty"`
}

// Address is a postal address.
type Address struct {
	Use        string   `json:"use,omitempty"`
	Line       []string `json:"line,omitempty"`
	City       string   `json:"city,omitempty"`
	District   string   `json:"district,omitempty"`
	State      string   `json:"state,omitempty"`
	PostalCode string   `json:"postalCode,omitempty"`
	Country    string   `json:"country,omitempty"`
}

// Period is a span of time; an open end is omitted.
type Period struct {
	Start string `json:"start,omitempty"`
	End   string `json:"end,omitempty"`
}

// Quantity is a measured amount with its UCUM unit.
type Quantity struct {
	Value  float64 `json:"value"`
	Unit   string  `json:"unit,omitempty"`
	System string  `json:"system,omitempty"`
	Code   string  `json:"code,omitempty"`
}

// Annotation is a note.
type Annotation struct {
	Text string `json:"text"`
}

// instant is t as a FHIR instant (UTC, to the nanosecond when it has them).
func instant(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

// instantPtr is instant(*t), or "" when t is nil.
func instantPtr(t *time.Time) string {
	if t == nil {
		return ""
	}
	return instant(*t)
}

// instantOrEmpty is instant(t), or "" for the zero time.
func instantOrEmpty(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return instant(t)
}

// ucum is a quantity in a UCUM unit.
func ucum(value float64, unit string) *Quantity {
	return &Quantity{Value: value, Unit: unit, System: SystemUCUM, Code: unit}
}

// versionMeta is the metadata of version version, last changed at updated.
func versionMeta(version int, updated time.Time) *Meta {
	m := &Meta{VersionID: strconv.Itoa(version)}
	if !updated.IsZero() {
		m.LastUpdated = instant(updated)
	}
	return m
}

// reference is the relative reference to typ/id.
func reference(typ, id string) *Reference { return &Reference{Reference: typ + "/" + id} }
