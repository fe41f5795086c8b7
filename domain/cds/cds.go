// Package cds holds clinical decision support shaped as CDS Hooks 1.0
// (https://cds-hooks.hl7.org/1.0/): the services the engine offers, the
// request a client sends when a hook fires, and the rules that turn a
// patient's facts into cards. It is pure: the caller gathers the facts and
// passes the time.
package cds

import (
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/zarish-sphere/zarish/domain"
)

// The hooks the services answer, as named by the CDS Hooks hook registry.
const (
	HookPatientView        = "patient-view"
	HookEncounterStart     = "encounter-start"
	HookEncounterDischarge = "encounter-discharge"
)

// Service ids; each service answers the hook of the same name.
const (
	ServicePatientView        = "patient-view"
	ServiceEncounterStart     = "encounter-start"
	ServiceEncounterDischarge = "encounter-discharge"
)

// Service is one decision-support service as discovery describes it.
type Service struct {
	Hook        string            `json:"hook"`
	ID          string            `json:"id"`
	Title       string            `json:"title"`
	Description string            `json:"description"`
	Prefetch    map[string]string `json:"prefetch,omitempty"`
}

// NeedsEncounter reports whether the service's requests must name an encounter.
func (s Service) NeedsEncounter() bool {
	return s.Hook == HookEncounterStart || s.Hook == HookEncounterDischarge
}

// Services lists the services offered, in discovery order. They read the
// patient's data from the engine's own stores, so they ask for no prefetch.
func Services() []Service {
	return []Service{
		{Hook: HookPatientView, ID: ServicePatientView, Title: "Patient summary",
			Description: "Active alerts, active allergies and overdue care-plan activities of the patient in view."},
		{Hook: HookEncounterStart, ID: ServiceEncounterStart, Title: "Encounter start checks",
			Description: "High-criticality allergies, critical and urgent alerts, and other encounters still open for the patient."},
		{Hook: HookEncounterDischarge, ID: ServiceEncounterDischarge, Title: "Discharge readiness",
			Description: "Open orders, unsigned notes and a missing signed discharge summary on the encounter being discharged."},
	}
}

// FindService returns the service with id.
func FindService(id string) (Service, bool) {
	i := slices.IndexFunc(Services(), func(s Service) bool { return s.ID == id })
	if i < 0 {
		return Service{}, false
	}
	return Services()[i], true
}

// Context is the hook's context: whose chart is open, in which encounter,
// and who is looking.
type Context struct {
	PatientID   string `json:"patientId"`
	EncounterID string `json:"encounterId,omitempty"`
	UserID      string `json:"userId,omitempty"`
}

// Request is a CDS Hooks service request. Prefetch and fhirAuthorization
// are accepted and ignored: the services read the engine's own stores.
type Request struct {
	Hook              string         `json:"hook"`
	HookInstance      string         `json:"hookInstance"`
	FHIRServer        string         `json:"fhirServer,omitempty"`
	FHIRAuthorization map[string]any `json:"fhirAuthorization,omitempty"`
	Context           Context        `json:"context"`
	Prefetch          map[string]any `json:"prefetch,omitempty"`
}

// Subject is what a valid request is about.
type Subject struct {
	HookInstance uuid.UUID
	PatientID    uuid.UUID
	// EncounterID is uuid.Nil when the request names no encounter.
	EncounterID uuid.UUID
	UserID      string
}

// MaxUserIDLen bounds context.userId.
const MaxUserIDLen = 200

// Validate checks the request against svc and reports every invalid field
// at once as a *domain.ValidationError: the hook must be the service's,
// hookInstance a UUID, context.patientId a patient id, and
// context.encounterId an encounter id when given — and given for the
// encounter hooks.
func (r Request) Validate(svc Service) (Subject, error) {
	problems := &domain.ValidationError{}
	var sub Subject
	switch r.Hook {
	case "":
		problems.Add("hook", "is required")
	case svc.Hook:
	default:
		problems.Add("hook", "must be "+svc.Hook+" for the "+svc.ID+" service")
	}
	sub.HookInstance = parseID(problems, "hookInstance", r.HookInstance, true)
	sub.PatientID = parseID(problems, "context.patientId", r.Context.PatientID, true)
	sub.EncounterID = parseID(problems, "context.encounterId", r.Context.EncounterID, svc.NeedsEncounter())
	sub.UserID = strings.TrimSpace(r.Context.UserID)
	if len(sub.UserID) > MaxUserIDLen {
		problems.Add("context.userId", "must be at most 200 characters")
	}
	if err := problems.OrNil(); err != nil {
		return Subject{}, err
	}
	return sub, nil
}

func parseID(problems *domain.ValidationError, field, s string, required bool) uuid.UUID {
	s = strings.TrimSpace(s)
	if s == "" {
		if required {
			problems.Add(field, "is required")
		}
		return uuid.Nil
	}
	id, err := uuid.Parse(s)
	if err != nil || id == uuid.Nil {
		problems.Add(field, "must be a UUID")
		return uuid.Nil
	}
	return id
}

// Indicator is how urgently a card needs attention.
type Indicator string

// The indicators, from least to most urgent.
const (
	IndicatorInfo     Indicator = "info"
	IndicatorWarning  Indicator = "warning"
	IndicatorCritical Indicator = "critical"
)

// Rank orders indicators: info 1, warning 2, critical 3.
func (i Indicator) Rank() int {
	return slices.Index([]Indicator{IndicatorInfo, IndicatorWarning, IndicatorCritical}, i) + 1
}

// Source names who a card's guidance comes from.
type Source struct {
	Label string `json:"label"`
	URL   string `json:"url,omitempty"`
}

// ActionType is what a suggested action does to its resource.
type ActionType string

// The action types.
const (
	ActionCreate ActionType = "create"
	ActionUpdate ActionType = "update"
	ActionDelete ActionType = "delete"
)

// Action is one change a suggestion proposes; Resource is a FHIR resource.
type Action struct {
	Type        ActionType     `json:"type"`
	Description string         `json:"description"`
	Resource    map[string]any `json:"resource,omitempty"`
}

// Suggestion is a set of actions the user may accept together.
type Suggestion struct {
	Label   string    `json:"label"`
	UUID    uuid.UUID `json:"uuid"`
	Actions []Action  `json:"actions"`
}

// Link points the user to more information or an app.
type Link struct {
	Label string `json:"label"`
	URL   string `json:"url"`
	Type  string `json:"type"` // absolute or smart
}

// Card is one piece of guidance.
type Card struct {
	UUID uuid.UUID `json:"uuid"`
	// Summary is one sentence of at most MaxSummaryLen characters.
	Summary string `json:"summary"`
	// Detail is markdown.
	Detail      string       `json:"detail,omitempty"`
	Indicator   Indicator    `json:"indicator"`
	Source      Source       `json:"source"`
	Suggestions []Suggestion `json:"suggestions,omitempty"`
	// SelectionBehavior is at-most-one whenever there are suggestions.
	SelectionBehavior string `json:"selectionBehavior,omitempty"`
	Links             []Link `json:"links,omitempty"`
}

// MaxSummaryLen is the longest card summary, in characters.
const MaxSummaryLen = 140

// Response is a service's answer.
type Response struct {
	Cards []Card `json:"cards"`
}

// summary shortens s to MaxSummaryLen characters, ending an overlong one with an ellipsis.
func summary(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if utf8.RuneCountInString(s) <= MaxSummaryLen {
		return s
	}
	r := []rune(s)
	return strings.TrimSpace(string(r[:MaxSummaryLen-1])) + "…"
}

// sortCards orders cards most urgent first, keeping the rules' order among equals.
func sortCards(cards []Card) []Card {
	slices.SortStableFunc(cards, func(a, b Card) int { return b.Indicator.Rank() - a.Indicator.Rank() })
	if cards == nil {
		cards = []Card{}
	}
	return cards
}

// cardID derives a card's or suggestion's uuid from the hook instance and
// what the card is about, so the same facts always give the same ids within
// one hook instance, and different instances never share them.
func cardID(hookInstance uuid.UUID, key string) uuid.UUID {
	return uuid.NewSHA1(hookInstance, []byte(key))
}

// fmtTime renders a time for card text.
func fmtTime(t time.Time) string { return t.UTC().Format("2006-01-02 15:04 UTC") }
