package console

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
)

const (
	rxIbuprofen = "0193b000-0000-7000-8000-000000000011"
	rxContra    = "0193b000-0000-7000-8000-000000000012"
	rxAmoxicil  = "0193b000-0000-7000-8000-000000000013"
	rxVerified  = "0193b000-0000-7000-8000-000000000014"
	drKarim     = "0193c000-0000-7000-8000-0000000000aa"
	// interactionID is the ibuprofen's standing finding.
	interactionID = "interaction:ddi-nsaid-warfarin:ibuprofen:prescription/0193b000-0000-7000-8000-000000000099"
	contraID      = "interaction:ddi-contra:x:prescription/0193b000-0000-7000-8000-000000000098"
)

// pharmacyEngine answers the prescription routes as the engine would for
// one patient with four prescriptions: ibuprofen held by a major interaction
// with warfarin, one held by a contraindicated interaction (which only a
// pharmacist may override, and the user is none), amoxicillin active and
// not yet verified, and one already verified. Every other route is the
// ward board's fake engine.
type pharmacyEngine struct {
	*fakeEngine
	// directory says the user's role may read the care-team directory.
	directory bool
	mu        sync.Mutex
	// status and verified are each prescription's, by id.
	status     map[string]string
	verified   map[string]bool
	overridden map[string]string // the ibuprofen's finding id → reason
	bodies     []string          // the override and verify bodies received
}

func newPharmacyEngine(t *testing.T, directory bool) *pharmacyEngine {
	return &pharmacyEngine{fakeEngine: &fakeEngine{t: t, acked: map[string]bool{}}, directory: directory,
		status:   map[string]string{rxIbuprofen: "on-hold", rxContra: "on-hold", rxAmoxicil: "active", rxVerified: "active"},
		verified: map[string]bool{rxVerified: true}, overridden: map[string]string{}}
}

func (f *pharmacyEngine) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	send := func(status int, v any) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_ = json.NewEncoder(w).Encode(v)
	}
	const base = "/v1/medications/prescriptions"
	path := r.URL.Path
	if !strings.HasPrefix(path, base) && !strings.HasPrefix(path, "/v1/clinical/practitioners/") {
		f.fakeEngine.ServeHTTP(w, r)
		return
	}
	f.fakeEngine.mu.Lock()
	f.fakeEngine.calls = append(f.fakeEngine.calls, r.Method+" "+path)
	f.fakeEngine.mu.Unlock()
	if r.Header.Get("Authorization") != "Bearer at-1" {
		send(http.StatusUnauthorized, map[string]string{"error": "UNAUTHORIZED", "message": "no token"})
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	switch {
	case r.Method == http.MethodGet && path == "/v1/clinical/practitioners/"+drKarim:
		if !f.directory {
			send(http.StatusForbidden, map[string]string{"error": "FORBIDDEN", "message": "insufficient scope"})
			return
		}
		send(http.StatusOK, map[string]any{"id": drKarim, "name": "Dr Karim Hossain"})
	case r.Method == http.MethodGet && path == base:
		var data []any
		for _, id := range []string{rxVerified, rxAmoxicil, rxContra, rxIbuprofen} { // newest first
			if f.status[id] == r.URL.Query().Get("status") {
				data = append(data, f.prescription(id))
			}
		}
		send(http.StatusOK, map[string]any{"data": data, "next": nil})
	case r.Method == http.MethodPost && strings.HasSuffix(path, "/override"):
		id := strings.TrimSuffix(strings.TrimPrefix(path, base+"/"), "/override")
		raw, _ := io.ReadAll(r.Body)
		f.bodies = append(f.bodies, "override "+id+" "+string(raw))
		var b struct {
			Reasons map[string]string `json:"reasons"`
		}
		if err := json.Unmarshal(raw, &b); err != nil || r.Header.Get("Content-Type") != "application/json" {
			send(http.StatusBadRequest, map[string]string{"error": "INVALID_JSON"})
			return
		}
		switch {
		case id == rxContra:
			send(http.StatusForbidden, map[string]string{"error": "PHARMACIST_REQUIRED", "message": "a pharmacist must make this change: finding " + contraID + " is contraindicated"})
		case id == rxIbuprofen && f.status[id] == "on-hold" && b.Reasons[interactionID] != "":
			f.overridden[interactionID] = b.Reasons[interactionID]
			f.status[id] = "active"
			send(http.StatusOK, f.prescription(id))
		default:
			send(http.StatusConflict, map[string]string{"error": "INVALID_TRANSITION", "message": "only a prescription on hold is overridden"})
		}
	case r.Method == http.MethodPost && strings.HasSuffix(path, "/verify"):
		id := strings.TrimSuffix(strings.TrimPrefix(path, base+"/"), "/verify")
		raw, _ := io.ReadAll(r.Body)
		f.bodies = append(f.bodies, "verify "+id+" "+string(raw))
		switch {
		case id == rxAmoxicil:
			f.status[id] = "on-hold"
			send(http.StatusConflict, map[string]string{"error": "NEW_FINDINGS", "message": "The checks, run again for verification, found something new."})
		case f.status[id] == "active" && !f.verified[id]:
			f.verified[id] = true
			send(http.StatusOK, f.prescription(id))
		default:
			send(http.StatusConflict, map[string]string{"error": "INVALID_TRANSITION", "message": "already verified"})
		}
	default:
		send(http.StatusNotFound, map[string]string{"error": "NOT_FOUND"})
	}
}

// prescription is id as the API shows it; f.mu is held.
func (f *pharmacyEngine) prescription(id string) map[string]any {
	drug, dose := map[string]any{"id": "5640", "name": "ibuprofen"}, map[string]any{"name": "ibuprofen", "dose": 400, "doseUnit": "mg",
		"route": "oral", "frequency": "tds", "durationDays": 5}
	var findings []any
	switch id {
	case rxIbuprofen:
		interaction := map[string]any{"id": interactionID, "kind": "interaction", "severity": "major", "drug": "ibuprofen", "other": "warfarin",
			"explanation": "NSAIDs raise the bleeding risk of warfarin.", "management": "Avoid; if needed, check the INR within 3 days.",
			"blocking": true, "sources": []string{"BNF"}, "version": "2026.1"}
		if reason := f.overridden[interactionID]; reason != "" {
			interaction["override"] = map[string]any{"by": "p-nadia", "role": "pharmacist", "reason": reason, "at": "2026-11-25T07:58:00Z"}
		}
		findings = append(findings, map[string]any{"id": "dose:renal:ibuprofen", "kind": "dose", "severity": "moderate",
			"explanation": "Reduce the dose in renal impairment.", "blocking": false}, interaction)
	case rxContra:
		drug, dose = map[string]any{"name": "tramadol"}, map[string]any{"dose": 50, "doseUnit": "mg", "route": "oral", "dosesPerDay": 4, "prn": true}
		findings = append(findings, map[string]any{"id": contraID, "kind": "interaction", "severity": "contraindicated", "other": "phenelzine",
			"explanation": "Serotonin syndrome.", "management": "Do not combine.", "blocking": true})
	default:
		drug, dose = map[string]any{"name": "amoxicillin"}, map[string]any{"dose": 500, "doseUnit": "mg", "route": "oral", "frequency": "tds"}
	}
	p := map[string]any{
		"details": map[string]any{"id": id, "patientId": "pat-1", "unit": "ward-3", "order": dose, "drug": drug, "prescriberId": drKarim,
			"createdAt": "2026-11-25T07:00:00Z", "quantity": map[string]any{"value": 15, "unit": "tablet"}},
		"status": f.status[id], "findings": findings, "workflowId": "prescription/" + id,
	}
	if f.status[id] == "on-hold" {
		p["heldAt"] = "2026-11-25T07:20:00Z"
	}
	if f.verified[id] {
		p["verifiedBy"] = "p-farhana"
	}
	return p
}

// pharmacyClient signs nurse Nadia's session in to a console over f (the
// fake's userinfo is hers; the engine alone decides what she may do) and
// returns the browser.
func pharmacyClient(t *testing.T, f *pharmacyEngine) (*httptest.Server, *http.Client) {
	t.Helper()
	return signInAt(t, f, f.fakeEngine, pharmacyPath)
}

func postForm(t *testing.T, browser *http.Client, u string, form url.Values) (*http.Response, string) {
	t.Helper()
	res, err := browser.PostForm(u, form)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	return res, body(res)
}

func TestPharmacyQueueOverridesThenVerifies(t *testing.T) {
	f := newPharmacyEngine(t, true)
	srv, browser := pharmacyClient(t, f)
	res := get(t, browser, srv.URL+"/console/pharmacy")
	page := body(res)
	if res.StatusCode != http.StatusOK {
		t.Fatalf("queue: %d %s", res.StatusCode, page)
	}
	for _, want := range []string{
		`<h2 id="held-title">On hold: a finding stands (2)</h2>`, `<h2 id="unverified-title">Active: waiting for verification (1)</h2>`,
		`<h3 id="rx-` + rxIbuprofen + `-title">Ibuprofen for Amina Rahmán</h3>`, `<dd class="mrn">1000017</dd>`,
		`<dd class="dose">400 mg oral tds for 5 days</dd>`, `<dd class="quantity">15 tablet</dd>`,
		`<dd class="dose">50 mg oral 4 doses a day as needed</dd>`,
		`<dd class="prescriber">Dr Karim Hossain</dd>`, `<strong>On hold</strong> for <time datetime="2026-11-25T07:20:00Z">40 min</time>`,
		`<caption>What the checks found on ibuprofen</caption>`, `<th scope="row" class="kind">Interaction</th>`,
		`<span class="sev">Major</span>`, `<td class="other">warfarin</td>`, "NSAIDs raise the bleeding risk of warfarin.",
		"Avoid; if needed, check the INR within 3 days.", `<td class="blocks"><strong>Yes</strong></td>`,
		`<strong class="open">Standing</strong>: needs a reason`, `<td class="override">Not needed</td>`,
		`<span class="sev">Contraindicated</span>`,
		`<label for="reason-` + rxIbuprofen + `-0">Reason to override: Interaction with warfarin (major)</label>`,
		`id="reason-` + rxIbuprofen + `-0" name="reason:` + interactionID + `" required maxlength="1000"`,
		`id="verify-` + rxAmoxicil + `"`, `<a href="/console/pharmacy" aria-current="page">Pharmacy queue</a>`,
	} {
		if !strings.Contains(page, want) {
			t.Errorf("the queue lacks %q", want)
		}
	}
	for _, absent := range []string{rxVerified, `id="verify-` + rxIbuprofen + `"`, `action="/console/prescriptions/` + rxAmoxicil + `/override"`} {
		if strings.Contains(page, absent) {
			t.Errorf("the queue shows %q", absent)
		}
	}
	if strings.Contains(page, " style=") || strings.Contains(page, "<script>") {
		t.Error("inline style or script: the CSP forbids them")
	}
	csrf := csrfOf(t, page)
	overrideURL := srv.URL + "/console/prescriptions/" + rxIbuprofen + "/override"
	reason := "Short course for gout; INR in 3 days"

	// Without the session's CSRF token nothing reaches the engine.
	res, page = postForm(t, browser, overrideURL, url.Values{"csrf": {"forged"}, "reason:" + interactionID: {reason}})
	if res.StatusCode != http.StatusForbidden || !strings.Contains(page, "nothing was overridden") {
		t.Fatalf("override with a forged CSRF token: %d %s", res.StatusCode, page)
	}
	if len(f.bodies) != 0 {
		t.Fatalf("a forged form reached the engine: %v", f.bodies)
	}
	// No reason: refused by the console, nothing sent.
	res, _ = postForm(t, browser, overrideURL, url.Values{"csrf": {csrf}, "reason:" + interactionID: {"  "}})
	if res.StatusCode != http.StatusBadRequest || len(f.bodies) != 0 {
		t.Fatalf("override without a reason: %d %v", res.StatusCode, f.bodies)
	}

	// The override: the engine gets one reason by finding id; back to the queue.
	res, page = postForm(t, browser, overrideURL, url.Values{"csrf": {csrf}, "reason:" + interactionID: {"  " + reason + " "}})
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/console/pharmacy" {
		t.Fatalf("override: %d %s", res.StatusCode, page)
	}
	want := "override " + rxIbuprofen + ` {"reasons":{"` + interactionID + `":"` + reason + `"}}`
	if len(f.bodies) != 1 || f.bodies[0] != want {
		t.Fatalf("the engine got %v, want %s", f.bodies, want)
	}
	page = body(get(t, browser, srv.URL+"/console/pharmacy"))
	for _, want := range []string{
		`<h2 id="unverified-title">Active: waiting for verification (2)</h2>`,
		`<strong class="acked">Overridden</strong> by Nadia Akter (nurse) as pharmacist`, `<q>` + reason + `</q>`,
		`id="verify-` + rxIbuprofen + `"`,
	} {
		if !strings.Contains(page, want) {
			t.Errorf("the queue after the override lacks %q", want)
		}
	}
	if strings.Contains(page, `action="/console/prescriptions/`+rxIbuprofen+`/override"`) {
		t.Error("the overridden prescription still offers an override")
	}

	// Verify: back to the queue, which no longer lists it.
	res, page = postForm(t, browser, srv.URL+"/console/prescriptions/"+rxIbuprofen+"/verify", url.Values{"csrf": {csrf}})
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/console/pharmacy" {
		t.Fatalf("verify: %d %s", res.StatusCode, page)
	}
	if len(f.bodies) != 2 || f.bodies[1] != "verify "+rxIbuprofen+" {}" {
		t.Fatalf("the engine got %v", f.bodies)
	}
	if page := body(get(t, browser, srv.URL+"/console/pharmacy")); strings.Contains(page, "rx-"+rxIbuprofen) {
		t.Error("the verified prescription is still in the queue")
	}
}

func TestPharmacyQueueShowsTheEnginesRefusals(t *testing.T) {
	f := newPharmacyEngine(t, false)
	srv, browser := pharmacyClient(t, f)
	page := body(get(t, browser, srv.URL+"/console/pharmacy"))
	if !strings.Contains(page, `<dd class="prescriber">Practitioner `+drKarim+`</dd>`) ||
		!strings.Contains(page, `<p class="problem">Prescribers are shown by their practitioner id: your role does not allow reading the care-team directory.</p>`) {
		t.Errorf("a user who may not read the directory: %s", page)
	}
	n := 0
	for _, c := range f.calls {
		if strings.HasPrefix(c, "GET /v1/clinical/practitioners/") {
			n++
		}
	}
	if n != 1 {
		t.Errorf("%d reads of the directory after it refused, want 1", n)
	}
	csrf := csrfOf(t, page)

	// A contraindicated finding: the engine wants a pharmacist; the page
	// says so, at the engine's status, and keeps what was typed.
	res, page := postForm(t, browser, srv.URL+"/console/prescriptions/"+rxContra+"/override",
		url.Values{"csrf": {csrf}, "reason:" + contraID: {"palliative <care>"}})
	if res.StatusCode != http.StatusForbidden || !strings.Contains(page, `<div class="error" id="error" role="alert">The engine refused: a contraindicated finding is overridden by a pharmacist only.`) {
		t.Fatalf("override of a contraindicated finding: %d %s", res.StatusCode, page)
	}
	if !strings.Contains(page, `name="reason:`+contraID+`" required maxlength="1000" value="palliative &lt;care&gt;"`) {
		t.Errorf("the typed reason is lost: %s", page)
	}
	// Verification finds something new: shown, not a 500.
	res, page = postForm(t, browser, srv.URL+"/console/prescriptions/"+rxAmoxicil+"/verify", url.Values{"csrf": {csrf}})
	if res.StatusCode != http.StatusConflict || !strings.Contains(page, "found something new: the prescription is on hold again") {
		t.Fatalf("verify with new findings: %d %s", res.StatusCode, page)
	}
	// Verify without the CSRF token: nothing sent.
	sent := len(f.bodies)
	if res, _ := postForm(t, browser, srv.URL+"/console/prescriptions/"+rxAmoxicil+"/verify", url.Values{}); res.StatusCode != http.StatusForbidden || len(f.bodies) != sent {
		t.Fatalf("verify without a CSRF token: %d", res.StatusCode)
	}
	if res, _ := postForm(t, browser, srv.URL+"/console/prescriptions/not-an-id/verify", url.Values{"csrf": {csrf}}); res.StatusCode != http.StatusNotFound {
		t.Fatalf("verify of a malformed id: %d", res.StatusCode)
	}
}

func TestEmptyPharmacyQueueSaysSo(t *testing.T) {
	c := testConsole(t)
	page := renderPage(t, c, "pharmacy", pageData{Title: "Pharmacy queue", User: "Farhana", CSRF: "t", Queue: &Queue{}})
	for _, want := range []string{`<p class="empty">No prescription is on hold.</p>`, `<p class="empty">Every active prescription is verified.</p>`,
		`<section class="queue" id="held" aria-labelledby="held-title">`} {
		if !strings.Contains(page, want) {
			t.Errorf("empty queue lacks %q: %s", want, page)
		}
	}
}
