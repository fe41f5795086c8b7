//go:build faults

package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/zarish-sphere/zarish/domain/alert"
	"github.com/zarish-sphere/zarish/domain/encounter"
	"github.com/zarish-sphere/zarish/integrations/temporal"
)

// TestFaultTemporalRestart stops the embedded Temporal server right after a
// patient arrives, keeps it down past the encounter's triage deadline, and
// starts it again on the same address and SQLite file: the overdue timer
// fires within seconds of the server's return, raising exactly one
// triage-overdue alert, and the encounter's timeline is untouched. While
// the server is down the API's reads and /ready still answer.
func TestFaultTemporalRestart(t *testing.T) {
	cfg := faultConfig(t)
	e := startFaultStack(t, cfg)
	pool := faultDB(t, e)
	admin := e.token(devClientID, "dev-secret", "")
	engine := e.actingToken()
	clinician := onBehalfOf(demoPractitionerID("dr.karim").String())
	r := e.do(http.MethodPost, "/v1/patients", admin, amina())
	var p patientJSON
	r.json(t, &p)
	if r.status != http.StatusCreated {
		t.Fatalf("register: %d %s", r.status, r.body)
	}
	const deadline = 15 * time.Second
	r = e.do(http.MethodPost, "/v1/clinical/encounters", admin, map[string]any{
		"patientId": p.ID, "class": "emergency", "reason": "fall", "location": "ed-resus",
		"triageDeadlineMinutes": deadline.Minutes()})
	var enc encounter.Record
	r.json(t, &enc)
	if r.status != http.StatusCreated {
		t.Fatalf("start encounter: %d %s", r.status, r.body)
	}
	r = e.do(http.MethodPost, "/v1/clinical/encounters/"+enc.ID.String()+"/arrive", engine, map[string]any{}, clinician...)
	var arrived encounter.Record
	r.json(t, &arrived)
	if r.status != http.StatusOK || arrived.Status != encounter.StatusArrived || len(arrived.Timeline) != 2 {
		t.Fatalf("arrive: %d %s", r.status, r.body)
	}
	due := arrived.Timeline[1].At.Add(deadline)

	// Temporal goes away before the deadline and stays away past it.
	stopping := time.Now()
	e.stack.temporal.Stop()
	t.Logf("Temporal stopped in %s, %s before the triage deadline", time.Since(stopping).Round(time.Millisecond), time.Until(due).Round(time.Millisecond))
	if time.Now().After(due) {
		t.Fatalf("Temporal took until after the deadline to stop; nothing was due during the outage")
	}
	for time.Now().Before(due.Add(5 * time.Second)) {
		if r := e.do(http.MethodGet, "/ready", "", nil); r.status != http.StatusOK {
			t.Fatalf("/ready with Temporal down: %d %s", r.status, r.body)
		}
		if r := e.do(http.MethodGet, "/v1/clinical/encounters/"+enc.ID.String(), admin, nil); r.status != http.StatusOK {
			t.Fatalf("read the encounter with Temporal down: %d %s", r.status, r.body)
		}
		time.Sleep(time.Second)
	}
	overdue := overdueAlerts(t, e, admin, p.ID)
	if len(overdue) != 0 {
		t.Fatalf("an alert was raised while Temporal was down: %+v", overdue)
	}

	// Temporal returns on the same address and file.
	var err error
	restarted := time.Now()
	outage := restarted.Sub(stopping)
	e.stack.temporal, err = temporal.StartDevServer(context.Background(), temporal.DevServerConfig{
		FrontendAddress: e.stack.TemporalAddress,
		DatabaseFile:    filepath.Join(cfg.DataDir, "temporal.db"),
		Namespace:       cfg.Temporal.Namespace,
	}, faultLogger(t).With("component", "temporal-server"))
	if err != nil {
		t.Fatalf("restart Temporal on %s: %v", e.stack.TemporalAddress, err)
	}
	started := time.Since(restarted)
	eventually(t, 60*time.Second, "the triage-overdue alert raised after the restart", func() bool {
		overdue = overdueAlerts(t, e, admin, p.ID)
		return len(overdue) > 0
	})
	fired := time.Since(restarted)
	t.Logf("Temporal down %s (restart took %s); the overdue timer, due %s before the restart, raised its alert %s after the restart",
		outage.Round(time.Millisecond), started.Round(time.Millisecond), restarted.Sub(due).Round(time.Millisecond), fired.Round(time.Millisecond))

	// One alert, notified at level 1, raised once; the encounter unchanged.
	// ed-resus has nobody on call: the alert escalates through its three
	// levels at once and reaches the fallback contact by email.
	var detail struct {
		Status   alert.Status `json:"status"`
		Timeline []struct {
			Kind  string `json:"kind"`
			Level int    `json:"level"`
		} `json:"timeline"`
		Deliveries []struct {
			Channel string `json:"channel"`
			Status  string `json:"status"`
		} `json:"deliveries"`
	}
	eventually(t, 30*time.Second, "the alert escalates to the fallback contact, who gets it", func() bool {
		r := e.do(http.MethodGet, "/v1/notifications/alerts/"+overdue[0].ID.String(), admin, nil)
		return json.Unmarshal(r.body, &detail) == nil && detail.Status == alert.StatusUndeliverable &&
			len(detail.Deliveries) > 0 && detail.Deliveries[0].Status == "delivered"
	})
	time.Sleep(3 * time.Second) // a second raise or notification would show by now
	r = e.do(http.MethodGet, "/v1/notifications/alerts/"+overdue[0].ID.String(), admin, nil)
	r.json(t, &detail)
	var kinds []string
	for _, ev := range detail.Timeline {
		kinds = append(kinds, fmt.Sprintf("%s/%d", ev.Kind, ev.Level))
	}
	want := []string{"raised/0", "unreachable/1", "escalated/2", "unreachable/2", "escalated/3", "unreachable/3", "undeliverable/0", "notified/0"}
	if !slices.Equal(kinds, want) {
		t.Errorf("alert timeline %v, want %v", kinds, want)
	}
	if len(detail.Deliveries) != 1 || detail.Deliveries[0].Channel != "email" || detail.Deliveries[0].Status != "delivered" {
		t.Errorf("deliveries %+v, want one delivered email", detail.Deliveries)
	}
	if overdue = overdueAlerts(t, e, admin, p.ID); len(overdue) != 1 {
		t.Fatalf("triage-overdue alerts after the restart: %+v, want one", overdue)
	}
	a := overdue[0]
	if a.EncounterID == nil || *a.EncounterID != enc.ID || a.Unit != "ed-resus" {
		t.Errorf("alert %+v, want encounter %s on ed-resus", a, enc.ID)
	}
	if n := count(t, pool, `SELECT count(*) FROM alerts WHERE patient_id = $1`, p.ID); n != 1 {
		t.Errorf("%d alerts for the patient, want 1", n)
	}
	if n := count(t, pool, `SELECT count(*) FROM outbox WHERE type = 'notification.requested' AND key = $1`, p.ID); n != 1 {
		t.Errorf("%d notification.requested events, want 1 (the fallback contact's email)", n)
	}
	if n := count(t, pool, `SELECT count(*) FROM encounter_timeline WHERE encounter_id = $1`, enc.ID); n != 2 {
		t.Errorf("%d timeline entries, want 2 (created, arrived)", n)
	}
}

// overdueAlerts are the patient's triage-overdue alerts.
func overdueAlerts(t *testing.T, e *e2e, token, patient string) []alert.Record {
	t.Helper()
	r := e.do(http.MethodGet, "/v1/notifications/alerts?patientId="+patient, token, nil)
	var page struct {
		Data []alert.Record `json:"data"`
	}
	if err := json.Unmarshal(r.body, &page); err != nil || r.status != http.StatusOK {
		t.Fatalf("list alerts: %d %s", r.status, r.body)
	}
	var out []alert.Record
	for _, a := range page.Data {
		if a.Category == "triage-overdue" {
			out = append(out, a)
		}
	}
	return out
}
