package console

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

// scheduleEngine answers the day view's routes: theatre 1 with a booked
// and a held case and a blocked hour, a surgeon on the booked case, and
// nothing on the ultrasound.
type scheduleEngine struct {
	*fakeEngine
	from, to string
}

func (f *scheduleEngine) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	send := func(v any) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(v)
	}
	hours := []any{map[string]any{"weekday": 3, "from": "08:00", "to": "18:00"}}
	switch r.Method + " " + r.URL.Path {
	case "GET /v1/procedures/resources":
		send(map[string]any{"data": []any{
			map[string]any{"id": "res-us", "kind": "equipment", "name": "Ultrasound 2", "hours": hours},
			map[string]any{"id": "res-dr", "kind": "staff", "name": "Dr Karim", "hours": hours, "timeZone": "Asia/Dhaka"},
			map[string]any{"id": "res-th", "kind": "room", "name": "Theatre 1", "hours": hours,
				"blocked": []any{map[string]any{"from": "2026-11-25T12:00:00Z", "to": "2026-11-25T13:00:00Z", "reason": "Deep clean"}}},
		}})
	case "GET /v1/procedures":
		f.from, f.to = r.URL.Query().Get("from"), r.URL.Query().Get("to")
		send(map[string]any{"data": []any{
			map[string]any{"request": map[string]any{"id": "pr-1", "patientId": "pat-1", "procedure": map[string]any{"display": "Laparoscopic appendectomy"}},
				"status": "booked", "slot": map[string]any{"from": "2026-11-25T09:00:00Z", "to": "2026-11-25T10:30:00Z", "resources": [][]string{{"res-th"}, {"res-dr"}}}},
			map[string]any{"request": map[string]any{"id": "pr-2", "patientId": "pat-2", "procedure": map[string]any{"display": "Hernia repair"}},
				"status": "held", "slot": map[string]any{"from": "2026-11-25T14:00:00Z", "to": "2026-11-25T15:00:00Z", "resources": [][]string{{"res-th"}}}},
			map[string]any{"request": map[string]any{"id": "pr-3", "patientId": "pat-3", "procedure": map[string]any{"display": "Cancelled case"}},
				"status": "cancelled", "slot": map[string]any{"from": "2026-11-25T16:00:00Z", "to": "2026-11-25T17:00:00Z", "resources": [][]string{{"res-th"}}}},
		}})
	default:
		f.fakeEngine.ServeHTTP(w, r)
	}
}

func TestScheduleShowsEachResourcesDay(t *testing.T) {
	f := &scheduleEngine{fakeEngine: &fakeEngine{t: t, acked: map[string]bool{}, resolved: map[string]string{}}}
	srv, browser := signInAt(t, f, f.fakeEngine, schedulePath)
	page := body(get(t, browser, srv.URL+schedulePath+"?date=2026-11-25"))
	if f.from != "2026-11-25T00:00:00Z" || f.to != "2026-11-26T00:00:00Z" {
		t.Errorf("procedures read from %s to %s", f.from, f.to)
	}
	theatre := resourceSection(t, page, "resource-res-th")
	for _, want := range []string{"Theatre 1", "08:00–18:00 UTC", "Laparoscopic appendectomy", "Hernia repair", "Deep clean",
		`<span class="badge slot-held">Held</span>`, `<span class="badge slot-booked">Booked</span>`, `<span class="badge slot-blocked">Blocked</span>`,
		// 09:00 is 4 + 9×40 user units in; 90 minutes are 60 wide.
		`<rect x="364" y="18" width="60" height="22" class="slot slot-booked"/>`} {
		if !strings.Contains(theatre, want) {
			t.Errorf("theatre 1 lacks %q:\n%s", want, theatre)
		}
	}
	if strings.Contains(page, "Cancelled case") {
		t.Error("a cancelled case takes a slot on the day view")
	}
	if s := resourceSection(t, page, "resource-res-dr"); !strings.Contains(s, "Laparoscopic appendectomy") || !strings.Contains(s, "Asia/Dhaka") {
		t.Errorf("the surgeon's day:\n%s", s)
	}
	if s := resourceSection(t, page, "resource-res-us"); !strings.Contains(s, "Nothing booked, held or blocked.") {
		t.Errorf("the ultrasound's day:\n%s", s)
	}
	// Rooms first, then staff, then equipment.
	if i, j, k := strings.Index(page, "resource-res-th"), strings.Index(page, "resource-res-dr"), strings.Index(page, "resource-res-us"); !(i < j && j < k) {
		t.Errorf("resources in the order %d %d %d", i, j, k)
	}
	if !strings.Contains(page, `href="/console/schedule?date=2026-11-24"`) || !strings.Contains(page, `href="/console/schedule?date=2026-11-26"`) {
		t.Error("no links to the neighbouring days")
	}
	if res := get(t, browser, srv.URL+schedulePath+"?date=25/11/2026"); res.StatusCode != http.StatusBadRequest {
		t.Errorf("a day in another form: %d", res.StatusCode)
	}
}

// resourceSection is the day view's section of a resource, by its id.
func resourceSection(t *testing.T, page, id string) string {
	t.Helper()
	i := strings.Index(page, `<section class="resource" id="`+id+`"`)
	if i < 0 {
		t.Fatalf("no section %s in %s", id, page)
	}
	s := page[i:]
	return s[:strings.Index(s, "</section>")]
}
