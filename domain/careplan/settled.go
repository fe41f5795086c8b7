package careplan

import (
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
)

// ParseKey reads an occurrence key (OverdueActivity.Key) back into the
// activity and its due time.
func ParseKey(key string) (activityID uuid.UUID, dueAt time.Time, err error) {
	id, due, found := strings.Cut(key, "@")
	if !found {
		return uuid.Nil, time.Time{}, fmt.Errorf("occurrence key %q: want <activity id>@<due time>", key)
	}
	if activityID, err = uuid.Parse(id); err != nil {
		return uuid.Nil, time.Time{}, fmt.Errorf("occurrence key %q: %w", key, err)
	}
	if dueAt, err = time.Parse(time.RFC3339Nano, due); err != nil {
		return uuid.Nil, time.Time{}, fmt.Errorf("occurrence key %q: %w", key, err)
	}
	return activityID, dueAt, nil
}

// Settlement says who settled an occurrence that was overdue and how, for
// the note that closes its reminder.
type Settlement struct {
	By   uuid.UUID
	Note string
}

// Settled explains why the occurrence named by key is no longer overdue: a
// recorded completion or cancellation of that occurrence (by whoever
// recorded it), the plan no longer being active, or a new due time (both
// on the owner's behalf). ok is false when key names no activity of the plan.
func (p CarePlan) Settled(key string) (s Settlement, ok bool) {
	activityID, dueAt, err := ParseKey(key)
	if err != nil {
		return Settlement{}, false
	}
	for _, a := range p.Activities {
		if a.ID != activityID {
			continue
		}
		for i := len(a.History) - 1; i >= 0; i-- {
			c := a.History[i]
			if c.DueAt.Equal(dueAt) && c.Status.Final() {
				note := "Care plan activity " + a.Title + " " + string(c.Status)
				if c.Note != "" {
					note += ": " + c.Note
				}
				return Settlement{By: c.By, Note: note}, true
			}
		}
		if p.Status != StatusActive {
			return Settlement{By: a.OwnerID, Note: "Care plan " + string(p.Status)}, true
		}
		if a.Status.Final() {
			return Settlement{By: a.OwnerID, Note: "Care plan activity " + a.Title + " " + string(a.Status)}, true
		}
		return Settlement{By: a.OwnerID, Note: "Care plan activity " + a.Title + " now due " +
			a.Schedule.DueAt.UTC().Format("2006-01-02 15:04 UTC")}, true
	}
	return Settlement{}, false
}
