// Package careplan holds the rules of care plans: what a valid plan is, the
// status transitions of the plan and of its activities, how completing one
// occurrence of a repeating activity schedules the next, and which activities
// are overdue. It is pure: functions that need the time take it as a parameter.
package careplan

import (
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/google/uuid"
)

// Status is where a care plan stands; a subset of FHIR R4
// CarePlan.status (http://hl7.org/fhir/R4/valueset-request-status.html).
type Status string

// The plan statuses. Revoked and completed plans are final.
const (
	StatusDraft     Status = "draft"
	StatusActive    Status = "active"
	StatusOnHold    Status = "on-hold"
	StatusRevoked   Status = "revoked"
	StatusCompleted Status = "completed"
)

// Statuses lists every plan status.
var Statuses = []Status{StatusDraft, StatusActive, StatusOnHold, StatusRevoked, StatusCompleted}

// Valid reports whether s is a known plan status.
func (s Status) Valid() bool { return slices.Contains(Statuses, s) }

// Final reports whether the plan can no longer change.
func (s Status) Final() bool { return s == StatusRevoked || s == StatusCompleted }

// planTransitions are the plan status changes allowed; staying put always is.
var planTransitions = map[Status][]Status{
	StatusDraft:  {StatusActive, StatusRevoked},
	StatusActive: {StatusOnHold, StatusRevoked, StatusCompleted},
	StatusOnHold: {StatusActive, StatusRevoked, StatusCompleted},
}

// CanBecome reports whether a plan in status s may move to next.
func (s Status) CanBecome(next Status) bool {
	return s == next && !s.Final() || slices.Contains(planTransitions[s], next)
}

// GoalStatus is a goal's lifecycle; a subset of FHIR R4 Goal.lifecycleStatus
// (http://hl7.org/fhir/R4/valueset-goal-status.html).
type GoalStatus string

// The goal statuses.
const (
	GoalProposed  GoalStatus = "proposed"
	GoalAccepted  GoalStatus = "accepted"
	GoalActive    GoalStatus = "active"
	GoalOnHold    GoalStatus = "on-hold"
	GoalCompleted GoalStatus = "completed"
	GoalCancelled GoalStatus = "cancelled"
)

// GoalStatuses lists every goal status.
var GoalStatuses = []GoalStatus{GoalProposed, GoalAccepted, GoalActive, GoalOnHold, GoalCompleted, GoalCancelled}

// Achievements are the codes of FHIR R4 Goal.achievementStatus
// (http://hl7.org/fhir/R4/valueset-goal-achievement.html).
var Achievements = []string{"in-progress", "improving", "worsening", "no-change", "achieved", "sustaining",
	"not-achieved", "no-progress", "not-attainable"}

// ActivityStatus is where an activity stands; a subset of FHIR R4
// CarePlan.activity.detail.status
// (http://hl7.org/fhir/R4/valueset-care-plan-activity-status.html).
type ActivityStatus string

// The activity statuses. Completed and cancelled activities are final.
const (
	ActivityNotStarted ActivityStatus = "not-started"
	ActivityScheduled  ActivityStatus = "scheduled"
	ActivityInProgress ActivityStatus = "in-progress"
	ActivityOnHold     ActivityStatus = "on-hold"
	ActivityCompleted  ActivityStatus = "completed"
	ActivityCancelled  ActivityStatus = "cancelled"
)

// ActivityStatuses lists every activity status.
var ActivityStatuses = []ActivityStatus{ActivityNotStarted, ActivityScheduled, ActivityInProgress, ActivityOnHold,
	ActivityCompleted, ActivityCancelled}

// Valid reports whether s is a known activity status.
func (s ActivityStatus) Valid() bool { return slices.Contains(ActivityStatuses, s) }

// Final reports whether the activity can no longer change status.
func (s ActivityStatus) Final() bool { return s == ActivityCompleted || s == ActivityCancelled }

// Open reports whether the activity is still to be done: not started,
// scheduled or in progress. Open activities become overdue; on-hold ones do not.
func (s ActivityStatus) Open() bool {
	return s == ActivityNotStarted || s == ActivityScheduled || s == ActivityInProgress
}

// activityTransitions are the activity status changes allowed.
var activityTransitions = map[ActivityStatus][]ActivityStatus{
	ActivityNotStarted: {ActivityScheduled, ActivityInProgress, ActivityOnHold, ActivityCompleted, ActivityCancelled},
	ActivityScheduled:  {ActivityNotStarted, ActivityInProgress, ActivityOnHold, ActivityCompleted, ActivityCancelled},
	ActivityInProgress: {ActivityOnHold, ActivityCompleted, ActivityCancelled},
	ActivityOnHold:     {ActivityNotStarted, ActivityScheduled, ActivityInProgress, ActivityCancelled},
}

// CanBecome reports whether an activity in status s may move to next.
func (s ActivityStatus) CanBecome(next ActivityStatus) bool {
	return slices.Contains(activityTransitions[s], next)
}

var (
	// ErrInvalidTransition wraps every status change the current status
	// forbids; the message names the current status.
	ErrInvalidTransition = errors.New("invalid transition")
	// ErrActivityNotFound means the plan has no activity with that id.
	ErrActivityNotFound = errors.New("no such activity in the care plan")
)

// transitionError refuses a change, naming what and its current status.
func transitionError(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrInvalidTransition}, args...)...)
}

// Period is when the plan applies; End is open when nil.
type Period struct {
	Start time.Time  `json:"start"`
	End   *time.Time `json:"end,omitempty"`
}

// Goal is an intended outcome of the plan.
type Goal struct {
	ID          uuid.UUID  `json:"id"`
	Description string     `json:"description"`
	Target      string     `json:"target,omitempty"`  // the measure, in words: "HbA1c below 7%"
	DueDate     string     `json:"dueDate,omitempty"` // YYYY-MM-DD
	Status      GoalStatus `json:"status"`
	Achievement string     `json:"achievement,omitempty"` // one of Achievements
}

// Schedule is when an activity is due. A repeating activity (Repeat, an ISO
// 8601 duration) is due again Repeat after each completed occurrence, until
// the next due time would pass Until.
type Schedule struct {
	DueAt  time.Time  `json:"dueAt"`
	Repeat string     `json:"repeat,omitempty"`
	Until  *time.Time `json:"until,omitempty"`
}

// Change is one recorded status change of an activity.
type Change struct {
	Status ActivityStatus `json:"status"`
	By     uuid.UUID      `json:"by"`
	At     time.Time      `json:"at"`
	Note   string         `json:"note,omitempty"`
	// DueAt is the due time of the occurrence the change concerns.
	DueAt time.Time `json:"dueAt"`
}

// Activity is one thing the plan asks a practitioner to do.
type Activity struct {
	ID          uuid.UUID      `json:"id"`
	Title       string         `json:"title"`
	Description string         `json:"description,omitempty"`
	OwnerID     uuid.UUID      `json:"ownerId"` // the practitioner responsible
	Status      ActivityStatus `json:"status"`
	Schedule    Schedule       `json:"schedule"`
	History     []Change       `json:"history"`
}

// CarePlan is a patient's plan of care: goals and the activities meant to
// reach them, owned by a unit that receives the reminders.
type CarePlan struct {
	ID          uuid.UUID  `json:"id"`
	PatientID   uuid.UUID  `json:"patientId"`
	EncounterID *uuid.UUID `json:"encounterId,omitempty"`
	Title       string     `json:"title"`
	Description string     `json:"description,omitempty"`
	// Unit is the ward responsible for the plan; its reminders are routed there.
	Unit       string     `json:"unit"`
	Status     Status     `json:"status"`
	Period     Period     `json:"period"`
	Goals      []Goal     `json:"goals"`
	Activities []Activity `json:"activities"`
	// Version starts at 1 and grows by one with every change, for
	// optimistic concurrency.
	Version   int       `json:"version"`
	CreatedAt time.Time `json:"createdAt"`
	UpdatedAt time.Time `json:"updatedAt"`
}

// Activity returns the activity with id.
func (p CarePlan) Activity(id uuid.UUID) (Activity, bool) {
	i := slices.IndexFunc(p.Activities, func(a Activity) bool { return a.ID == id })
	if i < 0 {
		return Activity{}, false
	}
	return p.Activities[i], true
}
