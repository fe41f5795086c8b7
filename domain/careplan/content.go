package careplan

import (
	"encoding/json"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/zarish-sphere/zarish/domain"
)

// Size limits of a plan's content.
const (
	MaxTitleLen    = 200
	MaxTextLen     = 10_000
	MaxUnitLen     = 100
	MaxGoals       = 50
	MaxActivities  = 100
	MaxGoalTextLen = 1000
	MaxNoteLen     = 2000
	// MaxRepeatLen bounds an activity's repeat, an ISO 8601 duration.
	MaxRepeatLen      = 64
	MinRepeatInterval = time.Minute
)

// Content is what a client writes of a plan: everything but its identity,
// the activities' histories, the version and the times.
type Content struct {
	Title       string
	Description string
	Unit        string
	Status      Status
	Period      Period
	// Goals without an id are new; a goal with an id keeps it.
	Goals      []Goal
	Activities []ActivityInput
}

// ActivityInput is an activity as a client writes it. ID is uuid.Nil for a
// new activity; an existing activity keeps its id and history.
type ActivityInput struct {
	ID          uuid.UUID
	Title       string
	Description string
	OwnerID     uuid.UUID
	// Status defaults to scheduled for a new activity and to the current
	// status for an existing one, whose status changes only through
	// SetActivityStatus, so every change is attributed.
	Status   ActivityStatus
	Schedule Schedule
}

// New starts a care plan at version 1 from c. The plan is draft or active;
// goals and activities get ids from newID. It reports every invalid field at
// once as a *domain.ValidationError.
func New(id, patientID uuid.UUID, encounterID *uuid.UUID, c Content, newID func() (uuid.UUID, error), now time.Time) (CarePlan, error) {
	problems := &domain.ValidationError{}
	if id == uuid.Nil {
		problems.Add("id", "is required")
	}
	if patientID == uuid.Nil {
		problems.Add("patientId", "is required")
	}
	if encounterID != nil && *encounterID == uuid.Nil {
		problems.Add("encounterId", "must be an encounter id when given")
	}
	c = normalize(c)
	validateContent(problems, c)
	if c.Status.Valid() && c.Status != StatusDraft && c.Status != StatusActive {
		problems.Add("status", "a new care plan is draft or active")
	}
	for i, g := range c.Goals {
		if g.ID != uuid.Nil {
			problems.Add(goalField(i, "id"), "must be left out: a new plan's goals get their ids from the server")
		}
	}
	for i, a := range c.Activities {
		if a.ID != uuid.Nil {
			problems.Add(activityField(i, "id"), "must be left out: a new plan's activities get their ids from the server")
		}
		if a.Status.Final() {
			problems.Add(activityField(i, "status"), "a new activity cannot start "+string(a.Status))
		}
	}
	if err := problems.OrNil(); err != nil {
		return CarePlan{}, err
	}
	now = now.UTC()
	p := CarePlan{ID: id, PatientID: patientID, EncounterID: encounterID, Version: 1, CreatedAt: now, UpdatedAt: now}
	return p.apply(c, newID, now)
}

// Revise replaces the plan's content with c: title, description, unit,
// status, period, goals and activities. Existing activities (named by id) keep
// their history and status; new ones get ids from newID; an activity with
// recorded changes cannot be removed (cancel it instead). Revised content
// equal to the current one changes nothing, version included. A revoked or
// completed plan refuses every change, and a status change the current status
// forbids is refused, both with ErrInvalidTransition.
func (p CarePlan) Revise(c Content, newID func() (uuid.UUID, error), now time.Time) (CarePlan, error) {
	if p.Status.Final() {
		return p, transitionError("care plan is %s and cannot change", p.Status)
	}
	problems := &domain.ValidationError{}
	c = normalize(c)
	validateContent(problems, c)
	p.checkGoals(problems, c.Goals)
	p.checkActivities(problems, c.Activities)
	if err := problems.OrNil(); err != nil {
		return p, err
	}
	if !p.Status.CanBecome(c.Status) {
		return p, transitionError("care plan is %s; it cannot become %s", p.Status, c.Status)
	}
	next, err := p.apply(c, newID, now)
	if err != nil {
		return p, err
	}
	if sameContent(p, next) {
		return p, nil
	}
	next.Version = p.Version + 1
	return next, nil
}

// apply writes c over p, which carries the identity and histories; new goals
// and activities get ids from newID.
func (p CarePlan) apply(c Content, newID func() (uuid.UUID, error), now time.Time) (CarePlan, error) {
	p.Title, p.Description, p.Unit, p.Status, p.Period = c.Title, c.Description, c.Unit, c.Status, c.Period
	goals := make([]Goal, 0, len(c.Goals))
	for _, g := range c.Goals {
		if g.ID == uuid.Nil {
			id, err := newID()
			if err != nil {
				return p, err
			}
			g.ID = id
		}
		goals = append(goals, g)
	}
	activities := make([]Activity, 0, len(c.Activities))
	for _, in := range c.Activities {
		a := Activity{ID: in.ID, Title: in.Title, Description: in.Description, OwnerID: in.OwnerID,
			Status: in.Status, Schedule: in.Schedule, History: []Change{}}
		if current, ok := p.Activity(in.ID); ok && in.ID != uuid.Nil {
			a.History = current.History
			if a.Status == "" {
				a.Status = current.Status
			}
		} else {
			id, err := newID()
			if err != nil {
				return p, err
			}
			a.ID = id
			if a.Status == "" {
				a.Status = ActivityScheduled
			}
		}
		activities = append(activities, a)
	}
	p.Goals, p.Activities = goals, activities
	p.UpdatedAt = now.UTC()
	return p, nil
}

// checkGoals reports goal ids a revision names that the plan does not hold,
// and ids named twice.
func (p CarePlan) checkGoals(problems *domain.ValidationError, goals []Goal) {
	seen := map[uuid.UUID]bool{}
	for i, g := range goals {
		if g.ID == uuid.Nil {
			continue
		}
		switch {
		case seen[g.ID]:
			problems.Add(goalField(i, "id"), "names a goal already listed")
		case !slices.ContainsFunc(p.Goals, func(h Goal) bool { return h.ID == g.ID }):
			problems.Add(goalField(i, "id"), "is not a goal of this care plan; leave it out for a new goal")
		}
		seen[g.ID] = true
	}
}

// checkActivities reports what a revision may not do to the activities:
// name an unknown or repeated id, change an existing activity's status, add
// a finished activity, or drop one that has recorded changes.
func (p CarePlan) checkActivities(problems *domain.ValidationError, in []ActivityInput) {
	seen := map[uuid.UUID]bool{}
	for i, a := range in {
		if a.ID == uuid.Nil {
			if a.Status.Final() {
				problems.Add(activityField(i, "status"), "a new activity cannot start "+string(a.Status))
			}
			continue
		}
		current, ok := p.Activity(a.ID)
		switch {
		case seen[a.ID]:
			problems.Add(activityField(i, "id"), "names an activity already listed")
		case !ok:
			problems.Add(activityField(i, "id"), "is not an activity of this care plan; leave it out for a new activity")
		case a.Status != "" && a.Status.Valid() && a.Status != current.Status:
			problems.Add(activityField(i, "status"), "is "+string(current.Status)+
				"; change an activity's status with POST /v1/clinical/care-plans/{id}/activities/{activityId}/status")
		}
		seen[a.ID] = true
	}
	for _, a := range p.Activities {
		if !seen[a.ID] && len(a.History) > 0 {
			problems.Add("activities", "activity "+a.ID.String()+" has recorded status changes and cannot be removed; cancel it instead")
		}
	}
}

// normalize trims the text, puts times in UTC and fills the goal status
// default (proposed).
func normalize(c Content) Content {
	c.Title, c.Description, c.Unit = strings.TrimSpace(c.Title), strings.TrimSpace(c.Description), strings.TrimSpace(c.Unit)
	c.Period.Start = c.Period.Start.UTC()
	c.Period.End = utcPtr(c.Period.End)
	goals := make([]Goal, 0, len(c.Goals))
	for _, g := range c.Goals {
		g.Description, g.Target = strings.TrimSpace(g.Description), strings.TrimSpace(g.Target)
		g.DueDate, g.Achievement = strings.TrimSpace(g.DueDate), strings.TrimSpace(g.Achievement)
		if g.Status == "" {
			g.Status = GoalProposed
		}
		goals = append(goals, g)
	}
	activities := make([]ActivityInput, 0, len(c.Activities))
	for _, a := range c.Activities {
		a.Title, a.Description = strings.TrimSpace(a.Title), strings.TrimSpace(a.Description)
		a.Schedule.DueAt = a.Schedule.DueAt.UTC()
		a.Schedule.Repeat = strings.TrimSpace(a.Schedule.Repeat)
		a.Schedule.Until = utcPtr(a.Schedule.Until)
		activities = append(activities, a)
	}
	c.Goals, c.Activities = goals, activities
	return c
}

func utcPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}

// validateContent reports every invalid field of c, with paths such as
// activities[1].schedule.repeat.
func validateContent(problems *domain.ValidationError, c Content) {
	text(problems, "title", c.Title, true, MaxTitleLen)
	text(problems, "description", c.Description, false, MaxTextLen)
	text(problems, "unit", c.Unit, true, MaxUnitLen)
	switch {
	case c.Status == "":
		problems.Add("status", "is required: draft, active, on-hold, revoked or completed")
	case !c.Status.Valid():
		problems.Add("status", "must be draft, active, on-hold, revoked or completed")
	}
	if c.Period.Start.IsZero() {
		problems.Add("period.start", "is required")
	}
	if c.Period.End != nil && !c.Period.Start.IsZero() && c.Period.End.Before(c.Period.Start) {
		problems.Add("period.end", "must not be before period.start")
	}
	if len(c.Goals) > MaxGoals {
		problems.Add("goals", "must hold at most "+strconv.Itoa(MaxGoals)+" goals")
	}
	for i, g := range c.Goals {
		text(problems, goalField(i, "description"), g.Description, true, MaxGoalTextLen)
		text(problems, goalField(i, "target"), g.Target, false, MaxGoalTextLen)
		if g.DueDate != "" {
			if _, err := time.Parse(time.DateOnly, g.DueDate); err != nil {
				problems.Add(goalField(i, "dueDate"), "must be a date (YYYY-MM-DD)")
			}
		}
		if !slices.Contains(GoalStatuses, g.Status) {
			problems.Add(goalField(i, "status"), "must be proposed, accepted, active, on-hold, completed or cancelled")
		}
		if g.Achievement != "" && !slices.Contains(Achievements, g.Achievement) {
			problems.Add(goalField(i, "achievement"), "must be one of "+strings.Join(Achievements, ", "))
		}
	}
	if len(c.Activities) > MaxActivities {
		problems.Add("activities", "must hold at most "+strconv.Itoa(MaxActivities)+" activities")
	}
	for i, a := range c.Activities {
		text(problems, activityField(i, "title"), a.Title, true, MaxTitleLen)
		text(problems, activityField(i, "description"), a.Description, false, MaxTextLen)
		if a.OwnerID == uuid.Nil {
			problems.Add(activityField(i, "ownerId"), "is required: the practitioner responsible")
		}
		if a.Status != "" && !a.Status.Valid() {
			problems.Add(activityField(i, "status"), "must be not-started, scheduled, in-progress, on-hold, completed or cancelled")
		}
		validateSchedule(problems, activityField(i, "schedule"), a.Schedule)
	}
}

func validateSchedule(problems *domain.ValidationError, field string, s Schedule) {
	if s.DueAt.IsZero() {
		problems.Add(field+".dueAt", "is required")
	}
	if s.Repeat != "" {
		d, err := ParseDuration(s.Repeat)
		switch {
		case utf8.RuneCountInString(s.Repeat) > MaxRepeatLen:
			problems.Add(field+".repeat", "must be at most "+strconv.Itoa(MaxRepeatLen)+" characters")
		case err != nil:
			problems.Add(field+".repeat", err.Error())
		case !s.DueAt.IsZero() && d.AddTo(s.DueAt).Sub(s.DueAt) < MinRepeatInterval:
			problems.Add(field+".repeat", "must be at least one minute (PT1M)")
		}
	}
	if s.Until != nil {
		switch {
		case s.Repeat == "":
			problems.Add(field+".until", "applies only to a repeating activity; set repeat or leave until out")
		case !s.DueAt.IsZero() && s.Until.Before(s.DueAt):
			problems.Add(field+".until", "must not be before dueAt")
		}
	}
}

func text(problems *domain.ValidationError, field, s string, required bool, max int) {
	switch {
	case required && s == "":
		problems.Add(field, "is required")
	case utf8.RuneCountInString(s) > max:
		problems.Add(field, "must be at most "+strconv.Itoa(max)+" characters")
	}
}

func goalField(i int, name string) string { return "goals[" + strconv.Itoa(i) + "]." + name }

func activityField(i int, name string) string {
	return "activities[" + strconv.Itoa(i) + "]." + name
}

// sameContent reports whether two versions of a plan differ in nothing but
// their version and update time.
func sameContent(a, b CarePlan) bool {
	a.Version, a.UpdatedAt = 0, time.Time{}
	b.Version, b.UpdatedAt = 0, time.Time{}
	ja, errA := json.Marshal(a)
	jb, errB := json.Marshal(b)
	return errA == nil && errB == nil && string(ja) == string(jb)
}
