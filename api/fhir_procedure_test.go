package api

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/zarish-sphere/zarish/domain/procedure"
	"github.com/zarish-sphere/zarish/integrations/fhir"
)

// theatre adds an operating theatre to the resource directory.
func (a *fhirAPI) theatre(t *testing.T, name string) procedure.Resource {
	t.Helper()
	r, err := procedure.NewResource(procedure.Resource{ID: uuid.Must(uuid.NewV7()), Kind: procedure.KindRoom, Name: name,
		Capabilities: []string{"operating-theatre"}, Active: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := a.procedures.CreateResource(context.Background(), nil, r); err != nil {
		t.Fatal(err)
	}
	return r
}

// requestProcedure stores an appendectomy for patient requested at, moved
// on by change (nil leaves it requested).
func (a *fhirAPI) requestProcedure(t *testing.T, patient uuid.UUID, at time.Time, change func(procedure.Procedure) procedure.Procedure) procedure.Procedure {
	t.Helper()
	p, err := procedure.NewProcedure(procedure.Request{ID: uuid.Must(uuid.NewV7()), PatientID: patient,
		Procedure: procedure.Coding{System: procedure.SystemSNOMED, Code: "80146002", Display: "Appendectomy"},
		Duration:  time.Hour, Requirements: []procedure.Requirement{{Type: procedure.KindRoom, Capability: "operating-theatre"}},
		Window: procedure.Period{From: at, To: at.AddDate(0, 1, 0)}, Priority: procedure.PriorityUrgent,
		RequesterID: fhirOrderer, CreatedAt: at}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := a.procedures.Create(context.Background(), nil, nil, p); err != nil {
		t.Fatal(err)
	}
	if change != nil {
		p = change(p)
		if err := a.procedures.Record(context.Background(), p, nil); err != nil {
			t.Fatal(err)
		}
	}
	return p
}

// bookedIn is a procedure booked in room from start, for its hour, then
// (when cancelledAfterStart) started and cancelled.
func bookedIn(room uuid.UUID, start time.Time, cancelledAfterStart bool) func(procedure.Procedure) procedure.Procedure {
	return func(p procedure.Procedure) procedure.Procedure {
		step := func(st procedure.Status, kind procedure.EventKind) {
			p.Status = st
			p.Version++
			p.Timeline = append(p.Timeline, procedure.Entry{Seq: p.Version, Kind: kind, At: p.Request.CreatedAt, Status: st})
		}
		p.Slot = &procedure.Slot{Period: procedure.Period{From: start, To: start.Add(time.Hour)}, Resources: [][]uuid.UUID{{room}}}
		step(procedure.StatusBooked, procedure.EventBooked)
		if cancelledAfterStart {
			p.StartedAt = &start
			step(procedure.StatusInProgress, procedure.EventStarted)
			step(procedure.StatusCancelled, procedure.EventCancelled)
		}
		return p
	}
}

func TestFHIRProceduresAndAppointments(t *testing.T) {
	a := newFHIRAPI(t).withRoleTokens()
	amina := a.register(t, "Amina", "Begum", "1988-02-29").ID
	rahim := a.register(t, "Rahim", "Uddin", "1975-07-01").ID
	room := a.theatre(t, "Theatre 2")
	jan := time.Date(2026, 1, 10, 8, 0, 0, 0, time.UTC)
	booked := a.requestProcedure(t, amina, jan, bookedIn(room.ID, jan.Add(2*time.Hour), false))
	requested := a.requestProcedure(t, amina, jan.Add(time.Hour), nil)
	stopped := a.requestProcedure(t, amina, jan.Add(2*time.Hour), bookedIn(room.ID, jan.AddDate(0, 0, 2), true))
	other := a.requestProcedure(t, rahim, jan.Add(3*time.Hour), bookedIn(room.ID, jan.AddDate(0, 1, 0), false))

	r := a.as(t, fhirNurseToken, "/fhir/R4/Appointment/"+booked.Request.ID.String(), "appt-read")
	var appt fhir.Appointment
	if err := json.Unmarshal([]byte(r.body), &appt); err != nil || r.status != http.StatusOK {
		t.Fatalf("appointment read: %d %s", r.status, r.body)
	}
	if appt.Status != "booked" || appt.Start != "2026-01-10T10:00:00Z" || appt.End != "2026-01-10T11:00:00Z" || len(appt.Participant) != 2 ||
		appt.Participant[0].Actor.Reference != "Patient/"+amina.String() || appt.Participant[1].Actor.Type != "Location" ||
		appt.Participant[1].Actor.Display != "Theatre 2" || appt.Participant[1].Actor.Identifier.Value != room.ID.String() ||
		r.header.Get("ETag") != `W/"2"` {
		t.Errorf("appointment read as %s", r.body)
	}
	if rec := a.audited(t, "appt-read"); rec.EntityType != "Appointment" || rec.PatientID == nil || *rec.PatientID != amina {
		t.Errorf("audited as %+v", rec)
	}
	r = a.as(t, fhirNurseToken, "/fhir/R4/Procedure/"+stopped.Request.ID.String(), "proc-read")
	var proc fhir.Procedure
	if err := json.Unmarshal([]byte(r.body), &proc); err != nil || r.status != http.StatusOK {
		t.Fatalf("procedure read: %d %s", r.status, r.body)
	}
	if proc.Status != "stopped" || proc.Code.Coding[0].Code != "80146002" || proc.PerformedPeriod.Start != "2026-01-12T08:00:00Z" {
		t.Errorf("procedure read as %s", r.body)
	}
	if rec := a.audited(t, "proc-read"); rec.EntityType != "Procedure" || rec.PatientID == nil || *rec.PatientID != amina {
		t.Errorf("audited as %+v", rec)
	}

	for _, tc := range []struct {
		query string
		want  []string
	}{
		{"Procedure?patient=" + amina.String(), ids(stopped.Request.ID, requested.Request.ID, booked.Request.ID)},
		{"Procedure?patient=" + amina.String() + "&status=preparation", ids(requested.Request.ID, booked.Request.ID)},
		{"Procedure?patient=" + amina.String() + "&status=stopped", ids(stopped.Request.ID)},
		{"Procedure?patient=" + amina.String() + "&status=not-done", ids()},
		{"Procedure?status=on-hold", ids()},
		{"Appointment?patient=" + amina.String() + "&status=booked", ids(booked.Request.ID)},
		{"Appointment?patient=" + amina.String() + "&status=cancelled", ids(stopped.Request.ID)},
		{"Appointment?status=proposed", ids(requested.Request.ID)},
		{"Appointment?date=ge2026-02-01", ids(other.Request.ID)},
		{"Appointment?patient=" + amina.String() + "&date=eq2026-01-10", ids(booked.Request.ID)},
		{"Appointment?date=ge2026-01-11&date=lt2026-02", ids(stopped.Request.ID)},
		{"Appointment?date=ge2026-03-01&date=lt2026-02-01", ids()},
		{"Appointment?status=entered-in-error", ids()},
	} {
		if got := orEmptyIDs(fhirIDs(t, a.get(t, "/fhir/R4/"+tc.query))); !slices.Equal(got, tc.want) {
			t.Errorf("%s found %v, want %v", tc.query, got, tc.want)
		}
	}
	a.as(t, adminToken, "/fhir/R4/Appointment?status=booked", "appt-search")
	if rec := a.audited(t, "appt-search"); !slices.Equal(rec.PatientIDs, []uuid.UUID{rahim, amina}) {
		t.Errorf("search audited as %+v", rec)
	}
	for _, tc := range []struct {
		name, path string
		status     int
		code, expr string
	}{
		{"unknown procedure", "/fhir/R4/Procedure/" + uuid.NewString(), 404, fhir.IssueNotFound, ""},
		{"unknown appointment", "/fhir/R4/Appointment/" + uuid.NewString(), 404, fhir.IssueNotFound, ""},
		{"an appointment status for a procedure", "/fhir/R4/Procedure?status=booked", 400, fhir.IssueInvalid, "status"},
		{"a procedure status for an appointment", "/fhir/R4/Appointment?status=preparation", 400, fhir.IssueInvalid, "status"},
		{"bad date", "/fhir/R4/Appointment?date=2026-13", 400, fhir.IssueInvalid, "date"},
		{"no date search of procedures", "/fhir/R4/Procedure?date=2026", 400, fhir.IssueNotSupported, "date"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			issue := fhirOutcome(t, a.get(t, tc.path), tc.status)
			if issue.Code != tc.code || (tc.expr != "" && !slices.Equal(issue.Expression, []string{tc.expr})) {
				t.Errorf("issue %+v, want %s naming %q", issue, tc.code, tc.expr)
			}
		})
	}
	if r := a.as(t, readerToken, "/fhir/R4/Appointment/"+booked.Request.ID.String(), "appt-reader"); r.status != http.StatusForbidden {
		t.Errorf("a patient reader's read: %d", r.status)
	}
	launched := a.launchedFor(rahim)
	a.refusedOutsideLaunch(t, launched, "/fhir/R4/Appointment/"+booked.Request.ID.String(), amina)
	a.refusedOutsideLaunch(t, launched, "/fhir/R4/Procedure/"+booked.Request.ID.String(), amina)
	if got := fhirIDs(t, a.as(t, launched, "/fhir/R4/Appointment", "appt-own")); !slices.Equal(got, ids(other.Request.ID)) {
		t.Errorf("launched search found %v", got)
	}
}
