package api

import (
	"encoding/csv"
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/zarish-sphere/zarish/domain/audit"
	"github.com/zarish-sphere/zarish/integrations/postgres"
	"github.com/zarish-sphere/zarish/integrations/postgres/pgtest"
)

// The audit routes need only the audit store: a submitted security event
// is the request's own record and reads back, the chain is intact, and a
// client without AuditEvent.read is refused, on the record.
func TestAuditRoutesOnTheirOwn(t *testing.T) {
	pool := pgtest.NewPool(t)
	d, auditStore := serviceDeps(pool)
	srv := serveRouter(t, d)

	r := call(t, srv, "POST", "/v1/audit/events", adminToken,
		`{"action":"security","outcome":"denied","entityType":"Device","description":"badge reader refused"}`,
		"X-Request-Id", "audit-submit")
	var rec audit.Record
	if err := json.Unmarshal([]byte(r.body), &rec); err != nil || r.status != http.StatusCreated {
		t.Fatalf("submit: %d %s", r.status, r.body)
	}
	recs := recordsFor(t, auditStore, "audit-submit")
	if len(recs) != 1 || recs[0].ID != rec.ID || recs[0].Action != audit.ActionSecurity ||
		recs[0].EntityType != "Device" || recs[0].Actor.ClientID != "admin" {
		t.Errorf("the submitted event is not the request's record: %+v", recs)
	}
	if r := call(t, srv, "GET", r.header.Get("Location"), adminToken, ""); r.status != http.StatusOK {
		t.Errorf("read back: %d %s", r.status, r.body)
	}
	var v VerifyBody
	if r := call(t, srv, "GET", "/v1/audit/verify", adminToken, ""); json.Unmarshal([]byte(r.body), &v) != nil || !v.Intact {
		t.Errorf("verify: %d %s", r.status, r.body)
	}

	wantCode(t, call(t, srv, "GET", "/v1/audit/events", readerToken, "", "X-Request-Id", "audit-refused"), http.StatusForbidden, CodeForbidden)
	if recs := recordsFor(t, auditStore, "audit-refused"); len(recs) != 1 || recs[0].Action != audit.ActionDenied ||
		recs[0].Outcome != audit.OutcomeDenied {
		t.Errorf("audit record of the refusal: %+v", recs)
	}
}

// A submitted record is flagged and names its submitter — the client and,
// for a signed-in user, the user and their practitioner — apart from the
// actor it describes, in the JSON, FHIR and CSV reports; the chain stays
// intact.
func TestSubmittedAuditRecordNamesItsSubmitterInEveryReport(t *testing.T) {
	pool := pgtest.NewPool(t)
	d, store := serviceDeps(pool)
	officer := uuid.New()
	d.Verifier = stubVerifier{
		adminToken: {Subject: "admin", ClientID: "admin", Scopes: []string{"system/*.*"}},
		"officer": {Subject: "u-officer", ClientID: "soc-console", UserID: "u-officer", PractitionerID: officer.String(),
			SessionID: "s-9", Scopes: []string{"system/AuditEvent.write"}},
	}
	srv := serveRouter(t, d)
	patient := uuid.New()
	nurse := uuid.New()

	r := call(t, srv, "POST", "/v1/audit/events", "officer", `{"action":"read","outcome":"success","entityType":"Patient",
		"entityId":"`+patient.String()+`","patientId":"`+patient.String()+`",
		"actor":{"subject":"nurse.k","roles":["nurse"],"practitionerId":"`+nurse.String()+`"},"description":"read on the ward kiosk"}`,
		"X-Request-Id", "submitted-1")
	var rec audit.Record
	if err := json.Unmarshal([]byte(r.body), &rec); err != nil || r.status != http.StatusCreated {
		t.Fatalf("submit: %d %s", r.status, r.body)
	}
	wantBy := audit.Submitter{ClientID: "soc-console", UserID: "u-officer", PractitionerID: officer.String()}
	if !rec.Submitted || rec.Submitter == nil || *rec.Submitter != wantBy {
		t.Fatalf("answer %s: not flagged as submitted by %+v", r.body, wantBy)
	}
	if a := rec.Actor; a.Subject != "nurse.k" || a.PractitionerID != nurse.String() || !a.Asserted || a.UserID != "" || a.SessionID != "" {
		t.Errorf("actor %+v: the submitter's word, asserted, and no user of this server", a)
	}
	if recs := recordsFor(t, store, "submitted-1"); len(recs) != 1 || !recs[0].Submitted || *recs[0].Submitter != wantBy {
		t.Errorf("stored: %+v", recs)
	}

	// JSON: the search and the reports.
	for _, path := range []string{"/v1/audit/events?actor=nurse.k", "/v1/audit/reports/disclosures?patientId=" + patient.String(),
		"/v1/audit/reports/user-activity?actor=" + nurse.String(), "/v1/audit/reports/user-activity?actor=u-officer"} {
		r := call(t, srv, "GET", path, adminToken, "")
		if r.status != http.StatusOK || !strings.Contains(r.body, `"submitted":true,"submitter":{"clientId":"soc-console","userId":"u-officer","practitionerId":"`+officer.String()+`"}`) {
			t.Errorf("%s: %d %s", path, r.status, r.body)
		}
	}
	// FHIR: the source is the submitting client, the submitting user an agent.
	r = call(t, srv, "GET", "/v1/audit/events/"+rec.ID.String(), adminToken, "", "Accept", "application/fhir+json")
	var ev audit.FHIRAuditEvent
	if err := json.Unmarshal([]byte(r.body), &ev); err != nil || r.status != http.StatusOK {
		t.Fatalf("FHIR: %d %s", r.status, r.body)
	}
	if ev.Source.Observer.Identifier == nil || ev.Source.Observer.Identifier.Value != "soc-console" ||
		!strings.Contains(r.body, `"Practitioner/`+officer.String()+`"`) || !strings.Contains(r.body, `{"type":"submitted","valueString":"true"}`) {
		t.Errorf("FHIR does not name the submitter: %s", r.body)
	}
	// CSV.
	r = call(t, srv, "GET", "/v1/audit/reports/user-activity?actor=nurse.k&_format=csv", adminToken, "")
	rows, err := csv.NewReader(strings.NewReader(r.body)).ReadAll()
	if err != nil || len(rows) != 2 {
		t.Fatalf("CSV: %v %s", err, r.body)
	}
	for name, want := range map[string]string{"submitted": "true", "submitterClientId": "soc-console",
		"submitterUserId": "u-officer", "submitterPractitionerId": officer.String(), "actorAsserted": "true"} {
		if got := rows[1][slices.Index(rows[0], name)]; got != want {
			t.Errorf("CSV %s = %q, want %q", name, got, want)
		}
	}

	sealAll(t, postgres.NewAuditSealer(pool, nil))
	var v VerifyBody
	if r := call(t, srv, "GET", "/v1/audit/verify", adminToken, ""); json.Unmarshal([]byte(r.body), &v) != nil || !v.Intact || v.Checked == 0 {
		t.Errorf("verify: %d %s", r.status, r.body)
	}
}

// sealAll links every queued record into the chain.
func sealAll(t *testing.T, sealer *postgres.AuditSealer) {
	t.Helper()
	for {
		n, err := sealer.SealOnce(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			return
		}
	}
}

// A submitter posing as a user, session or client of this server is
// refused, naming the field; so are over-long and malformed actor fields,
// at the edge or by the rules. Nothing submitted is stored: the refusal is
// on the record as the request it was.
func TestSubmittedAuditRecordRefusals(t *testing.T) {
	pool := pgtest.NewPool(t)
	d, store := serviceDeps(pool)
	srv := serveRouter(t, d)
	body := func(actor string) string {
		return `{"action":"security","outcome":"denied","entityType":"Device","actor":` + actor + `}`
	}
	tests := []struct {
		name, body, field string
	}{
		{"a user of this server", body(`{"subject":"dr.amina","userId":"u-dr-amina"}`), "actor.userId"},
		{"a sign-in session", body(`{"subject":"dr.amina","sessionId":"0190a3a0-0000-7000-8000-000000000001"}`), "actor.sessionId"},
		{"a client of this server", body(`{"subject":"dr.amina","clientId":"ward-app"}`), "actor.clientId"},
		{"a proven actor", body(`{"subject":"dr.amina","asserted":false}`), "actor.asserted"},
		{"a subject too long", body(`{"subject":"` + strings.Repeat("s", audit.MaxSubjectLen+1) + `"}`), "actor.subject"},
		{"a role too long", body(`{"subject":"x","roles":["` + strings.Repeat("r", audit.MaxRoleLen+1) + `"]}`), "actor.roles[0]"},
		{"a practitioner that is no UUID", body(`{"practitionerId":"nurse-7"}`), "actor.practitionerId"},
		{"a practitioner id too long", body(`{"practitionerId":"` + strings.Repeat("a", 37) + `"}`), "actor.practitionerId"},
		{"nobody", body(`{"roles":["nurse"]}`), "actor.subject"},
		{"a description too long", `{"action":"security","outcome":"denied","entityType":"Device","description":"` +
			strings.Repeat("d", audit.MaxDescriptionLen+1) + `"}`, "description"},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reqID := "refused-" + strconv.Itoa(i)
			r := call(t, srv, "POST", "/v1/audit/events", adminToken, tt.body, "X-Request-Id", reqID)
			wantCode(t, r, http.StatusBadRequest, CodeValidationFailed)
			named := false
			for _, f := range decodeErr(t, r).Details {
				named = named || f.Field == tt.field
			}
			if !named {
				t.Errorf("refusal does not name %s: %s", tt.field, r.body)
			}
			if recs := recordsFor(t, store, reqID); len(recs) != 1 || recs[0].Submitted || recs[0].Outcome != audit.OutcomeFailure {
				t.Errorf("audit record of the refusal: %+v", recs)
			}
		})
	}
}
