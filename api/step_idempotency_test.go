package api

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/zarish-sphere/zarish/domain/audit"
	"github.com/zarish-sphere/zarish/domain/encounter"
	encounterflow "github.com/zarish-sphere/zarish/workflows/encounter"
)

// A step's Idempotency-Key is claimed like a creation's and names the
// step's Update: the same key and body again (keys reordered, other
// whitespace) is sent under the same Update id, which the Temporal server
// does once, and is answered Idempotent-Replayed; the same key on another
// encounter is another step; with another body it is 422
// IDEMPOTENCY_KEY_REUSED and no Update is sent. Without a key each Update
// gets a fresh id from the client.
func TestStepIdempotencyKeyIsTheUpdateID(t *testing.T) {
	e := newEncountersAPI(t)
	first, second := e.open(t, "enc-step-1"), e.open(t, "enc-step-2")
	var carried []bool // whether each Update carried its request's audit record
	e.temporal.update = func(id uuid.UUID, req encounterflow.Request) (encounterflow.State, error) {
		carried = append(carried, req.(*encounterflow.TriageRequest).Audit != nil)
		return encounter.New(encounter.Details{EncounterID: id, PatientID: e.patient, Class: encounter.ClassEmergency,
			Reason: "chest pain", Location: "ed-resus"}, first.CreatedAt)
	}
	triage := func(id uuid.UUID, body string, headers ...string) result {
		return e.postAs(t, nurseToken, "/v1/clinical/encounters/"+id.String()+"/triage", body, headers...)
	}
	body := `{"acuity":2,"chiefComplaint":"chest pain"}`
	lastUpdate := func() string {
		e.temporal.mu.Lock()
		defer e.temporal.mu.Unlock()
		return e.temporal.updates[len(e.temporal.updates)-1]
	}
	sent := func() int {
		e.temporal.mu.Lock()
		defer e.temporal.mu.Unlock()
		return len(e.temporal.updates)
	}

	if r := triage(first.ID, body); r.status != http.StatusOK || lastUpdate() != "" {
		t.Fatalf("no key: %d %s, Update id %q", r.status, r.body, lastUpdate())
	}
	r := triage(first.ID, body, "Idempotency-Key", "triage-1")
	keyed := lastUpdate()
	if r.status != http.StatusOK || keyed == "" || r.header.Get("Idempotent-Replayed") != "" {
		t.Fatalf("first with a key: %d %s, Update id %q, replayed %q", r.status, r.body, keyed, r.header.Get("Idempotent-Replayed"))
	}
	r = triage(first.ID, "{ \"chiefComplaint\": \"chest pain\",\n \"acuity\": 2 }", "Idempotency-Key", "triage-1")
	if r.status != http.StatusOK || lastUpdate() != keyed || r.header.Get("Idempotent-Replayed") != "true" {
		t.Fatalf("replay: %d %s, Update id %q want %q, replayed %q", r.status, r.body, lastUpdate(), keyed, r.header.Get("Idempotent-Replayed"))
	}
	r = triage(second.ID, body, "Idempotency-Key", "triage-1")
	if r.status != http.StatusOK || lastUpdate() == keyed || lastUpdate() == "" || r.header.Get("Idempotent-Replayed") != "" {
		t.Fatalf("the same key on another encounter: %d %s, Update id %q (the first's %q)", r.status, r.body, lastUpdate(), keyed)
	}
	before := sent()
	r = triage(first.ID, `{"acuity":1,"chiefComplaint":"chest pain"}`, "Idempotency-Key", "triage-1")
	if r.status != http.StatusUnprocessableEntity || !strings.Contains(r.body, CodeIdempotencyMismatch) || sent() != before {
		t.Fatalf("another body, same key: %d %s, %d Updates sent after it, want none", r.status, r.body, sent()-before)
	}

	// Every request leaves one audit record: the replay's Update carries
	// none (the server answers it with the first one's, which carried the
	// first request's), so the API writes the replay's after the answer.
	if want := []bool{true, true, false, true}; fmt.Sprint(carried) != fmt.Sprint(want) {
		t.Fatalf("audit records carried by the Updates: %v, want %v", carried, want)
	}
	// Records the API writes itself are stored in batches after the answer.
	records := func() (n int, all []audit.Record) {
		all, _, err := e.audit.Query(context.Background(), audit.Filter{Action: audit.ActionUpdate})
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range all {
			if a.EntityID == first.ID.String() && a.Status == http.StatusOK {
				n++
			}
		}
		return n, all
	}
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if n, _ := records(); n > 0 {
			break
		}
	}
	time.Sleep(200 * time.Millisecond) // and no second one comes
	written, all := records()
	if written != 1 {
		t.Fatalf("%d triage records written by the API for the first encounter, want the replay's alone: %+v", written, all)
	}
}
