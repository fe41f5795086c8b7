package careplan

import (
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/zarish-sphere/zarish/domain"
)

// SetActivityStatus records that by moved the activity to status, with an
// optional note, in the activity's history. Completing an occurrence of a
// repeating activity records it and schedules the next occurrence Repeat
// after the one completed (the activity is scheduled again) until that would
// pass Until; then the activity is completed. Activities change only while
// the plan is active or on hold, and completed and cancelled activities never
// change: both refusals wrap ErrInvalidTransition and name the current
// status. An unknown activity is ErrActivityNotFound.
func (p CarePlan) SetActivityStatus(activityID uuid.UUID, status ActivityStatus, by uuid.UUID, note string, now time.Time) (CarePlan, error) {
	problems := &domain.ValidationError{}
	switch {
	case status == "":
		problems.Add("status", "is required")
	case !status.Valid():
		problems.Add("status", "must be not-started, scheduled, in-progress, on-hold, completed or cancelled")
	}
	if by == uuid.Nil {
		problems.Add("by", "is required: the practitioner making the change")
	}
	note = strings.TrimSpace(note)
	if utf8.RuneCountInString(note) > MaxNoteLen {
		problems.Add("note", "must be at most 2000 characters")
	}
	if err := problems.OrNil(); err != nil {
		return p, err
	}
	i := slices.IndexFunc(p.Activities, func(a Activity) bool { return a.ID == activityID })
	if i < 0 {
		return p, ErrActivityNotFound
	}
	if p.Status != StatusActive && p.Status != StatusOnHold {
		return p, transitionError("care plan is %s; its activities cannot change", p.Status)
	}
	a := p.Activities[i]
	switch {
	case a.Status.Final():
		return p, transitionError("activity is %s and cannot change", a.Status)
	case !a.Status.CanBecome(status):
		return p, transitionError("activity is %s; it cannot become %s", a.Status, status)
	}
	now = now.UTC()
	a.History = append(slices.Clone(a.History), Change{Status: status, By: by, At: now, Note: note, DueAt: a.Schedule.DueAt})
	a.Status = status
	if status == ActivityCompleted && a.Schedule.Repeat != "" {
		if d, err := ParseDuration(a.Schedule.Repeat); err == nil && !d.Zero() {
			next := d.AddTo(a.Schedule.DueAt)
			if a.Schedule.Until == nil || !next.After(*a.Schedule.Until) {
				a.Schedule.DueAt = next
				a.Status = ActivityScheduled
			}
		}
	}
	p.Activities = slices.Clone(p.Activities)
	p.Activities[i] = a
	p.Version++
	p.UpdatedAt = now
	return p, nil
}
