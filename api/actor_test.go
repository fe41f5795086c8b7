package api

import (
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/zarish-sphere/zarish/integrations/postgres"
	"github.com/zarish-sphere/zarish/integrations/postgres/pgtest"
)

// Tokens of signed-in people: a nurse and a physician, each a practitioner,
// and an administrator who is none.
const (
	nurseToken     = "nurse-user"
	physicianToken = "physician-user"
	adminUserToken = "admin-user"
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
	// A machine client acting as itself still names whose inbox it reads.
	if r := call(t, srv, "GET", "/v1/notifications/inbox?practitionerId="+physicianID.String(), adminToken, ""); r.status != http.StatusOK {
		t.Fatalf("gateway reading an inbox: %d %s", r.status, r.body)
	}
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
