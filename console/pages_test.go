package console

import (
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func testConsole(t *testing.T) *Console {
	t.Helper()
	c, err := New(Options{Engine: &fakeEngine{t: t}, Now: func() time.Time { return time.Date(2026, 11, 25, 8, 0, 0, 0, time.UTC) }})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func renderPage(t *testing.T, c *Console, name string, d pageData) string {
	t.Helper()
	w := httptest.NewRecorder()
	c.render(w, httptest.NewRequest("GET", "/console/", nil), 200, name, d)
	if w.Code != 200 {
		t.Fatalf("render %s: %d %s", name, w.Code, w.Body)
	}
	return w.Body.String()
}

func TestBoardMarkupIsAccessible(t *testing.T) {
	c := testConsole(t)
	now := time.Date(2026, 11, 25, 8, 0, 0, 0, time.UTC)
	acked := now.Add(-5 * time.Minute)
	b := &Board{Unit: "ward-3", At: now, Rows: []Row{
		{PatientID: "p1", Name: `Amina <script>alert(1)</script>`, MRN: "1000017", EncounterStatus: "in-progress", Since: now.Add(-90 * time.Minute),
			NEWS2: NEWS2{Complete: true, Total: 7, Risk: "high", At: now.Add(-20 * time.Minute)},
			Alerts: []Alert{
				{ID: "a1", Severity: "critical", Category: "news2-high", Message: "NEWS2 7", Status: "open", Level: 1, RaisedAt: now.Add(-19 * time.Minute), Mine: true},
				{ID: "a2", Severity: "urgent", Category: "critical-value", Message: "K 6.1", Status: "open", Level: 2, RaisedAt: now.Add(-3 * time.Hour)},
				{ID: "a3", Severity: "warning", Category: "x", Message: "done", Status: "acknowledged", Level: 1, RaisedAt: now.Add(-time.Hour), AcknowledgedAt: &acked, Mine: true},
			}},
		{PatientID: "p2", Name: "Karim", MRN: "1000025", EncounterStatus: "arrived", Since: now.Add(-3 * time.Minute),
			NEWS2: NEWS2{Complete: true, Total: 3, Risk: "low-medium"}, Problems: []string{"Alerts not shown: your role does not allow it"}},
		{PatientID: "p3", Name: "Rahim", EncounterStatus: "planned", Since: now.Add(-50 * time.Hour)},
	}}
	page := renderPage(t, c, "board", pageData{Title: "Ward ward-3", User: "Nadia", CSRF: "tok", Board: b})
	for _, want := range []string{
		`<html lang="en">`, `<meta name="viewport"`, `<a class="skip" href="#main">`, `<main id="main" tabindex="-1">`,
		`<caption id="board-caption">`, `<th scope="col">NEWS2</th>`, `<th scope="row" class="name">`,
		`<tr id="patient-p1" class="patient news2-high" data-risk="high">`,
		`<strong class="score">7</strong> High risk`, `<strong class="score">3</strong> Low–medium risk (a 3 in one parameter)`,
		`<span class="badge news2-none">No complete set</span>`,
		`In progress <span class="since">for <time datetime="2026-11-25T06:30:00Z">1 h 30 min</time>`, `2 days`,
		`<button type="submit" id="ack-a1">Acknowledge<span class="visually-hidden"> the news2-high alert of Amina &lt;script&gt;`,
		`<input type="hidden" name="csrf" value="tok">`, `<input type="hidden" name="unit" value="ward-3">`,
		`<strong class="acked">Acknowledged</strong>`, `<strong class="open">Open</strong>, level 2`,
		`<p class="problem">Alerts not shown: your role does not allow it</p>`,
		`id="live-status" class="live" role="status">Live updates need JavaScript`,
		`data-events="/console/wards/ward-3/events"`, `<script src="/console/static/board.js" defer>`,
		`<form method="post" action="/console/logout" id="logout">`,
	} {
		if !strings.Contains(page, want) {
			t.Errorf("the board lacks %q", want)
		}
	}
	if strings.Contains(page, "<script>alert(1)") {
		t.Error("a patient's name is not escaped")
	}
	if n := strings.Count(page, "Acknowledge<span"); n != 1 {
		t.Errorf("%d Acknowledge buttons, want 1 (the user's own open alert)", n)
	}
	if strings.Contains(page, " style=") || strings.Contains(page, "<script>") {
		t.Error("inline style or script: the CSP forbids them")
	}
}

func TestEmptyBoardAndHomeSayWhatToDo(t *testing.T) {
	c := testConsole(t)
	page := renderPage(t, c, "rows", pageData{Board: &Board{Unit: "ward-9"}})
	if !strings.Contains(page, `<td colspan="6" class="empty">No patient has an open encounter on this ward.</td>`) {
		t.Errorf("empty board: %s", page)
	}
	page = renderPage(t, c, "home", pageData{Title: "Clinical console", User: "Nadia", CSRF: "t"})
	if !strings.Contains(page, `<label for="unit">Ward</label>`) || !strings.Contains(page, `id="unit" name="unit" required`) {
		t.Errorf("ward chooser without its label: %s", page)
	}
	page = renderPage(t, c, "home", pageData{Title: "Clinical console"})
	if !strings.Contains(page, `href="/console/login" id="sign-in"`) || strings.Contains(page, "logout") {
		t.Errorf("signed-out home: %s", page)
	}
	page = renderPage(t, c, "error", pageData{Title: "Something went wrong", Error: "No."})
	if !strings.Contains(page, `<div class="error" id="error" role="alert">No.</div>`) {
		t.Errorf("error page: %s", page)
	}
}

func TestAgoReadsLikeAWard(t *testing.T) {
	now := time.Date(2026, 11, 25, 8, 0, 0, 0, time.UTC)
	for d, want := range map[time.Duration]string{
		10 * time.Second: "under a minute", 12 * time.Minute: "12 min", 125 * time.Minute: "2 h 05 min", 72 * time.Hour: "3 days",
	} {
		if got := ago(now, now.Add(-d)); got != want {
			t.Errorf("ago(%v) = %q, want %q", d, got, want)
		}
	}
}

func TestStaticAssetsAreServed(t *testing.T) {
	c := testConsole(t)
	for _, p := range []string{"/console/static/console.css", "/console/static/board.js"} {
		w := httptest.NewRecorder()
		c.ServeHTTP(w, httptest.NewRequest("GET", p, nil))
		if w.Code != 200 || w.Body.Len() < 100 {
			t.Errorf("%s: %d", p, w.Code)
		}
	}
}
