package cds_test

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/zarish-sphere/zarish/domain"
	"github.com/zarish-sphere/zarish/domain/alert"
	"github.com/zarish-sphere/zarish/domain/allergy"
	"github.com/zarish-sphere/zarish/domain/cds"
	"github.com/zarish-sphere/zarish/domain/encounter"
	"github.com/zarish-sphere/zarish/domain/note"
)

var (
	now       = time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)
	patientID = uuid.MustParse("0190f3c4-0000-7000-8000-0000000000f1")
	encID     = uuid.MustParse("0190f3c4-0000-7000-8000-0000000000e1")
	hook      = uuid.MustParse("0190f3c4-0000-7000-8000-0000000000c1")
	sub       = cds.Subject{HookInstance: hook, PatientID: patientID, EncounterID: encID}
)

func fields(err error) []string {
	var verr *domain.ValidationError
	if !errors.As(err, &verr) {
		return nil
	}
	var out []string
	for _, f := range verr.Fields {
		out = append(out, f.Field)
	}
	return out
}

func TestServices(t *testing.T) {
	var ids []string
	for _, s := range cds.Services() {
		ids = append(ids, s.ID)
		if s.Hook == "" || s.Title == "" || s.Description == "" {
			t.Errorf("service %s is not fully described", s.ID)
		}
	}
	if !slices.Equal(ids, []string{"patient-view", "encounter-start", "encounter-discharge"}) {
		t.Fatalf("services %v", ids)
	}
	if _, ok := cds.FindService("order-sign"); ok {
		t.Fatal("found an unknown service")
	}
	if s, ok := cds.FindService("encounter-discharge"); !ok || !s.NeedsEncounter() {
		t.Fatalf("encounter-discharge: %+v", s)
	}
}

func TestRequestValidate(t *testing.T) {
	pv, _ := cds.FindService(cds.ServicePatientView)
	start, _ := cds.FindService(cds.ServiceEncounterStart)
	ok := func() cds.Request {
		return cds.Request{Hook: "encounter-start", HookInstance: hook.String(),
			Context: cds.Context{PatientID: patientID.String(), EncounterID: encID.String(), UserID: "Practitioner/42"}}
	}
	cases := []struct {
		name   string
		svc    cds.Service
		change func(*cds.Request)
		fields []string
	}{
		{"valid", start, func(*cds.Request) {}, nil},
		{"patient-view needs no encounter", pv, func(r *cds.Request) { r.Hook, r.Context.EncounterID = "patient-view", "" }, nil},
		{"everything missing", start, func(r *cds.Request) { *r = cds.Request{} },
			[]string{"hook", "hookInstance", "context.patientId", "context.encounterId"}},
		{"hook of another service", pv, func(r *cds.Request) {}, []string{"hook"}},
		{"malformed ids", start, func(r *cds.Request) {
			r.HookInstance, r.Context.PatientID, r.Context.EncounterID = "abc", "Patient/1", "0"
		}, []string{"hookInstance", "context.patientId", "context.encounterId"}},
		{"user id too long", start, func(r *cds.Request) { r.Context.UserID = strings.Repeat("u", 201) }, []string{"context.userId"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := ok()
			c.change(&r)
			s, err := r.Validate(c.svc)
			if got := fields(err); !slices.Equal(got, c.fields) {
				t.Fatalf("fields %v, want %v", got, c.fields)
			}
			if err == nil && (s.HookInstance != hook || s.PatientID != patientID) {
				t.Fatalf("subject %+v", s)
			}
		})
	}
}

func anAllergy(t *testing.T, text string, crit allergy.Criticality) allergy.Allergy {
	t.Helper()
	a, err := allergy.New(uuid.New(), patientID, allergy.Details{
		Substance: allergy.Substance{Text: text}, Category: allergy.CategoryMedication, Criticality: crit,
		Reactions:  []allergy.Reaction{{Manifestations: []string{"anaphylaxis"}, Severity: allergy.SeveritySevere}},
		RecordedBy: uuid.New(),
	}, now)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func anAlert(sev alert.Severity, status alert.Status) alert.Record {
	return alert.Record{ID: uuid.New(), PatientID: patientID, Unit: "ward-3", Severity: sev, Category: "news2",
		Message: "NEWS2 score 7", Status: status, RaisedAt: now.Add(-time.Hour)}
}

func indicators(cards []cds.Card) []cds.Indicator {
	var out []cds.Indicator
	for _, c := range cards {
		out = append(out, c.Indicator)
	}
	return out
}

func TestPatientView(t *testing.T) {
	if cards := cds.PatientView(cds.Facts{Subject: sub, Now: now}); cards == nil || len(cards) != 0 {
		t.Fatalf("no facts: %v", cards)
	}
	pen := anAllergy(t, "Penicillin", allergy.CriticalityHigh)
	f := cds.Facts{
		Subject:   sub,
		Now:       now,
		Allergies: []allergy.Allergy{anAllergy(t, "Latex", allergy.CriticalityLow), pen, anAllergy(t, "Peanut", allergy.CriticalityUnableToAssess)},
		Alerts:    []alert.Record{anAlert(alert.SeverityWarning, alert.StatusAcknowledged), anAlert(alert.SeverityCritical, alert.StatusOpen)},
		Overdue: []cds.OverdueActivity{
			{PlanID: uuid.New(), ActivityID: uuid.New(), Title: "HbA1c check", DueAt: now.Add(-3 * time.Hour)},
			{PlanID: uuid.New(), ActivityID: uuid.New(), Title: "Foot exam", DueAt: now.Add(-72 * time.Hour)},
		},
	}
	cards := cds.PatientView(f)
	want := []cds.Indicator{"critical", "warning", "warning", "warning", "info"}
	if got := indicators(cards); !slices.Equal(got, want) {
		t.Fatalf("indicators %v, want %v", got, want)
	}
	if !strings.HasPrefix(cards[0].Summary, "Critical alert (news2)") {
		t.Fatalf("first card: %s", cards[0].Summary)
	}
	var allergyCard, othersCard, overdueCard cds.Card
	for _, c := range cards {
		switch {
		case strings.Contains(c.Summary, "Penicillin"):
			allergyCard = c
		case strings.Contains(c.Summary, "active allergies"):
			othersCard = c
		case strings.Contains(c.Summary, "overdue"):
			overdueCard = c
		}
	}
	if allergyCard.Indicator != cds.IndicatorWarning || !strings.Contains(allergyCard.Summary, "anaphylaxis") {
		t.Fatalf("allergy card %+v", allergyCard)
	}
	if othersCard.Summary != "2 active allergies: Latex, Peanut" {
		t.Fatalf("other allergies: %q", othersCard.Summary)
	}
	if !strings.Contains(overdueCard.Summary, "2 care-plan activities overdue, the oldest: Foot exam") ||
		!strings.Contains(overdueCard.Detail, "3 days ago") {
		t.Fatalf("overdue card %+v", overdueCard)
	}
	// The same facts in the same hook instance give the same card ids.
	again := cds.PatientView(f)
	seen := map[uuid.UUID]bool{}
	for i, c := range cards {
		if c.UUID != again[i].UUID || seen[c.UUID] || c.Source.Label == "" {
			t.Fatalf("card %d: uuid %s, source %q", i, c.UUID, c.Source.Label)
		}
		seen[c.UUID] = true
	}
}

func TestSummariesAreShort(t *testing.T) {
	a := anAllergy(t, strings.Repeat("Extremely long substance name ", 10), allergy.CriticalityHigh)
	long := anAlert(alert.SeverityCritical, alert.StatusOpen)
	long.Message = strings.Repeat("ü", 300)
	for _, c := range cds.PatientView(cds.Facts{Subject: sub, Now: now, Allergies: []allergy.Allergy{a}, Alerts: []alert.Record{long}}) {
		if n := utf8.RuneCountInString(c.Summary); n > cds.MaxSummaryLen || !strings.HasSuffix(c.Summary, "…") {
			t.Fatalf("summary of %d characters: %q", n, c.Summary)
		}
	}
}

func TestEncounterStart(t *testing.T) {
	other := encounter.Record{ID: uuid.New(), PatientID: patientID, Class: encounter.ClassOutpatient,
		Status: encounter.StatusInProgress, Location: "clinic-2", CreatedAt: now.Add(-2 * time.Hour)}
	f := cds.Facts{
		Subject: sub,
		Now:     now,
		Allergies: []allergy.Allergy{anAllergy(t, "Penicillin", allergy.CriticalityHigh),
			anAllergy(t, "Latex", allergy.CriticalityLow)},
		Alerts: []alert.Record{anAlert(alert.SeverityWarning, alert.StatusOpen), anAlert(alert.SeverityUrgent, alert.StatusOpen),
			anAlert(alert.SeverityCritical, alert.StatusAcknowledged)},
		Encounters: []encounter.Record{
			{ID: encID, PatientID: patientID, Status: encounter.StatusPlanned},
			{ID: uuid.New(), PatientID: patientID, Status: encounter.StatusDischarged},
			{ID: uuid.New(), PatientID: patientID, Status: encounter.StatusCancelled},
			other,
		},
	}
	cards := cds.EncounterStart(f)
	var summaries []string
	for _, c := range cards {
		summaries = append(summaries, c.Summary)
	}
	want := []string{
		"Critical alert (news2): NEWS2 score 7",
		"High-criticality allergy: Penicillin (anaphylaxis, severe)",
		"Urgent alert (news2): NEWS2 score 7",
		"The patient already has an open outpatient encounter (in-progress at clinic-2)",
	}
	if !slices.Equal(summaries, want) {
		t.Fatalf("summaries:\n%s", strings.Join(summaries, "\n"))
	}
	if got := indicators(cards); !slices.Equal(got, []cds.Indicator{"critical", "warning", "warning", "warning"}) {
		t.Fatalf("indicators %v", got)
	}
	if !strings.Contains(cards[3].Detail, other.ID.String()) {
		t.Fatalf("open encounter detail: %s", cards[3].Detail)
	}
}

func aNote(t *testing.T, typ note.Type, signed bool) note.Note {
	t.Helper()
	n, err := note.NewNote(uuid.New(), encID, patientID, typ, uuid.New(), "text", nil, now.Add(-time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if signed {
		if n, err = n.Sign(n.Author, now); err != nil {
			t.Fatal(err)
		}
	}
	return n
}

func TestEncounterDischarge(t *testing.T) {
	closedAt := now
	enc := encounter.Record{ID: encID, PatientID: patientID, Status: encounter.StatusInProgress, Orders: []encounter.Order{
		{ID: uuid.New(), Kind: encounter.OrderPrescription, Status: encounter.OrderOpen, LinkedAt: now},
		{ID: uuid.New(), Kind: encounter.OrderDiagnostic, Status: encounter.OrderClosed, LinkedAt: now, ClosedAt: &closedAt},
	}}
	progress, triage := aNote(t, note.TypeProgress, false), aNote(t, note.TypeTriage, false)
	cards := cds.EncounterDischarge(cds.Facts{Subject: sub, Now: now, Encounter: enc,
		Notes: []note.Note{progress, aNote(t, note.TypeProgress, true), triage}})
	if got := indicators(cards); !slices.Equal(got, []cds.Indicator{"critical", "warning", "warning"}) {
		t.Fatalf("indicators %v", got)
	}
	if cards[0].Summary != "1 open order: discharge will be refused unless forced with a reason" ||
		!strings.Contains(cards[0].Detail, "OPEN_ORDERS") || !strings.Contains(cards[0].Detail, enc.Orders[0].ID.String()) ||
		strings.Contains(cards[0].Detail, enc.Orders[1].ID.String()) {
		t.Fatalf("open orders card %+v", cards[0])
	}
	unsigned := cards[1]
	if unsigned.Summary != "2 unsigned notes on this encounter" || len(unsigned.Suggestions) != 2 || unsigned.SelectionBehavior != "at-most-one" {
		t.Fatalf("unsigned card %+v", unsigned)
	}
	for i, n := range []note.Note{progress, triage} {
		s := unsigned.Suggestions[i]
		if len(s.Actions) != 1 || s.Actions[0].Type != cds.ActionUpdate || s.Actions[0].Resource["id"] != n.ID.String() || s.UUID == uuid.Nil {
			t.Fatalf("suggestion %d: %+v", i, s)
		}
	}
	missing := cards[2]
	if missing.Summary != "No signed discharge summary for this encounter" || len(missing.Suggestions) != 1 ||
		missing.Suggestions[0].Actions[0].Type != cds.ActionCreate ||
		missing.Suggestions[0].Actions[0].Resource["resourceType"] != "DocumentReference" {
		t.Fatalf("missing summary card %+v", missing)
	}

	// A draft summary is to be signed, not written again; a signed one ends the warning.
	draft := aNote(t, note.TypeDischargeSummary, false)
	cards = cds.EncounterDischarge(cds.Facts{Subject: sub, Now: now, Notes: []note.Note{draft}})
	if len(cards) != 2 || cards[1].Suggestions[0].Actions[0].Type != cds.ActionUpdate ||
		cards[1].Suggestions[0].Actions[0].Resource["id"] != draft.ID.String() {
		t.Fatalf("draft summary: %+v", cards)
	}
	if cards := cds.EncounterDischarge(cds.Facts{Subject: sub, Now: now, Notes: []note.Note{aNote(t, note.TypeDischargeSummary, true)}}); len(cards) != 0 {
		t.Fatalf("ready for discharge, yet %+v", cards)
	}
}

func TestCardsDispatch(t *testing.T) {
	f := cds.Facts{Subject: sub, Now: now}
	if got := cds.Cards(cds.ServiceEncounterDischarge, f); len(got) != 1 {
		t.Fatalf("discharge of an empty encounter: %v", got)
	}
	if got := cds.Cards("order-sign", f); got == nil || len(got) != 0 {
		t.Fatalf("unknown service: %v", got)
	}
}
