package console

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

const patientID = "0193d000-0000-7000-8000-000000000001"

// patientEngine answers the routes of the patient page as the engine would
// for Amina on ward 3: an allergy, an open encounter, pulse readings, a
// NEWS2 of 7, a prescription with a finding, a report in its second
// version and a booked procedure. refuse answers a path with a status
// instead. Every other route is the ward board's fake engine.
type patientEngine struct {
	*fakeEngine
	refuse map[string]int
}

func (f *patientEngine) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	send := func(status int, v any) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_ = json.NewEncoder(w).Encode(v)
	}
	q := r.URL.Query()
	key := r.URL.Path
	if r.URL.Path == "/v1/observations/trends" {
		key += "?code=" + q.Get("code")
	}
	if st, ok := f.refuse[key]; ok {
		send(st, map[string]string{"error": "REFUSED", "message": "refused"})
		return
	}
	if strings.HasPrefix(r.URL.Path, "/v1/") && !strings.HasPrefix(r.URL.Path, "/v1/auth/") &&
		r.Header.Get("Authorization") != "Bearer at-1" {
		send(http.StatusUnauthorized, map[string]string{"error": "UNAUTHORIZED"})
		return
	}
	switch r.URL.Path {
	case "/v1/patients/" + patientID:
		send(http.StatusOK, map[string]any{"mrn": "1000017", "name": map[string]any{"given": []string{"Amina"}, "family": "Rahmán"},
			"birthDate": "1961-03-04", "sex": "female", "active": true})
	case "/v1/patients/" + patientID + "/allergies":
		if q.Get("clinicalStatus") != "active" {
			f.t.Errorf("allergies read with %q", r.URL.RawQuery)
		}
		send(http.StatusOK, map[string]any{"data": []any{map[string]any{"id": "al-1", "substance": map[string]any{"text": "Penicillin <script>alert(1)</script>"},
			"category": "medication", "criticality": "high", "clinicalStatus": "active", "verificationStatus": "confirmed",
			"reactions": []any{map[string]any{"manifestations": []string{"anaphylaxis"}}}}}})
	case "/v1/clinical/encounters":
		if q.Get("patientId") != patientID {
			f.t.Errorf("encounters read with %q", r.URL.RawQuery)
		}
		send(http.StatusOK, map[string]any{"data": []any{
			map[string]any{"id": "e-0", "patientId": patientID, "status": "discharged", "createdAt": "2026-10-01T06:00:00Z"},
			map[string]any{"id": "e-1", "patientId": patientID, "status": "in-progress", "createdAt": "2026-11-25T06:00:00Z"}}})
	case "/v1/clinical/encounters/e-1":
		send(http.StatusOK, map[string]any{"id": "e-1", "patientId": patientID, "status": "in-progress", "class": "inpatient",
			"location": "ward-3", "reason": "pneumonia", "createdAt": "2026-11-25T06:00:00Z", "startedAt": "2026-11-25T07:00:00Z",
			"workflowId": "encounter/e-1 x", "timeline": []any{
				map[string]any{"seq": 1, "kind": "created", "at": "2026-11-25T06:00:00Z"},
				map[string]any{"seq": 2, "kind": "started", "at": "2026-11-25T07:00:00Z", "note": "seen by <b>Dr Karim</b>"}}})
	case "/v1/observations/trends":
		if q.Get("from") != "2026-11-24T08:00:00Z" || q.Get("to") != "2026-11-25T08:00:00Z" {
			f.t.Errorf("trend read with %q", r.URL.RawQuery)
		}
		var points []any
		if q.Get("code") == "8867-4" {
			points = []any{map[string]any{"time": "2026-11-25T02:00:00Z", "value": 88}, map[string]any{"time": "2026-11-25T07:40:00Z", "value": 115}}
		}
		send(http.StatusOK, map[string]any{"code": q.Get("code"), "points": points})
	case "/v1/clinical/cds-services/patient-view":
		var hook struct {
			Hook    string `json:"hook"`
			Context struct {
				PatientID string `json:"patientId"`
				UserID    string `json:"userId"`
			} `json:"context"`
		}
		if err := json.NewDecoder(r.Body).Decode(&hook); err != nil || r.Method != http.MethodPost || hook.Hook != "patient-view" ||
			hook.Context.PatientID != patientID || hook.Context.UserID != "Practitioner/p-nadia" {
			f.t.Errorf("patient-view hook %s %+v (%v)", r.Method, hook, err)
		}
		send(http.StatusOK, map[string]any{"cards": []any{
			map[string]any{"summary": "Allergy to penicillin on record", "indicator": "info", "source": map[string]any{"label": "ZARISH allergies"}},
			map[string]any{"summary": "NEWS2 7: emergency assessment", "detail": "Continuous monitoring of vital signs", "indicator": "critical",
				"source": map[string]any{"label": "RCP NEWS2 2017"}}}})
	case "/v1/observations/news2/history":
		if q.Get("from") != "2026-11-24T08:00:00Z" || q.Get("to") != "2026-11-25T08:00:00Z" || q.Get("patientId") != patientID {
			f.t.Errorf("NEWS2 history read with %q", r.URL.RawQuery)
		}
		send(http.StatusOK, map[string]any{"data": []any{map[string]any{"total": 3, "risk": "low", "windowEnd": "2026-11-25T02:00:00Z"},
			map[string]any{"total": 7, "risk": "high", "windowEnd": "2026-11-25T07:40:00Z"}}})
	case "/v1/medications/prescriptions":
		send(http.StatusOK, map[string]any{"data": []any{map[string]any{"workflowId": "prescription-rx-1", "status": "on-hold",
			"details": map[string]any{"id": "rx-1", "patientId": patientID, "drug": map[string]any{"name": "ibuprofen"},
				"order": map[string]any{"dose": 400, "doseUnit": "mg", "route": "oral", "frequency": "tds"}, "createdAt": "2026-11-25T07:10:00Z"},
			"findings": []any{map[string]any{"id": "f-1", "kind": "interaction", "severity": "major", "other": "warfarin",
				"explanation": "Bleeding risk", "blocking": true}}}}})
	case "/v1/diagnostics/reports":
		send(http.StatusOK, map[string]any{"data": []any{map[string]any{"workflowId": "diagnostic-o-1", "status": "amended",
			"order":    map[string]any{"id": "o-1", "items": []any{map[string]any{"code": "2823-3", "display": "Potassium"}}},
			"versions": []any{map[string]any{"number": 1}, map[string]any{"number": 2}}, "updatedAt": "2026-11-25T07:30:00Z"}}})
	case "/v1/procedures":
		send(http.StatusOK, map[string]any{"data": []any{map[string]any{"workflowId": "procedure-pr-1", "status": "booked",
			"request": map[string]any{"id": "pr-1", "procedure": map[string]any{"code": "x", "display": "Chest drain insertion"}},
			"slot":    map[string]any{"from": "2026-11-25T14:00:00Z", "to": "2026-11-25T15:00:00Z"}}}})
	default:
		f.fakeEngine.ServeHTTP(w, r)
	}
}

// patientClient signs nurse Nadia in to a console over f, opening the
// patient page first, and returns the server and the browser.
func patientClient(t *testing.T, f *patientEngine, ui string) (*httptest.Server, *http.Client) {
	t.Helper()
	return signInWith(t, Options{Engine: f, WorkflowUI: ui}, f.fakeEngine, "/console/patients/"+patientID)
}

func newPatientEngine(t *testing.T, refuse map[string]int) *patientEngine {
	return &patientEngine{fakeEngine: &fakeEngine{t: t, acked: map[string]bool{}}, refuse: refuse}
}

// section is the page's section id, up to the next one.
func section(t *testing.T, page, id string) string {
	t.Helper()
	i := strings.Index(page, `<section class="patient-part" id="`+id+`"`)
	if i < 0 {
		t.Fatalf("no section %s in %s", id, page)
	}
	s := page[i:]
	return s[:strings.Index(s, "</section>")]
}

func TestPatientPageShowsEverySection(t *testing.T) {
	srv, browser := patientClient(t, newPatientEngine(t, nil), "http://ui.test:8233/")
	res := get(t, browser, srv.URL+"/console/patients/"+patientID)
	page := body(res)
	if res.StatusCode != http.StatusOK {
		t.Fatalf("patient page: %d %s", res.StatusCode, page)
	}
	for id, wants := range map[string][]string{
		"demographics": {"Amina Rahmán", "1000017", "1961-03-04", "Female"},
		"allergies":    {"Penicillin &lt;script&gt;alert(1)&lt;/script&gt;", "high criticality", "anaphylaxis"},
		"encounter": {`href="/console/wards/ward-3"`, "In progress", "pneumonia", "Created", "Started: seen by &lt;b&gt;Dr Karim&lt;/b&gt;",
			`href="http://ui.test:8233/namespaces/default/workflows/encounter%2Fe-1%20x"`},
		"vitals": {`id="news2"`, "High risk", `<svg`, `<title id="chart-8867-4-title">Pulse, last 24 hours</title>`,
			`<desc id="chart-8867-4-desc">Pulse over the last 24 hours: 2 readings, 1 outside the shaded band of 51–90 /min`,
			`aria-labelledby="chart-8867-4-title chart-8867-4-desc"`, `class="band"`, `class="dot out"`,
			"<caption>Pulse, last 24 hours; shaded band 51–90 /min</caption>", "115 /min", "<strong>Outside</strong>",
			"<caption>NEWS2, last 24 hours; shaded band 0–4</caption>",
			"NEWS2 over the last 24 hours: 2 readings, 1 outside the shaded band of 0–4, the aggregate scores of low clinical risk; the latest 7 at 07:40 UTC.",
			"Temperature (°C)", "No readings in the last 24 hours."},
		"cards": {`<li class="card ind-critical"><span class="sev">Critical</span> <strong>NEWS2 7: emergency assessment</strong>`,
			"Continuous monitoring of vital signs", "Source: RCP NEWS2 2017", "Allergy to penicillin on record"},
		"prescriptions": {"Ibuprofen", "400 mg oral tds", "Interaction", "warfarin", "Standing",
			`href="http://ui.test:8233/namespaces/default/workflows/prescription-rx-1"`},
		"reports":    {"Potassium", "Amended", "<td>2</td>", "/workflows/diagnostic-o-1"},
		"procedures": {"Chest drain insertion", "Booked", "25 Nov 14:00 UTC", "/workflows/procedure-pr-1"},
	} {
		sec := section(t, page, id)
		for _, want := range wants {
			if !strings.Contains(sec, want) {
				t.Errorf("section %s lacks %q:\n%s", id, want, sec)
			}
		}
	}
	if strings.Contains(page, "<script>alert") || strings.Contains(page, "<b>Dr Karim") {
		t.Errorf("the page carries the engine's text unescaped")
	}
	if n := strings.Count(page, "<svg "); n != len(vitals)+1 {
		t.Errorf("%d charts, want NEWS2's and one per vital sign (%d)", n, len(vitals)+1)
	}
	if strings.Contains(page, `class="problem"`) {
		t.Errorf("a section says it could not be read:\n%s", page)
	}
}

func TestPatientPageHasNoWorkflowLinksWithoutTheUI(t *testing.T) {
	srv, browser := patientClient(t, newPatientEngine(t, nil), "")
	page := body(get(t, browser, srv.URL+"/console/patients/"+patientID))
	if strings.Contains(page, `class="workflow"`) || strings.Contains(page, "/namespaces/") {
		t.Errorf("workflow links without a Web UI configured:\n%s", page)
	}
}

func TestPatientPageSaysWhatItCannotShow(t *testing.T) {
	f := newPatientEngine(t, map[string]int{"/v1/procedures": http.StatusForbidden, "/v1/diagnostics/reports": http.StatusInternalServerError,
		"/v1/observations/trends?code=9279-1": http.StatusForbidden, "/v1/patients/" + patientID + "/allergies": http.StatusForbidden})
	srv, browser := patientClient(t, f, "")
	res := get(t, browser, srv.URL+"/console/patients/"+patientID)
	page := body(res)
	if res.StatusCode != http.StatusOK {
		t.Fatalf("patient page with refused sections: %d %s", res.StatusCode, page)
	}
	for id, want := range map[string]string{
		"procedures": "Not shown: your role does not allow it.",
		"allergies":  "Not shown: your role does not allow it.",
		"reports":    "Could not be read just now.",
	} {
		if sec := section(t, page, id); !strings.Contains(sec, `<p class="problem">`+want) || strings.Contains(sec, "<table") {
			t.Errorf("section %s does not say %q:\n%s", id, want, sec)
		}
	}
	rr := page[strings.Index(page, `id="chart-9279-1"`):]
	if rr = rr[:strings.Index(rr, "</figure>")]; !strings.Contains(rr, "Not shown: your role does not allow it.") || !strings.Contains(rr, "<svg") {
		t.Errorf("the refused chart:\n%s", rr)
	}
	if !strings.Contains(section(t, page, "allergies"), "Not shown") || strings.Contains(section(t, page, "allergies"), "No active allergy") {
		t.Errorf("a refused allergy list reads as no allergies")
	}
	if !strings.Contains(page, "Amina Rahmán") || !strings.Contains(page, `<title id="chart-8867-4-title">`) {
		t.Errorf("the readable sections are gone")
	}
}

func TestPatientPageOfNoSuchPatient(t *testing.T) {
	f := newPatientEngine(t, map[string]int{"/v1/patients/" + patientID: http.StatusNotFound})
	srv, browser := patientClient(t, f, "")
	if res := get(t, browser, srv.URL+"/console/patients/"+patientID); res.StatusCode != http.StatusNotFound ||
		!strings.Contains(body(res), "There is no such patient.") {
		t.Errorf("an unknown patient: %d", res.StatusCode)
	}
	if res := get(t, browser, srv.URL+"/console/patients/not-a-uuid"); res.StatusCode != http.StatusNotFound {
		t.Errorf("a malformed id: %d", res.StatusCode)
	}
}

func TestChartKeepsItsPointsInsideThePlot(t *testing.T) {
	from := time.Date(2026, 11, 24, 8, 0, 0, 0, time.UTC)
	c := drawChart(vitals[4], []point{{Time: from.Add(time.Hour), Value: 41.2}, {Time: from.Add(-time.Hour), Value: 20},
		{Time: from.Add(23 * time.Hour), Value: 36.8}}, from, from.Add(chartWindow))
	plot := c.Plot()
	if len(c.Dots) != 2 || len(c.Readings) != 2 {
		t.Fatalf("dots %+v: the reading before the window is drawn", c.Dots)
	}
	for _, d := range c.Dots {
		if d.X < plot.X || d.X > plot.X+plot.W || d.Y < plot.Y || d.Y > plot.Y+plot.H {
			t.Errorf("dot %+v outside the plot %+v", d, plot)
		}
	}
	if !c.Dots[0].Out || c.Dots[1].Out {
		t.Errorf("41.2 °C is outside the band, 36.8 °C inside: %+v", c.Dots)
	}
	if c.Band.Y < plot.Y || c.Band.Y+c.Band.H > plot.Y+plot.H+0.1 || c.Band.H <= 0 {
		t.Errorf("band %+v outside the plot %+v", c.Band, plot)
	}
	if len(c.XTicks) != 5 || c.XTicks[0].Label != "08:00" || c.XTicks[4].Label != "08:00" {
		t.Errorf("time axis %+v", c.XTicks)
	}
	if want := "Temperature over the last 24 hours: 2 readings, 1 outside the shaded band of 36.1–38 °C, where NEWS2 scores 0; the latest 36.8 °C at 07:00 UTC."; c.Desc != want {
		t.Errorf("desc %q, want %q", c.Desc, want)
	}
}
