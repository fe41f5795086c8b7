package api

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/zarish-sphere/zarish/domain/audit"
	"github.com/zarish-sphere/zarish/domain/note"
	"github.com/zarish-sphere/zarish/integrations/postgres"
	"github.com/zarish-sphere/zarish/integrations/postgres/pgtest"
)

// newNotesAPI serves the router, with the note store, on a fresh database.
func newNotesAPI(t *testing.T) (*httptest.Server, *pgxpool.Pool) {
	t.Helper()
	pool := pgtest.NewPool(t)
	h := NewRouter(Deps{
		Logger:     slog.New(slog.NewTextHandler(io.Discard, nil)),
		Version:    "test",
		Patients:   postgres.NewPatientStore(pool),
		Audit:      postgres.NewAuditStore(pool),
		Inbox:      postgres.NewNotificationStore(pool),
		Alerts:     postgres.NewAlertStore(pool),
		CareTeam:   postgres.NewCareTeamStore(pool),
		Deliveries: postgres.NewNotificationStore(pool),
		Encounters: postgres.NewEncounterStore(pool),
		Notes:      postgres.NewNoteStore(pool),
		Verifier: stubVerifier{
			adminToken:  {Subject: "admin", ClientID: "admin", Scopes: []string{"system/*.*"}},
			readerToken: {Subject: "reader", ClientID: "reader", Scopes: []string{"system/Patient.read"}},
		},
		Token:   http.NotFoundHandler(),
		JWKS:    http.NotFoundHandler(),
		Health:  NewHealth(map[string]Check{"database": func(ctx context.Context) error { return pool.Ping(ctx) }}, time.Second),
		Metrics: NewMetrics(),
	})
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv, pool
}

const soapSections = `[{"title":"Subjective","text":"Chest pain."},{"title":"Objective","text":"BP 150/90."},
	{"title":"Assessment","text":"Suspected ACS."},{"title":"Plan","text":"ECG, troponin."}]`

func decodeNote(t *testing.T, r result) note.Note {
	t.Helper()
	var n note.Note
	if err := json.Unmarshal([]byte(r.body), &n); err != nil {
		t.Fatalf("not a note: %s", r.body)
	}
	return n
}

func wantCode(t *testing.T, r result, status int, code string) {
	t.Helper()
	if r.status != status {
		t.Fatalf("status %d, want %d: %s", r.status, status, r.body)
	}
	if e := decodeErr(t, r); e.Error != code {
		t.Fatalf("code %s, want %s: %s", e.Error, code, r.body)
	}
}

func TestNoteDraftSignAmend(t *testing.T) {
	srv, pool := newNotesAPI(t)
	patient := registeredPatient(t, srv)
	enc, author, colleague := recordEncounter(t, pool, patient, false, nil), uuid.New(), uuid.New()
	notesPath := "/v1/clinical/encounters/" + enc.String() + "/notes"

	// Each act is the signed-in practitioner's; the author may name themselves.
	r := call(t, srv, "POST", notesPath, practitionerToken(author), fmt.Sprintf(
		`{"type":"soap","authorId":%q,"patientId":%q,"text":"ED review","sections":%s}`, author, patient, soapSections))
	if r.status != http.StatusCreated {
		t.Fatalf("create: %d %s", r.status, r.body)
	}
	n := decodeNote(t, r)
	if n.Author != author || n.Status != note.StatusDraft || n.EncounterID != enc || n.PatientID != patient || len(n.Sections) != 4 ||
		r.header.Get("Location") != "/v1/clinical/notes/"+n.ID.String() || r.header.Get("ETag") != `"1"` {
		t.Fatalf("created %+v, headers %v", n, r.header)
	}
	notePath := "/v1/clinical/notes/" + n.ID.String()

	edit := func(by uuid.UUID, ifMatch string) result {
		return call(t, srv, "PUT", notePath, practitionerToken(by), fmt.Sprintf(
			`{"text":"ED review, revised","sections":%s}`, soapSections), "If-Match", ifMatch)
	}
	wantCode(t, edit(colleague, `"1"`), http.StatusForbidden, CodeNotAuthor)
	wantCode(t, edit(author, `"7"`), http.StatusPreconditionFailed, CodePreconditionFailed)
	wantCode(t, call(t, srv, "PUT", notePath, practitionerToken(author), `{"text":"x"}`),
		http.StatusPreconditionRequired, CodePreconditionRequired)
	r = edit(author, `"1"`)
	if r.status != http.StatusOK || decodeNote(t, r).Text != "ED review, revised" || r.header.Get("ETag") != `"2"` {
		t.Fatalf("edit: %d %s", r.status, r.body)
	}

	sign := func(path string, by uuid.UUID) result {
		return call(t, srv, "POST", path+"/sign", practitionerToken(by), `{}`)
	}
	wantCode(t, sign(notePath, colleague), http.StatusForbidden, CodeNotAuthor)
	r = sign(notePath, author)
	if signed := decodeNote(t, r); r.status != http.StatusOK || signed.Status != note.StatusSigned || signed.SignedBy == nil || *signed.SignedBy != author {
		t.Fatalf("sign: %d %s", r.status, r.body)
	}
	wantCode(t, edit(author, `"3"`), http.StatusConflict, CodeNoteSigned)
	wantCode(t, sign(notePath, author), http.StatusConflict, CodeNoteSigned)

	r = call(t, srv, "POST", notePath+"/amend", practitionerToken(colleague), fmt.Sprintf(
		`{"reason":"BP was 160/90","sections":%s}`, soapSections))
	if r.status != http.StatusCreated {
		t.Fatalf("amend: %d %s", r.status, r.body)
	}
	amendment := decodeNote(t, r)
	if amendment.AmendsID == nil || *amendment.AmendsID != n.ID || amendment.Status != note.StatusDraft || amendment.Author != colleague {
		t.Fatalf("amendment %+v", amendment)
	}
	if r := sign("/v1/clinical/notes/"+amendment.ID.String(), colleague); r.status != http.StatusOK {
		t.Fatalf("sign amendment: %d %s", r.status, r.body)
	}
	wantCode(t, call(t, srv, "POST", notePath+"/amend", practitionerToken(author), fmt.Sprintf(
		`{"reason":"again","text":"x","sections":%s}`, soapSections)), http.StatusConflict, CodeNoteSuperseded)

	r = call(t, srv, "GET", notePath, adminToken, "")
	if original := decodeNote(t, r); r.status != http.StatusOK || original.AmendedBy == nil || *original.AmendedBy != amendment.ID ||
		original.Status != note.StatusSigned || original.Text != "ED review, revised" {
		t.Fatalf("original after amendment: %d %s", r.status, r.body)
	}
	if r := call(t, srv, "GET", notePath, adminToken, "", "If-None-Match", r.header.Get("ETag")); r.status != http.StatusNotModified {
		t.Fatalf("conditional get: %d", r.status)
	}

	r = call(t, srv, "GET", notesPath, adminToken, "")
	var list NoteList
	if err := json.Unmarshal([]byte(r.body), &list); err != nil || r.status != http.StatusOK {
		t.Fatalf("list: %d %s", r.status, r.body)
	}
	if len(list.Data) != 2 || list.Data[0].ID != n.ID || list.Data[1].ID != amendment.ID {
		t.Fatalf("versions: %s", r.body)
	}

	// Every write is audited against the patient, in its own transaction.
	var writes int
	if err := pool.QueryRow(context.Background(), `
		SELECT count(*) FROM audit_events
		WHERE entity_type = 'DocumentReference' AND patient_id = $1 AND method <> 'GET' AND outcome = 'success'`,
		patient).Scan(&writes); err != nil {
		t.Fatal(err)
	}
	if writes != 5 { // create, edit, sign, amend, sign
		t.Fatalf("%d successful note writes audited, want 5", writes)
	}
}

func TestNoteErrors(t *testing.T) {
	srv, pool := newNotesAPI(t)
	patient, other := registeredPatient(t, srv), registeredPatient(t, srv)
	enc, author := recordEncounter(t, pool, patient, false, nil), uuid.New()
	notesPath := "/v1/clinical/encounters/" + enc.String() + "/notes"
	as := practitionerToken(author)

	create := call(t, srv, "POST", notesPath, as, fmt.Sprintf(
		`{"type":"progress","patientId":%q,"text":"Stable."}`, patient))
	if create.status != http.StatusCreated {
		t.Fatalf("create: %d %s", create.status, create.body)
	}
	draft := decodeNote(t, create)
	unknown := "/v1/clinical/notes/" + uuid.NewString()

	cases := []struct {
		name, method, path, token, body string
		status                          int
		code                            string
		fields                          []string
	}{
		{"bad encounter id", "POST", "/v1/clinical/encounters/nope/notes", adminToken, `{}`, 400, CodeValidationFailed, []string{"id"}},
		{"every field wrong", "POST", notesPath, as, `{"type":"letter","patientId":"x","text":""}`, 400, CodeValidationFailed,
			[]string{"patientId", "type", "text"}},
		{"another author", "POST", notesPath, as, `{"type":"letter","authorId":"x","text":""}`, 403, CodeActorMismatch, []string{"authorId"}},
		{"a machine client acting as itself", "POST", notesPath, adminToken,
			fmt.Sprintf(`{"type":"progress","authorId":%q,"patientId":%q,"text":"x"}`, author, patient), 403, CodePersonRequired, []string{headerOnBehalfOf}},
		{"SOAP without sections", "POST", notesPath, as,
			fmt.Sprintf(`{"type":"soap","authorId":%q,"patientId":%q,"text":"x"}`, author, uuid.New()), 400, CodeValidationFailed, []string{"sections"}},
		{"another patient's encounter", "POST", notesPath, as,
			fmt.Sprintf(`{"type":"progress","patientId":%q,"text":"x"}`, other), 400, CodeValidationFailed, []string{"patientId"}},
		{"unknown encounter", "POST", "/v1/clinical/encounters/" + uuid.NewString() + "/notes", as,
			fmt.Sprintf(`{"type":"progress","patientId":%q,"text":"x"}`, patient), 404, CodeNotFound, nil},
		{"unknown field", "POST", notesPath, adminToken, `{"type":"progress","signed":true}`, 400, CodeValidationFailed, []string{"signed"}},
		{"unknown section field", "POST", notesPath, adminToken, `{"sections":[{"title":"a","code":"x"}]}`, 400, CodeValidationFailed, []string{"sections[0].code"}},
		{"reader cannot write notes", "POST", notesPath, readerToken, `{}`, 403, CodeForbidden, nil},
		{"reader cannot read notes", "GET", notesPath, readerToken, "", 403, CodeForbidden, nil},
		{"bad note id", "GET", "/v1/clinical/notes/nope", adminToken, "", 400, CodeValidationFailed, []string{"id"}},
		{"unknown note", "GET", unknown, adminToken, "", 404, CodeNotFound, nil},
		{"sign unknown note", "POST", unknown + "/sign", as, `{}`, 404, CodeNotFound, nil},
		{"sign as a machine client acting as itself", "POST", "/v1/clinical/notes/" + draft.ID.String() + "/sign", adminToken,
			fmt.Sprintf(`{"authorId":%q}`, author), 403, CodePersonRequired, []string{headerOnBehalfOf}},
		{"amend a draft", "POST", "/v1/clinical/notes/" + draft.ID.String() + "/amend", as,
			`{"reason":"typo","text":"x"}`, 409, CodeNoteNotSigned, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := call(t, srv, tc.method, tc.path, tc.token, tc.body)
			wantCode(t, r, tc.status, tc.code)
			var got []string
			for _, f := range decodeErr(t, r).Details {
				got = append(got, f.Field)
			}
			if strings.Join(got, ",") != strings.Join(tc.fields, ",") {
				t.Fatalf("fields %v, want %v: %s", got, tc.fields, r.body)
			}
		})
	}

	r := call(t, srv, "GET", "/v1/clinical/encounters/"+uuid.NewString()+"/notes", adminToken, "")
	if r.status != http.StatusOK || strings.TrimSpace(r.body) != `{"data":[]}` {
		t.Fatalf("encounter without notes: %d %s", r.status, r.body)
	}
}

// The note routes need only the note store: a note written during an
// encounter is stored with its audit record, and a colleague may not sign
// the author's draft.
func TestNoteRoutesOnTheirOwn(t *testing.T) {
	pool := pgtest.NewPool(t)
	d, auditStore := serviceDeps(pool)
	d.Notes = postgres.NewNoteStore(pool)
	srv := serveRouter(t, d)
	patient := registerPatient(t, postgres.NewPatientStore(pool))
	enc, author := recordEncounter(t, pool, patient, false, nil), uuid.New()

	r := call(t, srv, "POST", "/v1/clinical/encounters/"+enc.String()+"/notes", practitionerToken(author), fmt.Sprintf(
		`{"type":"progress","patientId":%q,"text":"Stable overnight."}`, patient), "X-Request-Id", "note-create")
	if r.status != http.StatusCreated {
		t.Fatalf("create: %d %s", r.status, r.body)
	}
	n := decodeNote(t, r)
	if n.EncounterID != enc || n.PatientID != patient || n.Status != note.StatusDraft {
		t.Errorf("created %+v", n)
	}
	recs := recordsFor(t, auditStore, "note-create")
	if len(recs) != 1 || recs[0].Action != audit.ActionCreate || recs[0].EntityType != "DocumentReference" ||
		recs[0].EntityID != n.ID.String() || recs[0].PatientID == nil || *recs[0].PatientID != patient ||
		recs[0].Actor.PractitionerID != author.String() {
		t.Errorf("audit record of the note: %+v", recs)
	}

	r = call(t, srv, "POST", "/v1/clinical/notes/"+n.ID.String()+"/sign", practitionerToken(uuid.New()), `{}`)
	wantCode(t, r, http.StatusForbidden, CodeNotAuthor)
	if r := call(t, srv, "GET", "/v1/clinical/notes/"+n.ID.String(), adminToken, ""); decodeNote(t, r).Status != note.StatusDraft {
		t.Errorf("after a refused signature: %s", r.body)
	}
}
