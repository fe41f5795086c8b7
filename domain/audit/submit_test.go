package audit_test

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/zarish-sphere/zarish/domain"
	"github.com/zarish-sphere/zarish/domain/audit"
)

// submission is the record the API builds from a submitted body, before
// Submit: the event's fields and the request's context.
func submission() audit.Record {
	return audit.Record{ID: uuid.New(), Time: time.Date(2026, 5, 6, 7, 8, 9, 0, time.UTC),
		Action: audit.ActionSecurity, Outcome: audit.OutcomeDenied, EntityType: "Device", EntityID: "badge-reader-3",
		SourceIP: "10.0.0.9", Method: "POST", Route: "/v1/audit/events", Status: 201, Purpose: audit.DefaultPurpose}
}

func fieldsOf(t *testing.T, err error) []string {
	t.Helper()
	var verr *domain.ValidationError
	if !errors.As(err, &verr) {
		t.Fatalf("error = %v, want a validation error", err)
	}
	var fields []string
	for _, f := range verr.Fields {
		fields = append(fields, f.Field)
	}
	return fields
}

func TestSubmitKeepsTheSubmitterApartFromTheActor(t *testing.T) {
	nurse := uuid.New().String()
	by := audit.Submitter{ClientID: "badge-gw"}
	self := audit.Actor{Subject: "badge-gw", ClientID: "badge-gw", Roles: []string{"integration"}}

	r, err := submission().Submit(by, self, &audit.ActorClaim{Subject: "nurse.k", Roles: []string{"nurse"}, PractitionerID: nurse})
	if err != nil {
		t.Fatal(err)
	}
	if !r.Submitted || r.Submitter == nil || *r.Submitter != by {
		t.Errorf("submitted %v by %+v, want flagged and naming %+v", r.Submitted, r.Submitter, by)
	}
	want := audit.Actor{Subject: "nurse.k", ClientID: "badge-gw", Roles: []string{"nurse"}, PractitionerID: nurse, Asserted: true}
	if r.Actor.Subject != want.Subject || r.Actor.ClientID != want.ClientID || !slices.Equal(r.Actor.Roles, want.Roles) ||
		r.Actor.PractitionerID != want.PractitionerID || !r.Actor.Asserted || r.Actor.UserID != "" {
		t.Errorf("actor = %+v, want %+v", r.Actor, want)
	}

	// Without a claim the submitter is the actor, as its token proved it.
	r, err = submission().Submit(by, self, nil)
	if err != nil {
		t.Fatal(err)
	}
	if r.Actor.Subject != "badge-gw" || r.Actor.Asserted || !r.Submitted || r.Submitter.ClientID != "badge-gw" {
		t.Errorf("a submitter's own event: %+v", r)
	}
}

func TestSubmitRefusesAnActorPosingAsAUserOfThisServer(t *testing.T) {
	by := audit.Submitter{ClientID: "badge-gw"}
	no := false
	_, err := submission().Submit(by, audit.Actor{ClientID: "badge-gw"}, &audit.ActorClaim{
		Subject: "dr.amina", UserID: "u-dr-amina", SessionID: "s-1", ClientID: "ward-app", Asserted: &no})
	got := fieldsOf(t, err)
	for _, f := range []string{"actor.userId", "actor.sessionId", "actor.clientId", "actor.asserted"} {
		if !slices.Contains(got, f) {
			t.Errorf("refusal names %v, want %s among them", got, f)
		}
	}
	yes := true
	if _, err := submission().Submit(by, audit.Actor{}, &audit.ActorClaim{Subject: "dr.amina", Asserted: &yes}); err != nil {
		t.Errorf("asserted true is what the record says anyway: %v", err)
	}
}

func TestSubmitCapsAndChecksTheActorFields(t *testing.T) {
	by := audit.Submitter{ClientID: "badge-gw"}
	tests := []struct {
		name  string
		claim audit.ActorClaim
		field string
	}{
		{"names nobody", audit.ActorClaim{Roles: []string{"nurse"}}, "actor.subject"},
		{"subject too long", audit.ActorClaim{Subject: strings.Repeat("s", audit.MaxSubjectLen+1)}, "actor.subject"},
		{"too many roles", audit.ActorClaim{Subject: "x", Roles: make([]string, audit.MaxRoles+1)}, "actor.roles"},
		{"role too long", audit.ActorClaim{Subject: "x", Roles: []string{"ok", strings.Repeat("r", audit.MaxRoleLen+1)}}, "actor.roles[1]"},
		{"practitioner not a UUID", audit.ActorClaim{PractitionerID: "nurse-7"}, "actor.practitionerId"},
		{"practitioner not canonical", audit.ActorClaim{PractitionerID: "{" + uuid.NewString() + "}"}, "actor.practitionerId"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			claim := tt.claim
			_, err := submission().Submit(by, audit.Actor{}, &claim)
			if got := fieldsOf(t, err); !slices.Contains(got, tt.field) {
				t.Errorf("refusal names %v, want %s", got, tt.field)
			}
		})
	}
	if _, err := submission().Submit(audit.Submitter{}, audit.Actor{}, nil); !slices.Contains(fieldsOf(t, err), "submitter.clientId") {
		t.Errorf("a submission without a submitting client: %v", err)
	}
}

// A record nobody submitted encodes, and so hashes, as it did before
// records could be submitted: the chain of old records still verifies.
func TestCanonicalOfAnUnsubmittedRecordIsUnchanged(t *testing.T) {
	r := submission()
	r.Actor = audit.Actor{Subject: "svc", ClientID: "svc"}
	b := r.Canonical()
	if bytes.Contains(b, []byte("submit")) {
		t.Errorf("an unsubmitted record's canonical form names the submission: %s", b)
	}
	s, err := r.Submit(audit.Submitter{ClientID: "svc"}, r.Actor, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(s.Canonical(), []byte(`"submitted":true,"submitter":{"clientId":"svc"}`)) {
		t.Errorf("the submission is not hashed: %s", s.Canonical())
	}
	if bytes.Equal(audit.ChainHash(audit.Genesis, r), audit.ChainHash(audit.Genesis, s)) {
		t.Error("flagging a record as submitted does not change its hash")
	}
}

func TestReportsNameTheSubmitter(t *testing.T) {
	user, person := "u-sec-officer", uuid.New().String()
	r, err := submission().Submit(audit.Submitter{ClientID: "soc-console", UserID: user, PractitionerID: person},
		audit.Actor{}, &audit.ActorClaim{Subject: "contractor.j"})
	if err != nil {
		t.Fatal(err)
	}

	var buf bytes.Buffer
	if err := audit.CSV(&buf, []audit.Record{r, submission()}); err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(&buf).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	col := func(row []string, name string) string {
		return row[slices.Index(audit.CSVHeader, name)]
	}
	for name, want := range map[string]string{"submitted": "true", "submitterClientId": "soc-console",
		"submitterUserId": user, "submitterPractitionerId": person, "actorSubject": "contractor.j", "actorAsserted": "true"} {
		if got := col(rows[1], name); got != want {
			t.Errorf("CSV %s = %q, want %q", name, got, want)
		}
	}
	if col(rows[2], "submitted") != "false" || col(rows[2], "submitterClientId") != "" {
		t.Errorf("a record nobody submitted: %v", rows[2])
	}

	ev := r.FHIR()
	if ev.Source.Observer.Identifier == nil || ev.Source.Observer.Identifier.Value != "soc-console" || ev.Source.Site != audit.Observer {
		t.Errorf("FHIR source = %+v, want the submitting client observed at %s", ev.Source, audit.Observer)
	}
	var submitter *audit.FHIRAgent
	for i, a := range ev.Agent {
		if a.Who.Reference == "Practitioner/"+person {
			submitter = &ev.Agent[i]
		}
		if a.Requestor && a.Who.Identifier != nil && a.Who.Identifier.Value != "contractor.j" {
			t.Errorf("requestor %+v, want the actor the record describes", a)
		}
	}
	if submitter == nil || submitter.Requestor || submitter.Who.Identifier.Value != user || submitter.AltID != "soc-console" {
		t.Errorf("FHIR agents %+v lack the submitting user", ev.Agent)
	}
	b, _ := json.Marshal(ev)
	if !bytes.Contains(b, []byte(`{"type":"submitted","valueString":"true"}`)) || !bytes.Contains(b, []byte("asserted by the submitter")) {
		t.Errorf("FHIR does not flag the submission: %s", b)
	}
	if b, _ := json.Marshal(submission().FHIR()); bytes.Contains(b, []byte("submit")) {
		t.Errorf("FHIR of a record nobody submitted mentions a submission: %s", b)
	}
}
