package bundle

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/zarish-sphere/zarish/domain"
	"github.com/zarish-sphere/zarish/domain/observation"
	"github.com/zarish-sphere/zarish/domain/patient"
)

// errNotImported marks an entry the engine has no place for: it is
// answered with the reason, and does not refuse a transaction.
var errNotImported = errors.New("not imported")

// systemLOINC is the coding system of the codes the catalogue holds.
const systemLOINC = "http://loinc.org"

// The few parts of FHIR R4 resources the importer reads.
type (
	fhirPatient struct {
		ID         string           `json:"id"`
		Identifier []fhirIdentifier `json:"identifier"`
		Name       []fhirName       `json:"name"`
		Gender     string           `json:"gender"`
		BirthDate  string           `json:"birthDate"`
	}
	fhirIdentifier struct {
		System string `json:"system"`
		Value  string `json:"value"`
	}
	fhirName struct {
		Use    string   `json:"use"`
		Family string   `json:"family"`
		Given  []string `json:"given"`
	}
	fhirObservation struct {
		ID                   string               `json:"id"`
		Status               string               `json:"status"`
		Code                 fhirCodeableConcept  `json:"code"`
		Subject              *fhirReference       `json:"subject"`
		EffectiveDateTime    string               `json:"effectiveDateTime"`
		Issued               string               `json:"issued"`
		ValueQuantity        *fhirQuantity        `json:"valueQuantity"`
		ValueCodeableConcept *fhirCodeableConcept `json:"valueCodeableConcept"`
		ValueString          *string              `json:"valueString"`
		ValueBoolean         *bool                `json:"valueBoolean"`
		Component            []fhirComponent      `json:"component"`
	}
	fhirComponent struct {
		Code          fhirCodeableConcept `json:"code"`
		ValueQuantity *fhirQuantity       `json:"valueQuantity"`
	}
	fhirCodeableConcept struct {
		Coding []fhirCoding `json:"coding"`
	}
	fhirCoding struct {
		System string `json:"system"`
		Code   string `json:"code"`
	}
	fhirQuantity struct {
		Value  *float64 `json:"value"`
		Unit   string   `json:"unit"`
		System string   `json:"system"`
		Code   string   `json:"code"`
	}
	fhirReference struct {
		Reference string `json:"reference"`
	}
)

// patientPlan is a Patient entry mapped to the register's details.
type patientPlan struct {
	details patient.Details
	// refs are the references other entries may name it by: its fullUrl
	// and Patient/<id>.
	refs []string
}

// observationPlan is an Observation entry mapped to an input; its patient
// is resolved when the bundle has been read.
type observationPlan struct {
	input   observation.Input
	subject string
}

// mapPatient reads a Patient resource into the register's details.
func mapPatient(e Entry, now time.Time) (patientPlan, error) {
	var r fhirPatient
	if err := json.Unmarshal(e.Resource, &r); err != nil {
		return patientPlan{}, fmt.Errorf("the Patient does not parse: %w", err)
	}
	d := patient.Details{BirthDate: r.BirthDate, Sex: r.Gender}
	if n, ok := officialName(r.Name); ok {
		d.Name = patient.Name{Family: n.Family, Given: n.Given}
	}
	for _, id := range r.Identifier {
		d.Identifiers = append(d.Identifiers, patient.Identifier{System: id.System, Value: id.Value})
	}
	d = d.Normalized()
	if err := d.Validate(now); err != nil {
		return patientPlan{}, err
	}
	p := patientPlan{details: d}
	if e.FullURL != "" {
		p.refs = append(p.refs, e.FullURL)
	}
	if r.ID != "" {
		p.refs = append(p.refs, "Patient/"+r.ID)
	}
	return p, nil
}

// officialName is the name of use official, else the first.
func officialName(names []fhirName) (fhirName, bool) {
	for _, n := range names {
		if n.Use == "official" {
			return n, true
		}
	}
	if len(names) == 0 {
		return fhirName{}, false
	}
	return names[0], true
}

// mapObservation reads an Observation resource into an input, if its code
// is one the catalogue holds.
func mapObservation(e Entry) (observationPlan, error) {
	var r fhirObservation
	if err := json.Unmarshal(e.Resource, &r); err != nil {
		return observationPlan{}, fmt.Errorf("the Observation does not parse: %w", err)
	}
	code, ok := loinc(r.Code)
	if !ok {
		return observationPlan{}, fmt.Errorf("%w: the Observation's code has no LOINC coding", errNotImported)
	}
	if _, ok := observation.Lookup(code); !ok {
		return observationPlan{}, fmt.Errorf("%w: LOINC %s is not in the observation catalogue", errNotImported, code)
	}
	if r.Subject == nil || r.Subject.Reference == "" {
		return observationPlan{}, errors.New("the Observation names no subject")
	}
	in := observation.Input{Code: code}
	switch r.Status {
	case "final", "amended", "corrected":
		in.Status = observation.StatusFinal
	case "preliminary":
		in.Status = observation.StatusPreliminary
	default:
		return observationPlan{}, fmt.Errorf("%w: an Observation of status %q is not imported", errNotImported, r.Status)
	}
	if r.EffectiveDateTime == "" {
		return observationPlan{}, errors.New("the Observation has no effectiveDateTime")
	}
	at, err := time.Parse(time.RFC3339, r.EffectiveDateTime)
	if err != nil {
		return observationPlan{}, fmt.Errorf("effectiveDateTime %q is not a date-time with a time zone", r.EffectiveDateTime)
	}
	in.EffectiveAt = at
	if r.Issued != "" {
		issued, err := time.Parse(time.RFC3339, r.Issued)
		if err != nil {
			return observationPlan{}, fmt.Errorf("issued %q is not an instant", r.Issued)
		}
		in.Issued = &issued
	}
	switch {
	case r.ValueQuantity != nil:
		in.Value = &observation.ValueInput{Value: r.ValueQuantity.Value, Unit: unitOf(*r.ValueQuantity)}
	case r.ValueCodeableConcept != nil:
		if len(r.ValueCodeableConcept.Coding) == 0 {
			return observationPlan{}, errors.New("valueCodeableConcept has no coding")
		}
		in.Value = &observation.ValueInput{Code: r.ValueCodeableConcept.Coding[0].Code}
	case r.ValueString != nil:
		in.Value = &observation.ValueInput{Text: r.ValueString}
	case r.ValueBoolean != nil:
		in.Value = &observation.ValueInput{Boolean: r.ValueBoolean}
	}
	for i, c := range r.Component {
		cc, ok := loinc(c.Code)
		if !ok || c.ValueQuantity == nil {
			return observationPlan{}, fmt.Errorf("component[%d] needs a LOINC code and a valueQuantity", i)
		}
		in.Components = append(in.Components, observation.ComponentInput{Code: cc, Value: c.ValueQuantity.Value, Unit: unitOf(*c.ValueQuantity)})
	}
	return observationPlan{input: in, subject: r.Subject.Reference}, nil
}

// loinc is the concept's LOINC code.
func loinc(c fhirCodeableConcept) (string, bool) {
	for _, coding := range c.Coding {
		if coding.System == systemLOINC && coding.Code != "" {
			return coding.Code, true
		}
	}
	return "", false
}

// unitOf is the quantity's UCUM code, else its unit text.
func unitOf(q fhirQuantity) string {
	if q.Code != "" && (q.System == "" || q.System == "http://unitsofmeasure.org") {
		return q.Code
	}
	return q.Unit
}

// reason is err as an entry's refusal says it: each field of a validation
// error named, in the resource's terms.
func reason(err error) string {
	if errors.Is(err, errNotImported) {
		return strings.TrimPrefix(err.Error(), errNotImported.Error()+": ")
	}
	var v *domain.ValidationError
	if !errors.As(err, &v) || len(v.Fields) == 0 {
		return err.Error()
	}
	parts := make([]string, len(v.Fields))
	for i, f := range v.Fields {
		parts[i] = f.Field + " " + f.Message
	}
	return strings.Join(parts, "; ")
}
