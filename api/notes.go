package api

import (
	"context"
	"errors"
	"net/http"
	"slices"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"github.com/zarish-sphere/zarish/domain"
	"github.com/zarish-sphere/zarish/domain/audit"
	"github.com/zarish-sphere/zarish/domain/note"
)

// Error codes of the clinical-note routes.
const (
	// CodeNoteSigned: the note is signed, and signed notes never change; amend it.
	CodeNoteSigned = "NOTE_SIGNED"
	// CodeNotAuthor: only a note's author may edit or sign it.
	CodeNotAuthor = "NOT_AUTHOR"
	// CodeNoteNotSigned: only signed notes can be amended; edit the draft.
	CodeNoteNotSigned = "NOTE_NOT_SIGNED"
	// CodeNoteSuperseded: the note was already amended; amend the newest version.
	CodeNoteSuperseded = "NOTE_SUPERSEDED"
)

// NoteStore is what the clinical-note routes need from storage.
type NoteStore interface {
	Create(ctx context.Context, rec *audit.Record, n note.Note) (note.Note, error)
	Get(ctx context.Context, id uuid.UUID) (note.Note, error)
	ListForEncounter(ctx context.Context, encounterID uuid.UUID) ([]note.Note, error)
	Update(ctx context.Context, id uuid.UUID, rec *audit.Record, change func(note.Note) (note.Note, error)) (note.Note, error)
	Amend(ctx context.Context, originalID uuid.UUID, rec *audit.Record, amend func(original note.Note) (note.Note, error)) (note.Note, error)
}

// NoteList is every note of an encounter, amendments included, oldest first.
type NoteList struct {
	Data []note.Note `json:"data"`
}

type createNoteBody struct {
	Type      note.Type      `json:"type"`
	AuthorID  string         `json:"authorId"`
	PatientID string         `json:"patientId"`
	Text      string         `json:"text"`
	Sections  []note.Section `json:"sections"`
}

type editNoteBody struct {
	AuthorID string         `json:"authorId"`
	Text     string         `json:"text"`
	Sections []note.Section `json:"sections"`
}

type signNoteBody struct {
	AuthorID string `json:"authorId"`
}

type amendNoteBody struct {
	AuthorID string         `json:"authorId"`
	Reason   string         `json:"reason"`
	Text     string         `json:"text"`
	Sections []note.Section `json:"sections"`
}

const entityNote = "DocumentReference"

// noteRoutes serve the clinical notes of /v1/clinical: drafts, signing and
// amendments.
type noteRoutes struct {
	*edge
	store NoteStore
}

func (s *noteRoutes) routes() []Route {
	const scopeR, scopeW = "system/DocumentReference.read", "system/DocumentReference.write"
	return []Route{
		{http.MethodPost, "/v1/clinical/encounters/:id/notes", scopeW, entityNote, s.createNote},
		{http.MethodGet, "/v1/clinical/encounters/:id/notes", scopeR, entityNote, s.listNotes},
		{http.MethodGet, "/v1/clinical/notes/:id", scopeR, entityNote, s.getNote},
		{http.MethodPut, "/v1/clinical/notes/:id", scopeW, entityNote, s.editNote},
		{http.MethodPost, "/v1/clinical/notes/:id/sign", scopeW, entityNote, s.signNote},
		{http.MethodPost, "/v1/clinical/notes/:id/amend", scopeW, entityNote, s.amendNote},
	}
}

func (s *noteRoutes) createNote(c *gin.Context) {
	encounterID, ok := uuidParam(c, "is not an encounter id (UUID)")
	if !ok {
		return
	}
	var b createNoteBody
	if readJSON(c, &b) == nil {
		return
	}
	author, ok := actor(c, "authorId", b.AuthorID)
	if !ok {
		return
	}
	verr := &domain.ValidationError{}
	patientID := bodyUUID(verr, "patientId", b.PatientID)
	id, err := s.newID()
	if err != nil {
		s.fail(c, err)
		return
	}
	n, err := note.NewNote(id, encounterID, patientID, b.Type, author, b.Text, b.Sections, s.now())
	if err := mergeValidation(verr, err); err != nil {
		s.fail(c, err)
		return
	}
	a := auditOf(c)
	a.about(audit.ActionCreate, entityNote, n.ID.String(), &n.PatientID)
	// The store refuses a patientId that is not the encounter's: a note
	// is never filed in another patient's chart.
	n, err = s.store.Create(c.Request.Context(), a.forWrite(c, audit.ActionCreate, http.StatusCreated), n)
	if errors.Is(err, domain.ErrNotFound) {
		abort(c, http.StatusNotFound, CodeNotFound, "No such encounter.")
		return
	}
	if err != nil {
		s.noteFailure(c, err)
		return
	}
	a.stored()
	c.Header("Location", "/v1/clinical/notes/"+n.ID.String())
	writeNote(c, http.StatusCreated, n)
}

func (s *noteRoutes) listNotes(c *gin.Context) {
	encounterID, ok := uuidParam(c, "is not an encounter id (UUID)")
	if !ok {
		return
	}
	a := auditOf(c)
	a.about(audit.ActionRead, entityNote, "", nil)
	notes, err := s.store.ListForEncounter(c.Request.Context(), encounterID)
	if err != nil {
		s.fail(c, err)
		return
	}
	// A list discloses every patient whose notes it returns.
	for _, n := range notes {
		a.disclosed(n.PatientID)
	}
	if notes == nil {
		notes = []note.Note{}
	}
	c.JSON(http.StatusOK, NoteList{Data: notes})
}

func (s *noteRoutes) getNote(c *gin.Context) {
	id, ok := uuidParam(c, "is not a note id (UUID)")
	if !ok {
		return
	}
	a := auditOf(c)
	a.about(audit.ActionRead, entityNote, id.String(), nil)
	n, err := s.store.Get(c.Request.Context(), id)
	if err != nil {
		s.noteFailure(c, err)
		return
	}
	a.rec.PatientID = &n.PatientID
	if notModified(c, n.Version) {
		return
	}
	writeNote(c, http.StatusOK, n)
}

// editNote replaces a draft's text and sections; If-Match is required.
func (s *noteRoutes) editNote(c *gin.Context) {
	id, ok := uuidParam(c, "is not a note id (UUID)")
	if !ok {
		return
	}
	version, ok := requireIfMatch(c)
	if !ok {
		return
	}
	var b editNoteBody
	if readJSON(c, &b) == nil {
		return
	}
	author, ok := actor(c, "authorId", b.AuthorID)
	if !ok {
		return
	}
	now := s.now()
	a := auditOf(c)
	a.about(audit.ActionUpdate, entityNote, id.String(), nil)
	n, err := s.store.Update(c.Request.Context(), id, a.forWrite(c, audit.ActionUpdate, http.StatusOK), func(cur note.Note) (note.Note, error) {
		if err := checkVersion(cur.Version, version); err != nil {
			return cur, err
		}
		return cur.EditDraft(author, b.Text, b.Sections, now)
	})
	if err != nil {
		s.noteFailure(c, err)
		return
	}
	a.stored()
	writeNote(c, http.StatusOK, n)
}

// signNote signs a draft, after which it never changes. If-Match is honoured
// when sent.
func (s *noteRoutes) signNote(c *gin.Context) {
	id, ok := uuidParam(c, "is not a note id (UUID)")
	if !ok {
		return
	}
	version, ok := optionalIfMatch(c)
	if !ok {
		return
	}
	var b signNoteBody
	if readJSON(c, &b) == nil {
		return
	}
	author, ok := actor(c, "authorId", b.AuthorID)
	if !ok {
		return
	}
	now := s.now()
	a := auditOf(c)
	a.about(audit.ActionUpdate, entityNote, id.String(), nil)
	n, err := s.store.Update(c.Request.Context(), id, a.forWrite(c, audit.ActionUpdate, http.StatusOK), func(cur note.Note) (note.Note, error) {
		if err := checkVersion(cur.Version, version); err != nil {
			return cur, err
		}
		return cur.Sign(author, now)
	})
	if err != nil {
		s.noteFailure(c, err)
		return
	}
	a.stored()
	writeNote(c, http.StatusOK, n)
}

// amendNote starts a correction of a signed note: a new draft that names the
// original, which it supersedes once signed.
func (s *noteRoutes) amendNote(c *gin.Context) {
	originalID, ok := uuidParam(c, "is not a note id (UUID)")
	if !ok {
		return
	}
	var b amendNoteBody
	if readJSON(c, &b) == nil {
		return
	}
	author, ok := actor(c, "authorId", b.AuthorID)
	if !ok {
		return
	}
	id, err := s.newID()
	if err != nil {
		s.fail(c, err)
		return
	}
	now := s.now()
	a := auditOf(c)
	a.about(audit.ActionCreate, entityNote, id.String(), nil)
	n, err := s.store.Amend(c.Request.Context(), originalID, a.forWrite(c, audit.ActionCreate, http.StatusCreated), func(original note.Note) (note.Note, error) {
		return note.Amend(original, id, author, b.Reason, b.Text, b.Sections, now)
	})
	if err != nil {
		s.noteFailure(c, err)
		return
	}
	a.stored()
	c.Header("Location", "/v1/clinical/notes/"+n.ID.String())
	writeNote(c, http.StatusCreated, n)
}

// noteFailure maps the note rules' refusals to statuses and codes, and
// everything else through fail.
func (s *noteRoutes) noteFailure(c *gin.Context, err error) {
	switch {
	case errors.Is(err, note.ErrNotDraft):
		abort(c, http.StatusConflict, CodeNoteSigned, "The note is signed and cannot change; amend it to correct it.")
	case errors.Is(err, note.ErrNotAuthor):
		abort(c, http.StatusForbidden, CodeNotAuthor, "Only the note's author may edit or sign it.")
	case errors.Is(err, note.ErrNotSigned):
		abort(c, http.StatusConflict, CodeNoteNotSigned, "Only signed notes can be amended; edit the draft instead.")
	case errors.Is(err, note.ErrSuperseded):
		abort(c, http.StatusConflict, CodeNoteSuperseded, "The note was already amended; amend the newest version.")
	case errors.Is(err, domain.ErrNotFound):
		abort(c, http.StatusNotFound, CodeNotFound, "No such note.")
	default:
		s.fail(c, err)
	}
}

func writeNote(c *gin.Context, status int, n note.Note) {
	c.Header("ETag", etag(n.Version))
	c.JSON(status, n)
}

// bodyUUID parses an id from the body. A malformed one is recorded in verr;
// an empty one is left as uuid.Nil for the domain to report as missing.
func bodyUUID(verr *domain.ValidationError, field, s string) uuid.UUID {
	if s == "" {
		return uuid.Nil
	}
	id, err := uuid.Parse(s)
	if err != nil {
		verr.Add(field, "must be a UUID")
		return uuid.Nil
	}
	return id
}

// requiredUUID parses an id the body must hold.
func requiredUUID(verr *domain.ValidationError, field, s string) uuid.UUID {
	if s == "" {
		verr.Add(field, "is required")
		return uuid.Nil
	}
	return bodyUUID(verr, field, s)
}

// mergeValidation adds the fields of the domain's validation error to verr,
// skipping fields verr already names, and returns the combined error; any
// other error is returned as it is.
func mergeValidation(verr *domain.ValidationError, err error) error {
	var derr *domain.ValidationError
	if err != nil && !errors.As(err, &derr) {
		return err
	}
	if derr != nil {
		for _, f := range derr.Fields {
			if !slices.ContainsFunc(verr.Fields, func(g domain.FieldError) bool { return g.Field == f.Field }) {
				verr.Fields = append(verr.Fields, f)
			}
		}
	}
	return verr.OrNil()
}
