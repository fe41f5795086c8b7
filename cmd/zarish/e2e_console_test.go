package main

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"
	"github.com/pquerna/otp/totp"

	"github.com/zarish-sphere/zarish/domain/alert"
	"github.com/zarish-sphere/zarish/domain/prescription"
)

// TestEndToEndConsoleWardBoard drives the clinical console in headless
// Chromium (JavaScript on) against the dev stack: nurse Nadia signs in,
// opens ward 3's board and sees her patient; vital signs scoring NEWS2 7
// are recorded, and the board turns the row high-risk and shows the
// emergency alert by itself, from her inbox stream. She acknowledges it in
// one click; an alert that never reached her has no button, and a forged
// acknowledgement of it is refused by the engine and shown as an error.
// With ZARISH_SCREENSHOTS=1 the board is saved to docs/console-board.png.
func TestEndToEndConsoleWardBoard(t *testing.T) {
	ctx := browserContext(t)
	withScript := chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		_, err := cdp.Call(ctx, tg, emulation.SetScriptExecutionDisabled, emulation.SetScriptExecutionDisabledParams{Value: false})
		return err
	})
	if err := chromedp.Do(ctx, withScript, chromedp.EmulateViewport(1180, 820)); err != nil {
		t.Fatal(err)
	}
	e := startE2E(t, devConfig(t))
	admin := e.token(devClientID, "dev-secret", "")
	acting := e.actingToken()
	nurse := demoPractitionerID("nurse.nadia").String()

	r := e.do(http.MethodPost, "/v1/patients", admin, amina())
	var p patientJSON
	r.json(t, &p)
	if r.status != http.StatusCreated {
		t.Fatalf("register: %d %s", r.status, r.body)
	}
	r = e.do(http.MethodPost, "/v1/clinical/encounters", admin, map[string]any{
		"patientId": p.ID, "class": "inpatient", "reason": "pneumonia", "location": "ward-3"})
	if r.status != http.StatusCreated {
		t.Fatalf("encounter: %d %s", r.status, r.body)
	}
	// An alert for the pharmacist on call, not for the nurse.
	r = e.do(http.MethodPost, "/v1/notifications/alerts", admin, map[string]any{
		"patientId": p.ID, "severity": "warning", "category": "pharmacy-review", "message": "Review the antibiotics",
		"source": "e2e-console", "policyId": "prescription-hold"})
	var theirs alert.Record
	r.json(t, &theirs)
	if r.status != http.StatusAccepted {
		t.Fatalf("raise the pharmacist's alert: %d %s", r.status, r.body)
	}

	fail := func(what string, err error) {
		t.Helper()
		html, _ := chromedp.Run(ctx, chromedp.OuterHTML(chromedp.CSS("html")))
		t.Fatalf("%s: %v\npage: %s", what, err, html)
	}
	run := func(what string, within time.Duration, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		tctx, cancel := context.WithTimeout(ctx, within)
		defer cancel()
		if err := chromedp.Do(tctx, actions...); err != nil {
			fail(what, err)
		}
	}
	row := "#patient-" + p.ID

	// 1. Sign in through the engine's own page; back on the board.
	run("sign in", 30*time.Second, chromedp.Navigate(e.stack.APIURL+"/console/wards/ward-3"),
		chromedp.WaitVisible(chromedp.ID("username")),
		chromedp.SendKeys(chromedp.ID("username"), "nurse.nadia"),
		chromedp.SendKeys(chromedp.ID("password"), "demo-password-nurse"),
		chromedp.Click(chromedp.CSS(`button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(row)),
		chromedp.WaitVisible(chromedp.CSS("#live-status.on")),
	)
	html, err := chromedp.Run(ctx, chromedp.OuterHTML(chromedp.CSS(row)))
	if err != nil || !strings.Contains(html, "Amina Rahmán") || !strings.Contains(html, p.MRN) || !strings.Contains(html, "news2-none") {
		t.Fatalf("the patient's row before any readings: %v %s", err, html)
	}
	if strings.Contains(html, "ack-"+theirs.ID.String()) {
		t.Fatalf("the pharmacist's alert has an Acknowledge button for the nurse: %s", html)
	}

	// 2. Vital signs scoring NEWS2 7, none of them a critical value: RR 22
	// (2), SpO2 94 (1), air (0), systolic 105 (1), pulse 115 (2), alert (0),
	// 38.5 °C (1).
	at := time.Now().Add(-10 * time.Minute)
	item := func(i int, code string, value map[string]any) map[string]any {
		return map[string]any{"patientId": p.ID, "code": code, "value": value,
			"effectiveAt": at.Add(time.Duration(i) * time.Minute).UTC().Format(time.RFC3339)}
	}
	q := func(v float64, unit string) map[string]any { return map[string]any{"value": v, "unit": unit} }
	for _, it := range []map[string]any{
		item(0, "9279-1", q(22, "/min")), item(1, "59408-5", q(94, "%")), item(2, "3150-0", q(21, "%")),
		item(3, "8480-6", q(105, "mm[Hg]")), item(4, "8867-4", q(115, "/min")),
		item(5, "67775-7", map[string]any{"code": "A"}), item(6, "8310-5", q(38.5, "Cel")),
	} {
		if r := e.do(http.MethodPost, "/v1/observations", acting, it, onBehalfOf(nurse)...); r.status != http.StatusCreated {
			t.Fatalf("record %s: %d %s", it["code"], r.status, r.body)
		}
	}
	var high alert.Record
	eventually(t, 60*time.Second, "the NEWS2 emergency alert raised", func() bool {
		r := e.do(http.MethodGet, "/v1/notifications/alerts?patientId="+p.ID, admin, nil)
		var page struct {
			Data []alert.Record `json:"data"`
		}
		r.json(t, &page)
		for _, a := range page.Data {
			if a.Category == "news2-high" {
				high = a
				return true
			}
		}
		return false
	})
	ack := "#ack-" + high.ID.String()

	// 3. The board changes by itself: the row turns high-risk and shows
	// the alert with a button for her.
	run("the live board shows NEWS2 7 and the alert", 90*time.Second,
		chromedp.WaitVisible(chromedp.CSS(row+".news2-high")),
		chromedp.WaitVisible(chromedp.CSS(ack)),
	)
	cell, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(row+" td.news2")))
	if err != nil || !strings.Contains(cell, "7") || !strings.Contains(cell, "High risk") {
		t.Fatalf("NEWS2 cell %q: %v", cell, err)
	}
	alerts, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(row+" td.alerts")))
	if err != nil || !strings.Contains(strings.ToLower(alerts), "critical news2 7 (high)") || !strings.Contains(alerts, "Open, level 1") || !strings.Contains(alerts, "Review the antibiotics") {
		t.Fatalf("alerts cell %q: %v", alerts, err)
	}
	if n, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll("#ack-`+theirs.ID.String()+`").length`)); err != nil || n != 0 {
		t.Fatalf("the pharmacist's alert has an Acknowledge button for the nurse (%v)", err)
	}
	if os.Getenv("ZARISH_SCREENSHOTS") == "1" {
		png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join("..", "..", "docs", "console-board.png"), png, 0o644); err != nil {
			t.Fatal(err)
		}
	}

	// 4. One click: acknowledged in her name, and the row says so.
	run("acknowledge", 30*time.Second, chromedp.Click(chromedp.CSS(ack)),
		chromedp.WaitVisible(chromedp.CSS("#alert-"+high.ID.String()+`[data-status="acknowledged"]`)),
	)
	if n, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll("`+ack+`").length`)); err != nil || n != 0 {
		t.Fatalf("the Acknowledge button is still there after the acknowledgement (%v)", err)
	}
	r = e.do(http.MethodGet, "/v1/notifications/alerts/"+high.ID.String(), admin, nil)
	var acked alert.Record
	r.json(t, &acked)
	if acked.Status != alert.StatusAcknowledged || acked.AcknowledgedBy == nil || acked.AcknowledgedBy.String() != nurse {
		t.Fatalf("the alert after the click: %s", r.body)
	}

	// 5. A forged acknowledgement of the pharmacist's alert, with her own
	// session and CSRF token: the engine refuses it, the console says so.
	forge := `(function(){var f=document.createElement("form");f.method="post";f.action="/console/alerts/` + theirs.ID.String() + `/ack";
	  [["csrf",document.querySelector("#logout input[name=csrf]").value],["unit","ward-3"]].forEach(function(kv){
	    var i=document.createElement("input");i.type="hidden";i.name=kv[0];i.value=kv[1];f.appendChild(i);});
	  document.body.appendChild(f);f.submit();return true;})()`
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](forge)); err != nil {
		t.Fatal(err)
	}
	run("the refusal shown", 30*time.Second, chromedp.WaitVisible(chromedp.ID("error")))
	msg, err := chromedp.Run(ctx, chromedp.Text(chromedp.ID("error")))
	if err != nil || !strings.Contains(msg, "not one of this alert's recipients") {
		t.Fatalf("error shown: %q %v", msg, err)
	}
	r = e.do(http.MethodGet, "/v1/notifications/alerts/"+theirs.ID.String(), admin, nil)
	var still alert.Record
	r.json(t, &still)
	if still.AcknowledgedBy != nil {
		t.Fatalf("the forged acknowledgement went through: %s", r.body)
	}
}

// TestEndToEndConsolePharmacyQueue drives the pharmacist's queue in
// headless Chromium (no JavaScript) against the dev stack: the physician
// prescribes warfarin, then ibuprofen, which the checks hold with a major
// interaction. Pharmacist Farhana signs in to the console — enrolling her
// second factor, as her role requires at first sign-in — sees the held
// ibuprofen with its interaction, overrides it with a reason and verifies
// it; the engine records both in her name.
func TestEndToEndConsolePharmacyQueue(t *testing.T) {
	ctx := browserContext(t)
	e := startE2E(t, devConfig(t))
	admin := e.token(devClientID, "dev-secret", "")
	acting := e.actingToken()
	asDoctor := onBehalfOf(demoPractitionerID("dr.karim").String())
	pharmacist := demoPractitionerID("pharm.farhana")

	r := e.do(http.MethodPost, "/v1/patients", admin, amina())
	var p patientJSON
	r.json(t, &p)
	if r.status != http.StatusCreated {
		t.Fatalf("register: %d %s", r.status, r.body)
	}
	r = e.do(http.MethodPost, "/v1/clinical/encounters", admin, map[string]any{
		"patientId": p.ID, "class": "inpatient", "reason": "atrial fibrillation", "location": "ward-3"})
	var enc struct {
		ID string `json:"id"`
	}
	r.json(t, &enc)
	if r.status != http.StatusCreated {
		t.Fatalf("encounter: %d %s", r.status, r.body)
	}
	prescribe := func(body map[string]any) prescriptionJSON {
		t.Helper()
		body["patientId"], body["encounterId"] = p.ID, enc.ID
		r := e.do(http.MethodPost, "/v1/medications/prescriptions", acting, body, asDoctor...)
		var out prescriptionJSON
		r.json(t, &out)
		if r.status != http.StatusCreated {
			t.Fatalf("prescribe %v: %d %s", body["medication"], r.status, r.body)
		}
		return out
	}
	warfarin := prescribe(map[string]any{"medication": map[string]any{"name": "warfarin"},
		"dose": map[string]any{"value": 5, "unit": "mg"}, "route": "oral", "frequency": "daily", "indication": "atrial fibrillation"})
	ibuprofen := prescribe(map[string]any{"medication": map[string]any{"name": "ibuprofen"},
		"dose": map[string]any{"value": 400, "unit": "mg"}, "route": "oral", "frequency": "tds", "durationDays": 5})
	if warfarin.Status != prescription.StatusActive || ibuprofen.Status != prescription.StatusOnHold {
		t.Fatalf("warfarin %s, ibuprofen %s: want active, on-hold", warfarin.Status, ibuprofen.Status)
	}
	var interaction prescription.Finding
	for _, f := range ibuprofen.Findings {
		if f.Kind == "interaction" && f.Standing() && f.OtherPrescriptionID != nil && *f.OtherPrescriptionID == warfarin.Details.ID {
			interaction = f
		}
	}
	if interaction.ID == "" || interaction.Severity != "major" {
		t.Fatalf("ibuprofen's findings %+v: want a major interaction with the warfarin", ibuprofen.Findings)
	}
	id := ibuprofen.Details.ID.String()
	rx := "#rx-" + id

	fail := func(what string, err error) {
		t.Helper()
		html, _ := chromedp.Run(ctx, chromedp.OuterHTML(chromedp.CSS("html")))
		t.Fatalf("%s: %v\npage: %s", what, err, html)
	}
	run := func(what string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		tctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		if err := chromedp.Do(tctx, actions...); err != nil {
			fail(what, err)
		}
	}

	// 1. She opens the queue, signs in and enrols TOTP; back on the queue.
	run("open the queue", chromedp.Navigate(e.stack.APIURL+"/console/pharmacy"), chromedp.WaitVisible(chromedp.ID("username")))
	enrolTOTPAtSignIn(t, ctx, fail, "pharm.farhana", "demo-password-pharmacist")
	run("back on the queue", chromedp.WaitVisible(chromedp.CSS(rx)))

	// 2. The held ibuprofen, with the patient and the interaction.
	text, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(rx)))
	for _, want := range []string{"Ibuprofen for Amina Rahmán", p.MRN, "400 mg oral tds for 5 days", "Interaction", "major",
		interaction.Other, interaction.Explanation, "Standing"} {
		if err != nil || !strings.Contains(strings.ToLower(text), strings.ToLower(want)) {
			t.Fatalf("the held ibuprofen lacks %q (%v): %s", want, err, text)
		}
	}

	// 3. A reason for each standing finding; override; then verify.
	const reason = "Short course for gout; INR checked in 3 days"
	fields, err := chromedp.Run(ctx, chromedp.Nodes(chromedp.CSSAll("#override-"+id+` input[type="text"]`)))
	if err != nil || len(fields) == 0 {
		fail("the override form's reason fields", err)
	}
	var typing []chromedp.Action[chromedp.Void]
	for _, f := range fields {
		typing = append(typing, chromedp.SendKeys(chromedp.ID(f.AttributeValue("id")), reason))
	}
	run("type the reasons", typing...)
	run("override", chromedp.Click(chromedp.ID("override-button-"+id)), chromedp.WaitVisible(chromedp.ID("verify-"+id)))
	run("verify", chromedp.Click(chromedp.ID("verify-"+id)), chromedp.WaitVisible(chromedp.ID("queue-hint")), chromedp.WaitNotPresent(chromedp.CSS(rx)))
	if n, err := chromedp.Run(ctx, chromedp.Nodes(chromedp.ID("error"), chromedp.AtLeast(0))); err != nil || len(n) != 0 {
		fail("an error shown after verifying", err)
	}

	// 4. The engine: active, verified and overridden, both in her name.
	r = e.do(http.MethodGet, "/v1/medications/prescriptions/"+id, admin, nil)
	var got prescriptionJSON
	r.json(t, &got)
	if r.status != http.StatusOK || got.Status != prescription.StatusActive || got.VerifiedBy == nil || *got.VerifiedBy != pharmacist {
		t.Fatalf("the ibuprofen after the console: %d %s", r.status, r.body)
	}
	for _, f := range got.Findings {
		if f.ID != interaction.ID {
			continue
		}
		if o := f.Override; o == nil || o.By != pharmacist || o.Role != prescription.RolePharmacist || o.Reason != reason {
			t.Fatalf("the interaction's override: %+v", f.Override)
		}
		return
	}
	t.Fatalf("the interaction is gone from the findings: %s", r.body)
}

// enrolTOTPAtSignIn signs username in on the engine's sign-in page the
// browser shows, enrolling a TOTP authenticator as a role that needs a
// second factor does at its first sign-in: it reads the key off the page,
// confirms it with a code, and goes on past the recovery codes.
func enrolTOTPAtSignIn(t *testing.T, ctx context.Context, fail func(string, error), username, password string) {
	t.Helper()
	tctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	submit := chromedp.Click(chromedp.CSS(`button[type="submit"]`))
	if err := chromedp.Do(tctx, chromedp.WaitVisible(chromedp.ID("username")),
		chromedp.SendKeys(chromedp.ID("username"), username),
		chromedp.SendKeys(chromedp.ID("password"), password),
		submit,
		chromedp.WaitVisible(chromedp.ID("totp-secret")),
	); err != nil {
		fail("sign in up to the enrolment", err)
	}
	secret, err := chromedp.Run(tctx, chromedp.Text(chromedp.ID("totp-secret")))
	if err != nil {
		fail("the TOTP key", err)
	}
	code, err := totp.GenerateCode(strings.TrimSpace(secret), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(tctx, chromedp.SendKeys(chromedp.ID("code"), code), submit,
		chromedp.WaitVisible(chromedp.ID("recovery-codes")), submit); err != nil {
		fail("enrol", err)
	}
}

// TestEndToEndConsolePatientPage opens a patient's page in headless
// Chromium (no JavaScript) against the dev stack: Amina has an encounter on
// ward 3 and a few vital signs; nurse Nadia signs in on the page and sees
// her name, the encounter with a link to its workflow in the Temporal Web
// UI, NEWS2's trend over the sets scored, and a chart per vital sign drawn
// on the server with the readings. With
// ZARISH_SCREENSHOTS=1 the page is saved to docs/console-patient.png.
func TestEndToEndConsolePatientPage(t *testing.T) {
	ctx := browserContext(t)
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(1180, 820)); err != nil {
		t.Fatal(err)
	}
	e := startE2E(t, devConfig(t))
	admin := e.token(devClientID, "dev-secret", "")
	acting := e.actingToken()
	nurse := demoPractitionerID("nurse.nadia").String()

	r := e.do(http.MethodPost, "/v1/patients", admin, amina())
	var p patientJSON
	r.json(t, &p)
	if r.status != http.StatusCreated {
		t.Fatalf("register: %d %s", r.status, r.body)
	}
	r = e.do(http.MethodPost, "/v1/clinical/encounters", admin, map[string]any{
		"patientId": p.ID, "class": "inpatient", "reason": "community-acquired pneumonia", "location": "ward-3"})
	var enc struct {
		ID         string `json:"id"`
		WorkflowID string `json:"workflowId"`
	}
	r.json(t, &enc)
	if r.status != http.StatusCreated {
		t.Fatalf("encounter: %d %s", r.status, r.body)
	}
	now := time.Now().UTC()
	type reading struct {
		code  string
		value float64
		unit  string
		ago   time.Duration
	}
	// sets reports how many of the patient's sets are scored: the
	// observation service scores a set when its newest reading arrives and
	// nothing newer is recorded, so the earlier set goes first.
	sets := func() int {
		r := e.do(http.MethodGet, "/v1/observations/news2/history?patientId="+p.ID, admin, nil)
		var h struct {
			Data []struct{} `json:"data"`
		}
		r.json(t, &h)
		return len(h.Data)
	}
	for n, set := range [][]reading{{
		{"8867-4", 88, "/min", 6 * time.Hour},
		{"8867-4", 96, "/min", 3 * time.Hour}, {"9279-1", 18, "/min", 3 * time.Hour}, {"8310-5", 37.9, "Cel", 3 * time.Hour},
		{"59408-5", 97, "%", 3 * time.Hour}, {"8480-6", 118, "mm[Hg]", 3 * time.Hour}, {"3150-0", 21, "%", 3 * time.Hour},
		{"67775-7", 0, "", 3 * time.Hour},
	}, {
		{"8867-4", 112, "/min", 30 * time.Minute}, {"9279-1", 22, "/min", 30 * time.Minute}, {"8310-5", 38.4, "Cel", 30 * time.Minute},
		{"59408-5", 95, "%", 30 * time.Minute}, {"8480-6", 108, "mm[Hg]", 30 * time.Minute}, {"3150-0", 21, "%", 30 * time.Minute},
		{"67775-7", 0, "", 30 * time.Minute},
	}} {
		for i, it := range set {
			value := map[string]any{"value": it.value, "unit": it.unit}
			if it.code == "67775-7" {
				value = map[string]any{"code": "A"}
			}
			body := map[string]any{"patientId": p.ID, "code": it.code, "value": value,
				"effectiveAt": now.Add(-it.ago).Add(time.Duration(i) * time.Second).Format(time.RFC3339)}
			if r := e.do(http.MethodPost, "/v1/observations", acting, body, onBehalfOf(nurse)...); r.status != http.StatusCreated {
				t.Fatalf("record %s: %d %s", it.code, r.status, r.body)
			}
		}
		eventually(t, 60*time.Second, fmt.Sprintf("set %d scored", n+1), func() bool { return sets() > n })
	}

	fail := func(what string, err error) {
		t.Helper()
		html, _ := chromedp.Run(ctx, chromedp.OuterHTML(chromedp.CSS("html")))
		t.Fatalf("%s: %v\npage: %s", what, err, html)
	}
	tctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := chromedp.Do(tctx, chromedp.Navigate(e.stack.APIURL+"/console/patients/"+p.ID),
		chromedp.WaitVisible(chromedp.ID("username")),
		chromedp.SendKeys(chromedp.ID("username"), "nurse.nadia"),
		chromedp.SendKeys(chromedp.ID("password"), "demo-password-nurse"),
		chromedp.Click(chromedp.CSS(`button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.ID("patient-name")),
	); err != nil {
		fail("sign in on the patient page", err)
	}
	name, err := chromedp.Run(ctx, chromedp.Text(chromedp.ID("patient-name")))
	if err != nil || name != "Amina Rahmán" {
		fail("the name "+name, err)
	}
	encounter, err := chromedp.Run(ctx, chromedp.Text(chromedp.ID("encounter")))
	if err != nil || !strings.Contains(encounter, "ward-3") || !strings.Contains(encounter, "community-acquired pneumonia") {
		fail("the encounter: "+encounter, err)
	}
	link, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector("#encounter a.workflow").getAttribute("href")`))
	if want := e.stack.UIURL + "/namespaces/default/workflows/" + url.PathEscape(enc.WorkflowID); err != nil || enc.WorkflowID == "" || link != want {
		t.Fatalf("the encounter's workflow link %q, want %q (%v)", link, want, err)
	}
	charts, err := chromedp.Run(ctx, chromedp.Evaluate[[]int](`["8867-4","9279-1","8310-5","59408-5","8480-6"].map(function(c){
	  var f=document.getElementById("chart-"+c); return f && f.querySelector("svg > title") && f.querySelector("svg > desc") && f.querySelector("table") ?
	    f.querySelectorAll("svg circle").length : -1;})`))
	if err != nil || len(charts) != 5 || charts[0] != 3 || charts[1] != 2 || charts[2] != 2 || charts[3] != 2 || charts[4] != 2 {
		fail("the charts' readings", err)
	}
	if n, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll("#chart-news2 svg circle").length`)); err != nil || n < 2 {
		fail("the NEWS2 chart's sets", err)
	}
	desc, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector("#chart-8867-4 svg > desc").textContent`))
	if err != nil || !strings.Contains(desc, "3 readings, 2 outside the shaded band of 51–90 /min") {
		t.Fatalf("the pulse chart's description %q (%v)", desc, err)
	}
	if os.Getenv("ZARISH_SCREENSHOTS") == "1" {
		png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join("..", "..", "docs", "console-patient.png"), png, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
