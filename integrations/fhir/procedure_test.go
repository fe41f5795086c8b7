package fhir

import (
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/zarish-sphere/zarish/domain/procedure"
)

func TestFromProcedureAndBooking(t *testing.T) {
	at := time.Date(2026, 12, 8, 9, 0, 0, 0, time.UTC)
	patient, surgeon, room, theatreNurse := uuid.Must(uuid.NewV7()), uuid.Must(uuid.NewV7()), uuid.Must(uuid.NewV7()), uuid.Must(uuid.NewV7())
	staff, cArm := uuid.Must(uuid.NewV7()), uuid.Must(uuid.NewV7())
	p := procedure.Procedure{
		Request: procedure.Request{ID: uuid.MustParse("0193c0de-0000-7000-8000-00000000b001"), PatientID: patient,
			Procedure: procedure.Coding{System: procedure.SystemSNOMED, Code: "80146002", Display: "Appendectomy"},
			Duration:  90 * time.Minute,
			Requirements: []procedure.Requirement{{Type: procedure.KindRoom, Capability: "operating-theatre"},
				{Type: procedure.KindStaff, Skill: "surgeon"}, {Type: procedure.KindEquipment, Kind: "c-arm"}},
			Window: procedure.Period{From: at, To: at.Add(48 * time.Hour)}, Priority: procedure.PriorityUrgent,
			Notes: "latex allergy", CreatedAt: at.Add(-time.Hour)},
		Status: procedure.StatusBooked,
		Slot: &procedure.Slot{Period: procedure.Period{From: at.Add(2 * time.Hour), To: at.Add(210 * time.Minute)},
			Resources: [][]uuid.UUID{{room}, {staff}, {cArm}}, Team: []uuid.UUID{surgeon}},
		Version: 3, UpdatedAt: at,
	}
	directory := map[uuid.UUID]procedure.Resource{
		room:  {ID: room, Kind: procedure.KindRoom, Name: "Theatre 2"},
		staff: {ID: staff, Kind: procedure.KindStaff, Name: "Dr. Karim", PractitionerID: &surgeon},
	}
	appendectomy := CodeableConcept{Coding: []Coding{{System: SystemSNOMED, Code: "80146002", Display: "Appendectomy"}}, Text: "Appendectomy"}
	got := FromBooking(p, directory)
	shape(t, got, "status", "participant")
	want := Appointment{ResourceType: "Appointment", ID: p.Request.ID.String(), Meta: &Meta{VersionID: "3", LastUpdated: "2026-12-08T09:00:00Z"},
		Status: "booked", ServiceType: []CodeableConcept{appendectomy}, Description: "Appendectomy",
		Start: "2026-12-08T11:00:00Z", End: "2026-12-08T12:30:00Z", MinutesDuration: 90, Created: "2026-12-08T08:00:00Z",
		Comment: "latex allergy",
		Participant: []AppointmentParticipant{
			{Actor: &Reference{Reference: "Patient/" + patient.String()}, Required: "required", Status: "accepted"},
			{Type: []CodeableConcept{{Text: "room"}}, Actor: &Reference{Type: "Location",
				Identifier: &Identifier{System: SystemProcedureResource, Value: room.String()}, Display: "Theatre 2"}, Required: "required", Status: "accepted"},
			{Type: []CodeableConcept{{Text: "staff"}}, Actor: &Reference{Reference: "Practitioner/" + surgeon.String(), Display: "Dr. Karim"},
				Required: "required", Status: "accepted"},
			{Type: []CodeableConcept{{Text: "equipment"}}, Actor: &Reference{Type: "Device",
				Identifier: &Identifier{System: SystemProcedureResource, Value: cArm.String()}}, Required: "required", Status: "accepted"},
		},
		RequestedPeriod: []Period{{Start: "2026-12-08T09:00:00Z", End: "2026-12-10T09:00:00Z"}}}
	if a, b := mappedJSON(t, got), mappedJSON(t, want); a != b {
		t.Errorf("booking mapped as\n%s\nwant\n%s", a, b)
	}
	pr := FromProcedure(p)
	if pr.Status != "preparation" || pr.Code.Coding[0].Code != "80146002" || pr.Subject.Reference != "Patient/"+patient.String() ||
		pr.PerformedPeriod != nil || len(pr.Performer) != 1 || pr.Performer[0].Actor.Reference != "Practitioner/"+surgeon.String() {
		t.Errorf("booked procedure mapped as %s", mappedJSON(t, pr))
	}

	// Completed: the period performed, the team, the outcome.
	done := p
	started := at.Add(2 * time.Hour)
	done.Status, done.StartedAt = procedure.StatusCompleted, &started
	done.Completion = &procedure.Completion{Outcome: procedure.OutcomePartiallySuccessful, StartedAt: started,
		EndedAt: started.Add(100 * time.Minute), Team: []uuid.UUID{surgeon, theatreNurse}, Notes: "converted to open",
		Complications: []procedure.Coding{{System: procedure.SystemSNOMED, Code: "131148009", Display: "Bleeding"}}}
	pr = FromProcedure(done)
	wantProcedure := Procedure{ResourceType: "Procedure", ID: p.Request.ID.String(), Meta: &Meta{VersionID: "3", LastUpdated: "2026-12-08T09:00:00Z"},
		Status: "completed", Code: &appendectomy, Subject: Reference{Reference: "Patient/" + patient.String()},
		PerformedPeriod: &Period{Start: "2026-12-08T11:00:00Z", End: "2026-12-08T12:40:00Z"},
		Performer: []ProcedurePerformer{{Actor: Reference{Reference: "Practitioner/" + surgeon.String()}},
			{Actor: Reference{Reference: "Practitioner/" + theatreNurse.String()}}},
		Outcome: &CodeableConcept{Coding: []Coding{{System: SystemSNOMED, Code: "385670004", Display: "Partially successful"}},
			Text: "Partially successful"},
		Complication: []CodeableConcept{{Coding: []Coding{{System: SystemSNOMED, Code: "131148009", Display: "Bleeding"}}, Text: "Bleeding"}},
		Note:         []Annotation{{Text: "converted to open"}}}
	if a, b := mappedJSON(t, pr), mappedJSON(t, wantProcedure); a != b {
		t.Errorf("completed procedure mapped as\n%s\nwant\n%s", a, b)
	}
	if got := FromBooking(done, directory).Status; got != "fulfilled" {
		t.Errorf("a completed booking is %s", got)
	}

	// Every status, in both value sets, and back.
	wantStatus := map[procedure.Status][2]string{
		procedure.StatusRequested: {"preparation", "proposed"}, procedure.StatusHeld: {"preparation", "pending"},
		procedure.StatusBooked: {"preparation", "booked"}, procedure.StatusCheckedIn: {"preparation", "checked-in"},
		procedure.StatusInProgress: {"in-progress", "arrived"}, procedure.StatusCompleted: {"completed", "fulfilled"},
		procedure.StatusCancelled: {"not-done", "cancelled"}, procedure.StatusNoShow: {"not-done", "noshow"},
		procedure.StatusUnscheduled: {"preparation", "waitlist"},
	}
	for _, st := range procedure.Statuses {
		q := p
		q.Status = st
		proc, appt := ProcedureStatus(q), FromBooking(q, nil).Status
		if proc != wantStatus[st][0] || appt != wantStatus[st][1] || !slices.Contains(ProcedureStatuses, proc) ||
			!slices.Contains(AppointmentStatuses, appt) || !slices.Contains(ProcedureStatusesOf(proc), st) {
			t.Errorf("%s is %s and %s", st, proc, appt)
		}
		if back, ok := AppointmentStatusOf(appt); !ok || back != st {
			t.Errorf("%s maps back to %s", appt, back)
		}
	}
	stopped := p
	stopped.Status, stopped.StartedAt = procedure.StatusCancelled, &started
	if got := ProcedureStatus(stopped); got != "stopped" {
		t.Errorf("cancelled after its start: %s", got)
	}
	for _, code := range []string{"on-hold", "entered-in-error", "unknown"} {
		if got := ProcedureStatusesOf(code); got != nil {
			t.Errorf("%s is %v", code, got)
		}
	}
	if _, ok := AppointmentStatusOf("entered-in-error"); ok {
		t.Error("entered-in-error is a booking status of ours")
	}
	// A request waiting for its slot has no time, and the patient is yet to
	// be asked.
	waiting := p
	waiting.Status, waiting.Slot = procedure.StatusRequested, nil
	if got := FromBooking(waiting, nil); got.Start != "" || len(got.Participant) != 1 || got.Participant[0].Status != "needs-action" {
		t.Errorf("a request mapped as %s", mappedJSON(t, got))
	}
}
