package main

import (
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/zarish-sphere/zarish/domain/procedure"
)

// procedureJSON is the part of a procedure's answer the test reads.
type procedureJSON struct {
	Request struct {
		ID              string `json:"id"`
		RequesterID     string `json:"requesterId"`
		DurationMinutes int    `json:"durationMinutes"`
	} `json:"request"`
	WorkflowID string           `json:"workflowId"`
	Status     procedure.Status `json:"status"`
	Slot       *struct {
		From time.Time `json:"from"`
		To   time.Time `json:"to"`
	} `json:"slot"`
	Checklist []struct {
		Code  string          `json:"code"`
		Phase procedure.Phase `json:"phase"`
	} `json:"checklist"`
	Bumped   int `json:"bumped"`
	Timeline []struct {
		Kind string `json:"kind"`
	} `json:"timeline"`
}

// A procedure from request to completion over HTTP on the embedded stack,
// requested by the signed-in physician: the earliest slot where the room,
// the endoscopist, the scope and the patient are free is held and booked;
// a second patient's request for the same morning gets the next slot after
// the room's turnover; start waits for the WHO checklist; the completion is
// recorded with its outcome. An emergency for the same morning takes an
// elective case's slot, and the elective is booked again elsewhere, its
// requester told. The events go out on Kafka.
func TestEndToEndProcedureScheduling(t *testing.T) {
	e := startE2E(t, devConfig(t))
	admin := e.token(devClientID, "dev-secret", "")
	doctor := e.signIn("dr.karim", "demo-password-physician")
	doctorID := demoPractitionerID("dr.karim").String()

	// One endoscopy room (15 minutes' turnover), one endoscopist, one
	// scope, open all day.
	var hours []map[string]any
	for d := range 7 {
		hours = append(hours, map[string]any{"weekday": d, "from": "00:00", "to": "24:00"})
	}
	resource := func(body map[string]any) {
		t.Helper()
		body["hours"] = hours
		if r := e.do(http.MethodPost, "/v1/procedures/resources", admin, body); r.status != http.StatusCreated ||
			strings.Contains(string(r.body), `"turnover":`) {
			t.Fatalf("resource %v: %d %s", body["name"], r.status, r.body)
		}
	}
	resource(map[string]any{"kind": "room", "name": "Endoscopy 1", "capabilities": []string{"endoscopy"}, "turnoverMinutes": 15})
	resource(map[string]any{"kind": "staff", "name": "Dr. Karim", "skills": []string{"endoscopist"}, "practitionerId": doctorID})
	resource(map[string]any{"kind": "equipment", "name": "Video endoscope A", "equipmentKind": "video-endoscope"})

	patient := func() string {
		t.Helper()
		r := e.do(http.MethodPost, "/v1/patients", admin, amina())
		var p patientJSON
		r.json(t, &p)
		if r.status != http.StatusCreated {
			t.Fatalf("register: %d %s", r.status, r.body)
		}
		return p.ID
	}
	// Within the day the check-in may start, and six hours clear of
	// midnight, when every day's opening ends.
	base := time.Now().UTC().Truncate(time.Hour).Add(time.Hour)
	if base.Hour() > 17 {
		base = base.Truncate(24 * time.Hour).Add(25 * time.Hour)
	}
	at := func(minutes int) time.Time { return base.Add(time.Duration(minutes) * time.Minute) }
	window := func(from, to int) map[string]any {
		return map[string]any{"from": at(from).Format(time.RFC3339), "to": at(to).Format(time.RFC3339)}
	}
	request := func(patientID, priority string, w map[string]any) procedureJSON {
		t.Helper()
		r := e.do(http.MethodPost, "/v1/procedures/requests", doctor, map[string]any{
			"patientId": patientID, "procedure": map[string]any{"system": procedure.SystemSNOMED, "code": "73761001", "display": "Colonoscopy"},
			"durationMinutes": 60, "priority": priority, "window": w,
			"requirements": []map[string]any{{"type": "room", "capability": "endoscopy"}, {"type": "staff", "skill": "endoscopist"},
				{"type": "equipment", "kind": "video-endoscope"}}})
		var p procedureJSON
		r.json(t, &p)
		if r.status != http.StatusCreated {
			t.Fatalf("request: %d %s", r.status, r.body)
		}
		return p
	}
	step := func(id, name string, body map[string]any, want int) procedureJSON {
		t.Helper()
		r := e.do(http.MethodPost, "/v1/procedures/"+id+"/"+name, doctor, body)
		if r.status != want {
			t.Fatalf("%s: %d %s, want %d", name, r.status, r.body, want)
		}
		var p procedureJSON
		r.json(t, &p)
		return p
	}

	first := request(patient(), "elective", window(0, 360))
	if first.Status != procedure.StatusHeld || first.Slot == nil || !first.Slot.From.Equal(at(0)) ||
		first.Request.RequesterID != doctorID || first.Request.DurationMinutes != 60 || first.WorkflowID != "procedure/"+first.Request.ID {
		t.Fatalf("first request: %+v", first)
	}
	id := first.Request.ID
	step(id, "book", map[string]any{}, http.StatusOK)
	second := request(patient(), "elective", window(0, 150))
	if second.Status != procedure.StatusHeld || !second.Slot.From.Equal(at(75)) {
		t.Fatalf("second request, after the room's turnover: %+v", second.Slot)
	}
	step(second.Request.ID, "book", map[string]any{}, http.StatusOK)
	eventually(t, 30*time.Second, "the requester told of the booking", func() bool {
		r := e.do(http.MethodGet, "/v1/notifications/inbox", doctor, nil)
		return strings.Contains(string(r.body), "Procedure booked: Colonoscopy")
	})

	// An emergency for the same two and a half hours: the list is full, so
	// it takes the earliest elective case's slot, and that case is booked
	// again later in its own window, its requester told.
	emergency := request(patient(), "emergency", window(0, 150))
	if emergency.Status != procedure.StatusBooked || emergency.Slot == nil || !emergency.Slot.From.Equal(at(0)) {
		t.Fatalf("emergency: %s %+v", emergency.Status, emergency.Slot)
	}
	var moved procedureJSON
	eventually(t, 30*time.Second, "the bumped case booked again", func() bool {
		r := e.do(http.MethodGet, "/v1/procedures/"+id, doctor, nil)
		r.json(t, &moved)
		return moved.Status == procedure.StatusBooked && moved.Bumped == 1
	})
	// After the second case's turnover.
	if !moved.Slot.From.Equal(at(150)) {
		t.Fatalf("the bumped case's new slot overlaps the list: %+v", moved.Slot)
	}
	eventually(t, 30*time.Second, "the requester told of the move", func() bool {
		r := e.do(http.MethodGet, "/v1/notifications/inbox", doctor, nil)
		return strings.Contains(string(r.body), "Procedure moved for an emergency: Colonoscopy")
	})

	// Cancelling releases: the freed slot is offered again.
	step(second.Request.ID, "cancel", map[string]any{"reason": "patient declined"}, http.StatusOK)
	r := e.do(http.MethodGet, "/v1/procedures/availability?requirements=room:endoscopy,staff:endoscopist,equipment:video-endoscope&durationMinutes=60&from="+
		at(0).Format(time.RFC3339)+"&to="+at(150).Format(time.RFC3339), doctor, nil)
	if r.status != http.StatusOK || !strings.Contains(string(r.body), at(75).Format("2006-01-02T15:04")) {
		t.Fatalf("availability after the cancellation: %d %s", r.status, r.body)
	}

	// The emergency is performed: check-in, the checklist before the start,
	// the sign-out before the completion.
	eid := emergency.Request.ID
	step(eid, "check-in", map[string]any{}, http.StatusOK)
	r = e.do(http.MethodPost, "/v1/procedures/"+eid+"/start", doctor, map[string]any{})
	if r.status != http.StatusConflict || !strings.Contains(string(r.body), "CHECKLIST_INCOMPLETE") {
		t.Fatalf("start before the checklist: %d %s", r.status, r.body)
	}
	tick := func(phases ...procedure.Phase) {
		t.Helper()
		for _, it := range emergency.Checklist {
			if slices.Contains(phases, it.Phase) {
				step(eid, "checklist/"+it.Code, map[string]any{}, http.StatusOK)
			}
		}
	}
	tick(procedure.PhasePreProcedure, procedure.PhaseSignIn, procedure.PhaseTimeOut)
	started := step(eid, "start", map[string]any{}, http.StatusOK)
	tick(procedure.PhaseSignOut)
	r = e.do(http.MethodGet, "/v1/procedures/"+eid, doctor, nil)
	var performed struct {
		StartedAt time.Time `json:"startedAt"`
	}
	r.json(t, &performed)
	done := step(eid, "complete", map[string]any{"outcome": "successful", "startedAt": performed.StartedAt.Format(time.RFC3339Nano),
		"endedAt": time.Now().UTC().Format(time.RFC3339Nano), "team": []string{doctorID}}, http.StatusOK)
	if started.Status != procedure.StatusInProgress || done.Status != procedure.StatusCompleted {
		t.Fatalf("performed: %s, then %s", started.Status, done.Status)
	}

	var kinds []string
	for _, ev := range readEvents(t, e.stack.KafkaAddress, emergency.requestPatient(t, e, doctor), 0) {
		kinds = append(kinds, ev.Type)
	}
	if !slices.Contains(kinds, "procedure.held") || !slices.Contains(kinds, "procedure.booked") {
		t.Fatalf("the emergency's events: %v", kinds)
	}
}

// requestPatient reads the procedure's patient.
func (p procedureJSON) requestPatient(t *testing.T, e *e2e, token string) string {
	t.Helper()
	r := e.do(http.MethodGet, "/v1/procedures/"+p.Request.ID, token, nil)
	var v struct {
		Request struct {
			PatientID string `json:"patientId"`
		} `json:"request"`
	}
	r.json(t, &v)
	return v.Request.PatientID
}

// Fifty requests for the same morning at once, over HTTP: the list has
// room for four cases, so four are held, in slots that never overlap
// (turnover included), and the other forty-six are answered unscheduled
// with why — none is lost, none double-booked.
func TestEndToEndFiftyRequestsForOneList(t *testing.T) {
	e := startE2E(t, devConfig(t, "RATE_LIMIT_PER_MINUTE", "0"))
	admin := e.token(devClientID, "dev-secret", "")
	acting, asDoctor := e.actingToken(), onBehalfOf(demoPractitionerID("dr.karim").String())
	var hours []map[string]any
	for d := range 7 {
		hours = append(hours, map[string]any{"weekday": d, "from": "00:00", "to": "24:00"})
	}
	for _, body := range []map[string]any{
		{"kind": "room", "name": "Endoscopy 1", "capabilities": []string{"endoscopy"}, "turnoverMinutes": 15, "hours": hours},
		{"kind": "staff", "name": "Dr. Karim", "skills": []string{"endoscopist"}, "practitionerId": demoPractitionerID("dr.karim").String(), "hours": hours},
		{"kind": "equipment", "name": "Video endoscope A", "equipmentKind": "video-endoscope", "hours": hours},
	} {
		if r := e.do(http.MethodPost, "/v1/procedures/resources", admin, body); r.status != http.StatusCreated {
			t.Fatalf("resource: %d %s", r.status, r.body)
		}
	}
	// Five hours starting at a whole hour, clear of midnight: four cases of
	// an hour with a quarter's turnover after each.
	base := time.Now().UTC().Truncate(time.Hour).Add(time.Hour)
	if base.Hour() > 18 {
		base = base.Truncate(24 * time.Hour).Add(25 * time.Hour)
	}
	window := map[string]any{"from": base.Format(time.RFC3339), "to": base.Add(5 * time.Hour).Format(time.RFC3339)}
	const n = 50
	patients := make([]string, n)
	for i := range patients {
		r := e.do(http.MethodPost, "/v1/patients", admin, amina())
		var p patientJSON
		r.json(t, &p)
		patients[i] = p.ID
	}
	answers := make([]procedureJSON, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			r := e.do(http.MethodPost, "/v1/procedures/requests", acting, map[string]any{
				"patientId": patients[i], "procedure": map[string]any{"system": procedure.SystemSNOMED, "code": "73761001", "display": "Colonoscopy"},
				"durationMinutes": 60, "window": window,
				"requirements": []map[string]any{{"type": "room", "capability": "endoscopy"}, {"type": "staff", "skill": "endoscopist"},
					{"type": "equipment", "kind": "video-endoscope"}}}, asDoctor...)
			if r.status != http.StatusCreated {
				t.Errorf("request %d: %d %s", i, r.status, r.body)
				return
			}
			r.json(t, &answers[i])
		})
	}
	wg.Wait()
	var held []procedureJSON
	unscheduled := 0
	for _, a := range answers {
		switch a.Status {
		case procedure.StatusHeld:
			held = append(held, a)
		case procedure.StatusUnscheduled:
			unscheduled++
		default:
			t.Errorf("procedure %s answered %s", a.Request.ID, a.Status)
		}
	}
	if len(held) != 4 || unscheduled != n-4 {
		t.Fatalf("%d held, %d unscheduled; want 4 and %d", len(held), unscheduled, n-4)
	}
	slices.SortFunc(held, func(a, b procedureJSON) int { return a.Slot.From.Compare(b.Slot.From) })
	for i, h := range held {
		if want := base.Add(time.Duration(i) * 75 * time.Minute); !h.Slot.From.Equal(want) {
			t.Errorf("held slot %d starts %s, want %s", i, h.Slot.From, want)
		}
	}
	// The read model agrees: nobody else holds a slot, and every
	// unscheduled request says why.
	r := e.do(http.MethodGet, "/v1/procedures?status=unscheduled&limit=200", admin, nil)
	var page struct {
		Data []struct {
			Search *struct {
				Reason string `json:"reason"`
			} `json:"search"`
		} `json:"data"`
	}
	r.json(t, &page)
	if len(page.Data) != n-4 {
		t.Fatalf("%d unscheduled in the read model, want %d", len(page.Data), n-4)
	}
	for _, p := range page.Data {
		if p.Search == nil || p.Search.Reason == "" {
			t.Fatalf("an unscheduled procedure without a reason: %+v", p)
		}
	}
}
