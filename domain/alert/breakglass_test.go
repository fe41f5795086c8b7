package alert_test

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/zarish-sphere/zarish/domain"
	"github.com/zarish-sphere/zarish/domain/alert"
	"github.com/zarish-sphere/zarish/domain/audit"
)

func breakGlassRecord(patient uuid.UUID) audit.Record {
	return audit.Record{ID: uuid.New(), Time: time.Date(2026, 2, 3, 4, 5, 6, 0, time.UTC),
		Actor:  audit.Actor{Subject: "u-karim", ClientID: "er-app", UserID: "u-karim", PractitionerID: "0190a3a0-0000-7000-8000-00000000000b"},
		Action: audit.ActionRead, EntityType: "Patient", EntityID: patient.String(), PatientID: &patient,
		Method: "GET", Route: "/v1/patients/:id", Status: 200, Outcome: audit.OutcomeSuccess,
		BreakGlass: "unconscious patient in resus"}
}

func TestBreakGlassRaiseIsForThePrivacyOfficer(t *testing.T) {
	patient := uuid.New()
	rec := breakGlassRecord(patient)

	r, err := alert.BreakGlassRaise(rec)
	if err != nil {
		t.Fatal(err)
	}
	if r.PatientID != patient || r.Unit != alert.UnitHospital || r.EncounterID != nil || r.Category != alert.CategoryBreakGlass ||
		r.PolicyID != alert.PolicyBreakGlass || r.Severity != alert.SeverityWarning {
		t.Errorf("raise = %+v", r)
	}
	for _, want := range []string{patient.String(), "practitioner 0190a3a0-0000-7000-8000-00000000000b", "client er-app",
		`"unconscious patient in resus"`, rec.ID.String(), "2026-02-03T04:05:06Z", "/v1/audit/reports/break-glass"} {
		if !strings.Contains(r.Message, want) {
			t.Errorf("message %q lacks %q", r.Message, want)
		}
	}
	r.AlertID = uuid.New()
	if err := r.Validate(); err != nil {
		t.Errorf("the raise is not valid: %v", err)
	}

	// The same person's next access to the same record lands on the same
	// open alert; someone else's does not.
	again := breakGlassRecord(patient)
	next, _ := alert.BreakGlassRaise(again)
	other := breakGlassRecord(patient)
	other.Actor = audit.Actor{Subject: "er-app", ClientID: "er-app"}
	stranger, _ := alert.BreakGlassRaise(other)
	if next.Source != r.Source || stranger.Source == r.Source || !strings.HasPrefix(stranger.Source, "break-glass/subject/er-app") {
		t.Errorf("sources %q, %q, %q", r.Source, next.Source, stranger.Source)
	}
	if alert.BreakGlassIdempotency(rec.ID) != alert.BreakGlassIdempotency(rec.ID) ||
		alert.BreakGlassIdempotency(rec.ID) == alert.BreakGlassIdempotency(again.ID) {
		t.Error("the idempotency of a record's raise is not the record's own")
	}
}

func TestBreakGlassRaiseOfASearchAndOfLongFields(t *testing.T) {
	first, second := uuid.New(), uuid.New()
	rec := breakGlassRecord(first)
	rec.PatientID, rec.PatientIDs, rec.Action = nil, []uuid.UUID{first, second}, audit.ActionSearch
	rec.Actor = audit.Actor{Subject: strings.Repeat("s", 300), ClientID: strings.Repeat("c", 300)}
	rec.BreakGlass = strings.Repeat("r", 500)
	r, err := alert.BreakGlassRaise(rec)
	if err != nil {
		t.Fatal(err)
	}
	if r.PatientID != first || !strings.Contains(r.Message, "and 1 other patients") {
		t.Errorf("raise of a search = %+v", r)
	}
	r.AlertID = uuid.New()
	if err := r.Validate(); err != nil {
		t.Errorf("long fields are not clipped to the alert's limits: %v", err)
	}
}

func TestBreakGlassRaiseRefusesWhatCannotBeRaised(t *testing.T) {
	noPatient := breakGlassRecord(uuid.New())
	noPatient.PatientID = nil
	plain := breakGlassRecord(uuid.New())
	plain.BreakGlass = ""
	for name, tt := range map[string]struct {
		rec   audit.Record
		field string
	}{"no patient": {noPatient, "patientId"}, "no break-the-glass": {plain, "breakGlass"}} {
		_, err := alert.BreakGlassRaise(tt.rec)
		var verr *domain.ValidationError
		if !errors.As(err, &verr) || !slices.ContainsFunc(verr.Fields, func(f domain.FieldError) bool { return f.Field == tt.field }) {
			t.Errorf("%s: %v, want a validation error naming %s", name, err, tt.field)
		}
	}
}
