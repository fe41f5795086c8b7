package fhir

import "github.com/zarish-sphere/zarish/domain/careteam"

// Practitioner is a member of the care team, from the directory.
type Practitioner struct {
	ResourceType string         `json:"resourceType"`
	ID           string         `json:"id"`
	Active       bool           `json:"active"`
	Name         []HumanName    `json:"name,omitempty"`
	Telecom      []ContactPoint `json:"telecom,omitempty"`
	// Qualification holds the practitioner's care-team roles (physician,
	// nurse, pharmacist …) as the directory names them.
	Qualification []Qualification `json:"qualification,omitempty"`
}

// Qualification is one role or qualification of a practitioner.
type Qualification struct {
	Code CodeableConcept `json:"code"`
}

// Ref is Practitioner/id.
func (p Practitioner) Ref() string { return "Practitioner/" + p.ID }

// FromPractitioner is p as a FHIR Practitioner.
func FromPractitioner(p careteam.Practitioner) Practitioner {
	out := Practitioner{ResourceType: "Practitioner", ID: p.ID.String(), Active: p.Active}
	if p.Name != "" {
		out.Name = []HumanName{{Text: p.Name}}
	}
	for _, c := range p.Contacts {
		system := string(c.System)
		if c.System == careteam.ContactPush {
			system = "other" // a device push token: no ContactPoint.system of its own
		}
		out.Telecom = append(out.Telecom, ContactPoint{System: system, Value: c.Value})
	}
	for _, r := range p.Roles {
		out.Qualification = append(out.Qualification, Qualification{Code: CodeableConcept{Text: string(r)}})
	}
	return out
}
