package main

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestEndToEndLongNoteDoesNotBlockEvents reproduces the case: a
// progress note of 90,000 '<' with two sections of 40,000 (about 1 MB once
// the relay escapes it) is created, and an event written after it — another
// patient's registration — still reaches Kafka. The note's own event is
// there too, in its reference form: ids and a link, not the text.
func TestEndToEndLongNoteDoesNotBlockEvents(t *testing.T) {
	e := startE2E(t, devConfig(t))
	token := e.token(devClientID, "dev-secret", "")
	r := e.do(http.MethodPost, "/v1/patients", token, amina())
	var p patientJSON
	r.json(t, &p)
	if r.status != http.StatusCreated {
		t.Fatalf("register: %d %s", r.status, r.body)
	}
	r = e.do(http.MethodPost, "/v1/clinical/encounters", token, map[string]any{
		"patientId": p.ID, "class": "inpatient", "reason": "cellulitis", "location": "ward-3"})
	var enc struct {
		ID string `json:"id"`
	}
	r.json(t, &enc)
	if r.status != http.StatusCreated {
		t.Fatalf("start encounter: %d %s", r.status, r.body)
	}
	eventually(t, 20*time.Second, "the encounter reaches the read model", func() bool {
		return e.do(http.MethodGet, "/v1/clinical/encounters/"+enc.ID, token, nil).status == http.StatusOK
	})

	r = e.do(http.MethodPost, "/v1/clinical/encounters/"+enc.ID+"/notes", e.actingToken(), map[string]any{
		"type": "progress", "patientId": p.ID, "text": strings.Repeat("<", 90_000),
		"sections": []map[string]string{
			{"title": "history", "text": strings.Repeat("<", 40_000)},
			{"title": "plan", "text": strings.Repeat("<", 40_000)},
		}}, onBehalfOf(demoPractitionerID("dr.karim").String())...)
	var n struct {
		ID string `json:"id"`
	}
	r.json(t, &n)
	if r.status != http.StatusCreated {
		t.Fatalf("long note: %d %.300s", r.status, r.body)
	}

	// Written after the note: another patient's registration.
	later := amina()
	later["name"] = map[string]any{"given": []string{"Rahim"}, "family": "Uddin"}
	r = e.do(http.MethodPost, "/v1/patients", token, later)
	var q patientJSON
	r.json(t, &q)
	if r.status != http.StatusCreated {
		t.Fatalf("register the second patient: %d %s", r.status, r.body)
	}
	if ev := readEvents(t, e.stack.KafkaAddress, q.ID, 1)[0]; ev.Type != "patient.created" {
		t.Fatalf("second patient's event: %+v", ev)
	}

	// The note's event, in its reference form.
	var noteEvent *cloudEvent
	for _, ev := range readEvents(t, e.stack.KafkaAddress, p.ID, 3) {
		if ev.Type == "note.created" {
			noteEvent = &ev
		}
	}
	if noteEvent == nil {
		t.Fatal("no note.created event for the first patient")
	}
	var ref map[string]any
	if err := json.Unmarshal(noteEvent.Data, &ref); err != nil {
		t.Fatal(err)
	}
	if ref["contentOmitted"] != true || ref["link"] != "/v1/clinical/notes/"+n.ID || ref["id"] != n.ID ||
		ref["patientId"] != p.ID || ref["encounterId"] != enc.ID || ref["text"] != nil {
		t.Fatalf("note event data: %.500s", noteEvent.Data)
	}
	if len(noteEvent.Data) > 4096 {
		t.Errorf("the reference is %d bytes", len(noteEvent.Data))
	}
	// The link serves the whole note.
	r = e.do(http.MethodGet, ref["link"].(string), token, nil)
	var full struct {
		Text string `json:"text"`
	}
	r.json(t, &full)
	if r.status != http.StatusOK || len(full.Text) != 90_000 {
		t.Fatalf("GET the link: %d, %d characters", r.status, len(full.Text))
	}

	// Nothing waits and nothing was refused.
	eventually(t, 20*time.Second, "an empty outbox backlog on /metrics", func() bool {
		body := string(e.do(http.MethodGet, "/metrics", "", nil).body)
		return strings.Contains(body, "\nzarish_outbox_backlog_events 0\n") &&
			strings.Contains(body, "\nzarish_outbox_dead_letter_events 0\n")
	})
	r = e.do(http.MethodGet, "/v1/integration/outbox/dead-letters", token, nil)
	if r.status != http.StatusOK || !strings.Contains(string(r.body), `"data":[]`) {
		t.Fatalf("dead letters: %d %s", r.status, r.body)
	}
}
