package fhir

import (
	"github.com/zarish-sphere/zarish/domain/patient"
)

// Patient is a FHIR R4 Patient.
type Patient struct {
	ResourceType string           `json:"resourceType"`
	ID           string           `json:"id"`
	Meta         *Meta            `json:"meta,omitempty"`
	Identifier   []Identifier     `json:"identifier,omitempty"`
	Active       bool             `json:"active"`
	Name         []HumanName      `json:"name,omitempty"`
	Telecom      []ContactPoint   `json:"telecom,omitempty"`
	Gender       string           `json:"gender,omitempty"`
	BirthDate    string           `json:"birthDate,omitempty"`
	Address      []Address        `json:"address,omitempty"`
	Contact      []PatientContact `json:"contact,omitempty"`
}

// PatientContact is a person to call on the patient's behalf.
type PatientContact struct {
	Relationship []CodeableConcept `json:"relationship,omitempty"`
	Name         *HumanName        `json:"name,omitempty"`
	Telecom      []ContactPoint    `json:"telecom,omitempty"`
}

// mrnType is the v2 identifier type of a medical record number.
var mrnType = &CodeableConcept{
	Coding: []Coding{{System: "http://terminology.hl7.org/CodeSystem/v2-0203", Code: "MR", Display: "Medical record number"}},
}

// FromPatient is p as a FHIR Patient: the MRN first among its identifiers
// (system SystemMRN), then the identifiers other authorities issued.
func FromPatient(p patient.Patient) Patient {
	out := Patient{
		ResourceType: "Patient",
		ID:           p.ID.String(),
		Meta:         versionMeta(p.Version, p.UpdatedAt),
		Active:       p.Active,
		Gender:       p.Sex,
		BirthDate:    p.BirthDate,
		Identifier:   []Identifier{{Use: "usual", Type: mrnType, System: SystemMRN, Value: p.MRN}},
	}
	for _, id := range p.Identifiers {
		out.Identifier = append(out.Identifier, Identifier{System: id.System, Value: id.Value})
	}
	if p.Name.Family != "" || len(p.Name.Given) > 0 {
		out.Name = []HumanName{{Use: "official", Family: p.Name.Family, Given: p.Name.Given}}
	}
	for _, t := range p.Telecom {
		out.Telecom = append(out.Telecom, ContactPoint{System: t.System, Value: t.Value, Use: t.Use})
	}
	for _, a := range p.Address {
		out.Address = append(out.Address, Address{Use: a.Use, Line: a.Line, City: a.City, District: a.District,
			State: a.State, PostalCode: a.PostalCode, Country: a.Country})
	}
	for _, e := range p.EmergencyContacts {
		c := PatientContact{Name: &HumanName{Text: e.Name}}
		if e.Relationship != "" {
			c.Relationship = []CodeableConcept{{Text: e.Relationship}}
		}
		if e.Phone != "" {
			c.Telecom = []ContactPoint{{System: "phone", Value: e.Phone}}
		}
		out.Contact = append(out.Contact, c)
	}
	return out
}
