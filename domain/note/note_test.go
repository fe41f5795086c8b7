package note_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/zarish-sphere/zarish/domain"
	"github.com/zarish-sphere/zarish/domain/note"
)

var (
	now       = time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)
	author    = uuid.MustParse("0190f3c4-0000-7000-8000-0000000000a1")
	colleague = uuid.MustParse("0190f3c4-0000-7000-8000-0000000000a2")
	encID     = uuid.MustParse("0190f3c4-0000-7000-8000-0000000000e1")
	patID     = uuid.MustParse("0190f3c4-0000-7000-8000-0000000000f1")
)

func soap() []note.Section {
	return []note.Section{
		{Title: "Subjective", Text: "Chest pain since morning."},
		{Title: "Objective", Text: "BP 150/90."},
		{Title: "Assessment", Text: "Suspected ACS."},
		{Title: "Plan", Text: "ECG, troponin."},
	}
}

func draft(t *testing.T, typ note.Type) note.Note {
	t.Helper()
	var sections []note.Section
	if typ == note.TypeSOAP {
		sections = soap()
	}
	n, err := note.NewNote(uuid.Must(uuid.NewV7()), encID, patID, typ, author, "  Patient seen.  ", sections, now)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func fields(err error) []string {
	var verr *domain.ValidationError
	if !errors.As(err, &verr) {
		return nil
	}
	var out []string
	for _, f := range verr.Fields {
		out = append(out, f.Field)
	}
	return out
}

func TestNewNote(t *testing.T) {
	id := uuid.Must(uuid.NewV7())
	cases := []struct {
		name     string
		id       uuid.UUID
		enc, pat uuid.UUID
		typ      note.Type
		author   uuid.UUID
		text     string
		sections []note.Section
		fields   []string
	}{
		{"progress note", id, encID, patID, note.TypeProgress, author, "Improving.", nil, nil},
		{"triage note with sections only", id, encID, patID, note.TypeTriage, author, "", []note.Section{{Title: "Vitals", Text: "HR 90"}}, nil},
		{"complete SOAP", id, encID, patID, note.TypeSOAP, author, "", soap(), nil},
		{"SOAP titles are case-insensitive", id, encID, patID, note.TypeSOAP, author, "", []note.Section{
			{Title: "SUBJECTIVE"}, {Title: "objective"}, {Title: " Assessment "}, {Title: "plan"}}, nil},
		{"SOAP without plan", id, encID, patID, note.TypeSOAP, author, "x", soap()[:3], []string{"sections"}},
		{"every id missing and bad type", uuid.Nil, uuid.Nil, uuid.Nil, "letter", uuid.Nil, "x", nil,
			[]string{"id", "encounterId", "patientId", "authorId", "type"}},
		{"empty content", id, encID, patID, note.TypeDischargeSummary, author, "   ", nil, []string{"text"}},
		{"untitled and repeated sections", id, encID, patID, note.TypeProgress, author, "x",
			[]note.Section{{Title: "", Text: "a"}, {Title: "Plan"}, {Title: "plan"}},
			[]string{"sections[0].title", "sections[2].title"}},
		{"text too long", id, encID, patID, note.TypeProgress, author, strings.Repeat("a", note.MaxTextLen+1), nil, []string{"text"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			n, err := note.NewNote(tc.id, tc.enc, tc.pat, tc.typ, tc.author, tc.text, tc.sections, now)
			if got := fields(err); strings.Join(got, ",") != strings.Join(tc.fields, ",") {
				t.Fatalf("invalid fields = %v, want %v (err %v)", got, tc.fields, err)
			}
			if tc.fields != nil {
				return
			}
			if n.Status != note.StatusDraft || n.Version != 1 || n.Sections == nil || !n.CreatedAt.Equal(now) {
				t.Fatalf("new note = %+v", n)
			}
		})
	}
}

func TestEditDraft(t *testing.T) {
	d := draft(t, note.TypeProgress)
	signed, err := d.Sign(author, now)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name   string
		n      note.Note
		by     uuid.UUID
		text   string
		err    error
		fields []string
	}{
		{"author edits draft", d, author, " Better today. ", nil, nil},
		{"colleague edits draft", d, colleague, "x", note.ErrNotAuthor, nil},
		{"author edits signed note", signed, author, "x", note.ErrNotDraft, nil},
		{"edit empties the note", d, author, "", nil, []string{"text"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.n.EditDraft(tc.by, tc.text, nil, now.Add(time.Minute))
			if tc.fields != nil {
				if f := fields(err); strings.Join(f, ",") != strings.Join(tc.fields, ",") {
					t.Fatalf("fields = %v, want %v", f, tc.fields)
				}
				return
			}
			if !errors.Is(err, tc.err) {
				t.Fatalf("err = %v, want %v", err, tc.err)
			}
			if tc.err != nil {
				if got.Version != tc.n.Version || got.Text != tc.n.Text {
					t.Fatalf("refused edit changed the note: %+v", got)
				}
				return
			}
			if got.Text != "Better today." || got.Version != 2 || !got.UpdatedAt.Equal(now.Add(time.Minute)) {
				t.Fatalf("edited = %+v", got)
			}
		})
	}
}

func TestSign(t *testing.T) {
	d := draft(t, note.TypeSOAP)
	if _, err := d.Sign(colleague, now); !errors.Is(err, note.ErrNotAuthor) {
		t.Fatalf("colleague signs: %v", err)
	}
	s, err := d.Sign(author, now.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if s.Status != note.StatusSigned || s.Version != 2 || *s.SignedBy != author || !s.SignedAt.Equal(now.Add(time.Hour)) {
		t.Fatalf("signed = %+v", s)
	}
	if _, err := s.Sign(author, now); !errors.Is(err, note.ErrNotDraft) {
		t.Fatalf("signing twice: %v", err)
	}
}

func TestAmend(t *testing.T) {
	d := draft(t, note.TypeSOAP)
	signed, _ := d.Sign(author, now)
	id := uuid.Must(uuid.NewV7())
	cases := []struct {
		name     string
		original note.Note
		reason   string
		sections []note.Section
		err      error
		fields   []string
	}{
		{"colleague corrects a signed note", signed, "BP was 160/90", soap(), nil, nil},
		{"draft cannot be amended", d, "typo", soap(), note.ErrNotSigned, nil},
		{"reason and SOAP sections required", signed, " ", soap()[:2], nil, []string{"reason", "sections"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			a, err := note.Amend(tc.original, id, colleague, tc.reason, "", tc.sections, now.Add(time.Hour))
			if tc.fields != nil {
				if f := fields(err); strings.Join(f, ",") != strings.Join(tc.fields, ",") {
					t.Fatalf("fields = %v, want %v", f, tc.fields)
				}
				return
			}
			if !errors.Is(err, tc.err) {
				t.Fatalf("err = %v, want %v", err, tc.err)
			}
			if tc.err != nil {
				return
			}
			if a.Status != note.StatusDraft || *a.AmendsID != signed.ID || a.Author != colleague ||
				a.EncounterID != encID || a.PatientID != patID || a.Type != note.TypeSOAP || a.AmendReason != "BP was 160/90" {
				t.Fatalf("amendment = %+v", a)
			}
		})
	}
}

func TestSignedAmendmentSupersedesOriginal(t *testing.T) {
	original, _ := draft(t, note.TypeProgress).Sign(author, now)
	a, err := note.Amend(original, uuid.Must(uuid.NewV7()), author, "wrong dose", "Corrected dose.", nil, now)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := original.Supersede(a, now); !errors.Is(err, note.ErrNotSigned) {
		t.Fatalf("a draft amendment superseded the original: %v", err)
	}
	a, _ = a.Sign(author, now.Add(time.Minute))
	sup, err := original.Supersede(a, now.Add(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	if sup.Status != note.StatusSigned || *sup.AmendedBy != a.ID || sup.Version != original.Version+1 || sup.Text != original.Text {
		t.Fatalf("superseded original = %+v", sup)
	}
	if _, err := sup.EditDraft(author, "x", nil, now); !errors.Is(err, note.ErrNotDraft) {
		t.Fatalf("superseded original was editable: %v", err)
	}
	if _, err := note.Amend(sup, uuid.Must(uuid.NewV7()), author, "again", "x", nil, now); !errors.Is(err, note.ErrSuperseded) {
		t.Fatalf("amending a superseded note: %v", err)
	}
	if _, err := sup.Supersede(a, now); !errors.Is(err, note.ErrSuperseded) {
		t.Fatalf("superseding twice: %v", err)
	}
}
