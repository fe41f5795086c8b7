package fhir

import (
	"github.com/google/uuid"

	"github.com/zarish-sphere/zarish/domain/procedure"
)

// A procedure is two resources: the request and what became of it as a
// Procedure, and its booking (the slot, and who and what it takes) as an
// Appointment, both with the procedure's id.

// SystemProcedureResource is the identifier system of the procedure
// resource directory's rooms, staff and equipment.
const SystemProcedureResource = "urn:zarish:procedure-resource"

// Procedure is a FHIR R4 Procedure.
type Procedure struct {
	ResourceType    string               `json:"resourceType"`
	ID              string               `json:"id"`
	Meta            *Meta                `json:"meta,omitempty"`
	Status          string               `json:"status"`
	Code            *CodeableConcept     `json:"code,omitempty"`
	Subject         Reference            `json:"subject"`
	Encounter       *Reference           `json:"encounter,omitempty"`
	PerformedPeriod *Period              `json:"performedPeriod,omitempty"`
	Performer       []ProcedurePerformer `json:"performer,omitempty"`
	Outcome         *CodeableConcept     `json:"outcome,omitempty"`
	Complication    []CodeableConcept    `json:"complication,omitempty"`
	Note            []Annotation         `json:"note,omitempty"`
}

// ProcedurePerformer is one practitioner who performed the procedure.
type ProcedurePerformer struct {
	Actor Reference `json:"actor"`
}

// Ref is Procedure/id.
func (p Procedure) Ref() string { return "Procedure/" + p.ID }

// Appointment is a FHIR R4 Appointment: a procedure's booking.
type Appointment struct {
	ResourceType    string                   `json:"resourceType"`
	ID              string                   `json:"id"`
	Meta            *Meta                    `json:"meta,omitempty"`
	Status          string                   `json:"status"`
	ServiceType     []CodeableConcept        `json:"serviceType,omitempty"`
	Description     string                   `json:"description,omitempty"`
	Start           string                   `json:"start,omitempty"`
	End             string                   `json:"end,omitempty"`
	MinutesDuration int                      `json:"minutesDuration,omitempty"`
	Created         string                   `json:"created,omitempty"`
	Comment         string                   `json:"comment,omitempty"`
	Participant     []AppointmentParticipant `json:"participant"`
	RequestedPeriod []Period                 `json:"requestedPeriod,omitempty"`
}

// AppointmentParticipant is the patient, or a room, member of staff or
// piece of equipment the slot takes.
type AppointmentParticipant struct {
	Type     []CodeableConcept `json:"type,omitempty"`
	Actor    *Reference        `json:"actor,omitempty"`
	Required string            `json:"required,omitempty"`
	Status   string            `json:"status"`
}

// Ref is Appointment/id.
func (a Appointment) Ref() string { return "Appointment/" + a.ID }

// ProcedureStatuses are the FHIR R4 Procedure.status codes
// (http://hl7.org/fhir/ValueSet/event-status).
var ProcedureStatuses = []string{"preparation", "in-progress", "not-done", "on-hold", "stopped", "completed",
	"entered-in-error", "unknown"}

// ProcedureStatus is the Procedure.status of p: preparation until it
// starts (requested, held, booked, checked in, or waiting for a slot),
// in-progress, completed; a cancellation is not-done before the start and
// stopped after it, a no-show not-done.
func ProcedureStatus(p procedure.Procedure) string {
	switch p.Status {
	case procedure.StatusRequested, procedure.StatusHeld, procedure.StatusBooked, procedure.StatusCheckedIn,
		procedure.StatusUnscheduled:
		return "preparation"
	case procedure.StatusInProgress:
		return "in-progress"
	case procedure.StatusCompleted:
		return "completed"
	case procedure.StatusCancelled:
		if p.StartedAt != nil {
			return "stopped"
		}
		return "not-done"
	case procedure.StatusNoShow:
		return "not-done"
	}
	return "unknown"
}

// ProcedureStatusesOf are our statuses a procedure of Procedure.status code
// may have; none for a code no procedure of ours has (on-hold,
// entered-in-error, unknown). A cancelled procedure is one of stopped or
// not-done, as ProcedureStatus says.
func ProcedureStatusesOf(code string) []procedure.Status {
	switch code {
	case "preparation":
		return []procedure.Status{procedure.StatusRequested, procedure.StatusHeld, procedure.StatusBooked,
			procedure.StatusCheckedIn, procedure.StatusUnscheduled}
	case "in-progress":
		return []procedure.Status{procedure.StatusInProgress}
	case "completed":
		return []procedure.Status{procedure.StatusCompleted}
	case "stopped":
		return []procedure.Status{procedure.StatusCancelled}
	case "not-done":
		return []procedure.Status{procedure.StatusCancelled, procedure.StatusNoShow}
	}
	return nil
}

// AppointmentStatuses are the FHIR R4 Appointment.status codes
// (http://hl7.org/fhir/ValueSet/appointmentstatus).
var AppointmentStatuses = []string{"proposed", "pending", "booked", "arrived", "fulfilled", "cancelled", "noshow",
	"entered-in-error", "checked-in", "waitlist"}

// appointmentStatus is each status of ours as an Appointment.status: a
// request not yet held is proposed, a hold pending, a procedure waiting
// for another slot on the waitlist, one in progress arrived, a completed
// one fulfilled.
var appointmentStatus = map[procedure.Status]string{
	procedure.StatusRequested: "proposed", procedure.StatusHeld: "pending", procedure.StatusBooked: "booked",
	procedure.StatusCheckedIn: "checked-in", procedure.StatusInProgress: "arrived", procedure.StatusCompleted: "fulfilled",
	procedure.StatusCancelled: "cancelled", procedure.StatusNoShow: "noshow", procedure.StatusUnscheduled: "waitlist",
}

// AppointmentStatusOf is our status of an Appointment.status code, false
// for a code no booking of ours has (entered-in-error).
func AppointmentStatusOf(code string) (procedure.Status, bool) {
	for s, c := range appointmentStatus {
		if c == code {
			return s, true
		}
	}
	return "", false
}

// procedureOutcomes are the outcomes as SNOMED CT concepts
// (http://hl7.org/fhir/ValueSet/procedure-outcome).
var procedureOutcomes = map[procedure.Outcome]Coding{
	procedure.OutcomeSuccessful:          {System: SystemSNOMED, Code: "385669000", Display: "Successful"},
	procedure.OutcomePartiallySuccessful: {System: SystemSNOMED, Code: "385670004", Display: "Partially successful"},
	procedure.OutcomeUnsuccessful:        {System: SystemSNOMED, Code: "385671000", Display: "Unsuccessful"},
}

// procedureCode is a procedure's code as a concept.
func procedureCode(c procedure.Coding) *CodeableConcept {
	if c.Code == "" && c.Display == "" {
		return nil
	}
	cc := &CodeableConcept{Text: c.Display}
	if c.Code != "" {
		cc.Coding = []Coding{{System: c.System, Code: c.Code, Display: c.Display}}
	}
	return cc
}

// FromProcedure is p as a FHIR Procedure: its code (SNOMED CT or CPT), when
// it was performed, by whom (the team that completed it, or the staff its
// slot takes), its outcome and complications.
func FromProcedure(p procedure.Procedure) Procedure {
	r := p.Request
	out := Procedure{
		ResourceType: "Procedure",
		ID:           r.ID.String(),
		Meta:         versionMeta(p.Version, p.UpdatedAt),
		Status:       ProcedureStatus(p),
		Code:         procedureCode(r.Procedure),
		Subject:      *reference("Patient", r.PatientID.String()),
	}
	if r.EncounterID != nil {
		out.Encounter = reference("Encounter", r.EncounterID.String())
	}
	team := []uuid.UUID(nil)
	switch c := p.Completion; {
	case c != nil:
		out.PerformedPeriod = &Period{Start: instant(c.StartedAt), End: instant(c.EndedAt)}
		team = c.Team
		if o, ok := procedureOutcomes[c.Outcome]; ok {
			out.Outcome = &CodeableConcept{Coding: []Coding{o}, Text: o.Display}
		}
		for _, x := range c.Complications {
			out.Complication = append(out.Complication, *procedureCode(x))
		}
		if c.Notes != "" {
			out.Note = []Annotation{{Text: c.Notes}}
		}
	case p.StartedAt != nil:
		out.PerformedPeriod = &Period{Start: instant(*p.StartedAt)}
	}
	if team == nil && p.Slot != nil {
		team = p.Slot.Team
	}
	for _, id := range team {
		out.Performer = append(out.Performer, ProcedurePerformer{Actor: *reference("Practitioner", id.String())})
	}
	return out
}

// resourceType is the FHIR type of each kind of resource a slot takes.
var resourceType = map[procedure.ResourceKind]string{
	procedure.KindRoom: "Location", procedure.KindStaff: "Practitioner", procedure.KindEquipment: "Device",
}

// FromBooking is p's booking as a FHIR Appointment: its slot's start and end
// (none while it waits for one), the patient, and each room, member of staff
// and piece of equipment the slot takes, named from directory (the
// resource directory, by id). A member of staff who is a practitioner is
// referred to as the Practitioner; the others by their id in the
// directory (SystemProcedureResource).
func FromBooking(p procedure.Procedure, directory map[uuid.UUID]procedure.Resource) Appointment {
	r := p.Request
	out := Appointment{
		ResourceType:    "Appointment",
		ID:              r.ID.String(),
		Meta:            versionMeta(p.Version, p.UpdatedAt),
		Status:          appointmentStatus[p.Status],
		Description:     r.Procedure.Display,
		MinutesDuration: int(r.Duration.Minutes()),
		Comment:         r.Notes,
	}
	if out.Status == "" {
		out.Status = "entered-in-error"
	}
	if c := procedureCode(r.Procedure); c != nil {
		out.ServiceType = []CodeableConcept{*c}
	}
	if !r.CreatedAt.IsZero() {
		out.Created = instant(r.CreatedAt)
	}
	if !r.Window.From.IsZero() || !r.Window.To.IsZero() {
		out.RequestedPeriod = []Period{{Start: instantOrEmpty(r.Window.From), End: instantOrEmpty(r.Window.To)}}
	}
	// Who takes part: accepted once booked, tentative while held, and
	// needs-action while the request waits for a slot.
	status := "accepted"
	switch p.Status {
	case procedure.StatusHeld:
		status = "tentative"
	case procedure.StatusRequested, procedure.StatusUnscheduled:
		status = "needs-action"
	}
	out.Participant = []AppointmentParticipant{{Actor: reference("Patient", r.PatientID.String()), Required: "required", Status: status}}
	slot := p.Slot
	if slot == nil {
		return out
	}
	out.Start, out.End = instant(slot.From), instant(slot.To)
	for i, chosen := range slot.Resources {
		kind := procedure.ResourceKind("")
		if i < len(r.Requirements) {
			kind = r.Requirements[i].Type
		}
		for _, id := range chosen {
			res, known := directory[id]
			if known {
				kind = res.Kind
			}
			actor := &Reference{Type: resourceType[kind], Identifier: &Identifier{System: SystemProcedureResource, Value: id.String()},
				Display: res.Name}
			if known && res.PractitionerID != nil {
				actor = &Reference{Reference: "Practitioner/" + res.PractitionerID.String(), Display: res.Name}
			}
			out.Participant = append(out.Participant, AppointmentParticipant{
				Type: []CodeableConcept{{Text: string(kind)}}, Actor: actor, Required: "required", Status: status})
		}
	}
	return out
}
