package careplan_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/zarish-sphere/zarish/domain/careplan"
)

// TestLimitsCountCharacters: a limit is in characters, so 200 Bengali
// letters (600 bytes) make a valid title and 201 do not.
func TestLimitsCountCharacters(t *testing.T) {
	for _, tt := range []struct {
		field string
		set   func(*careplan.Content, string)
		max   int
	}{
		{"title", func(c *careplan.Content, s string) { c.Title = s }, careplan.MaxTitleLen},
		{"unit", func(c *careplan.Content, s string) { c.Unit = s }, careplan.MaxUnitLen},
		{"goals[0].description", func(c *careplan.Content, s string) { c.Goals[0].Description = s }, careplan.MaxGoalTextLen},
		{"activities[0].description", func(c *careplan.Content, s string) { c.Activities[0].Description = s }, careplan.MaxTextLen},
		{"activities[0].schedule.repeat", func(c *careplan.Content, s string) { c.Activities[0].Schedule.Repeat = "PT" + s + "H" },
			careplan.MaxRepeatLen},
	} {
		at := strings.Repeat("ক", tt.max)
		if tt.field == "activities[0].schedule.repeat" {
			at = strings.Repeat("0", tt.max-4) + "1" // PT00…01H: max characters
		}
		c := content()
		tt.set(&c, at)
		if _, err := careplan.New(uuid.New(), patient, nil, c, ids(), now); err != nil {
			t.Errorf("%s of %d characters: %v", tt.field, tt.max, err)
		}
		c = content()
		tt.set(&c, at+"0")
		if _, err := careplan.New(uuid.New(), patient, nil, c, ids(), now); !slices.Contains(fields(err), tt.field) {
			t.Errorf("%s of %d characters: %v", tt.field, tt.max+1, err)
		}
	}
	p := newPlan(t)
	note := strings.Repeat("ন", careplan.MaxNoteLen)
	if _, err := p.SetActivityStatus(p.Activities[0].ID, careplan.ActivityInProgress, nurse, note, now); err != nil {
		t.Errorf("a note of %d Bengali letters: %v", careplan.MaxNoteLen, err)
	}
	if _, err := p.SetActivityStatus(p.Activities[0].ID, careplan.ActivityInProgress, nurse, note+"ন", now); !slices.Contains(fields(err), "note") {
		t.Errorf("a note of %d letters: %v", careplan.MaxNoteLen+1, err)
	}
}
