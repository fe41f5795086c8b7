package fhir

import (
	"github.com/zarish-sphere/zarish/domain/observation"
)

// Observation is a FHIR R4 Observation.
type Observation struct {
	ResourceType         string                      `json:"resourceType"`
	ID                   string                      `json:"id"`
	Meta                 *Meta                       `json:"meta,omitempty"`
	BasedOn              []Reference                 `json:"basedOn,omitempty"`
	Status               string                      `json:"status"`
	Category             []CodeableConcept           `json:"category,omitempty"`
	Code                 CodeableConcept             `json:"code"`
	Subject              *Reference                  `json:"subject,omitempty"`
	Encounter            *Reference                  `json:"encounter,omitempty"`
	EffectiveDateTime    string                      `json:"effectiveDateTime,omitempty"`
	Issued               string                      `json:"issued,omitempty"`
	Performer            []Reference                 `json:"performer,omitempty"`
	ValueQuantity        *Quantity                   `json:"valueQuantity,omitempty"`
	ValueCodeableConcept *CodeableConcept            `json:"valueCodeableConcept,omitempty"`
	ValueString          *string                     `json:"valueString,omitempty"`
	ValueBoolean         *bool                       `json:"valueBoolean,omitempty"`
	Interpretation       []CodeableConcept           `json:"interpretation,omitempty"`
	Note                 []Annotation                `json:"note,omitempty"`
	Method               *CodeableConcept            `json:"method,omitempty"`
	ReferenceRange       []ObservationReferenceRange `json:"referenceRange,omitempty"`
	Component            []ObservationComponent      `json:"component,omitempty"`
}

// ObservationReferenceRange is the range a value was judged against.
type ObservationReferenceRange struct {
	Low  *Quantity `json:"low,omitempty"`
	High *Quantity `json:"high,omitempty"`
	Text string    `json:"text,omitempty"`
}

// ObservationComponent is one member of a panel.
type ObservationComponent struct {
	Code           CodeableConcept             `json:"code"`
	ValueQuantity  *Quantity                   `json:"valueQuantity,omitempty"`
	Interpretation []CodeableConcept           `json:"interpretation,omitempty"`
	ReferenceRange []ObservationReferenceRange `json:"referenceRange,omitempty"`
}

// interpretationDisplay names each HL7 v3 ObservationInterpretation flag.
var interpretationDisplay = map[observation.Flag]string{
	observation.FlagNormal: "Normal", observation.FlagLow: "Low", observation.FlagHigh: "High",
	observation.FlagCriticalLow: "Critical low", observation.FlagCriticalHigh: "Critical high",
	observation.FlagAbnormal: "Abnormal",
}

// categoryDisplay names each observation category.
var categoryDisplay = map[observation.Category]string{
	observation.CategoryVitalSigns: "Vital Signs", observation.CategoryLaboratory: "Laboratory",
}

// FromObservation is the current version of o as a FHIR Observation: its
// LOINC code, its value as sent (a quantity in its UCUM unit, a coded
// answer, a text or a boolean), or a panel's components, each with its
// interpretation and reference range.
func FromObservation(o observation.Observation) Observation {
	out := Observation{
		ResourceType:      "Observation",
		ID:                o.ID.String(),
		Meta:              versionMeta(o.Version, o.RecordedAt),
		Status:            string(o.Status),
		Code:              loinc(o.Code, o.Display),
		Subject:           reference("Patient", o.PatientID.String()),
		EffectiveDateTime: instant(o.EffectiveAt),
		Interpretation:    interpretation(o.Interpretation.Flag),
	}
	if !o.Issued.IsZero() {
		out.Issued = instant(o.Issued)
	}
	if o.Category != "" {
		out.Category = []CodeableConcept{{Coding: []Coding{{System: SystemObservationCategory,
			Code: string(o.Category), Display: categoryDisplay[o.Category]}}}}
	}
	if o.EncounterID != nil {
		out.Encounter = reference("Encounter", o.EncounterID.String())
	}
	if o.BasedOn != nil {
		out.BasedOn = []Reference{*reference("ServiceRequest", o.BasedOn.String())}
	}
	if o.Performer.PractitionerID != nil {
		out.Performer = []Reference{*reference("Practitioner", o.Performer.PractitionerID.String())}
	}
	if o.Method != "" {
		out.Method = &CodeableConcept{Text: o.Method}
	}
	if o.Reason != "" {
		out.Note = []Annotation{{Text: o.Reason}}
	}
	if v := o.Value; v != nil {
		switch {
		case v.Quantity != nil:
			out.ValueQuantity = ucum(v.Quantity.Value, v.Quantity.Unit)
			out.ReferenceRange = referenceRange(o.Interpretation.Range, v.Quantity.Canonical.Unit)
		case v.Coding != nil:
			// The catalogue's answer codes (ACVPU's A, C, V…) are its own,
			// not LOINC answer codes, so the coding claims no system.
			out.ValueCodeableConcept = &CodeableConcept{Coding: []Coding{{Code: v.Coding.Code,
				Display: v.Coding.Display}}, Text: v.Coding.Display}
		case v.Boolean != nil:
			b := *v.Boolean
			out.ValueBoolean = &b
		case v.Kind == observation.KindString:
			s := v.Text
			out.ValueString = &s
		}
	}
	for _, c := range o.Components {
		out.Component = append(out.Component, ObservationComponent{
			Code:           loinc(c.Code, c.Display),
			ValueQuantity:  ucum(c.Value.Value, c.Value.Unit),
			Interpretation: interpretation(c.Interpretation.Flag),
			ReferenceRange: referenceRange(c.Interpretation.Range, c.Value.Canonical.Unit),
		})
	}
	return out
}

// loinc is a LOINC code as a concept.
func loinc(code, display string) CodeableConcept {
	return CodeableConcept{Coding: []Coding{{System: SystemLOINC, Code: code, Display: display}}, Text: display}
}

// interpretation is flag as a concept, or nothing when no range applied.
func interpretation(flag observation.Flag) []CodeableConcept {
	if flag == "" {
		return nil
	}
	return []CodeableConcept{{Coding: []Coding{{System: SystemInterpretation, Code: string(flag),
		Display: interpretationDisplay[flag]}}}}
}

// referenceRange is r as a reference range, in its unit or else canonical.
func referenceRange(r *observation.Range, canonical string) []ObservationReferenceRange {
	if r == nil || (r.Low == nil && r.High == nil) {
		return nil
	}
	unit := r.Unit
	if unit == "" {
		unit = canonical
	}
	rr := ObservationReferenceRange{Text: r.Source}
	if r.Low != nil {
		rr.Low = ucum(*r.Low, unit)
	}
	if r.High != nil {
		rr.High = ucum(*r.High, unit)
	}
	return []ObservationReferenceRange{rr}
}
