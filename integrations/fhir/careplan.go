package fhir

import (
	"github.com/google/uuid"

	"github.com/zarish-sphere/zarish/domain/careplan"
)

// CarePlan is a FHIR R4 CarePlan. Its goals are contained Goals: they have
// no life of their own here.
type CarePlan struct {
	ResourceType string             `json:"resourceType"`
	ID           string             `json:"id"`
	Meta         *Meta              `json:"meta,omitempty"`
	Contained    []Goal             `json:"contained,omitempty"`
	Status       string             `json:"status"`
	Intent       string             `json:"intent"`
	Title        string             `json:"title,omitempty"`
	Description  string             `json:"description,omitempty"`
	Subject      Reference          `json:"subject"`
	Encounter    *Reference         `json:"encounter,omitempty"`
	Period       *Period            `json:"period,omitempty"`
	Created      string             `json:"created,omitempty"`
	Goal         []Reference        `json:"goal,omitempty"`
	Activity     []CarePlanActivity `json:"activity,omitempty"`
	// Note holds the unit the plan's reminders go to.
	Note []Annotation `json:"note,omitempty"`
}

// Ref is CarePlan/id.
func (p CarePlan) Ref() string { return "CarePlan/" + p.ID }

// Goal is a contained FHIR R4 Goal.
type Goal struct {
	ResourceType      string           `json:"resourceType"`
	ID                string           `json:"id"`
	LifecycleStatus   string           `json:"lifecycleStatus"`
	AchievementStatus *CodeableConcept `json:"achievementStatus,omitempty"`
	Description       CodeableConcept  `json:"description"`
	Subject           Reference        `json:"subject"`
	Target            []GoalTarget     `json:"target,omitempty"`
}

// GoalTarget is what the goal aims at, in words, and by when.
type GoalTarget struct {
	DetailString string `json:"detailString,omitempty"`
	DueDate      string `json:"dueDate,omitempty"`
}

// CarePlanActivity is one activity of the plan.
type CarePlanActivity struct {
	Detail CarePlanActivityDetail `json:"detail"`
}

// CarePlanActivityDetail is what the activity asks, of whom and when.
type CarePlanActivityDetail struct {
	Code            *CodeableConcept `json:"code,omitempty"`
	Status          string           `json:"status"`
	ScheduledPeriod *Period          `json:"scheduledPeriod,omitempty"`
	Performer       []Reference      `json:"performer,omitempty"`
	Description     string           `json:"description,omitempty"`
}

// SystemGoalAchievement is the goal-achievement code system.
const SystemGoalAchievement = "http://terminology.hl7.org/CodeSystem/goal-achievement"

// CarePlanStatuses are the FHIR R4 CarePlan.status codes
// (http://hl7.org/fhir/ValueSet/request-status). Ours bear the same names;
// entered-in-error and unknown are codes no plan of ours has.
var CarePlanStatuses = ServiceRequestStatuses

// CarePlanStatusOf is our status of a CarePlan.status code, false for a
// code no plan of ours has.
func CarePlanStatusOf(code string) (careplan.Status, bool) {
	s := careplan.Status(code)
	return s, s.Valid()
}

// FromCarePlan is p as a FHIR CarePlan (intent plan): its goals contained,
// its activities with their status (our names are those of
// http://hl7.org/fhir/ValueSet/care-plan-activity-status), when each is next
// due and until when it repeats, and the practitioner responsible.
func FromCarePlan(p careplan.CarePlan) CarePlan {
	subject := *reference("Patient", p.PatientID.String())
	out := CarePlan{
		ResourceType: "CarePlan",
		ID:           p.ID.String(),
		Meta:         versionMeta(p.Version, p.UpdatedAt),
		Status:       string(p.Status),
		Intent:       "plan",
		Title:        p.Title,
		Description:  p.Description,
		Subject:      subject,
	}
	if p.EncounterID != nil {
		out.Encounter = reference("Encounter", p.EncounterID.String())
	}
	if !p.Period.Start.IsZero() {
		out.Period = &Period{Start: instant(p.Period.Start), End: instantPtr(p.Period.End)}
	}
	if !p.CreatedAt.IsZero() {
		out.Created = instant(p.CreatedAt)
	}
	if p.Unit != "" {
		out.Note = []Annotation{{Text: "Reminders go to " + p.Unit + "."}}
	}
	for _, g := range p.Goals {
		goal := Goal{ResourceType: "Goal", ID: "goal-" + g.ID.String(), LifecycleStatus: string(g.Status),
			Description: CodeableConcept{Text: g.Description}, Subject: subject}
		if g.Achievement != "" {
			goal.AchievementStatus = &CodeableConcept{Coding: []Coding{{System: SystemGoalAchievement, Code: g.Achievement}}}
		}
		if g.Target != "" || g.DueDate != "" {
			goal.Target = []GoalTarget{{DetailString: g.Target, DueDate: g.DueDate}}
		}
		out.Contained = append(out.Contained, goal)
		out.Goal = append(out.Goal, Reference{Reference: "#" + goal.ID})
	}
	for _, a := range p.Activities {
		d := CarePlanActivityDetail{Code: &CodeableConcept{Text: a.Title}, Status: string(a.Status), Description: a.Description}
		if !a.Schedule.DueAt.IsZero() {
			d.ScheduledPeriod = &Period{Start: instant(a.Schedule.DueAt), End: instantPtr(a.Schedule.Until)}
		}
		if a.OwnerID != uuid.Nil {
			d.Performer = []Reference{*reference("Practitioner", a.OwnerID.String())}
		}
		out.Activity = append(out.Activity, CarePlanActivity{Detail: d})
	}
	return out
}
