// Package note holds the rules of clinical documentation: what a valid note
// is, who may edit a draft, how signing makes a note immutable, and how a
// correction is written as an amendment that supersedes the signed original.
package note

import (
	"errors"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/zarish-sphere/zarish/domain"
)

// Type is the kind of clinical note.
type Type string

// The note types.
const (
	TypeTriage           Type = "triage"
	TypeProgress         Type = "progress"
	TypeSOAP             Type = "soap"
	TypeDischargeSummary Type = "discharge-summary"
)

// Types lists every note type, for validation.
var Types = []Type{TypeTriage, TypeProgress, TypeSOAP, TypeDischargeSummary}

// Status is where a note is in its life.
type Status string

// A note is a draft until its author signs it; a signed note never changes
// again except to record the amendment that supersedes it (AmendedBy).
const (
	StatusDraft  Status = "draft"
	StatusSigned Status = "signed"
)

// SOAPSections are the section titles a SOAP note must have.
var SOAPSections = []string{"subjective", "objective", "assessment", "plan"}

// Size limits of a note's content.
const (
	MaxTextLen         = 100_000
	MaxSections        = 50
	MaxSectionTitleLen = 200
	MaxReasonLen       = 2000
)

var (
	// ErrNotAuthor means someone other than the note's author tried to edit or sign it.
	ErrNotAuthor = errors.New("only the note's author may change it")
	// ErrNotDraft means the note is signed, and signed notes are immutable.
	ErrNotDraft = errors.New("note is signed and cannot change; amend it instead")
	// ErrNotSigned means an amendment was asked of a note that is not signed.
	ErrNotSigned = errors.New("only signed notes can be amended")
	// ErrSuperseded means the note was already amended; amend its amendment instead.
	ErrSuperseded = errors.New("note was already amended; amend the newest version")
)

// Section is one titled part of a note, such as a SOAP note's "assessment".
type Section struct {
	Title string `json:"title"`
	Text  string `json:"text"`
}

// Note is one version of a clinical note on an encounter. A correction of a
// signed note is a new Note whose AmendsID names the original; once the
// correction is signed the original's AmendedBy names it.
type Note struct {
	ID          uuid.UUID `json:"id"`
	EncounterID uuid.UUID `json:"encounterId"`
	PatientID   uuid.UUID `json:"patientId"`
	Type        Type      `json:"type"`
	// Author is the practitioner who writes, and alone may edit and sign, the note.
	Author   uuid.UUID `json:"authorId"`
	Status   Status    `json:"status"`
	Text     string    `json:"text"`
	Sections []Section `json:"sections"`
	// Version starts at 1 and grows by one with every change, for
	// optimistic concurrency.
	Version int `json:"version"`
	// AmendsID and AmendReason are set on an amendment: the note it corrects and why.
	AmendsID    *uuid.UUID `json:"amendsId,omitempty"`
	AmendReason string     `json:"amendReason,omitempty"`
	// AmendedBy is set on a signed note once an amendment of it is signed.
	AmendedBy *uuid.UUID `json:"amendedBy,omitempty"`
	SignedAt  *time.Time `json:"signedAt,omitempty"`
	SignedBy  *uuid.UUID `json:"signedBy,omitempty"`
	CreatedAt time.Time  `json:"createdAt"`
	UpdatedAt time.Time  `json:"updatedAt"`
}

// NewNote starts a draft note at version 1. It reports every invalid field
// at once as a *domain.ValidationError; text and sections are trimmed.
func NewNote(id, encounterID, patientID uuid.UUID, typ Type, author uuid.UUID, text string, sections []Section, now time.Time) (Note, error) {
	problems := &domain.ValidationError{}
	requireID(problems, "id", id)
	requireID(problems, "encounterId", encounterID)
	requireID(problems, "patientId", patientID)
	requireID(problems, "authorId", author)
	if !slices.Contains(Types, typ) {
		problems.Add("type", "must be triage, progress, soap or discharge-summary")
	}
	text, sections = normalize(text, sections)
	validateContent(problems, typ, text, sections)
	if err := problems.OrNil(); err != nil {
		return Note{}, err
	}
	now = now.UTC()
	return Note{
		ID:          id,
		EncounterID: encounterID,
		PatientID:   patientID,
		Type:        typ,
		Author:      author,
		Status:      StatusDraft,
		Text:        text,
		Sections:    sections,
		Version:     1,
		CreatedAt:   now,
		UpdatedAt:   now,
	}, nil
}

// EditDraft replaces the text and sections of a draft. Only the author may
// edit (ErrNotAuthor), and only while the note is a draft (ErrNotDraft).
func (n Note) EditDraft(author uuid.UUID, text string, sections []Section, now time.Time) (Note, error) {
	if n.Status != StatusDraft {
		return n, ErrNotDraft
	}
	if author != n.Author {
		return n, ErrNotAuthor
	}
	text, sections = normalize(text, sections)
	problems := &domain.ValidationError{}
	validateContent(problems, n.Type, text, sections)
	if err := problems.OrNil(); err != nil {
		return n, err
	}
	n.Text, n.Sections = text, sections
	n.Version++
	n.UpdatedAt = now.UTC()
	return n, nil
}

// Sign makes a draft immutable. Only the author may sign (ErrNotAuthor), and
// a signed note cannot be signed again (ErrNotDraft).
func (n Note) Sign(by uuid.UUID, now time.Time) (Note, error) {
	if n.Status != StatusDraft {
		return n, ErrNotDraft
	}
	if by != n.Author {
		return n, ErrNotAuthor
	}
	now = now.UTC()
	n.Status = StatusSigned
	n.SignedAt, n.SignedBy = &now, &by
	n.Version++
	n.UpdatedAt = now
	return n, nil
}

// Amend starts a correction of the signed note original: a new draft with id,
// written by author, of the same encounter, patient and type, that names the
// original and the reason. The original must be signed (ErrNotSigned) and not
// already superseded (ErrSuperseded).
func Amend(original Note, id, author uuid.UUID, reason, text string, sections []Section, now time.Time) (Note, error) {
	if original.Status != StatusSigned {
		return Note{}, ErrNotSigned
	}
	if original.AmendedBy != nil {
		return Note{}, ErrSuperseded
	}
	reason = strings.TrimSpace(reason)
	problems := &domain.ValidationError{}
	switch {
	case reason == "":
		problems.Add("reason", "is required: say what the amendment corrects")
	case utf8.RuneCountInString(reason) > MaxReasonLen:
		problems.Add("reason", "must be at most 2000 characters")
	}
	n, err := NewNote(id, original.EncounterID, original.PatientID, original.Type, author, text, sections, now)
	if err != nil {
		var verr *domain.ValidationError
		if !errors.As(err, &verr) {
			return Note{}, err
		}
		problems.Fields = append(problems.Fields, verr.Fields...)
	}
	if err := problems.OrNil(); err != nil {
		return Note{}, err
	}
	amends := original.ID
	n.AmendsID, n.AmendReason = &amends, reason
	return n, nil
}

// Supersede records on the signed original that the signed amendment
// replaces it. The original keeps its status and content.
func (n Note) Supersede(amendment Note, now time.Time) (Note, error) {
	if n.Status != StatusSigned || amendment.Status != StatusSigned {
		return n, ErrNotSigned
	}
	if amendment.AmendsID == nil || *amendment.AmendsID != n.ID {
		return n, errors.New("note: the amendment does not amend this note")
	}
	if n.AmendedBy != nil {
		return n, ErrSuperseded
	}
	by := amendment.ID
	n.AmendedBy = &by
	n.Version++
	n.UpdatedAt = now.UTC()
	return n, nil
}

func requireID(problems *domain.ValidationError, field string, id uuid.UUID) {
	if id == uuid.Nil {
		problems.Add(field, "is required")
	}
}

// normalize trims the text and section titles and texts; sections are never nil.
func normalize(text string, sections []Section) (string, []Section) {
	out := make([]Section, 0, len(sections))
	for _, s := range sections {
		out = append(out, Section{Title: strings.TrimSpace(s.Title), Text: strings.TrimSpace(s.Text)})
	}
	return strings.TrimSpace(text), out
}

func validateContent(problems *domain.ValidationError, typ Type, text string, sections []Section) {
	if text == "" && len(sections) == 0 {
		problems.Add("text", "is required when the note has no sections")
	}
	if utf8.RuneCountInString(text) > MaxTextLen {
		problems.Add("text", "must be at most 100000 characters")
	}
	if len(sections) > MaxSections {
		problems.Add("sections", "must hold at most 50 sections")
	}
	seen := map[string]bool{}
	for i, s := range sections {
		field := "sections[" + strconv.Itoa(i) + "]"
		switch {
		case s.Title == "":
			problems.Add(field+".title", "is required")
		case utf8.RuneCountInString(s.Title) > MaxSectionTitleLen:
			problems.Add(field+".title", "must be at most 200 characters")
		case seen[strings.ToLower(s.Title)]:
			problems.Add(field+".title", "repeats an earlier section's title")
		}
		seen[strings.ToLower(s.Title)] = true
		if utf8.RuneCountInString(s.Text) > MaxTextLen {
			problems.Add(field+".text", "must be at most 100000 characters")
		}
	}
	if typ == TypeSOAP {
		var missing []string
		for _, want := range SOAPSections {
			if !seen[want] {
				missing = append(missing, want)
			}
		}
		if len(missing) > 0 {
			problems.Add("sections", "a SOAP note needs subjective, objective, assessment and plan sections; missing "+strings.Join(missing, ", "))
		}
	}
}
