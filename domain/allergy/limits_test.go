package allergy_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/zarish-sphere/zarish/domain/allergy"
)

// TestLimitsCountCharacters: limits are in characters, not bytes.
func TestLimitsCountCharacters(t *testing.T) {
	d := penicillin()
	d.Substance.Text = strings.Repeat("প", allergy.MaxTextLen)
	d.Note = strings.Repeat("ন", allergy.MaxNoteLen)
	d.Reactions[0].Manifestations = []string{strings.Repeat("চ", allergy.MaxManifestationLen)}
	if _, err := allergy.New(uuid.New(), uuid.New(), d, now); err != nil {
		t.Fatalf("at the limits: %v", err)
	}
	d.Substance.Text += "প"
	d.Note += "ন"
	d.Reactions[0].Manifestations[0] += "চ"
	_, err := allergy.New(uuid.New(), uuid.New(), d, now)
	for _, f := range []string{"substance.text", "note", "reactions[0].manifestations[0]"} {
		if !slices.Contains(fields(err), f) {
			t.Errorf("one letter over: %s not refused (%v)", f, err)
		}
	}
}
