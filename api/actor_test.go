package api

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/zarish-sphere/zarish/domain/careteam"
	"github.com/zarish-sphere/zarish/domain/note"
	"github.com/zarish-sphere/zarish/integrations/auth/access"
	"github.com/zarish-sphere/zarish/integrations/postgres"
	"github.com/zarish-sphere/zarish/integrations/postgres/pgtest"
)

// Tokens of signed-in people: a nurse and a physician, each a practitioner,
// and an administrator who is none; and of a pager gateway, a machine
// client that may act for a practitioner with X-On-Behalf-Of.
const (
	nurseToken     = "nurse-user"
	physicianToken = "physician-user"
	adminUserToken = "admin-user"
	gatewayToken   = "pager-gateway"
	gatewayClient  = "pager-gateway"
)

var (
	nurseID     = uuid.MustParse("0193c0de-0000-7000-8000-00000000a001")
	physicianID = uuid.MustParse("0193c0de-0000-7000-8000-00000000a002")
)

func peopleVerifier() stubVerifier {
	clinical := []string{"user/*.*"}
	return stubVerifier{
		adminToken: {Subject: "admin", ClientID: "admin", Scopes: []string{"system/*.*"}},
		nurseToken: {Subject: "u-nurse", ClientID: "app", Scopes: clinical, Roles: []string{"nurse"},
			UserID: "u-nurse", PractitionerID: nurseID.String()},
		physicianToken: {Subject: "u-physician", ClientID: "app", Scopes: clinical, Roles: []string{"clinician"},
			UserID: "u-physician", PractitionerID: physicianID.String()},
		adminUserToken: {Subject: "u-admin", ClientID: "app", Scopes: clinical, Roles: []string{"admin"}, UserID: "u-admin"},
		gatewayToken:   {Subject: gatewayClient, ClientID: gatewayClient, Scopes: []string{"system/*.*", access.ScopeActOnBehalf}},
	}
}

// registerPractitioners adds ids to the care-team directory, active, so
// X-On-Behalf-Of may name them.
func registerPractitioners(t testing.TB, pool *pgxpool.Pool, ids ...uuid.UUID) {
	t.Helper()
	team := postgres.NewCareTeamStore(pool)
	for i, id := range ids {
		p, err := careteam.NewPractitioner(id, fmt.Sprint("Practitioner ", i+1), []careteam.Role{careteam.RoleNurse}, []string{"ward-3"}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := team.CreatePractitioner(context.Background(), nil, p); err != nil {
			t.Fatal(err)
		}
	}
}

// Who wrote, signed or read comes from the token: a body naming someone
// else is 403 ACTOR_MISMATCH, a nurse cannot sign a physician's note, and
// nobody reads another person's inbox.
func TestTheActorComesFromTheToken(t *testing.T) {
	pool := pgtest.NewPool(t)
	srv := serveRouter(t, Deps{
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Version: "test",
		Patients: postgres.NewPatientStore(pool), Audit: postgres.NewAuditStore(pool),
		Encounters: postgres.NewEncounterStore(pool), Notes: postgres.NewNoteStore(pool),
		Inbox: postgres.NewNotificationStore(pool), CareTeam: postgres.NewCareTeamStore(pool),
		Verifier: peopleVerifier(), Health: NewHealth(nil, time.Second), Metrics: NewMetrics(),
	})
	patient := registeredPatient(t, srv)
	enc := recordEncounter(t, pool, patient, false, nil)
	notesPath := "/v1/clinical/encounters/" + enc.String() + "/notes"

	// The physician writes a draft without naming an author: it is theirs.
	r := call(t, srv, "POST", notesPath, physicianToken, fmt.Sprintf(
		`{"type":"progress","patientId":%q,"text":"Reviewed at 09:00"}`, patient))
	n := decodeNote(t, r)
	if r.status != http.StatusCreated || n.Author != physicianID {
		t.Fatalf("draft by the physician: %d author %s, %s", r.status, n.Author, r.body)
	}
	// Naming another author is refused, whoever is named.
	wantCode(t, call(t, srv, "POST", notesPath, nurseToken, fmt.Sprintf(
		`{"type":"progress","authorId":%q,"patientId":%q,"text":"x"}`, physicianID, patient)), http.StatusForbidden, CodeActorMismatch)
	// The nurse cannot sign the physician's draft, named or not.
	signPath := "/v1/clinical/notes/" + n.ID.String() + "/sign"
	wantCode(t, call(t, srv, "POST", signPath, nurseToken, `{}`, "If-Match", `"1"`), http.StatusForbidden, CodeNotAuthor)
	wantCode(t, call(t, srv, "POST", signPath, nurseToken, fmt.Sprintf(`{"authorId":%q}`, physicianID), "If-Match", `"1"`),
		http.StatusForbidden, CodeActorMismatch)
	if r := call(t, srv, "POST", signPath, physicianToken, `{}`, "If-Match", `"1"`); r.status != http.StatusOK {
		t.Fatalf("the author signs: %d %s", r.status, r.body)
	}
	// An administrator is no practitioner and writes no notes.
	wantCode(t, call(t, srv, "POST", notesPath, adminUserToken, fmt.Sprintf(
		`{"type":"progress","patientId":%q,"text":"x"}`, patient)), http.StatusForbidden, CodeForbidden)

	// Inboxes: one's own, never another's.
	if r := call(t, srv, "GET", "/v1/notifications/inbox", nurseToken, ""); r.status != http.StatusOK {
		t.Fatalf("own inbox: %d %s", r.status, r.body)
	}
	wantCode(t, call(t, srv, "GET", "/v1/notifications/inbox?practitionerId="+physicianID.String(), nurseToken, ""),
		http.StatusForbidden, CodeActorMismatch)
	wantCode(t, call(t, srv, "POST", "/v1/notifications/inbox/"+uuid.NewString()+"/read?practitionerId="+physicianID.String(), nurseToken, ""),
		http.StatusForbidden, CodeActorMismatch)
	// A machine client acting as itself reads nobody's, whoever it names.
	wantCode(t, call(t, srv, "GET", "/v1/notifications/inbox?practitionerId="+physicianID.String(), adminToken, ""),
		http.StatusForbidden, CodePersonRequired)
}

// A machine client without X-On-Behalf-Of acts as itself and cannot do what
// needs a person: it writes and signs no note and reads no inbox, whoever
// its request names (403 PERSON_REQUIRED, nothing stored). With the header
// it acts for that practitioner — who the note's author and signer are,
// whose inbox it reads — and the audit record names the client and the
// practitioner, asserted; a field naming someone else is ACTOR_MISMATCH.
func TestAMachineClientActsOnlyForAPerson(t *testing.T) {
	pool := pgtest.NewPool(t)
	auditStore := postgres.NewAuditStore(pool)
	srv := serveRouter(t, Deps{
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Version: "test",
		Patients: postgres.NewPatientStore(pool), Audit: auditStore,
		Encounters: postgres.NewEncounterStore(pool), Notes: postgres.NewNoteStore(pool),
		Inbox: postgres.NewNotificationStore(pool), CareTeam: postgres.NewCareTeamStore(pool),
		Verifier: peopleVerifier(), Health: NewHealth(nil, time.Second), Metrics: NewMetrics(),
	})
	registerPractitioners(t, pool, nurseID, physicianID)
	patient := registeredPatient(t, srv)
	enc := recordEncounter(t, pool, patient, false, nil)
	notesPath := "/v1/clinical/encounters/" + enc.String() + "/notes"
	forPhysician := []string{headerOnBehalfOf, "Practitioner/" + physicianID.String()}
	forNurse := []string{headerOnBehalfOf, "Practitioner/" + nurseID.String()}
	asserted := func(t *testing.T, r result, who uuid.UUID) {
		t.Helper()
		recs := recordsFor(t, auditStore, r.header.Get("X-Request-Id"))
		if len(recs) != 1 || recs[0].Actor.ClientID != gatewayClient || recs[0].Actor.PractitionerID != who.String() ||
			!recs[0].Actor.Asserted || recs[0].Actor.UserID != "" {
			t.Fatalf("audit record of an act for %s: %+v", who, recs)
		}
	}

	// A machine client acting as itself writes no note, naming the author or not.
	draft := fmt.Sprintf(`{"type":"progress","patientId":%q,"text":"Reviewed at 09:00"}`, patient)
	byPhysician := fmt.Sprintf(`{"type":"progress","authorId":%q,"patientId":%q,"text":"Reviewed at 09:00"}`, physicianID, patient)
	for _, body := range []string{draft, byPhysician} {
		r := call(t, srv, "POST", notesPath, adminToken, body)
		wantCode(t, r, http.StatusForbidden, CodePersonRequired)
		if e := decodeErr(t, r); !strings.Contains(e.Message, headerOnBehalfOf+": Practitioner/") ||
			!strings.Contains(e.Message, access.ScopeActOnBehalf) {
			t.Fatalf("the refusal does not say how to act for a person: %s", e.Message)
		}
	}
	// For the physician, the gateway writes their draft.
	r := call(t, srv, "POST", notesPath, gatewayToken, byPhysician, forPhysician...)
	n := decodeNote(t, r)
	if r.status != http.StatusCreated || n.Author != physicianID {
		t.Fatalf("draft for the physician: %d %s", r.status, r.body)
	}
	asserted(t, r, physicianID)

	// Signing: not as itself, nor for the nurse naming the physician; for
	// the physician, it signs.
	signPath := "/v1/clinical/notes/" + n.ID.String() + "/sign"
	wantCode(t, call(t, srv, "POST", signPath, adminToken, fmt.Sprintf(`{"authorId":%q}`, physicianID)), http.StatusForbidden, CodePersonRequired)
	wantCode(t, call(t, srv, "POST", signPath, adminToken, `{}`), http.StatusForbidden, CodePersonRequired)
	wantCode(t, call(t, srv, "POST", signPath, gatewayToken, fmt.Sprintf(`{"authorId":%q}`, physicianID), forNurse...),
		http.StatusForbidden, CodeActorMismatch)
	r = call(t, srv, "GET", "/v1/clinical/notes/"+n.ID.String(), adminToken, "")
	if decodeNote(t, r).Status != note.StatusDraft {
		t.Fatalf("a refused signature signed: %s", r.body)
	}
	r = call(t, srv, "POST", signPath, gatewayToken, `{}`, forPhysician...)
	if signed := decodeNote(t, r); r.status != http.StatusOK || signed.SignedBy == nil || *signed.SignedBy != physicianID {
		t.Fatalf("sign for the physician: %d %s", r.status, r.body)
	}
	asserted(t, r, physicianID)

	// The inbox, its read marks and its stream are a person's.
	inbox := "/v1/notifications/inbox?practitionerId=" + physicianID.String()
	wantCode(t, call(t, srv, "GET", inbox, adminToken, ""), http.StatusForbidden, CodePersonRequired)
	wantCode(t, call(t, srv, "GET", "/v1/notifications/inbox", adminToken, ""), http.StatusForbidden, CodePersonRequired)
	wantCode(t, call(t, srv, "POST", "/v1/notifications/inbox/"+uuid.NewString()+"/read", adminToken, ""), http.StatusForbidden, CodePersonRequired)
	wantCode(t, call(t, srv, "GET", "/v1/notifications/stream", adminToken, ""), http.StatusForbidden, CodePersonRequired)
	wantCode(t, call(t, srv, "GET", inbox, gatewayToken, "", forNurse...), http.StatusForbidden, CodeActorMismatch)
	r = call(t, srv, "GET", inbox, gatewayToken, "", forPhysician...)
	if r.status != http.StatusOK {
		t.Fatalf("the physician's inbox, for them: %d %s", r.status, r.body)
	}
	asserted(t, r, physicianID)
}

// Breaking the glass reaches clinical data, never administration or the
// audit trail.
func TestBreakGlassStopsAtAdministration(t *testing.T) {
	for scope, want := range map[string]bool{
		"system/Patient.read": true, "system/Encounter.write": true, "system/Flag.write": true,
		"system/AuditEvent.read": false, "system/Person.write": false, "system/Practitioner.write": false,
		"system/Practitioner.act": false, "system/PractitionerRole.write": false, "system/PlanDefinition.write": false,
		"system/Endpoint.write": false, "openid": false,
	} {
		if got := breakGlassReaches(scope); got != want {
			t.Errorf("break glass reaches %s: %v, want %v", scope, got, want)
		}
	}
}
