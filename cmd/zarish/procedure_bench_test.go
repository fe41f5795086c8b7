package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
)

// BenchmarkProcedureBooking measures, on one embedded stack, procedures
// booked end to end through the API per second — a colonoscopy requested
// for a patient of its own (stored with its audit record and start row,
// the workflow started, the earliest slot found among the directory's
// endoscopy rooms, endoscopists, anaesthetic nurses and video endoscopes
// and held, the answer sent once that first search ran: the "scheduled"
// Update), then booked (the "book" Update: the holds made bookings and
// recorded) — against the fair ceiling of the same server in the same run:
// a synthetic workflow started and sent two no-op Updates with
// validators, the same Temporal round trips, as many times before the
// bookings as after them, counted as one rate. All run with the same
// concurrency; every request is checked held, then booked, and the
// bookings are checked distinct afterwards. It logs the latency of both
// answers. Run it with -benchtime 1x.
func BenchmarkProcedureBooking(b *testing.B) {
	const (
		concurrency = 16
		requests    = 100
		// perKind rooms, endoscopists, anaesthetic nurses and video
		// endoscopes, open around the clock every day: the 100 half-hour
		// cases, ten at a time, fit in the next nine hours whenever the
		// benchmark runs.
		perKind = 10
	)
	e := startE2E(b, devConfig(b, "RATE_LIMIT_PER_MINUTE", "0"))
	token := e.token(devClientID, "dev-secret", "")
	acting, asDoctor := e.actingToken(), onBehalfOf(demoPractitionerID("dr.karim").String())

	c, err := client.Dial(e.stack.clientOptions())
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	w := worker.New(c, "bench-noop", worker.Options{})
	w.RegisterWorkflowWithOptions(twoUpdates, workflow.RegisterOptions{Name: "TwoUpdates"})
	if err := w.Start(); err != nil {
		b.Fatal(err)
	}
	defer w.Stop()

	week := make([]map[string]any, 7)
	for d := range week {
		week[d] = map[string]any{"weekday": d, "from": "00:00", "to": "24:00"}
	}
	for i := range perKind {
		for _, r := range []map[string]any{
			{"kind": "room", "name": "Endoscopy suite " + strconv.Itoa(i+1), "capabilities": []string{"endoscopy"}, "turnoverMinutes": 15},
			{"kind": "staff", "name": "Endoscopist " + strconv.Itoa(i+1), "skills": []string{"endoscopist"},
				"practitionerId": uuid.Must(uuid.NewV7())},
			{"kind": "staff", "name": "Anaesthetic nurse " + strconv.Itoa(i+1), "skills": []string{"anaesthetic-nurse"},
				"practitionerId": uuid.Must(uuid.NewV7())},
			{"kind": "equipment", "name": "Video endoscope " + strconv.Itoa(i+1), "equipmentKind": "video-endoscope", "turnoverMinutes": 20},
		} {
			r["timeZone"], r["hours"] = "Asia/Dhaka", week
			if res := e.do(http.MethodPost, "/v1/procedures/resources", acting, r); res.status != http.StatusCreated {
				b.Fatalf("create resource %s: %d %s", r["name"], res.status, res.body)
			}
		}
	}
	patients := make([]string, requests)
	perSecond(concurrency, requests, func(i int) {
		r := e.do(http.MethodPost, "/v1/patients", token, amina())
		var p patientJSON
		if r.status != http.StatusCreated || json.Unmarshal(r.body, &p) != nil {
			b.Errorf("register: %d %s", r.status, r.body)
		}
		patients[i] = p.ID
	})
	if b.Failed() {
		b.FailNow()
	}

	for b.Loop() {
		// The ceiling runs before and after the bookings (the server then
		// also keeps their 100 running workflows), and counts as one rate.
		noops := func() float64 {
			return perSecond(concurrency, requests, func(int) {
				ctx := context.Background()
				run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{TaskQueue: "bench-noop"}, "TwoUpdates")
				for i := 0; err == nil && i < 2; i++ {
					var h client.WorkflowUpdateHandle
					h, err = c.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{WorkflowID: run.GetID(), RunID: run.GetRunID(),
						UpdateName: "step", Args: []any{i}, WaitForStage: client.WorkflowUpdateStageCompleted})
					if err == nil {
						err = h.Get(ctx, nil)
					}
				}
				if err != nil {
					b.Error(err)
				}
			})
		}
		before := noops()
		now := time.Now().UTC()
		window := map[string]any{"from": now.Format(time.RFC3339), "to": now.Add(7 * 24 * time.Hour).Format(time.RFC3339)}
		var booked atomic.Int64
		held, book := make([]time.Duration, requests), make([]time.Duration, requests)
		rate := perSecond(concurrency, requests, func(i int) {
			start := time.Now()
			r := e.do(http.MethodPost, "/v1/procedures/requests", acting, map[string]any{
				"patientId":       patients[i],
				"procedure":       map[string]any{"system": "http://snomed.info/sct", "code": "73761001", "display": "Colonoscopy"},
				"durationMinutes": 30,
				"requirements": []map[string]any{{"type": "room", "capability": "endoscopy"}, {"type": "staff", "skill": "endoscopist"},
					{"type": "staff", "skill": "anaesthetic-nurse"}, {"type": "equipment", "kind": "video-endoscope"}},
				"window": window, "priority": "elective"}, asDoctor...)
			held[i] = time.Since(start)
			p, ok := procedureOf(r, http.StatusCreated, "held")
			if !ok {
				b.Errorf("request %d: %d %s", i, r.status, r.body)
				return
			}
			start = time.Now()
			r = e.do(http.MethodPost, "/v1/procedures/"+p.Request.ID+"/book", acting, map[string]any{}, asDoctor...)
			book[i] = time.Since(start)
			if _, ok := procedureOf(r, http.StatusOK, "booked"); !ok {
				b.Errorf("book %s: %d %s", p.Request.ID, r.status, r.body)
				return
			}
			booked.Add(1)
		})
		if n := booked.Load(); n != requests {
			b.Fatalf("%d of %d procedures booked", n, requests)
		}
		if err := distinctBookings(e, acting, requests); err != nil {
			b.Fatal(err)
		}
		after := noops()
		ceiling := 2 / (1/before + 1/after)
		b.ReportMetric(ceiling, "ceiling/s")
		b.ReportMetric(rate, "bookings/s")
		b.ReportMetric(rate/ceiling, "ratio")
		slices.Sort(held)
		slices.Sort(book)
		b.Logf("ceiling %.1f/s before the bookings, %.1f/s after", before, after)
		b.Logf("request answered held: p50 %s, p95 %s; book: p50 %s, p95 %s", held[requests/2].Round(time.Millisecond),
			held[requests*95/100].Round(time.Millisecond), book[requests/2].Round(time.Millisecond), book[requests*95/100].Round(time.Millisecond))
	}
}

// bookedProcedure is what the benchmark reads of a procedure's view.
type bookedProcedure struct {
	Request struct {
		ID string `json:"id"`
	} `json:"request"`
	Status string `json:"status"`
	Slot   *struct {
		From      time.Time     `json:"from"`
		To        time.Time     `json:"to"`
		Resources [][]uuid.UUID `json:"resources"`
	} `json:"slot"`
}

// procedureOf reads the procedure of an answer of status whose procedure
// is in state, with its slot: every requirement met by one resource.
func procedureOf(r response, status int, state string) (bookedProcedure, bool) {
	var p bookedProcedure
	ok := r.status == status && json.Unmarshal(r.body, &p) == nil && p.Status == state && p.Slot != nil && len(p.Slot.Resources) == 4
	return p, ok
}

// distinctBookings reads the booked procedures through the API and checks
// that there are n, and that no two take one resource at overlapping
// times.
func distinctBookings(e *e2e, token string, n int) error {
	r := e.do(http.MethodGet, "/v1/procedures?status=booked&limit=200", token, nil)
	var page struct {
		Data []bookedProcedure `json:"data"`
	}
	if r.status != http.StatusOK || json.Unmarshal(r.body, &page) != nil {
		return fmt.Errorf("list booked procedures: %d %s", r.status, r.body)
	}
	if len(page.Data) != n {
		return fmt.Errorf("%d booked procedures listed, want %d", len(page.Data), n)
	}
	type use struct{ from, to time.Time }
	uses := map[uuid.UUID][]use{}
	for _, p := range page.Data {
		for _, group := range p.Slot.Resources {
			for _, id := range group {
				for _, u := range uses[id] {
					if p.Slot.From.Before(u.to) && u.from.Before(p.Slot.To) {
						return fmt.Errorf("resource %s is booked twice at %s", id, p.Slot.From)
					}
				}
				uses[id] = append(uses[id], use{p.Slot.From, p.Slot.To})
			}
		}
	}
	return nil
}

// twoUpdates is the fair ceiling's workflow: it accepts two "step" Updates,
// each with a validator, and ends.
func twoUpdates(ctx workflow.Context) error {
	steps := 0
	err := workflow.SetUpdateHandlerWithOptions(ctx, "step", func(ctx workflow.Context, n int) (int, error) {
		steps++
		return n, nil
	}, workflow.UpdateHandlerOptions{Validator: func(_ workflow.Context, n int) error {
		if n < 0 {
			return errors.New("negative step")
		}
		return nil
	}})
	if err != nil {
		return err
	}
	return workflow.Await(ctx, func() bool { return steps == 2 && workflow.AllHandlersFinished(ctx) })
}
