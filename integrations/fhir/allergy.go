package fhir

import (
	"github.com/google/uuid"

	"github.com/zarish-sphere/zarish/domain/allergy"
)

// AllergyIntolerance is a FHIR R4 AllergyIntolerance.
type AllergyIntolerance struct {
	ResourceType       string                       `json:"resourceType"`
	ID                 string                       `json:"id"`
	Meta               *Meta                        `json:"meta,omitempty"`
	ClinicalStatus     *CodeableConcept             `json:"clinicalStatus,omitempty"`
	VerificationStatus *CodeableConcept             `json:"verificationStatus,omitempty"`
	Type               string                       `json:"type,omitempty"`
	Category           []string                     `json:"category,omitempty"`
	Criticality        string                       `json:"criticality,omitempty"`
	Code               *CodeableConcept             `json:"code,omitempty"`
	Patient            Reference                    `json:"patient"`
	OnsetDateTime      string                       `json:"onsetDateTime,omitempty"`
	RecordedDate       string                       `json:"recordedDate,omitempty"`
	Recorder           *Reference                   `json:"recorder,omitempty"`
	Note               []Annotation                 `json:"note,omitempty"`
	Reaction           []AllergyIntoleranceReaction `json:"reaction,omitempty"`
}

// AllergyIntoleranceReaction is one past reaction.
type AllergyIntoleranceReaction struct {
	Manifestation []CodeableConcept `json:"manifestation"`
	Severity      string            `json:"severity,omitempty"`
}

// FromAllergy is a as a FHIR AllergyIntolerance. A record entered in error
// carries no clinical status (invariant ait-2); every other record does
// (ait-1).
func FromAllergy(a allergy.Allergy) AllergyIntolerance {
	out := AllergyIntolerance{
		ResourceType:  "AllergyIntolerance",
		ID:            a.ID.String(),
		Meta:          versionMeta(a.Version, a.UpdatedAt),
		Type:          string(a.Type),
		Criticality:   string(a.Criticality),
		Patient:       *reference("Patient", a.PatientID.String()),
		OnsetDateTime: a.Onset,
	}
	if !a.CreatedAt.IsZero() {
		out.RecordedDate = instant(a.CreatedAt)
	}
	if a.VerificationStatus != "" {
		out.VerificationStatus = &CodeableConcept{Coding: []Coding{{System: SystemAllergyVerification,
			Code: string(a.VerificationStatus)}}}
	}
	if a.ClinicalStatus != "" && a.VerificationStatus != allergy.VerificationEnteredInError {
		out.ClinicalStatus = &CodeableConcept{Coding: []Coding{{System: SystemAllergyClinical,
			Code: string(a.ClinicalStatus)}}}
	}
	if a.Category != "" {
		out.Category = []string{string(a.Category)}
	}
	code := &CodeableConcept{Text: a.Substance.Text}
	if c := a.Substance.Code; c != nil {
		code.Coding = []Coding{{System: c.System, Code: c.Code, Display: c.Display}}
	}
	if code.Text != "" || code.Coding != nil {
		out.Code = code
	}
	if a.RecordedBy != uuid.Nil {
		out.Recorder = reference("Practitioner", a.RecordedBy.String())
	}
	if a.Note != "" {
		out.Note = []Annotation{{Text: a.Note}}
	}
	for _, r := range a.Reactions {
		rx := AllergyIntoleranceReaction{Severity: string(r.Severity), Manifestation: []CodeableConcept{}}
		for _, m := range r.Manifestations {
			rx.Manifestation = append(rx.Manifestation, CodeableConcept{Text: m})
		}
		if len(rx.Manifestation) > 0 {
			out.Reaction = append(out.Reaction, rx)
		}
	}
	return out
}
