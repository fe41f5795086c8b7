package fhir

import (
	"strconv"

	"github.com/zarish-sphere/zarish/domain/encounter"
)

// Encounter is a FHIR R4 Encounter.
type Encounter struct {
	ResourceType    string                  `json:"resourceType"`
	ID              string                  `json:"id"`
	Meta            *Meta                   `json:"meta,omitempty"`
	Status          string                  `json:"status"`
	Class           Coding                  `json:"class"`
	Priority        *CodeableConcept        `json:"priority,omitempty"`
	Subject         *Reference              `json:"subject,omitempty"`
	Participant     []EncounterParticipant  `json:"participant,omitempty"`
	Period          *Period                 `json:"period,omitempty"`
	ReasonCode      []CodeableConcept       `json:"reasonCode,omitempty"`
	Hospitalization *EncounterHospitalizing `json:"hospitalization,omitempty"`
	Location        []EncounterLocation     `json:"location,omitempty"`
}

// EncounterParticipant is a practitioner taking part, and how.
type EncounterParticipant struct {
	Type       []CodeableConcept `json:"type,omitempty"`
	Individual *Reference        `json:"individual,omitempty"`
}

// EncounterHospitalizing holds where the patient went at discharge.
type EncounterHospitalizing struct {
	DischargeDisposition *CodeableConcept `json:"dischargeDisposition,omitempty"`
}

// EncounterLocation is a location the patient was at, and when.
type EncounterLocation struct {
	Location Reference `json:"location"`
	Status   string    `json:"status,omitempty"`
	Period   *Period   `json:"period,omitempty"`
}

// EncounterStatus is the FHIR R4 Encounter.status of our status: discharged
// is finished; the others bear the same names.
func EncounterStatus(s encounter.Status) string {
	switch s {
	case encounter.StatusPlanned, encounter.StatusArrived, encounter.StatusTriaged,
		encounter.StatusInProgress, encounter.StatusCancelled:
		return string(s)
	case encounter.StatusDischarged:
		return "finished"
	}
	return "unknown"
}

// EncounterStatusOf is our status of a FHIR R4 Encounter.status, false for
// codes no encounter of ours ever has (onleave, entered-in-error, unknown)
// and for codes outside the value set.
func EncounterStatusOf(code string) (encounter.Status, bool) {
	for _, s := range encounter.Statuses {
		if EncounterStatus(s) == code {
			return s, true
		}
	}
	return "", false
}

// EncounterStatuses are the FHIR R4 Encounter.status codes (value set
// http://hl7.org/fhir/ValueSet/encounter-status).
var EncounterStatuses = []string{"planned", "arrived", "triaged", "in-progress", "onleave", "finished",
	"cancelled", "entered-in-error", "unknown"}

// encounterClass is each class as a v3 ActCode.
var encounterClass = map[encounter.Class]Coding{
	encounter.ClassEmergency:  {System: SystemActCode, Code: "EMER", Display: "emergency"},
	encounter.ClassInpatient:  {System: SystemActCode, Code: "IMP", Display: "inpatient encounter"},
	encounter.ClassOutpatient: {System: SystemActCode, Code: "AMB", Display: "ambulatory"},
	encounter.ClassVirtual:    {System: SystemActCode, Code: "VR", Display: "virtual"},
}

// encounterPriority is each request priority as a v3 ActPriority.
var encounterPriority = map[string]Coding{
	"routine": {System: SystemActPriority, Code: "R", Display: "routine"},
	"urgent":  {System: SystemActPriority, Code: "UR", Display: "urgent"},
	"asap":    {System: SystemActPriority, Code: "A", Display: "ASAP"},
	"stat":    {System: SystemActPriority, Code: "S", Display: "stat"},
}

// FromEncounter is r as a FHIR Encounter: its period runs from the
// patient's arrival (or the start of care) to discharge or cancellation,
// and its locations are the stays the record holds, or else its current
// location.
func FromEncounter(r encounter.Record) Encounter {
	out := Encounter{
		ResourceType: "Encounter",
		ID:           r.ID.String(),
		Status:       EncounterStatus(r.Status),
		Class:        encounterClass[r.Class],
		Subject:      reference("Patient", r.PatientID.String()),
	}
	if out.Class.Code == "" {
		out.Class = Coding{System: "http://terminology.hl7.org/CodeSystem/v3-NullFlavor", Code: "UNK", Display: "unknown"}
	}
	// The version is the count of timeline entries; when it changed last is
	// known only where the record holds its timeline (a single read).
	if r.Version > 0 {
		out.Meta = &Meta{VersionID: strconv.Itoa(r.Version)}
		if n := len(r.Timeline); n > 0 {
			out.Meta.LastUpdated = instant(r.Timeline[n-1].At)
		}
	}
	if p, ok := encounterPriority[r.Priority]; ok {
		out.Priority = &CodeableConcept{Coding: []Coding{p}}
	}
	if r.Attending != nil {
		out.Participant = []EncounterParticipant{{
			Type:       []CodeableConcept{{Coding: []Coding{{System: SystemParticipationType, Code: "ATND", Display: "attender"}}}},
			Individual: reference("Practitioner", r.Attending.String()),
		}}
	}
	start := r.ArrivedAt
	if start == nil {
		start = r.StartedAt
	}
	if start != nil || r.EndedAt != nil {
		out.Period = &Period{Start: instantPtr(start), End: instantPtr(r.EndedAt)}
	}
	for _, text := range []string{r.Reason, r.ChiefComplaint} {
		if text != "" {
			out.ReasonCode = append(out.ReasonCode, CodeableConcept{Text: text})
		}
	}
	if r.Disposition != "" {
		out.Hospitalization = &EncounterHospitalizing{DischargeDisposition: &CodeableConcept{Text: string(r.Disposition)}}
	}
	for _, st := range r.Locations {
		l := EncounterLocation{Location: Reference{Display: st.Location}, Status: "completed",
			Period: &Period{Start: instant(st.From), End: instantPtr(st.Until)}}
		if st.Until == nil {
			l.Status = "active"
			if r.Status.Closed() {
				l.Status = "completed"
			}
		}
		out.Location = append(out.Location, l)
	}
	if len(out.Location) == 0 && r.Location != "" {
		status := "active"
		if r.Status.Closed() {
			status = "completed"
		}
		out.Location = []EncounterLocation{{Location: Reference{Display: r.Location}, Status: status}}
	}
	return out
}
