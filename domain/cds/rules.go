package cds

import (
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/zarish-sphere/zarish/domain/alert"
	"github.com/zarish-sphere/zarish/domain/allergy"
	"github.com/zarish-sphere/zarish/domain/careplan"
	"github.com/zarish-sphere/zarish/domain/encounter"
	"github.com/zarish-sphere/zarish/domain/note"
)

// OverdueActivity is a care-plan activity past its due time.
type OverdueActivity = careplan.OverdueActivity

// Facts are what the rules read about the request's patient and encounter.
// The caller fills what the service needs; empty facts give no cards.
type Facts struct {
	Subject Subject
	Now     time.Time
	// Alerts are the patient's open and acknowledged alerts.
	Alerts []alert.Record
	// Allergies are the patient's active allergies (allergy.Allergy.Active).
	Allergies []allergy.Allergy
	// Overdue are the patient's overdue care-plan activities.
	Overdue []OverdueActivity
	// Encounter is the encounter the request names, with its orders.
	Encounter encounter.Record
	// Encounters are the patient's encounters; the rules skip the closed
	// ones and the request's own.
	Encounters []encounter.Record
	// Notes are every note of the request's encounter.
	Notes []note.Note
}

// The labels of the sources cards name.
const (
	sourceAlerts    = "ZARISH SPHERE alerts"
	sourceAllergies = "ZARISH SPHERE allergy list"
	sourceCarePlans = "ZARISH SPHERE care plans"
	sourceEncounter = "ZARISH SPHERE encounters"
	sourceNotes     = "ZARISH SPHERE clinical notes"
)

// Cards answers the service with id from the facts, most urgent first; an
// unknown service gives no cards.
func Cards(serviceID string, f Facts) []Card {
	switch serviceID {
	case ServicePatientView:
		return PatientView(f)
	case ServiceEncounterStart:
		return EncounterStart(f)
	case ServiceEncounterDischarge:
		return EncounterDischarge(f)
	}
	return []Card{}
}

// PatientView summarises the chart being opened: a card per active alert
// (critical for a critical alert, warning otherwise), a warning per
// high-criticality allergy and one info card for the other active
// allergies, and one warning listing overdue care-plan activities.
func PatientView(f Facts) []Card {
	var cards []Card
	for _, a := range f.Alerts {
		ind := IndicatorWarning
		if a.Severity == alert.SeverityCritical {
			ind = IndicatorCritical
		}
		cards = append(cards, alertCard(f.Subject, a, ind))
	}
	var others []allergy.Allergy
	for _, a := range f.Allergies {
		if a.Criticality == allergy.CriticalityHigh {
			cards = append(cards, highAllergyCard(f.Subject, a))
		} else {
			others = append(others, a)
		}
	}
	if len(others) > 0 {
		cards = append(cards, otherAllergiesCard(f.Subject, others))
	}
	if len(f.Overdue) > 0 {
		cards = append(cards, overdueCard(f))
	}
	return sortCards(cards)
}

// EncounterStart warns, as an encounter begins, of the patient's
// high-criticality allergies, critical (critical card) and urgent (warning)
// alerts, and other encounters still open.
func EncounterStart(f Facts) []Card {
	var cards []Card
	for _, a := range f.Allergies {
		if a.Criticality == allergy.CriticalityHigh {
			cards = append(cards, highAllergyCard(f.Subject, a))
		}
	}
	for _, a := range f.Alerts {
		switch a.Severity {
		case alert.SeverityCritical:
			cards = append(cards, alertCard(f.Subject, a, IndicatorCritical))
		case alert.SeverityUrgent:
			cards = append(cards, alertCard(f.Subject, a, IndicatorWarning))
		}
	}
	var open []encounter.Record
	for _, e := range f.Encounters {
		if e.ID != f.Subject.EncounterID && e.PatientID == f.Subject.PatientID && !e.Status.Closed() {
			open = append(open, e)
		}
	}
	if len(open) > 0 {
		cards = append(cards, openEncountersCard(f.Subject, open))
	}
	return sortCards(cards)
}

// EncounterDischarge checks that the encounter is ready to close: open
// orders (critical: the discharge will be refused without force and a
// reason), unsigned notes (warning, a suggestion to sign each) and no
// signed discharge summary (warning, a suggestion to write or sign one).
func EncounterDischarge(f Facts) []Card {
	var cards []Card
	var open []encounter.Order
	for _, o := range f.Encounter.Orders {
		if o.Status == encounter.OrderOpen {
			open = append(open, o)
		}
	}
	if len(open) > 0 {
		cards = append(cards, openOrdersCard(f.Subject, open))
	}
	var drafts []note.Note
	var signedSummary bool
	var draftSummary *note.Note
	for i, n := range f.Notes {
		switch {
		case n.Status == note.StatusDraft:
			drafts = append(drafts, n)
			if n.Type == note.TypeDischargeSummary && draftSummary == nil {
				draftSummary = &f.Notes[i]
			}
		case n.Type == note.TypeDischargeSummary:
			signedSummary = true
		}
	}
	if len(drafts) > 0 {
		cards = append(cards, unsignedNotesCard(f.Subject, drafts))
	}
	if !signedSummary {
		cards = append(cards, missingSummaryCard(f.Subject, draftSummary))
	}
	return sortCards(cards)
}

func alertCard(sub Subject, a alert.Record, ind Indicator) Card {
	status := string(a.Status)
	if a.AcknowledgedAt != nil {
		status += " at " + fmtTime(*a.AcknowledgedAt)
	}
	return Card{
		UUID:      cardID(sub.HookInstance, "alert/"+a.ID.String()),
		Summary:   summary(fmt.Sprintf("%s alert (%s): %s", capitalize(string(a.Severity)), a.Category, a.Message)),
		Detail:    fmt.Sprintf("**%s** alert `%s` raised %s on %s, %s.\n\n%s", a.Severity, a.ID, fmtTime(a.RaisedAt), a.Unit, status, a.Message),
		Indicator: ind,
		Source:    Source{Label: sourceAlerts},
	}
}

func highAllergyCard(sub Subject, a allergy.Allergy) Card {
	s := "High-criticality " + string(a.Type) + ": " + a.Substance.Text
	if m := manifestations(a); m != "" {
		s += " (" + m + ")"
	}
	return Card{
		UUID:      cardID(sub.HookInstance, "allergy/"+a.ID.String()),
		Summary:   summary(s),
		Detail:    allergyLine(a),
		Indicator: IndicatorWarning,
		Source:    Source{Label: sourceAllergies},
	}
}

func otherAllergiesCard(sub Subject, list []allergy.Allergy) Card {
	names := make([]string, 0, len(list))
	lines := make([]string, 0, len(list))
	key := "allergies"
	for _, a := range list {
		names = append(names, a.Substance.Text)
		lines = append(lines, "- "+allergyLine(a))
		key += "/" + a.ID.String()
	}
	s := "Active allergy: " + names[0]
	if len(list) > 1 {
		s = fmt.Sprintf("%d active allergies: %s", len(list), strings.Join(names, ", "))
	}
	return Card{
		UUID:      cardID(sub.HookInstance, key),
		Summary:   summary(s),
		Detail:    strings.Join(lines, "\n"),
		Indicator: IndicatorInfo,
		Source:    Source{Label: sourceAllergies},
	}
}

// allergyLine is one allergy in markdown: substance, kind, certainty,
// reactions, onset and note.
func allergyLine(a allergy.Allergy) string {
	var b strings.Builder
	fmt.Fprintf(&b, "**%s** — %s %s, criticality %s, %s", a.Substance.Text, a.Category, a.Type, a.Criticality, a.VerificationStatus)
	if m := manifestations(a); m != "" {
		b.WriteString("; reactions: " + m)
	}
	if a.Onset != "" {
		b.WriteString("; onset " + a.Onset)
	}
	if a.Note != "" {
		b.WriteString("; " + a.Note)
	}
	b.WriteString(".")
	return b.String()
}

// manifestations lists what the reactions showed, with their severities.
func manifestations(a allergy.Allergy) string {
	var parts []string
	for _, r := range a.Reactions {
		p := strings.Join(r.Manifestations, ", ")
		if r.Severity != "" {
			p += ", " + string(r.Severity)
		}
		parts = append(parts, p)
	}
	return strings.Join(parts, "; ")
}

func overdueCard(f Facts) Card {
	lines := make([]string, 0, len(f.Overdue))
	key := "overdue"
	for _, o := range f.Overdue {
		lines = append(lines, fmt.Sprintf("- **%s** — due %s (%s ago), care plan `%s`", o.Title, fmtTime(o.DueAt),
			late(f.Now.Sub(o.DueAt)), o.PlanID))
		key += "/" + o.ActivityID.String()
	}
	s := "Care-plan activity overdue: " + f.Overdue[0].Title
	if len(f.Overdue) > 1 {
		s = fmt.Sprintf("%d care-plan activities overdue, the oldest: %s", len(f.Overdue), oldest(f.Overdue).Title)
	}
	return Card{
		UUID:      cardID(f.Subject.HookInstance, key),
		Summary:   summary(s),
		Detail:    strings.Join(lines, "\n"),
		Indicator: IndicatorWarning,
		Source:    Source{Label: sourceCarePlans},
	}
}

func oldest(list []OverdueActivity) OverdueActivity {
	o := list[0]
	for _, a := range list[1:] {
		if a.DueAt.Before(o.DueAt) {
			o = a
		}
	}
	return o
}

// late renders how long past due, in whole minutes, hours or days.
func late(d time.Duration) string {
	switch {
	case d < time.Hour:
		return fmt.Sprintf("%d min", max(int(d/time.Minute), 0))
	case d < 48*time.Hour:
		return fmt.Sprintf("%d h", int(d/time.Hour))
	default:
		return fmt.Sprintf("%d days", int(d/(24*time.Hour)))
	}
}

func openEncountersCard(sub Subject, open []encounter.Record) Card {
	lines := make([]string, 0, len(open))
	key := "encounters"
	for _, e := range open {
		lines = append(lines, fmt.Sprintf("- `%s` — %s, %s at %s since %s", e.ID, e.Class, e.Status, e.Location, fmtTime(e.CreatedAt)))
		key += "/" + e.ID.String()
	}
	s := fmt.Sprintf("The patient already has an open %s encounter (%s at %s)", open[0].Class, open[0].Status, open[0].Location)
	if len(open) > 1 {
		s = fmt.Sprintf("The patient already has %d other open encounters", len(open))
	}
	return Card{
		UUID:      cardID(sub.HookInstance, key),
		Summary:   summary(s),
		Detail:    "Finish or cancel the other encounter before starting a new one, unless both are intended.\n\n" + strings.Join(lines, "\n"),
		Indicator: IndicatorWarning,
		Source:    Source{Label: sourceEncounter},
	}
}

func openOrdersCard(sub Subject, open []encounter.Order) Card {
	lines := make([]string, 0, len(open))
	for _, o := range open {
		lines = append(lines, fmt.Sprintf("- %s order `%s`, placed %s", o.Kind, o.ID, fmtTime(o.LinkedAt)))
	}
	s := "1 open order: discharge will be refused unless forced with a reason"
	if len(open) > 1 {
		s = fmt.Sprintf("%d open orders: discharge will be refused unless forced with a reason", len(open))
	}
	return Card{
		UUID:    cardID(sub.HookInstance, "open-orders/"+sub.EncounterID.String()),
		Summary: summary(s),
		Detail: "Discharging now answers 409 `OPEN_ORDERS`; complete or stop these orders first, or discharge with " +
			"`force` and a `reason`.\n\n" + strings.Join(lines, "\n"),
		Indicator: IndicatorCritical,
		Source:    Source{Label: sourceEncounter},
	}
}

func unsignedNotesCard(sub Subject, drafts []note.Note) Card {
	lines := make([]string, 0, len(drafts))
	suggestions := make([]Suggestion, 0, len(drafts))
	for _, n := range drafts {
		lines = append(lines, fmt.Sprintf("- %s note `%s`, started %s", n.Type, n.ID, fmtTime(n.CreatedAt)))
		suggestions = append(suggestions, Suggestion{
			Label: fmt.Sprintf("Sign the %s note started %s", n.Type, fmtTime(n.CreatedAt)),
			UUID:  cardID(sub.HookInstance, "sign/"+n.ID.String()),
			Actions: []Action{{
				Type:        ActionUpdate,
				Description: fmt.Sprintf("Sign note %s (POST /v1/clinical/notes/%s/sign, by its author).", n.ID, n.ID),
				Resource: map[string]any{
					"resourceType": "DocumentReference", "id": n.ID.String(), "status": "current", "docStatus": "final",
					"subject": reference("Patient", n.PatientID), "context": map[string]any{"encounter": []any{reference("Encounter", n.EncounterID)}},
				},
			}},
		})
	}
	s := "1 unsigned note on this encounter"
	if len(drafts) > 1 {
		s = fmt.Sprintf("%d unsigned notes on this encounter", len(drafts))
	}
	return Card{
		UUID:              cardID(sub.HookInstance, "unsigned-notes/"+sub.EncounterID.String()),
		Summary:           summary(s),
		Detail:            "Draft notes are not part of the legal record until their authors sign them.\n\n" + strings.Join(lines, "\n"),
		Indicator:         IndicatorWarning,
		Source:            Source{Label: sourceNotes},
		Suggestions:       suggestions,
		SelectionBehavior: "at-most-one",
	}
}

// dischargeSummaryType is the LOINC code of a discharge summary note.
func dischargeSummaryType() map[string]any {
	return map[string]any{"coding": []any{map[string]any{
		"system": "http://loinc.org", "code": "18842-5", "display": "Discharge summary"}}}
}

func missingSummaryCard(sub Subject, draft *note.Note) Card {
	c := Card{
		UUID:              cardID(sub.HookInstance, "discharge-summary/"+sub.EncounterID.String()),
		Summary:           "No signed discharge summary for this encounter",
		Indicator:         IndicatorWarning,
		Source:            Source{Label: sourceNotes},
		SelectionBehavior: "at-most-one",
	}
	if draft != nil {
		c.Detail = fmt.Sprintf("The discharge summary `%s` is still a draft; its author should sign it before the patient leaves.", draft.ID)
		c.Suggestions = []Suggestion{{
			Label: "Sign the draft discharge summary",
			UUID:  cardID(sub.HookInstance, "sign-summary/"+draft.ID.String()),
			Actions: []Action{{
				Type:        ActionUpdate,
				Description: fmt.Sprintf("Sign note %s (POST /v1/clinical/notes/%s/sign, by its author).", draft.ID, draft.ID),
				Resource: map[string]any{"resourceType": "DocumentReference", "id": draft.ID.String(), "status": "current",
					"docStatus": "final", "type": dischargeSummaryType()},
			}},
		}}
		return c
	}
	c.Detail = "Write and sign a discharge summary before the patient leaves: diagnoses, treatment, medicines and follow-up."
	c.Suggestions = []Suggestion{{
		Label: "Write a discharge summary",
		UUID:  cardID(sub.HookInstance, "write-summary/"+sub.EncounterID.String()),
		Actions: []Action{{
			Type: ActionCreate,
			Description: fmt.Sprintf("Start a discharge-summary note (POST /v1/clinical/encounters/%s/notes with type discharge-summary).",
				sub.EncounterID),
			Resource: map[string]any{
				"resourceType": "DocumentReference", "status": "current", "docStatus": "preliminary", "type": dischargeSummaryType(),
				"subject": reference("Patient", sub.PatientID), "context": map[string]any{"encounter": []any{reference("Encounter", sub.EncounterID)}},
			},
		}},
	}}
	return c
}

func reference(resourceType string, id uuid.UUID) map[string]any {
	return map[string]any{"reference": resourceType + "/" + id.String()}
}

func capitalize(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}
