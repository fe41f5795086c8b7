package careplan

import (
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
)

// OverdueActivity is one occurrence of an activity past its due time.
type OverdueActivity struct {
	PlanID     uuid.UUID `json:"planId"`
	ActivityID uuid.UUID `json:"activityId"`
	Title      string    `json:"title"`
	OwnerID    uuid.UUID `json:"ownerId"`
	DueAt      time.Time `json:"dueAt"`
}

// Key names the occurrence: the activity and its due time. A repeating
// activity's next occurrence has a new key.
func (o OverdueActivity) Key() string {
	return o.ActivityID.String() + "@" + o.DueAt.UTC().Format(time.RFC3339Nano)
}

// Overdue lists the open activities (not started, scheduled or in
// progress) of an active plan due at or before now, earliest first. Plans
// in any other status have nothing overdue.
func Overdue(p CarePlan, now time.Time) []OverdueActivity {
	if p.Status != StatusActive {
		return nil
	}
	var out []OverdueActivity
	for _, a := range p.Activities {
		if a.Status.Open() && !a.Schedule.DueAt.After(now) {
			out = append(out, OverdueActivity{PlanID: p.ID, ActivityID: a.ID, Title: a.Title, OwnerID: a.OwnerID, DueAt: a.Schedule.DueAt})
		}
	}
	slices.SortFunc(out, func(a, b OverdueActivity) int {
		if c := a.DueAt.Compare(b.DueAt); c != 0 {
			return c
		}
		return strings.Compare(a.ActivityID.String(), b.ActivityID.String())
	})
	return out
}

// NextDue is the earliest due time after the instant after among the open
// activities of an active plan; ok is false when nothing more falls due.
func NextDue(p CarePlan, after time.Time) (time.Time, bool) {
	var next time.Time
	if p.Status != StatusActive {
		return next, false
	}
	for _, a := range p.Activities {
		due := a.Schedule.DueAt
		if a.Status.Open() && due.After(after) && (next.IsZero() || due.Before(next)) {
			next = due
		}
	}
	return next, !next.IsZero()
}

// EarliestDue is the earliest due time among the open activities of an
// active plan, overdue or not; ok is false when there is none.
func EarliestDue(p CarePlan) (time.Time, bool) {
	return NextDue(p, time.Time{})
}

// Pending splits the overdue occurrences into those not yet reminded and the
// keys of the reminded ones that are still overdue, so a reminder list kept
// across checks forgets occurrences that were done, rescheduled or removed.
func Pending(overdue []OverdueActivity, reminded []string) (fresh []OverdueActivity, still []string) {
	for _, o := range overdue {
		if slices.Contains(reminded, o.Key()) {
			still = append(still, o.Key())
		} else {
			fresh = append(fresh, o)
		}
	}
	return fresh, still
}
