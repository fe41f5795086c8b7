package console

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

func TestBoardShowsWhatIsOutstanding(t *testing.T) {
	srv, browser, _ := signedInClient(t)
	page := body(get(t, browser, srv.URL+"/console/wards/ward-3"))
	for _, want := range []string{
		`<span class="due continuous">Continuous monitoring</span>`,
		`<li class="todo-readback"><strong>1 critical result awaiting read-back</strong></li>`,
		`<li class="todo-held">On hold: warfarin</li>`,
		`<li class="todo-careplan">Care plan: Turn every 2 hours, due <time datetime="2026-11-25T07:00:00Z">1 h 00 min</time> ago</li>`,
		// A critical laboratory value is acknowledged by reading it back.
		`id="ack-` + critical + `" href="/console/alerts/` + critical + `/read-back?unit=ward-3"`,
		`id="resolve-` + mine + `"`,
	} {
		if !strings.Contains(page, want) {
			t.Errorf("the board lacks %q:\n%s", want, page)
		}
	}
	for _, unwanted := range []string{"Not due yet", "Done already", `id="resolve-` + theirs + `"`, `id="resolve-` + critical + `"`} {
		if strings.Contains(page, unwanted) {
			t.Errorf("the board shows %q", unwanted)
		}
	}
}

func TestCriticalResultIsReadBackBeforeItCloses(t *testing.T) {
	srv, browser, f := signedInClient(t)
	res := get(t, browser, srv.URL+"/console/alerts/"+critical+"/read-back?unit=ward-3")
	page := body(res)
	if res.StatusCode != http.StatusOK || !strings.Contains(page, "Potassium") || !strings.Contains(page, `id="confirm-`+observation+`"`) {
		t.Fatalf("read-back form: %d %s", res.StatusCode, page)
	}
	csrf := csrfOf(t, page)
	send := func(value, token string) (*http.Response, string) {
		return postForm(t, browser, srv.URL+"/console/alerts/"+critical+"/read-back",
			url.Values{"csrf": {token}, "unit": {"ward-3"}, "report": {report}, "observation": {observation}, "value": {value}})
	}
	if res, _ := send("6.8 mmol/L", "forged"); res.StatusCode != http.StatusForbidden || len(f.readBack) != 0 {
		t.Fatalf("a forged read-back: %d, reached the engine %v", res.StatusCode, f.readBack)
	}
	// A wrong value: refused, said so, and what was typed kept.
	res, page = send("8.6 mmol/L", csrf)
	if res.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(page, "does not match") || !strings.Contains(page, `value="8.6 mmol/L"`) {
		t.Fatalf("a mismatching read-back: %d %s", res.StatusCode, page)
	}
	res, _ = send("6.8 mmol/L", csrf)
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/console/wards/ward-3" {
		t.Fatalf("read-back: %d", res.StatusCode)
	}
	if rows := body(get(t, browser, srv.URL+"/console/wards/ward-3/rows")); strings.Contains(rows, critical) || strings.Contains(rows, "awaiting read-back") {
		t.Fatalf("the closed callback is still on the board: %s", rows)
	}
	// A news2 alert has no read-back page.
	if res := get(t, browser, srv.URL+"/console/alerts/"+mine+"/read-back?unit=ward-3"); res.StatusCode != http.StatusNotFound {
		t.Errorf("read-back of a news2 alert: %d", res.StatusCode)
	}
}

func TestAlertIsResolvedWithANote(t *testing.T) {
	srv, browser, f := signedInClient(t)
	csrf := csrfOf(t, body(get(t, browser, srv.URL+"/console/wards/ward-3")))
	u := srv.URL + "/console/alerts/" + mine + "/resolve"
	if res, page := postForm(t, browser, u, url.Values{"csrf": {csrf}, "unit": {"ward-3"}, "note": {"  "}}); res.StatusCode != http.StatusBadRequest ||
		!strings.Contains(page, "Say what was done") {
		t.Fatalf("resolve without a note: %d", res.StatusCode)
	}
	res, _ := postForm(t, browser, u, url.Values{"csrf": {csrf}, "unit": {"ward-3"}, "note": {"Reviewed by the outreach team; oxygen started"}})
	if res.StatusCode != http.StatusSeeOther || f.resolved[mine] != "Reviewed by the outreach team; oxygen started" {
		t.Fatalf("resolve: %d, engine got %q", res.StatusCode, f.resolved[mine])
	}
	if rows := body(get(t, browser, srv.URL+"/console/wards/ward-3/rows")); strings.Contains(rows, `id="alert-`+mine+`"`) {
		t.Fatalf("the resolved alert is still on the board")
	}
}
