package main

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/client"

	careplanflow "github.com/zarish-sphere/zarish/workflows/careplan"
)

// TestEndToEndCarePlan drives a care plan through the API on the real stack:
// an activity falls due a few seconds after the plan is created and raises
// the care-plan-activity-overdue alert on the plan's unit, reaching the
// activity's owner (who works elsewhere) in the app; another activity's
// progress is recorded; the plan's events reach Kafka; completing the plan
// ends its reminders. The ward's app reads inboxes and records progress for
// each practitioner (X-On-Behalf-Of).
func TestEndToEndCarePlan(t *testing.T) {
	e := startE2E(t, devConfig(t))
	token := e.token(devClientID, "dev-secret", "")
	app := e.actingToken()
	r := e.do(http.MethodPost, "/v1/patients", token, amina())
	var p patientJSON
	r.json(t, &p)

	newPractitioner := func(name, role, unit string) string {
		r := e.do(http.MethodPost, "/v1/clinical/practitioners", token, map[string]any{
			"name": name, "roles": []string{role}, "units": []string{unit},
			"contacts": []map[string]string{{"system": "email", "value": strings.ReplaceAll(strings.ToLower(name), " ", ".") + "@hospital.example"}},
		})
		var out struct {
			ID string `json:"id"`
		}
		r.json(t, &out)
		if r.status != http.StatusCreated || out.ID == "" {
			t.Fatalf("practitioner: %d %s", r.status, r.body)
		}
		return out.ID
	}
	nurse := newPractitioner("Nurse Shirin", "nurse", "ward-8")
	owner := newPractitioner("Dr Farhan", "physician", "wound-clinic")

	now := time.Now().UTC()
	r = e.do(http.MethodPost, "/v1/clinical/care-plans", token, map[string]any{
		"patientId": p.ID, "title": "Diabetic foot ulcer care", "unit": "ward-8", "status": "active",
		"period": map[string]any{"start": now.Format(time.RFC3339)},
		"goals":  []map[string]any{{"description": "Ulcer healed", "target": "wound area below 1 cm²", "dueDate": now.AddDate(0, 1, 0).Format(time.DateOnly)}},
		"activities": []map[string]any{
			{"title": "Wound dressing change", "ownerId": owner, "schedule": map[string]any{"dueAt": now.Add(3 * time.Second).Format(time.RFC3339Nano)}},
			{"title": "Offloading review", "ownerId": nurse, "schedule": map[string]any{"dueAt": now.Add(24 * time.Hour).Format(time.RFC3339), "repeat": "P1D"}},
		},
	})
	var plan struct {
		ID         string `json:"id"`
		Version    int    `json:"version"`
		Activities []struct {
			ID       string `json:"id"`
			Status   string `json:"status"`
			Schedule struct {
				DueAt time.Time `json:"dueAt"`
			} `json:"schedule"`
		} `json:"activities"`
	}
	r.json(t, &plan)
	if r.status != http.StatusCreated || plan.ID == "" || len(plan.Activities) != 2 || r.header.Get("ETag") != `"1"` {
		t.Fatalf("create care plan: %d %s", r.status, r.body)
	}

	// The dressing change falls due: one alert on the unit, naming it.
	var alertID string
	eventually(t, 30*time.Second, "care-plan-activity-overdue alert raised", func() bool {
		r := e.do(http.MethodGet, "/v1/notifications/alerts?patientId="+p.ID, token, nil)
		var page struct {
			Data []struct {
				ID       string `json:"id"`
				Category string `json:"category"`
				Severity string `json:"severity"`
				Unit     string `json:"unit"`
				Source   string `json:"source"`
				Message  string `json:"message"`
			} `json:"data"`
		}
		r.json(t, &page)
		for _, a := range page.Data {
			if a.Category == careplanflow.CategoryActivityOverdue {
				if a.Severity != "warning" || a.Unit != "ward-8" || a.Source != "careplan/"+plan.ID || !strings.Contains(a.Message, "Wound dressing change") {
					t.Fatalf("alert %+v", a)
				}
				alertID = a.ID
				return true
			}
		}
		return false
	})
	inbox := func(who string) bool {
		r := e.do(http.MethodGet, "/v1/notifications/inbox", app, nil, onBehalfOf(who)...)
		return strings.Contains(string(r.body), alertID)
	}
	// The owner works on another unit, yet is notified with the ward's nurses.
	eventually(t, 30*time.Second, "owner's in-app message", func() bool { return inbox(owner) })
	eventually(t, 30*time.Second, "ward nurse's in-app message", func() bool { return inbox(nurse) })
	r = e.do(http.MethodGet, "/v1/notifications/alerts/"+alertID, token, nil)
	if !strings.Contains(string(r.body), owner) {
		t.Fatalf("the owner is not among the notified: %s", r.body)
	}

	// Decision support shows the overdue activity when the chart is opened.
	r = e.do(http.MethodPost, "/v1/clinical/cds-services/patient-view", token, map[string]any{
		"hook": "patient-view", "hookInstance": "0193c0de-0000-7000-8000-0000000000c1",
		"context": map[string]any{"patientId": p.ID, "userId": "Practitioner/" + nurse}})
	if r.status != http.StatusOK || !strings.Contains(string(r.body), "Wound dressing change") {
		t.Fatalf("patient-view without the overdue activity: %d %s", r.status, r.body)
	}

	// The owner dresses the wound: recording it resolves the reminder in
	// their name, so it stops escalating.
	r = e.do(http.MethodPost, "/v1/clinical/care-plans/"+plan.ID+"/activities/"+plan.Activities[0].ID+"/status", app,
		map[string]any{"status": "completed", "by": owner, "note": "dressing changed"}, onBehalfOf(owner)...)
	if r.status != http.StatusOK {
		t.Fatalf("complete the overdue activity: %d %s", r.status, r.body)
	}
	eventually(t, 30*time.Second, "the reminder resolved by the owner", func() bool {
		r := e.do(http.MethodGet, "/v1/notifications/alerts/"+alertID, token, nil)
		return strings.Contains(string(r.body), `"status":"resolved"`) && strings.Contains(string(r.body), "dressing changed")
	})

	// Progress on the other activity: completing today's occurrence
	// schedules tomorrow's.
	offloading := plan.Activities[1]
	r = e.do(http.MethodPost, "/v1/clinical/care-plans/"+plan.ID+"/activities/"+offloading.ID+"/status", app,
		map[string]any{"status": "completed", "note": "boot fitted"}, append([]string{"If-Match", `"2"`}, onBehalfOf(nurse)...)...)
	var after struct {
		Version    int `json:"version"`
		Activities []struct {
			Status   string `json:"status"`
			Schedule struct {
				DueAt time.Time `json:"dueAt"`
			} `json:"schedule"`
			History []struct {
				Status string `json:"status"`
			} `json:"history"`
		} `json:"activities"`
	}
	r.json(t, &after)
	if r.status != http.StatusOK || after.Version != 3 || after.Activities[1].Status != "scheduled" || len(after.Activities[1].History) != 1 ||
		!after.Activities[1].Schedule.DueAt.Equal(offloading.Schedule.DueAt.Add(24*time.Hour)) {
		t.Fatalf("activity progress: %d %s", r.status, r.body)
	}

	events := readTopic(t, e.stack.KafkaAddress, "zarish.clinical.v1", p.ID, 4)
	var types []string
	for _, ev := range events {
		types = append(types, ev.Type)
		if strings.HasPrefix(ev.Type, "careplan.") && ev.Subject != "CarePlan/"+plan.ID {
			t.Fatalf("event subject %s", ev.Subject)
		}
	}
	if strings.Join(types, " ") != "patient.created careplan.created careplan.activity-updated careplan.activity-updated" {
		t.Fatalf("clinical events %v", types)
	}

	// Completing the plan ends its reminders.
	r = e.do(http.MethodGet, "/v1/clinical/care-plans/"+plan.ID, token, nil)
	var current map[string]any
	r.json(t, &current)
	for _, k := range []string{"id", "patientId", "version", "createdAt", "updatedAt"} {
		delete(current, k)
	}
	current["status"] = "completed"
	for _, a := range current["activities"].([]any) {
		delete(a.(map[string]any), "history")
	}
	if r := e.do(http.MethodPut, "/v1/clinical/care-plans/"+plan.ID, token, current, "If-Match", `"3"`); r.status != http.StatusOK {
		t.Fatalf("complete plan: %d %s", r.status, r.body)
	}
	tc, err := client.Dial(e.stack.clientOptions())
	if err != nil {
		t.Fatal(err)
	}
	defer tc.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var res careplanflow.Result
	if err := tc.GetWorkflow(ctx, "careplan/"+plan.ID, "").Get(ctx, &res); err != nil || res.AlertsRaised != 1 {
		t.Fatalf("reminders after the plan was completed: %+v, %v", res, err)
	}
}
