package fhir

import (
	"github.com/zarish-sphere/zarish/domain/alert"
)

// Code systems of flags.
const (
	// SystemFlagCategory is the flag-category code system.
	SystemFlagCategory = "http://terminology.hl7.org/CodeSystem/flag-category"
	// SystemAlertCategory is the identifier system of our alert categories
	// (news2-high, critical-lab-value …).
	SystemAlertCategory = "urn:zarish:alert-category"
	// ExtensionFlagPriority is the flag-priority extension.
	ExtensionFlagPriority = "http://hl7.org/fhir/StructureDefinition/flag-priority"
	// SystemFlagPriority is the flag-priority-code code system.
	SystemFlagPriority = "http://terminology.hl7.org/CodeSystem/flag-priority-code"
)

// Flag is a FHIR R4 Flag: one alert.
type Flag struct {
	ResourceType string            `json:"resourceType"`
	ID           string            `json:"id"`
	Extension    []Extension       `json:"extension,omitempty"`
	Status       string            `json:"status"`
	Category     []CodeableConcept `json:"category,omitempty"`
	Code         CodeableConcept   `json:"code"`
	Subject      Reference         `json:"subject"`
	Period       *Period           `json:"period,omitempty"`
	Encounter    *Reference        `json:"encounter,omitempty"`
}

// Extension is a FHIR extension with a coded value.
type Extension struct {
	URL                  string           `json:"url"`
	ValueCodeableConcept *CodeableConcept `json:"valueCodeableConcept,omitempty"`
}

// Ref is Flag/id.
func (f Flag) Ref() string { return "Flag/" + f.ID }

// FlagStatuses are the FHIR R4 Flag.status codes
// (http://hl7.org/fhir/ValueSet/flag-status).
var FlagStatuses = []string{"active", "inactive", "entered-in-error"}

// FlagStatus is the Flag.status of an alert's status: inactive once
// resolved; active while it stands — open, acknowledged, and also
// exhausted or undeliverable, which end its escalation but leave it
// unhandled, so it is still shown.
func FlagStatus(s alert.Status) string {
	if s == alert.StatusResolved {
		return "inactive"
	}
	return "active"
}

// FlagStatusesOf are our statuses of a Flag.status code; none for
// entered-in-error, which no alert of ours has.
func FlagStatusesOf(code string) []alert.Status {
	var out []alert.Status
	for _, s := range alert.Statuses {
		if FlagStatus(s) == code {
			out = append(out, s)
		}
	}
	return out
}

// flagPriority is each severity as a flag-priority code: no alarm, low,
// medium, high.
var flagPriority = map[alert.Severity]Coding{
	alert.SeverityInfo:     {System: SystemFlagPriority, Code: "PN", Display: "No alarm"},
	alert.SeverityWarning:  {System: SystemFlagPriority, Code: "PL", Display: "Low priority"},
	alert.SeverityUrgent:   {System: SystemFlagPriority, Code: "PM", Display: "Medium priority"},
	alert.SeverityCritical: {System: SystemFlagPriority, Code: "PH", Display: "High priority"},
}

// FromAlert is r as a FHIR Flag (category clinical): its category and
// message as the code, its severity as the flag-priority extension, and the
// period from its raising to its resolution.
func FromAlert(r alert.Record) Flag {
	out := Flag{
		ResourceType: "Flag",
		ID:           r.ID.String(),
		Status:       FlagStatus(r.Status),
		Category:     []CodeableConcept{{Coding: []Coding{{System: SystemFlagCategory, Code: "clinical", Display: "Clinical"}}}},
		Code:         CodeableConcept{Text: r.Message},
		Subject:      *reference("Patient", r.PatientID.String()),
	}
	if r.Category != "" {
		out.Code.Coding = []Coding{{System: SystemAlertCategory, Code: r.Category}}
	}
	if p, ok := flagPriority[r.Severity]; ok {
		out.Extension = []Extension{{URL: ExtensionFlagPriority, ValueCodeableConcept: &CodeableConcept{Coding: []Coding{p}}}}
	}
	if !r.RaisedAt.IsZero() {
		out.Period = &Period{Start: instant(r.RaisedAt), End: instantPtr(r.ResolvedAt)}
	}
	if r.EncounterID != nil {
		out.Encounter = reference("Encounter", r.EncounterID.String())
	}
	return out
}
