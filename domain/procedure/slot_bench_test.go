package procedure_test

import (
	"errors"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/zarish-sphere/zarish/domain/procedure"
)

// BenchmarkFindSlot searches a directory of 200 resources (40 rooms, 120
// members of staff, 40 pieces of equipment, open 07:00–19:00 Monday to
// Friday in Asia/Dhaka) holding 5,000 busy spans over a 30-day window, for
// a two-hour case needing an operating theatre, a surgeon, an anaesthetist
// and a C-arm. It reports the 95th percentile of one search besides ns/op:
//
//   - spread: the spans fall at random on any resource;
//   - crowded: they fill the 64 resources the case may take for its first
//     18 days with gaps too short for it, so the search walks far into the
//     window;
//   - refused: they fill the C-arms past the window, so the search explains
//     the refusal and seeks the alternatives after it.
func BenchmarkFindSlot(b *testing.B) {
	for _, tt := range []struct {
		name  string
		fill  func(rng *rand.Rand, resources []procedure.Resource, from time.Time) map[uuid.UUID][]procedure.Busy
		found bool
		after int // the days the slot lies after the window's start, at least
	}{
		{"spread", benchSpread, true, 0},
		{"crowded", benchCrowded(18, benchNeeded), true, 17},
		{"refused", benchCrowded(37, func(r procedure.Resource) bool { return r.EquipmentKind == "c-arm" }), false, 0},
	} {
		b.Run(tt.name, func(b *testing.B) {
			rng := rand.New(rand.NewPCG(2026, 12))
			from := time.Date(2026, 12, 7, 0, 0, 0, 0, time.UTC)
			resources := benchDirectory()
			s := procedure.Search{
				Request: procedure.Request{ID: uuid.New(), PatientID: uuid.New(), Duration: 2 * time.Hour,
					Requirements: []procedure.Requirement{
						{Type: procedure.KindRoom, Capability: "operating-theatre"},
						{Type: procedure.KindStaff, Skill: "surgeon"},
						{Type: procedure.KindStaff, Skill: "anaesthetist"},
						{Type: procedure.KindEquipment, Kind: "c-arm"},
					},
					Window: procedure.Period{From: from, To: from.AddDate(0, 0, 30)}, Priority: procedure.PriorityElective},
				Resources: resources,
				Busy:      tt.fill(rng, resources, from),
			}
			spans := 0
			for _, bs := range s.Busy {
				spans += len(bs)
			}
			if spans != 5000 {
				b.Fatalf("%d busy spans, want 5000", spans)
			}
			durations := make([]time.Duration, 0, max(b.N, 1))
			for b.Loop() {
				start := time.Now()
				f, err := procedure.FindSlot(s)
				durations = append(durations, time.Since(start))
				if (err == nil) != tt.found || (err != nil && !errors.Is(err, procedure.ErrNoSlot)) {
					b.Fatalf("FindSlot = %v, want found %v", err, tt.found)
				}
				if err == nil && f.Slot.From.Before(from.AddDate(0, 0, tt.after)) {
					b.Fatalf("slot at %s, want one at least %d days after %s", f.Slot.From, tt.after, from)
				}
			}
			slices.Sort(durations)
			p95 := durations[int(math.Ceil(0.95*float64(len(durations))))-1]
			b.ReportMetric(float64(p95)/float64(time.Millisecond), "p95-ms")
		})
	}
}

func benchDirectory() []procedure.Resource {
	var hours []procedure.Hours
	for d := time.Monday; d <= time.Friday; d++ {
		hours = append(hours, procedure.Hours{Weekday: d, From: "07:00", To: "19:00"})
	}
	var resources []procedure.Resource
	add := func(r procedure.Resource) {
		r.ID, r.Name, r.TimeZone, r.Hours, r.Active = uuid.New(), "Resource", "Asia/Dhaka", hours, true
		resources = append(resources, r)
	}
	for i := range 40 {
		capabilities := []string{procedure.Capabilities[1+i%(len(procedure.Capabilities)-1)]} // not a theatre
		if i%2 == 0 {
			capabilities = append(capabilities, "operating-theatre")
		}
		add(procedure.Resource{Kind: procedure.KindRoom, Turnover: 30 * time.Minute, Capabilities: capabilities})
	}
	for i := range 120 {
		p := uuid.New()
		add(procedure.Resource{Kind: procedure.KindStaff, PractitionerID: &p, Skills: []string{procedure.Skills[i%len(procedure.Skills)]}})
	}
	kinds := []string{"c-arm", "ultrasound", "ventilator", "laparoscopy-tower"}
	for i := range 40 {
		add(procedure.Resource{Kind: procedure.KindEquipment, EquipmentKind: kinds[i%len(kinds)], Turnover: 15 * time.Minute})
	}
	return resources
}

// benchSpread puts 5,000 cases of 30 minutes to 4 hours on random
// resources at random times of the 30 days.
func benchSpread(rng *rand.Rand, resources []procedure.Resource, from time.Time) map[uuid.UUID][]procedure.Busy {
	busy := map[uuid.UUID][]procedure.Busy{}
	for range 5000 {
		r := resources[rng.IntN(len(resources))]
		at := from.Add(time.Duration(rng.IntN(30*24*12)) * 5 * time.Minute)
		busy[r.ID] = append(busy[r.ID], procedure.Busy{Period: procedure.Period{From: at, To: at.Add(time.Duration(6+rng.IntN(43)) * 5 * time.Minute)},
			ProcedureID: uuid.New(), Priority: procedure.PriorityElective})
	}
	for id := range busy {
		slices.SortFunc(busy[id], func(a, b procedure.Busy) int { return a.From.Compare(b.From) })
	}
	return busy
}

// benchCrowded fills the resources that crowded picks, each working day
// of the first days days, with 100-minute cases 30 to 50 minutes apart
// (too little for the case, every resource's gaps at its own times), and
// puts the rest of the 5,000 spans at random on the other resources.
func benchCrowded(days int, crowded func(procedure.Resource) bool) func(rng *rand.Rand, resources []procedure.Resource, from time.Time) map[uuid.UUID][]procedure.Busy {
	return func(rng *rand.Rand, resources []procedure.Resource, from time.Time) map[uuid.UUID][]procedure.Busy {
		dhaka, err := time.LoadLocation("Asia/Dhaka")
		if err != nil {
			panic(err)
		}
		var others []procedure.Resource
		busy := map[uuid.UUID][]procedure.Busy{}
		spans := 0
		for _, r := range resources {
			if !crowded(r) {
				others = append(others, r)
				continue
			}
			for d := range days {
				y, m, day := from.In(dhaka).Date()
				open := time.Date(y, m, day+d, 7, 0, 0, 0, dhaka)
				if open.Weekday() == time.Saturday || open.Weekday() == time.Sunday {
					continue
				}
				closing := open.Add(12 * time.Hour)
				for at := open.Add(time.Duration(rng.IntN(60)) * time.Minute); at.Before(closing) && spans < 5000; spans++ {
					busy[r.ID] = append(busy[r.ID], procedure.Busy{Period: procedure.Period{From: at, To: at.Add(100 * time.Minute)},
						ProcedureID: uuid.New(), Priority: procedure.PriorityElective})
					at = at.Add(time.Duration(130+rng.IntN(21)) * time.Minute)
				}
			}
		}
		for ; spans < 5000; spans++ {
			r := others[rng.IntN(len(others))]
			at := from.Add(time.Duration(rng.IntN(30*24*12)) * 5 * time.Minute)
			busy[r.ID] = append(busy[r.ID], procedure.Busy{Period: procedure.Period{From: at, To: at.Add(time.Hour)},
				ProcedureID: uuid.New(), Priority: procedure.PriorityElective})
		}
		for id := range busy {
			slices.SortFunc(busy[id], func(a, b procedure.Busy) int { return a.From.Compare(b.From) })
		}
		return busy
	}
}

// benchNeeded reports whether the benchmark's case may need r.
func benchNeeded(r procedure.Resource) bool {
	return slices.Contains(r.Capabilities, "operating-theatre") || slices.Contains(r.Skills, "surgeon") ||
		slices.Contains(r.Skills, "anaesthetist") || r.EquipmentKind == "c-arm"
}
