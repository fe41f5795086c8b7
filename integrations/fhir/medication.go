package fhir

import (
	"math"
	"strconv"
	"strings"

	"github.com/google/uuid"

	"github.com/zarish-sphere/zarish/domain/medication"
	"github.com/zarish-sphere/zarish/domain/prescription"
)

// Code systems of medication requests.
const (
	// SystemRxNorm is RxNorm, the system of the ingredient codes prescribers order by.
	SystemRxNorm = "http://www.nlm.nih.gov/research/umls/rxnorm"
	// SystemMedicationKB is the identifier system of the medication
	// knowledge base's own drug and product ids (warfarin, co-amoxiclav …).
	SystemMedicationKB = "urn:zarish:medication"
	// SystemSNOMED is SNOMED CT.
	SystemSNOMED = "http://snomed.info/sct"
)

// MedicationRequest is a FHIR R4 MedicationRequest: one prescription.
type MedicationRequest struct {
	ResourceType              string            `json:"resourceType"`
	ID                        string            `json:"id"`
	Meta                      *Meta             `json:"meta,omitempty"`
	Status                    string            `json:"status"`
	StatusReason              *CodeableConcept  `json:"statusReason,omitempty"`
	Intent                    string            `json:"intent"`
	MedicationCodeableConcept CodeableConcept   `json:"medicationCodeableConcept"`
	Subject                   Reference         `json:"subject"`
	Encounter                 *Reference        `json:"encounter,omitempty"`
	AuthoredOn                string            `json:"authoredOn,omitempty"`
	Requester                 *Reference        `json:"requester,omitempty"`
	ReasonCode                []CodeableConcept `json:"reasonCode,omitempty"`
	DosageInstruction         []Dosage          `json:"dosageInstruction,omitempty"`
	DispenseRequest           *DispenseRequest  `json:"dispenseRequest,omitempty"`
}

// Ref is MedicationRequest/id.
func (m MedicationRequest) Ref() string { return "MedicationRequest/" + m.ID }

// Dosage is how the medication is to be taken.
type Dosage struct {
	Text            string           `json:"text,omitempty"`
	Timing          *Timing          `json:"timing,omitempty"`
	AsNeededBoolean bool             `json:"asNeededBoolean,omitempty"`
	Route           *CodeableConcept `json:"route,omitempty"`
	DoseAndRate     []DoseAndRate    `json:"doseAndRate,omitempty"`
}

// Timing is when a dose is given: the frequency as written, and its repeat
// where the engine reads one.
type Timing struct {
	Repeat *TimingRepeat    `json:"repeat,omitempty"`
	Code   *CodeableConcept `json:"code,omitempty"`
}

// TimingRepeat is a repeating schedule: count doses, or frequency doses
// every period periodUnit.
type TimingRepeat struct {
	Count      int     `json:"count,omitempty"`
	Frequency  int     `json:"frequency,omitempty"`
	Period     float64 `json:"period,omitempty"`
	PeriodUnit string  `json:"periodUnit,omitempty"`
}

// DoseAndRate is the amount given each time.
type DoseAndRate struct {
	DoseQuantity *Quantity `json:"doseQuantity,omitempty"`
}

// DispenseRequest is what the pharmacy is asked to supply.
type DispenseRequest struct {
	Quantity               *Quantity `json:"quantity,omitempty"`
	ExpectedSupplyDuration *Quantity `json:"expectedSupplyDuration,omitempty"`
}

// MedicationRequestStatuses are the FHIR R4 MedicationRequest.status codes
// (http://hl7.org/fhir/ValueSet/medicationrequest-status). Our statuses bear
// the same names; entered-in-error and unknown are codes no prescription of
// ours has.
var MedicationRequestStatuses = []string{"active", "on-hold", "cancelled", "completed", "entered-in-error",
	"stopped", "draft", "unknown"}

// MedicationRequestStatusOf is our status of a MedicationRequest.status
// code, false for a code no prescription of ours has.
func MedicationRequestStatusOf(code string) (prescription.Status, bool) {
	s := prescription.Status(code)
	return s, s.Valid()
}

// routeCodes are the SNOMED CT routes of administration
// (http://hl7.org/fhir/ValueSet/route-codes) of the engine's routes.
var routeCodes = map[medication.Route]Coding{
	medication.RouteOral:        {System: SystemSNOMED, Code: "26643006", Display: "Oral route"},
	medication.RouteIV:          {System: SystemSNOMED, Code: "47625008", Display: "Intravenous route"},
	medication.RouteIM:          {System: SystemSNOMED, Code: "78421000", Display: "Intramuscular route"},
	medication.RouteSC:          {System: SystemSNOMED, Code: "34206005", Display: "Subcutaneous route"},
	medication.RouteRectal:      {System: SystemSNOMED, Code: "37161004", Display: "Rectal route"},
	medication.RouteSublingual:  {System: SystemSNOMED, Code: "37839007", Display: "Sublingual route"},
	medication.RouteBuccal:      {System: SystemSNOMED, Code: "54471007", Display: "Buccal route"},
	medication.RouteInhaled:     {System: SystemSNOMED, Code: "447694001", Display: "Respiratory tract route"},
	medication.RouteNasal:       {System: SystemSNOMED, Code: "46713006", Display: "Nasal route"},
	medication.RouteTopical:     {System: SystemSNOMED, Code: "6064005", Display: "Topical route"},
	medication.RouteTransdermal: {System: SystemSNOMED, Code: "45890007", Display: "Transdermal route"},
}

// ucumUnits are the dose units prescribers write that are UCUM units, as
// their UCUM codes; the others (tablet, puff) are given as written.
var ucumUnits = map[string]string{"mg": "mg", "g": "g", "mcg": "ug", "ug": "ug", "microgram": "ug", "ng": "ng",
	"mmol": "mmol", "ml": "mL", "mL": "mL", "l": "L", "units": "[iU]", "unit": "[iU]", "iu": "[iU]", "IU": "[iU]",
	"mg/kg": "mg/kg", "mcg/kg": "ug/kg", "units/kg": "[iU]/kg", "mg/m2": "mg/m2"}

// amount is a quantity in unit: a UCUM quantity where the unit is one.
func amount(value float64, unit string) *Quantity {
	if code, ok := ucumUnits[strings.TrimSpace(unit)]; ok {
		return &Quantity{Value: value, Unit: unit, System: SystemUCUM, Code: code}
	}
	return &Quantity{Value: value, Unit: unit}
}

// FromPrescription is p as a FHIR MedicationRequest (intent order): the drug
// as the knowledge base resolved it (and the RxNorm code the prescriber
// ordered by, marked as the user's choice), the dose, route and frequency,
// the quantity to dispense and the course's length. A prescription on hold
// or ended says why in statusReason when its timeline does.
func FromPrescription(p prescription.Prescription) MedicationRequest {
	d, o := p.Details, p.Details.Order
	out := MedicationRequest{
		ResourceType: "MedicationRequest",
		ID:           d.ID.String(),
		Meta:         versionMeta(p.Version, p.UpdatedAt),
		Status:       string(p.Status),
		Intent:       "order",
		Subject:      *reference("Patient", d.PatientID.String()),
	}
	name := d.Drug.Name
	if name == "" {
		name = o.Name
	}
	med := CodeableConcept{Text: name}
	if d.Drug.ID != "" {
		med.Coding = append(med.Coding, Coding{System: SystemMedicationKB, Code: d.Drug.ID, Display: d.Drug.Name})
	}
	if code := strings.TrimSpace(o.Code); code != "" {
		med.Coding = append(med.Coding, Coding{System: SystemRxNorm, Code: code, UserSelected: true})
	}
	out.MedicationCodeableConcept = med
	if d.EncounterID != nil {
		out.Encounter = reference("Encounter", d.EncounterID.String())
	}
	if !d.CreatedAt.IsZero() {
		out.AuthoredOn = instant(d.CreatedAt)
	}
	if d.PrescriberID != uuid.Nil {
		out.Requester = reference("Practitioner", d.PrescriberID.String())
	}
	if o.Indication != "" {
		out.ReasonCode = []CodeableConcept{{Text: o.Indication}}
	}
	if (p.Status == prescription.StatusOnHold || p.Status.Closed()) && p.Last().Note != "" {
		out.StatusReason = &CodeableConcept{Text: p.Last().Note}
	}
	dose := Dosage{Text: dosageText(o), AsNeededBoolean: o.PRN}
	if o.Dose > 0 {
		dose.DoseAndRate = []DoseAndRate{{DoseQuantity: amount(o.Dose, o.DoseUnit)}}
	}
	if o.Route != "" {
		route := &CodeableConcept{Text: o.Route}
		if r, ok := medication.ParseRoute(o.Route); ok {
			route.Coding = []Coding{routeCodes[r]}
		}
		dose.Route = route
	}
	dose.Timing = timing(o)
	out.DosageInstruction = []Dosage{dose}
	var dispense DispenseRequest
	if d.Quantity.Value > 0 {
		dispense.Quantity = amount(d.Quantity.Value, d.Quantity.Unit)
	}
	if o.DurationDays > 0 {
		dispense.ExpectedSupplyDuration = &Quantity{Value: o.DurationDays, Unit: "days", System: SystemUCUM, Code: "d"}
	}
	if dispense != (DispenseRequest{}) {
		out.DispenseRequest = &dispense
	}
	return out
}

// dosageText is the order as a prescriber reads it: "500 mg oral q6h PRN".
func dosageText(o medication.Order) string {
	var parts []string
	if o.Dose > 0 {
		parts = append(parts, strconv.FormatFloat(o.Dose, 'f', -1, 64)+" "+o.DoseUnit)
	}
	if o.Route != "" {
		parts = append(parts, o.Route)
	}
	switch {
	case o.Frequency != "":
		parts = append(parts, o.Frequency)
	case o.DosesPerDay > 0:
		parts = append(parts, strconv.FormatFloat(o.DosesPerDay, 'f', -1, 64)+" times daily")
	}
	if o.PRN {
		parts = append(parts, "PRN")
	}
	return strings.Join(parts, " ")
}

// timing is the order's frequency: as written, and as a repeat where the
// engine reads it as a whole number of doses a day or every so many hours.
func timing(o medication.Order) *Timing {
	t := &Timing{}
	if o.Frequency != "" {
		t.Code = &CodeableConcept{Text: o.Frequency}
	}
	switch f, ok := medication.ParseFrequency(o.Frequency); {
	case o.DosesPerDay > 0 && o.DosesPerDay == math.Trunc(o.DosesPerDay):
		t.Repeat = &TimingRepeat{Frequency: int(o.DosesPerDay), Period: 1, PeriodUnit: "d"}
	case ok && f.Once:
		t.Repeat = &TimingRepeat{Count: 1}
	case ok && f.IntervalHours > 0 && f.IntervalHours == math.Trunc(f.IntervalHours):
		t.Repeat = &TimingRepeat{Frequency: 1, Period: f.IntervalHours, PeriodUnit: "h"}
	}
	if t.Code == nil && t.Repeat == nil {
		return nil
	}
	return t
}
