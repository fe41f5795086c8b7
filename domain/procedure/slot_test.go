package procedure_test

import (
	"errors"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/zarish-sphere/zarish/domain/procedure"
)

// scheduleFixture builds searches in the week of Monday 7 December 2026:
// resources numbered so that their ids sort by number, open Monday to
// Friday 08:00–18:00 UTC, and a one-hour elective request for the patient
// over the working week.
type scheduleFixture struct {
	theatre, cathLab, surgeon, surgeons, anaesthetist, carm procedure.Requirement
	patient                                                 uuid.UUID
}

var sched = scheduleFixture{
	theatre:      procedure.Requirement{Type: procedure.KindRoom, Capability: "operating-theatre"},
	cathLab:      procedure.Requirement{Type: procedure.KindRoom, Capability: "cath-lab"},
	surgeon:      procedure.Requirement{Type: procedure.KindStaff, Skill: "surgeon"},
	surgeons:     procedure.Requirement{Type: procedure.KindStaff, Skill: "surgeon", Count: 2},
	anaesthetist: procedure.Requirement{Type: procedure.KindStaff, Skill: "anaesthetist"},
	carm:         procedure.Requirement{Type: procedure.KindEquipment, Kind: "c-arm"},
	patient:      uuid.UUID{0: 0x51, 14: 0x03, 15: 0xe7}, // id(999)
}

// at is day days after Monday 7 December 2026 at clock "HH:MM", UTC.
func (scheduleFixture) at(day int, clock string) time.Time {
	c, err := time.Parse("15:04", clock)
	if err != nil {
		panic(err)
	}
	return time.Date(2026, 12, 7+day, c.Hour(), c.Minute(), 0, 0, time.UTC)
}

func (scheduleFixture) id(n int) uuid.UUID { return uuid.UUID{0: 0x51, 14: byte(n >> 8), 15: byte(n)} }

func (scheduleFixture) weekdays(from, to string) []procedure.Hours {
	var hs []procedure.Hours
	for d := time.Monday; d <= time.Friday; d++ {
		hs = append(hs, procedure.Hours{Weekday: d, From: from, To: to})
	}
	return hs
}

func (f scheduleFixture) room(n int, capabilities ...string) procedure.Resource {
	return procedure.Resource{ID: f.id(n), Kind: procedure.KindRoom, Name: "Theatre", Capabilities: capabilities,
		Hours: f.weekdays("08:00", "18:00"), Active: true}
}

func (f scheduleFixture) staff(n int, skills ...string) procedure.Resource {
	practitioner := f.id(500 + n)
	return procedure.Resource{ID: f.id(n), Kind: procedure.KindStaff, Name: "Staff", Skills: skills,
		PractitionerID: &practitioner, Hours: f.weekdays("08:00", "18:00"), Active: true}
}

func (f scheduleFixture) equipment(n int, kind string) procedure.Resource {
	return procedure.Resource{ID: f.id(n), Kind: procedure.KindEquipment, Name: "Equipment", EquipmentKind: kind,
		Hours: f.weekdays("08:00", "18:00"), Active: true}
}

func (f scheduleFixture) request(reqs ...procedure.Requirement) procedure.Request {
	return procedure.Request{ID: f.id(900), PatientID: f.patient, Duration: time.Hour, Requirements: reqs,
		Window: procedure.Period{From: f.at(0, "00:00"), To: f.at(5, "00:00")}, Priority: procedure.PriorityElective}
}

func (f scheduleFixture) busy(from, to time.Time, procedureID uuid.UUID, p procedure.Priority) procedure.Busy {
	return procedure.Busy{Period: procedure.Period{From: from, To: to}, ProcedureID: procedureID, Priority: p}
}

// search is a search of req over resources with busy spans by resource number.
func (f scheduleFixture) search(req procedure.Request, resources []procedure.Resource, busy map[int][]procedure.Busy) procedure.Search {
	s := procedure.Search{Request: req, Resources: resources, Busy: map[uuid.UUID][]procedure.Busy{}}
	for n, b := range busy {
		id := f.id(n)
		if n == 999 {
			id = f.patient
		}
		s.Busy[id] = b
	}
	return s
}

func TestFindSlot(t *testing.T) {
	f := sched
	elective, urgent := procedure.PriorityElective, procedure.PriorityUrgent
	caseA, caseB := f.id(701), f.id(702)
	withTurnover := func(r procedure.Resource, d time.Duration) procedure.Resource { r.Turnover = d; return r }
	emergency := func(q procedure.Request) procedure.Request { q.Priority = procedure.PriorityEmergency; return q }
	bump := func(s procedure.Search) procedure.Search { s.Bump = true; return s }
	preferring := func(q procedure.Request, staff int) procedure.Request {
		p := f.id(500 + staff)
		q.PreferredPractitionerID = &p
		return q
	}
	hours := func(q procedure.Request, d time.Duration) procedure.Request { q.Duration = d; return q }
	from := func(q procedure.Request, at time.Time) procedure.Request { q.Window.From = at; return q }
	step := func(s procedure.Search, d time.Duration) procedure.Search { s.Step = d; return s }
	dhakaRoom := f.room(1, "operating-theatre")
	dhakaRoom.TimeZone = "Asia/Dhaka"
	blockedRoom := f.room(1, "operating-theatre")
	blockedRoom.Blocked = []procedure.Blocked{{Period: procedure.Period{From: f.at(0, "07:00"), To: f.at(0, "13:00")}, Reason: "maintenance"}}

	for _, tt := range []struct {
		name      string
		search    procedure.Search
		start     time.Time
		resources [][]int
		bumps     []uuid.UUID
	}{
		{"earliest free room", f.search(f.request(f.theatre), []procedure.Resource{f.room(1, "operating-theatre"), f.room(2, "operating-theatre")},
			map[int][]procedure.Busy{1: {f.busy(f.at(0, "08:00"), f.at(0, "10:00"), caseA, elective)}, 2: {f.busy(f.at(0, "08:00"), f.at(0, "09:00"), caseB, elective)}}),
			f.at(0, "09:00"), [][]int{{2}}, nil},
		{"lowest id among free rooms", f.search(f.request(f.theatre), []procedure.Resource{f.room(2, "operating-theatre"), f.room(1, "operating-theatre")}, nil),
			f.at(0, "08:00"), [][]int{{1}}, nil},
		{"the room's turnover after the case must end before the next case", f.search(f.request(f.theatre),
			[]procedure.Resource{withTurnover(f.room(1, "operating-theatre"), 30*time.Minute)},
			map[int][]procedure.Busy{1: {f.busy(f.at(0, "08:00"), f.at(0, "10:30"), caseA, elective), f.busy(f.at(0, "11:45"), f.at(0, "18:00"), caseB, elective)}}),
			f.at(1, "08:00"), [][]int{{1}}, nil},
		{"case and turnover fit exactly between cases", f.search(f.request(f.theatre),
			[]procedure.Resource{withTurnover(f.room(1, "operating-theatre"), 30*time.Minute)},
			map[int][]procedure.Busy{1: {f.busy(f.at(0, "08:00"), f.at(0, "10:30"), caseA, elective), f.busy(f.at(0, "12:00"), f.at(0, "18:00"), caseB, elective)}}),
			f.at(0, "10:30"), [][]int{{1}}, nil},
		{"turnover may run past closing", f.search(f.request(f.theatre),
			[]procedure.Resource{withTurnover(f.room(1, "operating-theatre"), 30*time.Minute)},
			map[int][]procedure.Busy{1: {f.busy(f.at(0, "08:00"), f.at(0, "17:00"), caseA, elective)}}),
			f.at(0, "17:00"), [][]int{{1}}, nil},
		{"two distinct surgeons", f.search(f.request(f.surgeons), []procedure.Resource{f.staff(1, "surgeon"), f.staff(2, "surgeon"), f.staff(3, "surgeon")},
			map[int][]procedure.Busy{1: {f.busy(f.at(0, "08:00"), f.at(0, "09:00"), caseA, elective)}}),
			f.at(0, "08:00"), [][]int{{2, 3}}, nil},
		{"a resource serves one requirement", f.search(f.request(f.surgeon, f.anaesthetist), []procedure.Resource{f.staff(1, "surgeon", "anaesthetist"), f.staff(2, "anaesthetist")}, nil),
			f.at(0, "08:00"), [][]int{{1}, {2}}, nil},
		{"a resource serves one requirement even when it delays the slot", f.search(f.request(f.surgeon, f.anaesthetist),
			[]procedure.Resource{f.staff(1, "surgeon", "anaesthetist"), f.staff(2, "anaesthetist")},
			map[int][]procedure.Busy{2: {f.busy(f.at(0, "08:00"), f.at(0, "12:00"), caseA, elective)}}),
			f.at(0, "12:00"), [][]int{{1}, {2}}, nil},
		{"preferred practitioner first", f.search(preferring(f.request(f.surgeons), 3), []procedure.Resource{f.staff(1, "surgeon"), f.staff(2, "surgeon"), f.staff(3, "surgeon")}, nil),
			f.at(0, "08:00"), [][]int{{3, 1}}, nil},
		{"the earliest start wins over the preferred practitioner", f.search(preferring(f.request(f.surgeon), 3),
			[]procedure.Resource{f.staff(1, "surgeon"), f.staff(3, "surgeon")},
			map[int][]procedure.Busy{3: {f.busy(f.at(0, "08:00"), f.at(0, "09:00"), caseA, elective)}}),
			f.at(0, "08:00"), [][]int{{1}}, nil},
		{"the patient is busy", f.search(f.request(f.theatre), []procedure.Resource{f.room(1, "operating-theatre")},
			map[int][]procedure.Busy{999: {f.busy(f.at(0, "07:00"), f.at(0, "11:00"), caseA, elective)}}),
			f.at(0, "11:00"), [][]int{{1}}, nil},
		{"a case may not run past closing", f.search(hours(f.request(f.theatre), 3*time.Hour), []procedure.Resource{f.room(1, "operating-theatre")},
			map[int][]procedure.Busy{1: {f.busy(f.at(0, "08:00"), f.at(0, "15:30"), caseA, elective)}}),
			f.at(1, "08:00"), [][]int{{1}}, nil},
		{"a case may end at closing", f.search(hours(f.request(f.theatre), 3*time.Hour), []procedure.Resource{f.room(1, "operating-theatre")},
			map[int][]procedure.Busy{1: {f.busy(f.at(0, "08:00"), f.at(0, "15:00"), caseA, elective)}}),
			f.at(0, "15:00"), [][]int{{1}}, nil},
		{"working hours in the room's zone", f.search(f.request(f.theatre), []procedure.Resource{dhakaRoom}, nil),
			f.at(0, "02:00"), [][]int{{1}}, nil},
		{"blocked for maintenance", f.search(f.request(f.theatre), []procedure.Resource{blockedRoom}, nil),
			f.at(0, "13:00"), [][]int{{1}}, nil},
		{"room, two staff and equipment", f.search(f.request(f.theatre, f.surgeons, f.carm),
			[]procedure.Resource{f.equipment(9, "c-arm"), f.staff(5, "surgeon"), f.room(1, "operating-theatre"), f.staff(4, "surgeon"), f.equipment(8, "ultrasound")}, nil),
			f.at(0, "08:00"), [][]int{{1}, {4, 5}, {9}}, nil},
		{"an emergency bumps an elective case", bump(f.search(emergency(f.request(f.theatre)), []procedure.Resource{f.room(1, "operating-theatre")},
			map[int][]procedure.Busy{1: {f.busy(f.at(0, "08:00"), f.at(0, "12:00"), caseA, elective)}})),
			f.at(0, "08:00"), [][]int{{1}}, []uuid.UUID{caseA}},
		{"an emergency bumps every elective case its turnover overlaps", bump(f.search(emergency(f.request(f.theatre)),
			[]procedure.Resource{withTurnover(f.room(1, "operating-theatre"), 30*time.Minute)},
			map[int][]procedure.Busy{1: {f.busy(f.at(0, "08:00"), f.at(0, "09:00"), caseB, elective), f.busy(f.at(0, "09:20"), f.at(0, "10:00"), caseA, elective)}})),
			f.at(0, "08:00"), [][]int{{1}}, []uuid.UUID{caseA, caseB}},
		{"an emergency does not bump an urgent case", bump(f.search(emergency(f.request(f.theatre)), []procedure.Resource{f.room(1, "operating-theatre")},
			map[int][]procedure.Busy{1: {f.busy(f.at(0, "08:00"), f.at(0, "12:00"), caseA, urgent)}})),
			f.at(0, "12:00"), [][]int{{1}}, nil},
		{"an emergency does not bump an emergency", bump(f.search(emergency(f.request(f.theatre)), []procedure.Resource{f.room(1, "operating-theatre")},
			map[int][]procedure.Busy{1: {f.busy(f.at(0, "08:00"), f.at(0, "12:00"), caseA, procedure.PriorityEmergency)}})),
			f.at(0, "12:00"), [][]int{{1}}, nil},
		{"an emergency takes a free room before bumping", bump(f.search(emergency(f.request(f.theatre)), []procedure.Resource{f.room(1, "operating-theatre"), f.room(2, "operating-theatre")},
			map[int][]procedure.Busy{1: {f.busy(f.at(0, "08:00"), f.at(0, "12:00"), caseA, elective)}})),
			f.at(0, "08:00"), [][]int{{2}}, nil},
		{"no bump unless asked", f.search(emergency(f.request(f.theatre)), []procedure.Resource{f.room(1, "operating-theatre")},
			map[int][]procedure.Busy{1: {f.busy(f.at(0, "08:00"), f.at(0, "12:00"), caseA, elective)}}),
			f.at(0, "12:00"), [][]int{{1}}, nil},
		{"a blocked span is never bumped", bump(f.search(emergency(f.request(f.theatre)), []procedure.Resource{f.room(1, "operating-theatre")},
			map[int][]procedure.Busy{1: {f.busy(f.at(0, "08:00"), f.at(0, "10:00"), uuid.Nil, elective)}})),
			f.at(0, "10:00"), [][]int{{1}}, nil},
		{"the patient's elective case is never bumped", bump(f.search(emergency(f.request(f.theatre)), []procedure.Resource{f.room(1, "operating-theatre")},
			map[int][]procedure.Busy{999: {f.busy(f.at(0, "08:00"), f.at(0, "10:00"), caseA, elective)}})),
			f.at(0, "10:00"), [][]int{{1}}, nil},
		{"starts align to the default 5-minute step", f.search(from(f.request(f.theatre), f.at(0, "08:03")), []procedure.Resource{f.room(1, "operating-theatre")}, nil),
			f.at(0, "08:05"), [][]int{{1}}, nil},
		{"starts align to a 15-minute step", step(f.search(from(f.request(f.theatre), f.at(0, "08:03")), []procedure.Resource{f.room(1, "operating-theatre")}, nil), 15*time.Minute),
			f.at(0, "08:15"), [][]int{{1}}, nil},
		{"a busy span ending off the step", f.search(f.request(f.theatre), []procedure.Resource{f.room(1, "operating-theatre")},
			map[int][]procedure.Busy{1: {f.busy(f.at(0, "08:00"), f.at(0, "09:07"), caseA, elective)}}),
			f.at(0, "09:10"), [][]int{{1}}, nil},
		{"overlapping busy spans", f.search(f.request(f.theatre), []procedure.Resource{f.room(1, "operating-theatre")},
			map[int][]procedure.Busy{1: {f.busy(f.at(0, "08:00"), f.at(0, "12:00"), caseA, elective), f.busy(f.at(0, "09:00"), f.at(0, "10:00"), caseB, elective)}}),
			f.at(0, "12:00"), [][]int{{1}}, nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := procedure.FindSlot(tt.search)
			if err != nil {
				t.Fatalf("FindSlot = %v", err)
			}
			want := procedure.Period{From: tt.start, To: tt.start.Add(tt.search.Request.Duration)}
			if !got.Slot.From.Equal(want.From) || !got.Slot.To.Equal(want.To) {
				t.Errorf("slot = %s–%s, want %s–%s", got.Slot.From.Format(time.RFC3339), got.Slot.To.Format(time.RFC3339),
					want.From.Format(time.RFC3339), want.To.Format(time.RFC3339))
			}
			var wantIDs [][]uuid.UUID
			for _, ns := range tt.resources {
				var ids []uuid.UUID
				for _, n := range ns {
					ids = append(ids, f.id(n))
				}
				wantIDs = append(wantIDs, ids)
			}
			if !slices.EqualFunc(got.Slot.Resources, wantIDs, slices.Equal) {
				t.Errorf("resources = %v, want %v", got.Slot.Resources, wantIDs)
			}
			if !slices.Equal(got.Bumps, tt.bumps) {
				t.Errorf("bumps = %v, want %v", got.Bumps, tt.bumps)
			}
		})
	}
}

func TestFindSlotAcrossDaylightSaving(t *testing.T) {
	// London moves to BST (UTC+1) on Sunday 28 March 2027: the room opens at
	// 08:00 GMT on the Friday before and at 08:00 BST, 07:00 UTC, on Monday.
	f := sched
	room := f.room(1, "operating-theatre")
	room.TimeZone = "Europe/London"
	q := f.request(f.theatre)
	q.Window = procedure.Period{From: time.Date(2027, 3, 26, 0, 0, 0, 0, time.UTC), To: time.Date(2027, 3, 30, 0, 0, 0, 0, time.UTC)}
	s := procedure.Search{Request: q, Resources: []procedure.Resource{room}, Busy: map[uuid.UUID][]procedure.Busy{room.ID: {
		f.busy(time.Date(2027, 3, 26, 8, 0, 0, 0, time.UTC), time.Date(2027, 3, 26, 18, 0, 0, 0, time.UTC), f.id(701), procedure.PriorityElective),
	}}}
	got, err := procedure.FindSlot(s)
	if want := time.Date(2027, 3, 29, 7, 0, 0, 0, time.UTC); err != nil || !got.Slot.From.Equal(want) {
		t.Fatalf("FindSlot = %v, %v, want the slot at %s", got.Slot.From, err, want)
	}
	if !room.Open(got.Slot.Period) || room.Open(procedure.Period{From: got.Slot.From.Add(-time.Hour), To: got.Slot.From}) {
		t.Error("Open disagrees with the search about Monday's opening")
	}
}

func TestFindSlotRefusesWithReasons(t *testing.T) {
	f := sched
	caseA := f.id(701)
	monday := func(q procedure.Request) procedure.Request {
		q.Window = procedure.Period{From: f.at(0, "00:00"), To: f.at(1, "00:00")}
		return q
	}
	window := func(q procedure.Request, from, to time.Time) procedure.Request {
		q.Window = procedure.Period{From: from, To: to}
		return q
	}
	inactive := f.room(1, "cath-lab")
	inactive.Active = false
	longBlocked := f.room(1, "operating-theatre")
	longBlocked.Blocked = []procedure.Blocked{{Period: procedure.Period{From: f.at(0, "00:00"), To: f.at(40, "00:00")}, Reason: "refurbishment"}}
	hourly := func(day int, clocks ...string) []procedure.Period {
		var ps []procedure.Period
		for _, c := range clocks {
			from := f.at(day, c)
			ps = append(ps, procedure.Period{From: from, To: from.Add(time.Hour)})
		}
		return ps
	}
	long := func(q procedure.Request) procedure.Request { q.Duration = 2 * time.Hour; return q }
	twoHourly := func(day int, clocks ...string) []procedure.Period {
		ps := hourly(day, clocks...)
		for i := range ps {
			ps[i].To = ps[i].To.Add(time.Hour)
		}
		return ps
	}

	for _, tt := range []struct {
		name         string
		search       procedure.Search
		reason       string // a part of the reason
		blocking     []int  // requirements blocking, -1 the patient
		why          string // a part of the first blocker's why
		alternatives []procedure.Period
	}{
		{"no room with the capability", f.search(f.request(f.cathLab), []procedure.Resource{f.room(1, "operating-theatre")}, nil),
			"no active room with capability cath-lab", []int{0}, "no active room with capability cath-lab", nil},
		{"an inactive room is no room", f.search(f.request(f.cathLab), []procedure.Resource{inactive}, nil),
			"no active room with capability cath-lab", []int{0}, "no active room", nil},
		{"too few surgeons", f.search(f.request(f.theatre, f.surgeons), []procedure.Resource{f.room(1, "operating-theatre"), f.staff(2, "surgeon")}, nil),
			"only 1 active member of staff with skill surgeon, 2 needed", []int{1}, "2 needed", nil},
		{"one member of staff for two requirements", f.search(f.request(f.surgeon, f.anaesthetist), []procedure.Resource{f.staff(1, "surgeon", "anaesthetist")}, nil),
			"the member of staff with skill surgeon and the member of staff with skill anaesthetist together need 2 distinct resources, and only 1 meets them",
			[]int{0, 1}, "a resource serves one requirement of a slot", nil},
		{"every room busy throughout", f.search(monday(f.request(f.theatre)), []procedure.Resource{f.room(1, "operating-theatre")},
			map[int][]procedure.Busy{1: {f.busy(f.at(0, "08:00"), f.at(0, "18:00"), caseA, procedure.PriorityElective)}}),
			"the 3 nearest slots after the window (within 14 days) are offered instead", []int{0}, "every room with capability operating-theatre is busy or closed throughout the window",
			hourly(1, "08:00", "09:00", "10:00")},
		{"closed throughout the weekend", f.search(window(f.request(f.theatre), f.at(5, "00:00"), f.at(7, "00:00")), []procedure.Resource{f.room(1, "operating-theatre")}, nil),
			"no slot from 2026-12-12T00:00:00Z to 2026-12-14T00:00:00Z", []int{0}, "is closed (working hours or blocked periods) throughout the window",
			hourly(7, "08:00", "09:00", "10:00")},
		{"the patient busy throughout", f.search(monday(f.request(f.theatre)), []procedure.Resource{f.room(1, "operating-theatre")},
			map[int][]procedure.Busy{999: {f.busy(f.at(0, "00:00"), f.at(1, "00:00"), caseA, procedure.PriorityElective)}}),
			"the patient is busy throughout the window", []int{-1}, "patient", hourly(1, "08:00", "09:00", "10:00")},
		{"the patient busy whenever the room is free", f.search(monday(f.request(f.theatre)), []procedure.Resource{f.room(1, "operating-theatre")},
			map[int][]procedure.Busy{1: {f.busy(f.at(0, "10:00"), f.at(0, "18:00"), caseA, procedure.PriorityElective)},
				999: {f.busy(f.at(0, "07:00"), f.at(0, "10:00"), f.id(702), procedure.PriorityElective)}}),
			"the patient is busy whenever the resources are free", []int{-1}, "whenever", hourly(1, "08:00", "09:00", "10:00")},
		{"room and f.surgeon never free together", f.search(monday(f.request(f.theatre, f.surgeon)), []procedure.Resource{f.room(1, "operating-theatre"), f.staff(2, "surgeon")},
			map[int][]procedure.Busy{1: {f.busy(f.at(0, "12:00"), f.at(0, "18:00"), caseA, procedure.PriorityElective)},
				2: {f.busy(f.at(0, "08:00"), f.at(0, "12:00"), f.id(702), procedure.PriorityElective)}}),
			"free only while another requirement is not", []int{0, 1}, "the room with capability operating-theatre is free only", hourly(1, "08:00", "09:00", "10:00")},
		{"never two surgeons at once", f.search(monday(f.request(f.surgeons)), []procedure.Resource{f.staff(1, "surgeon"), f.staff(2, "surgeon")},
			map[int][]procedure.Busy{1: {f.busy(f.at(0, "08:00"), f.at(0, "13:00"), caseA, procedure.PriorityElective)},
				2: {f.busy(f.at(0, "13:00"), f.at(0, "18:00"), f.id(702), procedure.PriorityElective)}}),
			"never 2 members of staff with skill surgeon free at once", []int{0}, "never 2", hourly(1, "08:00", "09:00", "10:00")},
		{"a window too short", f.search(long(window(f.request(f.theatre), f.at(0, "08:00"), f.at(0, "09:00"))), []procedure.Resource{f.room(1, "operating-theatre")}, nil),
			"is too short for a 2h0m0s case", nil, "", twoHourly(0, "08:00", "10:00", "12:00")},
		{"nothing within 14 days after the window", f.search(f.request(f.theatre), []procedure.Resource{longBlocked}, nil),
			"nor is there one in the 14 days after the window", []int{0}, "closed", nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := procedure.FindSlot(tt.search)
			var refusal *procedure.NoSlot
			if !errors.Is(err, procedure.ErrNoSlot) || !errors.As(err, &refusal) {
				t.Fatalf("err = %v, want a *NoSlot", err)
			}
			t.Logf("reason: %s", refusal.Reason)
			if !strings.Contains(refusal.Reason, tt.reason) {
				t.Errorf("reason = %q, want it to say %q", refusal.Reason, tt.reason)
			}
			var blocking []int
			for _, b := range refusal.Blocking {
				blocking = append(blocking, b.Requirement)
			}
			if !slices.Equal(blocking, tt.blocking) {
				t.Errorf("blocking requirements = %v, want %v (%+v)", blocking, tt.blocking, refusal.Blocking)
			}
			if len(refusal.Blocking) > 0 && !strings.Contains(refusal.Blocking[0].Why, tt.why) {
				t.Errorf("why = %q, want it to say %q", refusal.Blocking[0].Why, tt.why)
			}
			var alternatives []procedure.Period
			for _, a := range refusal.Alternatives {
				alternatives = append(alternatives, procedure.Period{From: a.From, To: a.To})
			}
			if !slices.EqualFunc(alternatives, tt.alternatives, func(a, b procedure.Period) bool { return a.From.Equal(b.From) && a.To.Equal(b.To) }) {
				t.Errorf("alternatives = %v, want %v", alternatives, tt.alternatives)
			}
		})
	}
}

func TestFindSlotNamesTheBlockingResources(t *testing.T) {
	f := sched
	q := f.request(f.theatre)
	q.Window = procedure.Period{From: f.at(0, "08:00"), To: f.at(0, "18:00")}
	s := f.search(q, []procedure.Resource{f.room(1, "operating-theatre"), f.room(2, "operating-theatre"), f.room(3, "endoscopy")},
		map[int][]procedure.Busy{
			1: {f.busy(f.at(0, "08:00"), f.at(0, "18:00"), f.id(701), procedure.PriorityElective)},
			2: {f.busy(f.at(0, "08:00"), f.at(0, "18:00"), f.id(702), procedure.PriorityUrgent)},
		})
	_, err := procedure.FindSlot(s)
	var refusal *procedure.NoSlot
	if !errors.As(err, &refusal) || len(refusal.Blocking) != 1 {
		t.Fatalf("err = %v, want one blocker", err)
	}
	if got, want := refusal.Blocking[0].ResourceIDs, []uuid.UUID{f.id(1), f.id(2)}; !slices.Equal(got, want) {
		t.Errorf("blocking resources = %v, want the two theatres %v", got, want)
	}
	outcome := refusal.Outcome(f.at(0, "07:00"))
	if outcome.Reason != refusal.Reason || len(outcome.Alternatives) != 3 || !outcome.At.Equal(f.at(0, "07:00")) {
		t.Errorf("outcome = %+v, want the refusal as kept", outcome)
	}
}

func TestFindSlotRefusesAnInvalidSearch(t *testing.T) {
	f := sched
	valid := f.search(f.request(f.theatre), []procedure.Resource{f.room(1, "operating-theatre")}, nil)
	for _, tt := range []struct {
		name   string
		change func(*procedure.Search)
	}{
		{"no duration", func(s *procedure.Search) { s.Request.Duration = 0 }},
		{"a window ending before it starts", func(s *procedure.Search) { s.Request.Window.To = s.Request.Window.From.Add(-time.Hour) }},
		{"no window", func(s *procedure.Search) { s.Request.Window = procedure.Period{} }},
		{"a window of two years", func(s *procedure.Search) { s.Request.Window.To = s.Request.Window.From.AddDate(2, 0, 0) }},
		{"a step under a minute", func(s *procedure.Search) { s.Step = 30 * time.Second }},
		{"an elective case bumping", func(s *procedure.Search) { s.Bump = true }},
	} {
		s := valid
		s.Request.Requirements = slices.Clone(valid.Request.Requirements)
		tt.change(&s)
		if _, err := procedure.FindSlot(s); !errors.Is(err, procedure.ErrInvalidArgument) {
			t.Errorf("%s: err = %v, want ErrInvalidArgument", tt.name, err)
		}
		if got := procedure.Availability(s, 5); got != nil {
			t.Errorf("%s: availability = %v, want none", tt.name, got)
		}
	}
}

func TestAvailability(t *testing.T) {
	f := sched
	s := f.search(f.request(f.theatre, f.surgeon), []procedure.Resource{f.room(1, "operating-theatre"), f.staff(2, "surgeon")},
		map[int][]procedure.Busy{1: {f.busy(f.at(0, "08:00"), f.at(0, "09:00"), f.id(701), procedure.PriorityElective),
			f.busy(f.at(0, "10:10"), f.at(0, "18:00"), f.id(702), procedure.PriorityElective)}})
	var got []time.Time
	for _, slot := range procedure.Availability(s, 4) {
		got = append(got, slot.From)
		if !slices.Equal(slot.Resources[0], []uuid.UUID{f.id(1)}) || !slices.Equal(slot.Resources[1], []uuid.UUID{f.id(2)}) {
			t.Errorf("slot at %s took %v", slot.From.Format("15:04"), slot.Resources)
		}
	}
	want := []time.Time{f.at(0, "09:00"), f.at(0, "09:05"), f.at(0, "09:10"), f.at(1, "08:00")}
	if !slices.EqualFunc(got, want, time.Time.Equal) {
		t.Errorf("availability = %v, want %v", got, want)
	}
	if got := procedure.Availability(s, 0); got != nil {
		t.Errorf("availability with no limit = %v, want none", got)
	}
}

// TestFindSlotMatchesExhaustiveSearch checks the search against trying
// every start and every assignment on random small directories.
func TestFindSlotMatchesExhaustiveSearch(t *testing.T) {
	f := sched
	rng := rand.New(rand.NewPCG(7, 12))
	zones := []string{"", "Asia/Dhaka", "America/New_York"}
	clocks := []string{"00:00", "06:00", "07:30", "08:00", "10:00", "12:00", "13:15", "16:00", "18:00", "20:00", "24:00"}
	priorities := []procedure.Priority{procedure.PriorityElective, procedure.PriorityUrgent, procedure.PriorityEmergency}
	found, refused := 0, 0
	for trial := range 300 {
		var resources []procedure.Resource
		busy := map[uuid.UUID][]procedure.Busy{}
		randomBusy := func(n int) []procedure.Busy {
			var bs []procedure.Busy
			for range n {
				from := f.at(rng.IntN(4), "00:00").Add(time.Duration(rng.IntN(24*12)) * 5 * time.Minute)
				p := priorities[rng.IntN(3)]
				bs = append(bs, f.busy(from, from.Add(time.Duration(1+rng.IntN(36))*5*time.Minute), f.id(700+rng.IntN(20)), p))
			}
			slices.SortFunc(bs, func(a, b procedure.Busy) int { return a.From.Compare(b.From) })
			return bs
		}
		for n := 1; n <= 9; n++ {
			var r procedure.Resource
			switch {
			case n <= 3:
				r = f.room(n, []string{"operating-theatre", "endoscopy"}[rng.IntN(2)])
			case n <= 7:
				r = f.staff(n, [][]string{{"surgeon"}, {"anaesthetist"}, {"surgeon", "anaesthetist"}}[rng.IntN(3)]...)
			default:
				r = f.equipment(n, "c-arm")
			}
			r.TimeZone = zones[rng.IntN(len(zones))]
			r.Turnover = time.Duration(rng.IntN(3)) * 15 * time.Minute
			r.Active = rng.IntN(20) > 0
			r.Hours = nil
			for d := time.Sunday; d <= time.Saturday; d++ {
				if rng.IntN(8) == 0 {
					continue
				}
				a := rng.IntN(6)
				b := a + 1 + rng.IntN(len(clocks)-1-a)
				r.Hours = append(r.Hours, procedure.Hours{Weekday: d, From: clocks[a], To: clocks[b]})
			}
			if rng.IntN(3) == 0 {
				from := f.at(rng.IntN(4), "00:00").Add(time.Duration(rng.IntN(24)) * time.Hour)
				r.Blocked = []procedure.Blocked{{Period: procedure.Period{From: from, To: from.Add(time.Duration(1+rng.IntN(30)) * time.Hour)}, Reason: "maintenance"}}
			}
			resources = append(resources, r)
			busy[r.ID] = randomBusy(rng.IntN(8))
		}
		busy[f.patient] = randomBusy(rng.IntN(4))
		reqs := []procedure.Requirement{f.theatre, {Type: procedure.KindStaff, Skill: "surgeon", Count: 1 + rng.IntN(3)/2}}
		if rng.IntN(2) == 0 {
			reqs = append(reqs, f.anaesthetist)
		}
		if rng.IntN(2) == 0 {
			reqs = append(reqs, f.carm)
		}
		q := f.request(reqs...)
		q.Duration = time.Duration(3+rng.IntN(12)) * 10 * time.Minute
		q.Window = procedure.Period{From: f.at(0, "00:00").Add(time.Duration(rng.IntN(48)) * 7 * time.Minute)}
		q.Window.To = q.Window.From.Add(time.Duration(8+rng.IntN(80)) * time.Hour)
		s := procedure.Search{Request: q, Resources: resources, Busy: busy, Step: []time.Duration{0, 15 * time.Minute, 10 * time.Minute}[rng.IntN(3)]}
		if rng.IntN(3) == 0 {
			s.Request.Priority, s.Bump = procedure.PriorityEmergency, true
		}
		if rng.IntN(3) == 0 {
			p := f.id(500 + 4 + rng.IntN(4))
			s.Request.PreferredPractitionerID = &p
		}

		want := exhaustiveStarts(s, 3)
		if len(want) > 0 {
			found++
		} else {
			refused++
		}
		got, err := procedure.FindSlot(s)
		switch {
		case len(want) == 0 && !errors.Is(err, procedure.ErrNoSlot):
			t.Fatalf("trial %d: FindSlot = %+v, %v, want no slot", trial, got, err)
		case len(want) > 0 && err != nil:
			t.Fatalf("trial %d: FindSlot = %v, want a slot at %s", trial, err, want[0].Format(time.RFC3339))
		case len(want) > 0 && !got.Slot.From.Equal(want[0]):
			t.Fatalf("trial %d: slot at %s, want %s", trial, got.Slot.From.Format(time.RFC3339), want[0].Format(time.RFC3339))
		case len(want) > 0:
			if why := slotFault(s, got.Slot); why != "" {
				t.Fatalf("trial %d: slot %+v: %s", trial, got.Slot, why)
			}
		}
		var starts []time.Time
		for _, a := range procedure.Availability(s, 3) {
			starts = append(starts, a.From)
			if why := slotFault(s, a); why != "" {
				t.Fatalf("trial %d: available slot %+v: %s", trial, a, why)
			}
		}
		if !slices.EqualFunc(starts, want, time.Time.Equal) {
			t.Fatalf("trial %d: availability %v, want %v", trial, starts, want)
		}
	}
	if found < 60 || refused < 30 {
		t.Errorf("%d searches found a slot and %d none: the random directories no longer test both", found, refused)
	}
	t.Logf("%d searches found a slot, %d none", found, refused)
}

// exhaustiveStarts tries every aligned start of the window in turn and
// every assignment of resources to requirements, answering the first limit
// starts that work.
func exhaustiveStarts(s procedure.Search, limit int) []time.Time {
	step := s.Step
	if step == 0 {
		step = 5 * time.Minute
	}
	q := s.Request
	var starts []time.Time
	first := q.Window.From.Truncate(step)
	if first.Before(q.Window.From) {
		first = first.Add(step)
	}
	for at := first; !at.Add(q.Duration).After(q.Window.To) && len(starts) < limit; at = at.Add(step) {
		if !exhaustiveFree(s.Busy[q.PatientID], procedure.Period{From: at, To: at.Add(q.Duration)}, false) {
			continue
		}
		var fit [][]procedure.Resource
		for _, req := range q.Requirements {
			var rs []procedure.Resource
			for _, r := range s.Resources {
				if r.Has(req) && exhaustiveFits(s, r, at) {
					rs = append(rs, r)
				}
			}
			fit = append(fit, rs)
		}
		if exhaustiveAssignable(q.Requirements, fit, 0, 0, map[uuid.UUID]bool{}) {
			starts = append(starts, at)
		}
	}
	return starts
}

// exhaustiveAssignable reports whether requirements from j on (with taken of
// requirement j already given) can each get Needed distinct unused resources.
func exhaustiveAssignable(reqs []procedure.Requirement, fit [][]procedure.Resource, j, taken int, used map[uuid.UUID]bool) bool {
	if j == len(reqs) {
		return true
	}
	if taken == reqs[j].Needed() {
		return exhaustiveAssignable(reqs, fit, j+1, 0, used)
	}
	for _, r := range fit[j] {
		if used[r.ID] {
			continue
		}
		used[r.ID] = true
		ok := exhaustiveAssignable(reqs, fit, j, taken+1, used)
		used[r.ID] = false
		if ok {
			return true
		}
	}
	return false
}

func exhaustiveFits(s procedure.Search, r procedure.Resource, at time.Time) bool {
	d := s.Request.Duration
	return exhaustiveFree(s.Busy[r.ID], procedure.Period{From: at, To: at.Add(d + r.Turnover)}, s.Bump) && r.Open(procedure.Period{From: at, To: at.Add(d)})
}

func exhaustiveFree(busy []procedure.Busy, p procedure.Period, bump bool) bool {
	for _, b := range busy {
		if b.Overlaps(p) && !(bump && b.Priority == procedure.PriorityElective && b.ProcedureID != uuid.Nil) {
			return false
		}
	}
	return true
}

// slotFault says what is wrong with a slot the search answered, or "".
func slotFault(s procedure.Search, slot procedure.Slot) string {
	if len(slot.Resources) != len(s.Request.Requirements) {
		return "not one resource list per requirement"
	}
	used := map[uuid.UUID]bool{}
	for j, req := range s.Request.Requirements {
		if len(slot.Resources[j]) != req.Needed() {
			return "wrong count for requirement " + req.Skill + req.Capability + req.Kind
		}
		for _, id := range slot.Resources[j] {
			i := slices.IndexFunc(s.Resources, func(r procedure.Resource) bool { return r.ID == id })
			switch {
			case i < 0 || !s.Resources[i].Has(req):
				return "a resource not meeting its requirement"
			case used[id]:
				return "a resource serving twice"
			case !exhaustiveFits(s, s.Resources[i], slot.From):
				return "a resource not free"
			}
			used[id] = true
		}
	}
	return ""
}

// A resource working round the clock takes a case that runs across
// midnight: Tuesday's 00:00–24:00 and Wednesday's are one span.
func TestFindSlotAcrossMidnight(t *testing.T) {
	f := sched
	room := f.room(1, "operating-theatre")
	room.Hours = nil
	for d := time.Sunday; d <= time.Saturday; d++ {
		room.Hours = append(room.Hours, procedure.Hours{Weekday: d, From: "00:00", To: "24:00"})
	}
	q := f.request(f.theatre)
	q.Duration = time.Hour
	at := time.Date(2026, 12, 1, 23, 10, 0, 0, time.UTC) // a Tuesday
	q.Window = procedure.Period{From: at, To: at.Add(5 * time.Hour)}
	got, err := procedure.FindSlot(procedure.Search{Request: q, Resources: []procedure.Resource{room}})
	if err != nil || !got.Slot.From.Equal(at) {
		t.Fatalf("FindSlot = %v, %v, want the slot at %s", got.Slot.From, err, at)
	}
	if !room.Open(got.Slot.Period) {
		t.Error("Open disagrees with the search about a case across midnight")
	}
	room.Hours = room.Hours[:2] // Sunday and Monday only
	if room.Open(procedure.Period{From: time.Date(2026, 11, 30, 23, 30, 0, 0, time.UTC), To: time.Date(2026, 12, 1, 0, 30, 0, 0, time.UTC)}) {
		t.Error("Open takes a case running into a Tuesday the room does not work")
	}
}
