package diagnostic_test

import (
	"slices"
	"testing"
	"time"

	"github.com/zarish-sphere/zarish/domain/diagnostic"
)

func at(minutes int) *time.Time {
	v := t0.Add(time.Duration(minutes) * time.Minute)
	return &v
}

func TestStageDurations(t *testing.T) {
	ts := diagnostic.Timestamps{Ordered: t0, Collected: at(10), Received: at(25), Resulted: at(70), Verified: at(80), Read: at(95)}
	want := map[diagnostic.Stage]time.Duration{
		diagnostic.StageCollected: 10 * time.Minute, diagnostic.StageReceived: 15 * time.Minute,
		diagnostic.StageResulted: 45 * time.Minute, diagnostic.StageVerified: 10 * time.Minute, diagnostic.StageRead: 15 * time.Minute,
	}
	for s, w := range want {
		if d, ok := ts.Duration(s); !ok || d != w {
			t.Errorf("%s: %v, want %v", s, d, w)
		}
	}
	if _, ok := ts.Duration(diagnostic.StageOrdered); ok {
		t.Error("the ordered stage has no duration")
	}
	if _, ok := ts.Duration("lunch"); ok {
		t.Error("an unknown stage has a duration")
	}
	if d, ok := ts.Total(); !ok || d != 80*time.Minute {
		t.Errorf("total %v", d)
	}
	// A recollection restarts the clock for collection, not for the total.
	ts.Restarted = at(5)
	if d, _ := ts.Duration(diagnostic.StageCollected); d != 5*time.Minute || !ts.Start().Equal(*at(5)) {
		t.Errorf("collection after a restart: %v", d)
	}
	if d, _ := ts.Total(); d != 80*time.Minute {
		t.Errorf("total after a restart %v", d)
	}
	// An imaging order has no collection or receipt: resulted runs from the order.
	img := diagnostic.Timestamps{Ordered: t0, Resulted: at(40)}
	if d, ok := img.Duration(diagnostic.StageResulted); !ok || d != 40*time.Minute {
		t.Errorf("imaging resulted %v", d)
	}
	if _, ok := img.Duration(diagnostic.StageVerified); ok {
		t.Error("a stage not reached has a duration")
	}
	if _, ok := img.Total(); ok {
		t.Error("an unverified order has a total")
	}
	if _, ok := (diagnostic.Timestamps{Collected: at(10)}).Duration(diagnostic.StageCollected); ok {
		t.Error("a stage of an order never placed has a duration")
	}
	if _, ok := (diagnostic.Timestamps{}).At(diagnostic.StageOrdered); ok {
		t.Error("an empty order was ordered")
	}
	for _, s := range diagnostic.Stages {
		if !s.Valid() {
			t.Errorf("%s invalid", s)
		}
	}
}

func TestMissedAndNextDeadline(t *testing.T) {
	targets := []diagnostic.Target{
		{Priority: diagnostic.PriorityStat, From: diagnostic.StageOrdered, To: diagnostic.StageCollected, Minutes: 15},
		{Priority: diagnostic.PriorityStat, From: diagnostic.StageReceived, To: diagnostic.StageResulted, Minutes: 60},
		{Priority: diagnostic.PriorityStat, From: diagnostic.StageResulted, To: diagnostic.StageVerified, Minutes: 15},
	}
	ts := diagnostic.Timestamps{Ordered: t0}
	if next, ok := diagnostic.NextDeadline(ts, targets, t0); !ok || !next.Equal(*at(15)) {
		t.Fatalf("next deadline %v", next)
	}
	if got := diagnostic.Missed(ts, targets, t0.Add(14*time.Minute)); len(got) != 0 {
		t.Fatalf("missed before the deadline: %+v", got)
	}
	// The timer fires at the deadline: the target is missed then.
	got := diagnostic.Missed(ts, targets, *at(15))
	if len(got) != 1 || got[0].Reached != nil || !got[0].Deadline.Equal(*at(15)) || got[0].Late(*at(20)) != 5*time.Minute {
		t.Fatalf("missed at the deadline: %+v", got)
	}
	if _, ok := diagnostic.NextDeadline(ts, targets, *at(15)); ok {
		t.Fatal("a deadline that has come is still next")
	}
	// Reaching the stage exactly at the deadline meets it.
	ts.Collected = at(15)
	if got := diagnostic.Missed(ts, targets, *at(30)); len(got) != 0 {
		t.Fatalf("collected on time: %+v", got)
	}
	ts.Collected, ts.Received = at(16), at(20)
	got = diagnostic.Missed(ts, targets, *at(30))
	if len(got) != 1 || got[0].Reached == nil || got[0].Late(t0) != time.Minute {
		t.Fatalf("collected a minute late: %+v", got)
	}
	if next, ok := diagnostic.NextDeadline(ts, targets, *at(30)); !ok || !next.Equal(*at(80)) {
		t.Fatalf("next deadline %v (received at 20 + 60)", next)
	}
	if tg := targets[1]; tg.Within() != time.Hour || tg.Span() != "received→resulted" {
		t.Fatalf("target %v %s", tg.Within(), tg.Span())
	}
}

func TestReportOverdueRecordsEachMissOnce(t *testing.T) {
	req := request("2823-3")
	req.Priority = diagnostic.PriorityStat
	r := newReport(t, req)
	// Core laboratory STAT: collected within 15 minutes of the order.
	next, ok := r.NextDeadline(t0)
	if !ok || !next.Equal(t0.Add(15*time.Minute)) {
		t.Fatalf("next deadline %v", next)
	}
	late, breaches := r.Overdue(next)
	if len(breaches) != 1 || breaches[0].Target.Span() != "ordered→collected" || !breaches[0].Noted.Equal(next) ||
		late.Last().Kind != diagnostic.EventTargetMissed || !r.Order.Priority.AlertOnMiss() {
		t.Fatalf("breaches %+v", breaches)
	}
	if again, more := late.Overdue(next.Add(time.Minute)); len(more) != 0 || again.Version != late.Version {
		t.Fatal("a miss was recorded twice")
	}
	if _, ok := late.NextDeadline(next); ok {
		t.Fatal("a recorded miss is still a deadline")
	}
	// Collected and received: the received→resulted hour runs.
	late = collectedAndReceived(t, late)
	if next, ok := late.NextDeadline(t0.Add(20 * time.Minute)); !ok || !next.Equal(t0.Add(80*time.Minute)) {
		t.Fatalf("next deadline %v", next)
	}
	if _, none := r.Overdue(t0); none != nil {
		t.Fatal("overdue before any deadline")
	}
}

func TestPercentileNearestRank(t *testing.T) {
	mins := func(vs ...int) []time.Duration {
		out := make([]time.Duration, len(vs))
		for i, v := range vs {
			out[i] = time.Duration(v) * time.Minute
		}
		return out
	}
	// The worked examples of the nearest-rank method: {15, 20, 35, 40, 50}
	// and {3, 6, 7, 8, 8, 10, 13, 15, 16, 20}; rank = ⌈p/100 × N⌉.
	five := mins(50, 15, 40, 20, 35) // unsorted on purpose
	ten := mins(3, 6, 7, 8, 8, 10, 13, 15, 16, 20)
	cases := []struct {
		values []time.Duration
		p      float64
		want   int
	}{
		{five, 5, 15}, {five, 30, 20}, {five, 40, 20}, {five, 50, 35}, {five, 100, 50},
		{ten, 25, 7}, {ten, 50, 8}, {ten, 75, 15}, {ten, 90, 16}, {ten, 95, 20}, {ten, 100, 20},
		{mins(42), 50, 42}, {mins(42), 1, 42},
	}
	for _, tc := range cases {
		if got, ok := diagnostic.Percentile(tc.values, tc.p); !ok || got != time.Duration(tc.want)*time.Minute {
			t.Errorf("p%v of %v = %v, want %d min", tc.p, tc.values, got, tc.want)
		}
	}
	if five[0] != 50*time.Minute {
		t.Fatal("Percentile sorted its input")
	}
	for _, p := range []float64{0, -1, 100.5} {
		if _, ok := diagnostic.Percentile(ten, p); ok {
			t.Errorf("p%v accepted", p)
		}
	}
	if _, ok := diagnostic.Percentile(nil, 50); ok {
		t.Error("a percentile of nothing")
	}
	if p := diagnostic.PercentilesOf(ten); p.Count != 10 || p.P50 != 8*time.Minute || p.P90 != 16*time.Minute || p.P95 != 20*time.Minute {
		t.Errorf("percentiles %+v", p)
	}
	// 20 values 1..20: p95 is rank 19, not 20 (0.95 × 20 is 19 exactly).
	twenty := make([]int, 20)
	for i := range twenty {
		twenty[i] = i + 1
	}
	if got, _ := diagnostic.Percentile(mins(twenty...), 95); got != 19*time.Minute {
		t.Errorf("p95 of 1..20 = %v", got)
	}
}

func TestMeasure(t *testing.T) {
	now := t0.Add(10 * time.Hour)
	stat := []diagnostic.Target{{Priority: diagnostic.PriorityStat, From: diagnostic.StageReceived, To: diagnostic.StageResulted, Minutes: 60}}
	routine := []diagnostic.Target{{Priority: diagnostic.PriorityRoutine, From: diagnostic.StageOrdered, To: diagnostic.StageVerified, Minutes: 1440}}
	summaries := []diagnostic.Summary{
		// STAT, on time: 10 collect, 10 receive, 40 result, 10 verify.
		{Priority: diagnostic.PriorityStat, Status: diagnostic.StatusFinal, Targets: stat, Specimens: 1, Verified: true,
			Stages:    diagnostic.Timestamps{Ordered: t0, Collected: at(10), Received: at(20), Resulted: at(60), Verified: at(70)},
			Callbacks: []diagnostic.CallbackTime{{Outcome: diagnostic.OutcomeConfirmed, Took: 12 * time.Minute}}},
		// STAT, resulted late (90 minutes after receipt), corrected later.
		{Priority: diagnostic.PriorityStat, Status: diagnostic.StatusCorrected, Targets: stat, Specimens: 2, Verified: true, Corrected: true,
			Rejections: []diagnostic.RejectionReason{diagnostic.RejectHaemolysed},
			Stages:     diagnostic.Timestamps{Ordered: t0, Restarted: at(30), Collected: at(40), Received: at(50), Resulted: at(140), Verified: at(150)},
			Callbacks: []diagnostic.CallbackTime{{Outcome: diagnostic.OutcomeReachedWithoutReadBack, Took: 30 * time.Minute},
				{Outcome: diagnostic.OutcomeUnableToReach, Took: time.Hour}}},
		// STAT, still waiting for its result past the hour.
		{Priority: diagnostic.PriorityStat, Status: diagnostic.StatusRegistered, Targets: stat, Specimens: 1, OpenCallbacks: 1,
			Stages: diagnostic.Timestamps{Ordered: t0, Collected: at(10), Received: at(20)}},
		// Routine, verified.
		{Priority: diagnostic.PriorityRoutine, Status: diagnostic.StatusFinal, Targets: routine, Specimens: 2, Verified: true,
			Rejections: []diagnostic.RejectionReason{diagnostic.RejectClotted},
			Stages:     diagnostic.Timestamps{Ordered: t0, Collected: at(60), Received: at(120), Resulted: at(300), Verified: at(360)}},
		// Cancelled: counts for specimens, not turnaround.
		{Priority: diagnostic.PriorityRoutine, Status: diagnostic.StatusCancelled, Targets: routine, Specimens: 1,
			Stages: diagnostic.Timestamps{Ordered: t0}},
	}
	m := diagnostic.Measure(summaries, now)
	if m.Orders != 5 || len(m.Priorities) != 3 {
		t.Fatalf("metrics %+v", m)
	}
	byPriority := map[diagnostic.Priority]diagnostic.PriorityMetrics{}
	for _, p := range m.Priorities {
		byPriority[p.Priority] = p
	}
	st := byPriority[diagnostic.PriorityStat]
	if st.Orders != 3 || st.Overdue != 2 || st.OverdueOpen != 1 {
		t.Fatalf("stat orders %d overdue %d open %d", st.Orders, st.Overdue, st.OverdueOpen)
	}
	if st.Total.Count != 2 || st.Total.P50 != 70*time.Minute || st.Total.P95 != 150*time.Minute {
		t.Fatalf("stat total %+v", st.Total)
	}
	stages := map[diagnostic.Stage]diagnostic.Percentiles{}
	var names []diagnostic.Stage
	for _, s := range st.Stages {
		stages[s.Stage] = s.Percentiles
		names = append(names, s.Stage)
	}
	if !slices.Equal(names, diagnostic.Stages[1:]) {
		t.Fatalf("stages %v", names)
	}
	// Collection: 10, 10 (after the restart at 30) and 10 minutes.
	if c := stages[diagnostic.StageCollected]; c.Count != 3 || c.P50 != 10*time.Minute || c.P95 != 10*time.Minute {
		t.Fatalf("collected %+v", c)
	}
	if r := stages[diagnostic.StageResulted]; r.Count != 2 || r.P50 != 40*time.Minute || r.P90 != 90*time.Minute {
		t.Fatalf("resulted %+v", r)
	}
	if rt := byPriority[diagnostic.PriorityRoutine]; rt.Orders != 1 || rt.Overdue != 0 || rt.Total.P50 != 6*time.Hour {
		t.Fatalf("routine %+v", rt)
	}
	if u := byPriority[diagnostic.PriorityUrgent]; u.Orders != 0 || u.Total.Count != 0 {
		t.Fatalf("urgent %+v", u)
	}
	rj := m.Rejections
	if rj.Specimens != 7 || rj.Rejected != 2 || rj.Rate != 2.0/7 || len(rj.ByReason) != 5 {
		t.Fatalf("rejections %+v", rj)
	}
	for _, r := range rj.ByReason {
		want := 0
		if r.Reason == diagnostic.RejectHaemolysed || r.Reason == diagnostic.RejectClotted {
			want = 1
		}
		if r.Count != want || r.Rate != float64(want)/7 {
			t.Errorf("%s: %d (%v)", r.Reason, r.Count, r.Rate)
		}
	}
	if c := m.Corrections; c.Verified != 3 || c.Corrected != 1 || c.Rate != 1.0/3 {
		t.Fatalf("corrections %+v", c)
	}
	cb := m.Callbacks
	if cb.Callbacks != 4 || cb.Confirmed != 1 || cb.WithoutReadBack != 1 || cb.Unreached != 1 || cb.Open != 1 ||
		cb.Time.Count != 2 || cb.Time.P50 != 12*time.Minute || cb.Time.P95 != 30*time.Minute {
		t.Fatalf("callbacks %+v", cb)
	}
	empty := diagnostic.Measure(nil, now)
	if empty.Rejections.Rate != 0 || empty.Corrections.Rate != 0 || len(empty.Priorities) != 3 {
		t.Fatalf("empty metrics %+v", empty)
	}
}

func TestSummaryOfAReport(t *testing.T) {
	r := collectedAndReceived(t, newReport(t, request()))
	r = must(t)(r.Reject("A1", diagnostic.RejectWrongContainer, "", scientist, t0.Add(30*time.Minute)))
	r = must(t)(r.Collect(collection("X9", "sst-gold", t0.Add(time.Hour)), t0.Add(time.Hour)))
	s := r.Summary()
	if s.ReportID != reportID || s.Priority != diagnostic.PriorityRoutine || s.Imaging || s.Specimens != 3 || s.Verified ||
		len(s.Targets) == 0 || s.Stages.Received != nil || s.Stages.Collected == nil ||
		!slices.Equal(s.Rejections, []diagnostic.RejectionReason{diagnostic.RejectWrongContainer}) {
		t.Fatalf("summary %+v", s)
	}
}
