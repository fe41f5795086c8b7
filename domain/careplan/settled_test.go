package careplan_test

import (
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/zarish-sphere/zarish/domain/careplan"
)

func TestParseKey(t *testing.T) {
	o := careplan.OverdueActivity{ActivityID: uuid.MustParse("0190f3c4-0000-7000-8000-0000000000b7"), DueAt: now.Add(90 * time.Minute)}
	id, due, err := careplan.ParseKey(o.Key())
	if err != nil || id != o.ActivityID || !due.Equal(o.DueAt) {
		t.Fatalf("ParseKey(%q) = %s %s %v", o.Key(), id, due, err)
	}
	for _, bad := range []string{"", "no-at-sign", "not-a-uuid@2026-11-25T09:00:00Z", o.ActivityID.String() + "@yesterday"} {
		if _, _, err := careplan.ParseKey(bad); err == nil {
			t.Errorf("ParseKey(%q) accepted", bad)
		}
	}
}

// Each way an overdue occurrence stops being overdue names who settled it.
func TestSettled(t *testing.T) {
	p := newPlan(t)
	overdue := careplan.Overdue(p, now.Add(25*time.Hour))
	if len(overdue) != 2 {
		t.Fatalf("overdue %+v", overdue)
	}
	reposition, review := overdue[0], overdue[1]

	// Recorded completion of that occurrence: whoever recorded it.
	done, err := p.SetActivityStatus(reposition.ActivityID, careplan.ActivityCompleted, doctor, "turned to the left", now.Add(25*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	s, ok := done.Settled(reposition.Key())
	if !ok || s.By != doctor || !strings.Contains(s.Note, "completed: turned to the left") {
		t.Errorf("completed: %+v %v", s, ok)
	}

	// A new due time: on the owner's behalf, naming it.
	moved := newPlan(t)
	moved.Activities = append([]careplan.Activity(nil), moved.Activities...)
	moved.Activities[1].Schedule.DueAt = now.Add(48 * time.Hour)
	s, ok = moved.Settled(review.Key())
	if !ok || s.By != doctor || !strings.Contains(s.Note, "now due 2026-11-27 09:00 UTC") {
		t.Errorf("rescheduled: %+v %v", s, ok)
	}

	// The plan ended.
	ended := newPlan(t)
	ended.Status = careplan.StatusRevoked
	s, ok = ended.Settled(review.Key())
	if !ok || s.By != doctor || s.Note != "Care plan revoked" {
		t.Errorf("revoked plan: %+v %v", s, ok)
	}

	// Not an activity of the plan.
	if _, ok := p.Settled(uuid.NewString() + "@" + now.Format(time.RFC3339Nano)); ok {
		t.Error("a key of another plan's activity was settled")
	}
}
