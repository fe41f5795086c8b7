package main

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/zarish-sphere/zarish/domain/diagnostic"
)

// consoleAs signs username in to the console at page in a browser of its
// own (no JavaScript), and returns the browser and a step runner that
// fails the test with the page's HTML.
func consoleAs(t *testing.T, e *e2e, page, username, password string, ready chromedp.Action[chromedp.Void]) (context.Context, func(string, ...chromedp.Action[chromedp.Void])) {
	t.Helper()
	ctx := browserContext(t)
	run := func(what string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		tctx, cancel := context.WithTimeout(ctx, 45*time.Second)
		defer cancel()
		if err := chromedp.Do(tctx, actions...); err != nil {
			html, _ := chromedp.Run(ctx, chromedp.OuterHTML(chromedp.CSS("html")))
			t.Fatalf("%s: %v\npage: %s", what, err, html)
		}
	}
	run("sign in as "+username, chromedp.Navigate(e.stack.APIURL+page),
		chromedp.WaitVisible(chromedp.ID("username")),
		chromedp.SendKeys(chromedp.ID("username"), username),
		chromedp.SendKeys(chromedp.ID("password"), password),
		chromedp.Click(chromedp.CSS(`button[type="submit"]`)),
		ready)
	return ctx, run
}

// TestEndToEndConsoleCriticalResult follows a critical potassium through
// the console in headless Chromium against the dev stack: the physician
// orders it and the laboratory results 6.9 mmol/L. Laboratory scientist
// Rahim's queue shows the callback outstanding and the report awaiting
// verification. On ward 3's board Dr Karim's row shows the result awaiting
// read-back, and acknowledging it asks for the value: a wrong one is
// refused and nothing is recorded; the right one closes the callback in his
// name as the receiver and the alert leaves the board. Rahim's queue then
// has no callback outstanding, and he verifies the report from it.
func TestEndToEndConsoleCriticalResult(t *testing.T) {
	e := startE2E(t, devConfig(t))
	admin := e.token(devClientID, "dev-secret", "")
	doctor := e.signIn("dr.karim", "demo-password-physician")
	scientist := e.signIn("lab.rahim", "demo-password-lab")
	doctorID := demoPractitionerID("dr.karim").String()

	r := e.do(http.MethodPost, "/v1/patients", admin, amina())
	var p patientJSON
	r.json(t, &p)
	if r.status != http.StatusCreated {
		t.Fatalf("register: %d %s", r.status, r.body)
	}
	r = e.do(http.MethodPost, "/v1/clinical/encounters", admin, map[string]any{
		"patientId": p.ID, "class": "inpatient", "reason": "vomiting and weakness", "location": "ward-3"})
	var enc struct {
		ID string `json:"id"`
	}
	r.json(t, &enc)
	if r.status != http.StatusCreated {
		t.Fatalf("encounter: %d %s", r.status, r.body)
	}
	r = e.do(http.MethodPost, "/v1/diagnostics/orders", doctor, map[string]any{"patientId": p.ID, "encounterId": enc.ID,
		"tests": []string{"2823-3"}, "priority": "stat", "clinicalInformation": "weakness; on spironolactone"})
	var placed reportJSON
	r.json(t, &placed)
	if r.status != http.StatusCreated {
		t.Fatalf("order: %d %s", r.status, r.body)
	}
	id := placed.Order.ID
	orderPath, reportPath := "/v1/diagnostics/orders/"+id, "/v1/diagnostics/reports/"+id
	for _, st := range []struct {
		path string
		body map[string]any
	}{
		{orderPath + "/specimens", map[string]any{"container": placed.Awaiting[0], "accessionId": "E2E-CON-K"}},
		{orderPath + "/specimens/E2E-CON-K/receive", map[string]any{}},
		{orderPath + "/results", map[string]any{"observations": []map[string]any{{"code": "2823-3", "value": map[string]any{"value": 6.9, "unit": "mmol/L"}}}}},
	} {
		if r := e.do(http.MethodPost, st.path, scientist, st.body); r.status != http.StatusOK {
			t.Fatalf("POST %s: %d %s", st.path, r.status, r.body)
		}
	}
	report := func() reportJSON {
		t.Helper()
		var v reportJSON
		r := e.do(http.MethodGet, reportPath, admin, nil)
		r.json(t, &v)
		return v
	}

	// 1. The laboratory's queue: the callback outstanding, the report
	// waiting for verification.
	lab, labRun := consoleAs(t, e, "/console/laboratory", "lab.rahim", "demo-password-lab", chromedp.WaitVisible(chromedp.ID("callbacks")))
	queue, err := chromedp.Run(lab, chromedp.Text(chromedp.CSS("main")))
	if err != nil || !strings.Contains(queue, "Critical callbacks outstanding (1)") || !strings.Contains(queue, "Awaiting verification (1)") ||
		!strings.Contains(queue, "6.9 mmol/L") || !strings.Contains(queue, "Amina Rahmán") {
		t.Fatalf("the laboratory queue: %v\n%s", err, queue)
	}

	// 2. The physician's board: the result awaits his read-back.
	var alertID string
	eventually(t, 60*time.Second, "the critical-result alert raised", func() bool {
		r := e.do(http.MethodGet, "/v1/notifications/alerts?active=true&patientId="+p.ID, admin, nil)
		var page struct {
			Data []struct {
				ID       string `json:"id"`
				Category string `json:"category"`
			} `json:"data"`
		}
		r.json(t, &page)
		for _, a := range page.Data {
			if a.Category == diagnostic.CategoryCriticalResult {
				alertID = a.ID
			}
		}
		return alertID != ""
	})
	row := "#patient-" + p.ID
	ward, wardRun := consoleAs(t, e, "/console/wards/ward-3", "dr.karim", "demo-password-physician", chromedp.WaitVisible(chromedp.CSS(row)))
	todo, err := chromedp.Run(ward, chromedp.Text(chromedp.CSS(row+" td.todo")))
	if err != nil || !strings.Contains(todo, "1 critical result awaiting read-back") {
		t.Fatalf("the row's to-do: %q %v", todo, err)
	}
	wardRun("open the read-back", chromedp.Click(chromedp.ID("ack-"+alertID)), chromedp.WaitVisible(chromedp.CSS("form.readback")))
	obs := report().Callbacks[0].ObservationID
	value := chromedp.ID("value-" + obs)
	wardRun("a wrong read-back", chromedp.SendKeys(value, "6.0 mmol/L"), chromedp.Click(chromedp.ID("confirm-"+obs)),
		chromedp.WaitVisible(chromedp.ID("error")))
	msg, err := chromedp.Run(ward, chromedp.Text(chromedp.ID("error")))
	if err != nil || !strings.Contains(msg, "does not match") {
		t.Fatalf("the mismatch shown: %q %v", msg, err)
	}
	if v := report(); v.Callbacks[0].Outcome != "" {
		t.Fatalf("a wrong read-back closed the callback: %+v", v.Callbacks[0])
	}
	wardRun("the right read-back", chromedp.Clear(value), chromedp.SendKeys(value, "6.9 mmol/L"), chromedp.Click(chromedp.ID("confirm-"+obs)),
		chromedp.WaitVisible(chromedp.CSS(row)))
	cb := report().Callbacks[0]
	if cb.Outcome != string(diagnostic.OutcomeConfirmed) || cb.ReadBack == nil || cb.ReadBack.Receiver != doctorID || cb.ReadBack.Entered != "6.9 mmol/L" {
		t.Fatalf("the callback after the read-back: %+v", cb)
	}
	eventually(t, 30*time.Second, "the alert gone from the board", func() bool {
		wardRun("reload the board", chromedp.Navigate(e.stack.APIURL+"/console/wards/ward-3"), chromedp.WaitVisible(chromedp.CSS(row)))
		n, err := chromedp.Run(ward, chromedp.Evaluate[int](`document.querySelectorAll("#alert-`+alertID+`").length`))
		return err == nil && n == 0
	})

	// 3. Back in the laboratory: nothing outstanding; verify from the queue.
	labRun("reload the queue", chromedp.Navigate(e.stack.APIURL+"/console/laboratory"), chromedp.WaitVisible(chromedp.ID("callbacks")))
	if queue, err := chromedp.Run(lab, chromedp.Text(chromedp.ID("callbacks"))); err != nil || !strings.Contains(queue, "Every critical result has been read back.") {
		t.Fatalf("callbacks after the read-back: %q %v", queue, err)
	}
	labRun("verify", chromedp.Click(chromedp.ID("verify-"+id)), chromedp.WaitNotPresent(chromedp.ID("verify-"+id)),
		chromedp.WaitVisible(chromedp.ID("awaiting")))
	if queue, err := chromedp.Run(lab, chromedp.Text(chromedp.ID("awaiting"))); err != nil || !strings.Contains(queue, "No report waits for verification.") {
		t.Fatalf("the queue after verifying: %q %v", queue, err)
	}
	if v := report(); v.Status != diagnostic.StatusFinal || v.Verification == nil || v.Verification.By != demoPractitionerID("lab.rahim").String() {
		t.Fatalf("the report after verifying from the queue: %+v", v)
	}
}
