package note_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/zarish-sphere/zarish/domain/note"
)

// TestLimitsCountCharacters: 100,000 Bengali letters (300 KB) are a valid
// note text, and a section title of 200 letters a valid title.
func TestLimitsCountCharacters(t *testing.T) {
	text := strings.Repeat("ক", note.MaxTextLen)
	title := strings.Repeat("খ", note.MaxSectionTitleLen)
	if _, err := note.NewNote(uuid.New(), encID, patID, note.TypeProgress, author, text,
		[]note.Section{{Title: title, Text: text}}, now); err != nil {
		t.Fatalf("at the limits: %v", err)
	}
	_, err := note.NewNote(uuid.New(), encID, patID, note.TypeProgress, author, text+"ক",
		[]note.Section{{Title: title + "খ", Text: text + "ক"}}, now)
	for _, f := range []string{"text", "sections[0].title", "sections[0].text"} {
		if !slices.Contains(fields(err), f) {
			t.Errorf("one letter over: %s not refused (%v)", f, err)
		}
	}
}
