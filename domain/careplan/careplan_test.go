package careplan_test

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/zarish-sphere/zarish/domain"
	"github.com/zarish-sphere/zarish/domain/careplan"
)

var (
	now     = time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)
	patient = uuid.MustParse("0190f3c4-0000-7000-8000-0000000000f1")
	nurse   = uuid.MustParse("0190f3c4-0000-7000-8000-0000000000a1")
	doctor  = uuid.MustParse("0190f3c4-0000-7000-8000-0000000000a2")
)

// ids hands out predictable ids.
func ids() func() (uuid.UUID, error) {
	n := 0
	return func() (uuid.UUID, error) {
		n++
		return uuid.NewSHA1(uuid.NameSpaceURL, []byte{byte(n)}), nil
	}
}

func content() careplan.Content {
	return careplan.Content{
		Title: " Pressure-injury prevention ", Unit: "ward-3", Status: careplan.StatusActive,
		Period: careplan.Period{Start: now},
		Goals:  []careplan.Goal{{Description: "Skin intact", Target: "no new pressure injury", DueDate: "2026-12-09"}},
		Activities: []careplan.ActivityInput{
			{Title: "Reposition", OwnerID: nurse, Schedule: careplan.Schedule{DueAt: now.Add(2 * time.Hour), Repeat: "PT2H"}},
			{Title: "Skin review", OwnerID: doctor, Schedule: careplan.Schedule{DueAt: now.Add(24 * time.Hour)}},
		},
	}
}

func newPlan(t *testing.T) careplan.CarePlan {
	t.Helper()
	p, err := careplan.New(uuid.Must(uuid.NewV7()), patient, nil, content(), ids(), now)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func fields(err error) []string {
	var verr *domain.ValidationError
	if !errors.As(err, &verr) {
		return nil
	}
	var out []string
	for _, f := range verr.Fields {
		out = append(out, f.Field)
	}
	return out
}

func TestNew(t *testing.T) {
	p := newPlan(t)
	if p.Title != "Pressure-injury prevention" || p.Version != 1 || p.Status != careplan.StatusActive ||
		len(p.Activities) != 2 || p.Goals[0].Status != careplan.GoalProposed || p.Goals[0].ID == uuid.Nil {
		t.Fatalf("new plan %+v", p)
	}
	for _, a := range p.Activities {
		if a.ID == uuid.Nil || a.Status != careplan.ActivityScheduled || a.History == nil {
			t.Fatalf("new activity %+v", a)
		}
	}
}

func TestNewReportsEveryInvalidField(t *testing.T) {
	until := now.Add(-time.Hour)
	end := now.Add(-time.Hour)
	cases := []struct {
		name   string
		edit   func(*careplan.Content)
		fields []string
	}{
		{"valid", func(*careplan.Content) {}, nil},
		{"empty", func(c *careplan.Content) { *c = careplan.Content{} },
			[]string{"title", "unit", "status", "period.start"}},
		{"final status", func(c *careplan.Content) { c.Status = careplan.StatusCompleted }, []string{"status"}},
		{"unknown status", func(c *careplan.Content) { c.Status = "planned" }, []string{"status"}},
		{"period ends before it starts", func(c *careplan.Content) { c.Period.End = &end }, []string{"period.end"}},
		{"bad goal", func(c *careplan.Content) {
			c.Goals = []careplan.Goal{{DueDate: "next week", Status: "done", Achievement: "great"}}
		}, []string{"goals[0].description", "goals[0].dueDate", "goals[0].status", "goals[0].achievement"}},
		{"bad activities", func(c *careplan.Content) {
			c.Activities[1] = careplan.ActivityInput{Status: "paused",
				Schedule: careplan.Schedule{DueAt: now, Repeat: "every 8 hours", Until: &until}}
			c.Activities = append(c.Activities, careplan.ActivityInput{ID: uuid.New(), Title: "x", OwnerID: nurse,
				Status: careplan.ActivityCompleted, Schedule: careplan.Schedule{Repeat: "PT10S"}})
		}, []string{"activities[1].title", "activities[1].ownerId", "activities[1].status", "activities[1].schedule.repeat",
			"activities[1].schedule.until", "activities[2].schedule.dueAt", "activities[2].id", "activities[2].status"}},
		{"repeat too short", func(c *careplan.Content) { c.Activities[0].Schedule.Repeat = "PT30S" },
			[]string{"activities[0].schedule.repeat"}},
		{"until without repeat", func(c *careplan.Content) {
			u := now.Add(48 * time.Hour)
			c.Activities[1].Schedule.Until = &u
		}, []string{"activities[1].schedule.until"}},
		{"title too long", func(c *careplan.Content) { c.Title = strings.Repeat("x", 201) }, []string{"title"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := content()
			tc.edit(&c)
			_, err := careplan.New(uuid.New(), patient, nil, c, ids(), now)
			if got := fields(err); !slices.Equal(got, tc.fields) {
				t.Fatalf("fields %v, want %v (%v)", got, tc.fields, err)
			}
		})
	}
	_, err := careplan.New(uuid.Nil, uuid.Nil, &uuid.Nil, content(), ids(), now)
	if got := fields(err); !slices.Equal(got, []string{"id", "patientId", "encounterId"}) {
		t.Fatalf("missing ids: %v", got)
	}
}

func TestParseDuration(t *testing.T) {
	base := time.Date(2026, 1, 31, 22, 0, 0, 0, time.UTC)
	cases := []struct {
		in   string
		want time.Time
		ok   bool
	}{
		{"PT8H", base.Add(8 * time.Hour), true},
		{"P1D", base.AddDate(0, 0, 1), true},
		{"P1W", base.AddDate(0, 0, 7), true},
		{"P1M", base.AddDate(0, 1, 0), true},
		{"P1DT12H", base.AddDate(0, 0, 1).Add(12 * time.Hour), true},
		{"PT1H30M", base.Add(90 * time.Minute), true},
		{"PT0.5S", base.Add(500 * time.Millisecond), true},
		{"P1Y", base.AddDate(1, 0, 0), true},
		{"", time.Time{}, false},
		{"P", time.Time{}, false},
		{"PT", time.Time{}, false},
		{"8H", time.Time{}, false},
		{"P8H", time.Time{}, false},
		{"PT1D", time.Time{}, false},
		{"P-1D", time.Time{}, false},
		{"P1DT", time.Time{}, false},
		{"PTH", time.Time{}, false},
	}
	for _, tc := range cases {
		d, err := careplan.ParseDuration(tc.in)
		if (err == nil) != tc.ok {
			t.Errorf("%q: err %v, want ok=%v", tc.in, err, tc.ok)
			continue
		}
		if tc.ok && !d.AddTo(base).Equal(tc.want) {
			t.Errorf("%q added to %s = %s, want %s", tc.in, base, d.AddTo(base), tc.want)
		}
	}
}

func TestPlanStatusTransitions(t *testing.T) {
	s := func(v string) careplan.Status { return careplan.Status(v) }
	allowed := map[careplan.Status][]string{
		careplan.StatusDraft:     {"draft", "active", "revoked"},
		careplan.StatusActive:    {"active", "on-hold", "revoked", "completed"},
		careplan.StatusOnHold:    {"on-hold", "active", "revoked", "completed"},
		careplan.StatusRevoked:   {},
		careplan.StatusCompleted: {},
	}
	for _, from := range careplan.Statuses {
		for _, to := range careplan.Statuses {
			want := slices.Contains(allowed[from], string(to))
			if got := from.CanBecome(to); got != want {
				t.Errorf("%s → %s: %v, want %v", from, to, got, want)
			}
		}
	}
	// Through Revise: a forbidden change names the current status.
	p := newPlan(t)
	for _, tc := range []struct {
		from, to careplan.Status
		refused  string
	}{
		{careplan.StatusActive, careplan.StatusDraft, "care plan is active; it cannot become draft"},
		{careplan.StatusCompleted, careplan.StatusActive, "care plan is completed and cannot change"},
		{careplan.StatusRevoked, careplan.StatusRevoked, "care plan is revoked and cannot change"},
		{careplan.StatusActive, careplan.StatusOnHold, ""},
	} {
		p.Status = tc.from
		c := content()
		c.Status = s(string(tc.to))
		c.Activities = nil
		_, err := p.Revise(c, ids(), now)
		if tc.refused == "" {
			if err != nil {
				t.Errorf("%s → %s refused: %v", tc.from, tc.to, err)
			}
			continue
		}
		if !errors.Is(err, careplan.ErrInvalidTransition) || !strings.Contains(err.Error(), tc.refused) {
			t.Errorf("%s → %s: %v, want %q", tc.from, tc.to, err, tc.refused)
		}
	}
}

func TestActivityStatusTransitions(t *testing.T) {
	allowed := map[careplan.ActivityStatus][]careplan.ActivityStatus{
		careplan.ActivityNotStarted: {careplan.ActivityScheduled, careplan.ActivityInProgress, careplan.ActivityOnHold, careplan.ActivityCompleted, careplan.ActivityCancelled},
		careplan.ActivityScheduled:  {careplan.ActivityNotStarted, careplan.ActivityInProgress, careplan.ActivityOnHold, careplan.ActivityCompleted, careplan.ActivityCancelled},
		careplan.ActivityInProgress: {careplan.ActivityOnHold, careplan.ActivityCompleted, careplan.ActivityCancelled},
		careplan.ActivityOnHold:     {careplan.ActivityNotStarted, careplan.ActivityScheduled, careplan.ActivityInProgress, careplan.ActivityCancelled},
	}
	base := newPlan(t)
	skin := base.Activities[1].ID // does not repeat
	for _, from := range careplan.ActivityStatuses {
		for _, to := range careplan.ActivityStatuses {
			p := base
			p.Activities = slices.Clone(base.Activities)
			p.Activities[1].Status = from
			got, err := p.SetActivityStatus(skin, to, nurse, "", now)
			want := slices.Contains(allowed[from], to)
			if want != (err == nil) {
				t.Errorf("%s → %s: %v, want allowed=%v", from, to, err, want)
				continue
			}
			if err != nil {
				if !errors.Is(err, careplan.ErrInvalidTransition) || !strings.Contains(err.Error(), "activity is "+string(from)) {
					t.Errorf("%s → %s: %v does not name the current status", from, to, err)
				}
				continue
			}
			a, _ := got.Activity(skin)
			if a.Status != to || len(a.History) != 1 || a.History[0].Status != to || got.Version != base.Version+1 {
				t.Errorf("%s → %s recorded %+v", from, to, a)
			}
		}
	}
	if base.Activities[1].Status != careplan.ActivityScheduled {
		t.Fatal("SetActivityStatus changed the plan it was called on")
	}
}

func TestSetActivityStatusRefusals(t *testing.T) {
	p := newPlan(t)
	skin := p.Activities[1].ID
	if _, err := p.SetActivityStatus(uuid.New(), careplan.ActivityCompleted, nurse, "", now); !errors.Is(err, careplan.ErrActivityNotFound) {
		t.Fatalf("unknown activity: %v", err)
	}
	_, err := p.SetActivityStatus(skin, "done", uuid.Nil, strings.Repeat("x", 2001), now)
	if got := fields(err); !slices.Equal(got, []string{"status", "by", "note"}) {
		t.Fatalf("invalid request: %v", got)
	}
	for _, status := range []careplan.Status{careplan.StatusDraft, careplan.StatusCompleted, careplan.StatusRevoked} {
		p.Status = status
		_, err := p.SetActivityStatus(skin, careplan.ActivityCompleted, nurse, "", now)
		if !errors.Is(err, careplan.ErrInvalidTransition) || !strings.Contains(err.Error(), "care plan is "+string(status)) {
			t.Fatalf("activity of a %s plan: %v", status, err)
		}
	}
	p.Status = careplan.StatusOnHold
	if _, err := p.SetActivityStatus(skin, careplan.ActivityCancelled, nurse, "", now); err != nil {
		t.Fatalf("cancel on a plan on hold: %v", err)
	}
}

func TestCompletingARepeatingActivity(t *testing.T) {
	until := now.Add(6 * time.Hour)
	c := content()
	c.Activities = c.Activities[:1]
	c.Activities[0].Schedule = careplan.Schedule{DueAt: now.Add(2 * time.Hour), Repeat: "PT2H", Until: &until}
	p, err := careplan.New(uuid.New(), patient, nil, c, ids(), now)
	if err != nil {
		t.Fatal(err)
	}
	id := p.Activities[0].ID
	var dues []time.Time
	for i := range 3 {
		p, err = p.SetActivityStatus(id, careplan.ActivityCompleted, nurse, "turned to left side", now.Add(time.Duration(2*i+2)*time.Hour))
		if err != nil {
			t.Fatalf("occurrence %d: %v", i, err)
		}
		dues = append(dues, p.Activities[0].Schedule.DueAt)
	}
	a := p.Activities[0]
	// Due at +2h, +4h, +6h; after +6h the next (+8h) passes until: completed.
	if a.Status != careplan.ActivityCompleted || len(a.History) != 3 ||
		!dues[0].Equal(now.Add(4*time.Hour)) || !dues[1].Equal(now.Add(6*time.Hour)) || !dues[2].Equal(now.Add(6*time.Hour)) {
		t.Fatalf("after three completions: %+v, dues %v", a, dues)
	}
	if !a.History[0].DueAt.Equal(now.Add(2*time.Hour)) || a.History[0].Note != "turned to left side" || a.History[0].By != nurse {
		t.Fatalf("history records the occurrence: %+v", a.History[0])
	}
	if _, err := p.SetActivityStatus(id, careplan.ActivityInProgress, nurse, "", now); !errors.Is(err, careplan.ErrInvalidTransition) {
		t.Fatalf("completed activity changed: %v", err)
	}
}

func TestRevise(t *testing.T) {
	p := newPlan(t)
	reposition, skin := p.Activities[0], p.Activities[1]
	p, err := p.SetActivityStatus(reposition.ID, careplan.ActivityInProgress, nurse, "", now)
	if err != nil {
		t.Fatal(err)
	}

	// Unchanged content changes nothing, not even the version.
	same := content()
	same.Goals[0].ID = p.Goals[0].ID
	same.Activities[0].ID, same.Activities[1].ID = reposition.ID, skin.ID
	if got, err := p.Revise(same, ids(), now.Add(time.Hour)); err != nil || got.Version != p.Version || !got.UpdatedAt.Equal(p.UpdatedAt) {
		t.Fatalf("unchanged revision: v%d, %v", got.Version, err)
	}

	// Reschedule one, drop one without history, add one.
	c := same
	c.Activities = []careplan.ActivityInput{
		{ID: reposition.ID, Title: "Reposition (q3h)", OwnerID: nurse, Schedule: careplan.Schedule{DueAt: now.Add(3 * time.Hour), Repeat: "PT3H"}},
		{Title: "Dietitian review", OwnerID: doctor, Schedule: careplan.Schedule{DueAt: now.Add(48 * time.Hour)}},
	}
	next, err := p.Revise(c, ids(), now.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	kept, added := next.Activities[0], next.Activities[1]
	if next.Version != p.Version+1 || kept.ID != reposition.ID || len(kept.History) != 1 || kept.Status != careplan.ActivityInProgress ||
		kept.Title != "Reposition (q3h)" || added.ID == uuid.Nil || added.ID == skin.ID || added.Status != careplan.ActivityScheduled {
		t.Fatalf("revised: %+v", next)
	}

	// What a revision may not do, reported together.
	bad := same
	bad.Goals = append(bad.Goals, careplan.Goal{ID: uuid.New(), Description: "x"})
	bad.Activities = []careplan.ActivityInput{
		{ID: skin.ID, Title: "Skin review", OwnerID: doctor, Status: careplan.ActivityCompleted, Schedule: skin.Schedule},
		{ID: uuid.New(), Title: "Ghost", OwnerID: doctor, Schedule: skin.Schedule},
		{ID: skin.ID, Title: "Twice", OwnerID: doctor, Schedule: skin.Schedule},
	}
	_, err = p.Revise(bad, ids(), now)
	want := []string{"goals[1].id", "activities[0].status", "activities[1].id", "activities[2].id", "activities"}
	if got := fields(err); !slices.Equal(got, want) {
		t.Fatalf("refused revision: %v, want %v (%v)", got, want, err)
	}
}

func TestOverdueAndNextDue(t *testing.T) {
	p := newPlan(t) // reposition due +2h, skin review +24h
	reposition, skin := p.Activities[0], p.Activities[1]
	onHold := func(q careplan.CarePlan) careplan.CarePlan {
		q.Activities = slices.Clone(q.Activities)
		q.Activities[0].Status = careplan.ActivityOnHold
		return q
	}
	draft := p
	draft.Status = careplan.StatusDraft
	cases := []struct {
		name    string
		plan    careplan.CarePlan
		at      time.Time
		overdue []uuid.UUID
		next    time.Duration // after now; 0 = none
	}{
		{"nothing due yet", p, now, nil, 2 * time.Hour},
		{"due exactly now", p, now.Add(2 * time.Hour), []uuid.UUID{reposition.ID}, 24 * time.Hour},
		{"both overdue, earliest first", p, now.Add(25 * time.Hour), []uuid.UUID{reposition.ID, skin.ID}, 0},
		{"on hold is not overdue", onHold(p), now.Add(3 * time.Hour), nil, 24 * time.Hour},
		{"draft plan", draft, now.Add(25 * time.Hour), nil, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var got []uuid.UUID
			for _, o := range careplan.Overdue(tc.plan, tc.at) {
				got = append(got, o.ActivityID)
				if o.PlanID != p.ID || o.OwnerID == uuid.Nil || o.Title == "" {
					t.Fatalf("overdue entry %+v", o)
				}
			}
			if !slices.Equal(got, tc.overdue) {
				t.Fatalf("overdue %v, want %v", got, tc.overdue)
			}
			next, ok := careplan.NextDue(tc.plan, tc.at)
			if ok != (tc.next != 0) || ok && !next.Equal(now.Add(tc.next)) {
				t.Fatalf("next due %s %v, want +%s", next, ok, tc.next)
			}
		})
	}
	if first, ok := careplan.EarliestDue(p); !ok || !first.Equal(now.Add(2*time.Hour)) {
		t.Fatalf("earliest due %s %v", first, ok)
	}
}

func TestPending(t *testing.T) {
	a := careplan.OverdueActivity{ActivityID: nurse, DueAt: now}
	b := careplan.OverdueActivity{ActivityID: doctor, DueAt: now}
	bLater := careplan.OverdueActivity{ActivityID: doctor, DueAt: now.Add(time.Hour)}
	fresh, still := careplan.Pending([]careplan.OverdueActivity{a, bLater}, []string{a.Key(), b.Key()})
	if len(fresh) != 1 || fresh[0] != bLater || !slices.Equal(still, []string{a.Key()}) {
		t.Fatalf("fresh %v, still %v", fresh, still)
	}
}
