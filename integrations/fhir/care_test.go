package fhir

import (
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/zarish-sphere/zarish/domain/alert"
	"github.com/zarish-sphere/zarish/domain/audit"
	"github.com/zarish-sphere/zarish/domain/careplan"
)

func TestFromCarePlan(t *testing.T) {
	at := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	patient, owner, goal := uuid.Must(uuid.NewV7()), uuid.Must(uuid.NewV7()), uuid.MustParse("0193c0de-0000-7000-8000-0000000009a1")
	until := at.AddDate(0, 1, 0)
	p := careplan.CarePlan{ID: uuid.Must(uuid.NewV7()), PatientID: patient, Title: "Diabetes foot care", Description: "daily checks",
		Unit: "ward-3", Status: careplan.StatusOnHold, Period: careplan.Period{Start: at},
		Goals: []careplan.Goal{{ID: goal, Description: "No foot ulcer", Target: "intact skin", DueDate: "2026-06-01",
			Status: careplan.GoalActive, Achievement: "improving"}},
		Activities: []careplan.Activity{{ID: uuid.Must(uuid.NewV7()), Title: "Inspect both feet", OwnerID: owner,
			Status: careplan.ActivityInProgress, Schedule: careplan.Schedule{DueAt: at.Add(24 * time.Hour), Repeat: "P1D", Until: &until}}},
		Version: 4, CreatedAt: at, UpdatedAt: at.Add(time.Hour)}
	got := FromCarePlan(p)
	shape(t, got, "status", "intent", "subject")
	subject := Reference{Reference: "Patient/" + patient.String()}
	want := CarePlan{ResourceType: "CarePlan", ID: p.ID.String(), Meta: &Meta{VersionID: "4", LastUpdated: "2026-03-01T10:00:00Z"},
		Contained: []Goal{{ResourceType: "Goal", ID: "goal-" + goal.String(), LifecycleStatus: "active",
			AchievementStatus: &CodeableConcept{Coding: []Coding{{System: SystemGoalAchievement, Code: "improving"}}},
			Description:       CodeableConcept{Text: "No foot ulcer"}, Subject: subject,
			Target: []GoalTarget{{DetailString: "intact skin", DueDate: "2026-06-01"}}}},
		Status: "on-hold", Intent: "plan", Title: "Diabetes foot care", Description: "daily checks", Subject: subject,
		Period: &Period{Start: "2026-03-01T09:00:00Z"}, Created: "2026-03-01T09:00:00Z",
		Goal: []Reference{{Reference: "#goal-" + goal.String()}},
		Activity: []CarePlanActivity{{Detail: CarePlanActivityDetail{Code: &CodeableConcept{Text: "Inspect both feet"}, Status: "in-progress",
			ScheduledPeriod: &Period{Start: "2026-03-02T09:00:00Z", End: "2026-04-01T09:00:00Z"},
			Performer:       []Reference{{Reference: "Practitioner/" + owner.String()}}}}},
		Note: []Annotation{{Text: "Reminders go to ward-3."}}}
	if a, b := mappedJSON(t, got), mappedJSON(t, want); a != b {
		t.Errorf("mapped as\n%s\nwant\n%s", a, b)
	}
	for _, st := range careplan.Statuses {
		p.Status = st
		code := FromCarePlan(p).Status
		if back, ok := CarePlanStatusOf(code); code != string(st) || !slices.Contains(CarePlanStatuses, code) || !ok || back != st {
			t.Errorf("%s is %s", st, code)
		}
	}
	if _, ok := CarePlanStatusOf("entered-in-error"); ok {
		t.Error("entered-in-error is a plan status of ours")
	}
}

func TestFromAlert(t *testing.T) {
	at := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	resolved := at.Add(time.Hour)
	enc := uuid.Must(uuid.NewV7())
	r := alert.Record{ID: uuid.Must(uuid.NewV7()), PatientID: uuid.Must(uuid.NewV7()), EncounterID: &enc, Severity: alert.SeverityUrgent,
		Category: "critical-lab-value", Message: "Potassium 6.8 mmol/L", Status: alert.StatusResolved, RaisedAt: at, ResolvedAt: &resolved}
	got := FromAlert(r)
	shape(t, got, "status", "code", "subject")
	want := Flag{ResourceType: "Flag", ID: r.ID.String(),
		Extension: []Extension{{URL: ExtensionFlagPriority, ValueCodeableConcept: &CodeableConcept{Coding: []Coding{
			{System: SystemFlagPriority, Code: "PM", Display: "Medium priority"}}}}},
		Status:    "inactive",
		Category:  []CodeableConcept{{Coding: []Coding{{System: SystemFlagCategory, Code: "clinical", Display: "Clinical"}}}},
		Code:      CodeableConcept{Coding: []Coding{{System: SystemAlertCategory, Code: "critical-lab-value"}}, Text: "Potassium 6.8 mmol/L"},
		Subject:   Reference{Reference: "Patient/" + r.PatientID.String()},
		Period:    &Period{Start: "2026-03-01T09:00:00Z", End: "2026-03-01T10:00:00Z"},
		Encounter: &Reference{Reference: "Encounter/" + enc.String()}}
	if a, b := mappedJSON(t, got), mappedJSON(t, want); a != b {
		t.Errorf("mapped as\n%s\nwant\n%s", a, b)
	}
	for status, want := range map[alert.Status]string{alert.StatusOpen: "active", alert.StatusAcknowledged: "active",
		alert.StatusExhausted: "active", alert.StatusUndeliverable: "active", alert.StatusResolved: "inactive"} {
		if got := FlagStatus(status); got != want || !slices.Contains(FlagStatuses, got) || !slices.Contains(FlagStatusesOf(got), status) {
			t.Errorf("%s is %s", status, got)
		}
	}
	if got := FlagStatusesOf("entered-in-error"); got != nil {
		t.Errorf("entered-in-error is %v", got)
	}
}

func TestFromAuditRecord(t *testing.T) {
	patient := uuid.Must(uuid.NewV7())
	r := audit.Record{ID: uuid.Must(uuid.NewV7()), Time: time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC), Action: audit.ActionRead,
		EntityType: "MedicationRequest", EntityID: uuid.NewString(), PatientID: &patient, Outcome: audit.OutcomeSuccess,
		Actor: audit.Actor{ClientID: "ward-app", Subject: "ward-app"}}
	got := FromAuditRecord(r)
	if a, b := mappedJSON(t, got), mappedJSON(t, r.FHIR()); a != b || got.Ref() != "AuditEvent/"+r.ID.String() {
		t.Errorf("mapped as\n%s\nnot as the audit trail renders it\n%s", a, b)
	}
	m := shape(t, got, "type", "recorded", "agent", "source")
	if m["recorded"] != "2026-03-01T09:00:00Z" {
		t.Errorf("recorded %v", m["recorded"])
	}
}
