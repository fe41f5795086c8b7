package procedure

import (
	"cmp"
	"encoding/json"
	"math"
	"slices"
	"time"

	"github.com/google/uuid"
)

// OnTimeTolerance is how late a start may be and still count as on time.
// It is a local rule, not a published standard (theatre audits differ in
// the grace they allow). A start before the planned one is on time.
const OnTimeTolerance = 15 * time.Minute

// Assigned is one resource a procedure's slot takes, with its kind (the
// kind of the requirement it serves).
type Assigned struct {
	ID   uuid.UUID    `json:"id"`
	Kind ResourceKind `json:"kind"`
}

// Summary is what the quality metrics read of one procedure; the read model
// keeps it beside the procedure so metrics are computed without the
// history. Times absent are nil: a procedure never scheduled has no planned
// start, one never started no actual start.
type Summary struct {
	ProcedureID uuid.UUID `json:"procedureId"`
	PatientID   uuid.UUID `json:"patientId"`
	// ProcedureSystem and ProcedureCode are the requested procedure's
	// coding (SNOMED CT or CPT).
	ProcedureSystem string     `json:"procedureSystem"`
	ProcedureCode   string     `json:"procedureCode"`
	Priority        Priority   `json:"priority"`
	Status          Status     `json:"status"`
	RequestedAt     time.Time  `json:"requestedAt"`
	PlannedStart    *time.Time `json:"plannedStart,omitempty"`
	PlannedEnd      *time.Time `json:"plannedEnd,omitempty"`
	// RoomID is the room the slot takes; uuid.Nil without a slot or a room.
	RoomID uuid.UUID `json:"roomId,omitzero"`
	// Resources are every resource the slot takes, in requirement order.
	Resources   []Assigned `json:"resources,omitempty"`
	CheckedIn   bool       `json:"checkedIn,omitempty"`
	ActualStart *time.Time `json:"actualStart,omitempty"`
	ActualEnd   *time.Time `json:"actualEnd,omitempty"`
	// StartDelay is the actual start less the planned one, negative when
	// early; OnTime whether it is at most OnTimeTolerance. Both are nil
	// unless the procedure started with a planned start.
	StartDelay *time.Duration `json:"startDelay,omitempty"`
	OnTime     *bool          `json:"onTime,omitempty"`
	// PlannedMinutes is the requested duration; ActualMinutes the recorded
	// one, rounded to the minute, once completed.
	PlannedMinutes int  `json:"plannedMinutes"`
	ActualMinutes  *int `json:"actualMinutes,omitempty"`
	Complications  int  `json:"complications,omitempty"`
	Cancelled      bool `json:"cancelled,omitempty"`
	NoShow         bool `json:"noShow,omitempty"`
	Reschedules    int  `json:"reschedules,omitempty"`
	Bumped         int  `json:"bumped,omitempty"`
}

// Summary is the procedure as the quality metrics read it. The actual start
// is the completion's when recorded, else the Start command's; the planned
// times are the slot's as it stands (kept by a cancellation or a no-show,
// gone after a bump or an expired hold).
func (p Procedure) Summary() Summary {
	r := p.Request
	s := Summary{ProcedureID: r.ID, PatientID: r.PatientID, ProcedureSystem: r.Procedure.System, ProcedureCode: r.Procedure.Code,
		Priority: r.Priority, Status: p.Status, RequestedAt: r.CreatedAt, CheckedIn: p.CheckedInAt != nil,
		PlannedMinutes: int(r.Duration / time.Minute), Cancelled: p.Status == StatusCancelled,
		NoShow: p.Status == StatusNoShow, Reschedules: p.Reschedules, Bumped: p.Bumped}
	if p.Slot != nil {
		s.PlannedStart, s.PlannedEnd = cloneTime(&p.Slot.From), cloneTime(&p.Slot.To)
		for i, ids := range p.Slot.Resources {
			kind := ResourceKind("")
			if i < len(r.Requirements) {
				kind = r.Requirements[i].Type
			}
			for _, id := range ids {
				s.Resources = append(s.Resources, Assigned{ID: id, Kind: kind})
				if kind == KindRoom && s.RoomID == uuid.Nil {
					s.RoomID = id
				}
			}
		}
	}
	switch {
	case p.Completion != nil && !p.Completion.StartedAt.IsZero():
		s.ActualStart = cloneTime(&p.Completion.StartedAt)
	case p.StartedAt != nil:
		s.ActualStart = cloneTime(p.StartedAt)
	}
	if c := p.Completion; c != nil {
		s.ActualEnd = cloneTime(&c.EndedAt)
		s.Complications = len(c.Complications)
		if s.ActualStart != nil {
			m := int(c.EndedAt.Sub(*s.ActualStart).Round(time.Minute) / time.Minute)
			s.ActualMinutes = &m
		}
	}
	if s.ActualStart != nil && s.PlannedStart != nil {
		d := s.ActualStart.Sub(*s.PlannedStart)
		on := d <= OnTimeTolerance
		s.StartDelay, s.OnTime = &d, &on
	}
	return s
}

// Rate is Count of Of. Rate is 0 when Of is 0: read Of before the rate.
type Rate struct {
	Count int     `json:"count"`
	Of    int     `json:"of"`
	Rate  float64 `json:"rate"`
}

// Mean is the mean of Count durations; 0 when Count is 0.
type Mean struct {
	Count int           `json:"count"`
	Mean  time.Duration `json:"-"`
}

// MarshalJSON writes the mean in minutes, as the API reads durations.
func (m Mean) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		Count       int     `json:"count"`
		MeanMinutes float64 `json:"meanMinutes"`
	}{m.Count, m.Mean.Minutes()})
}

// Utilisation is the share of a resource's (or a kind's) open time that
// was booked over the range: 0 when nothing was open (OpenMinutes 0).
type Utilisation struct {
	ResourceID uuid.UUID `json:"resourceId,omitzero"`
	// Kind is empty for a resource no summary names: its kind is unknown.
	Kind          ResourceKind `json:"kind,omitempty"`
	BookedMinutes float64      `json:"bookedMinutes"`
	OpenMinutes   float64      `json:"openMinutes"`
	Rate          float64      `json:"rate"`
}

// StatusCount is how many procedures of the range stand in a status.
type StatusCount struct {
	Status Status `json:"status"`
	Count  int    `json:"count"`
}

// Report is the quality measures over the procedures of a range.
type Report struct {
	From time.Time `json:"from"`
	To   time.Time `json:"to"`
	// Procedures counts the summaries in the range (see Metrics), and
	// Statuses by status, every status listed.
	Procedures  int           `json:"procedures"`
	Statuses    []StatusCount `json:"statuses"`
	Rescheduled int           `json:"rescheduled"` // procedures rescheduled at least once
	Reschedules int           `json:"reschedules"`
	Bumped      int           `json:"bumped"` // procedures bumped at least once
	Bumps       int           `json:"bumps"`
	// OnTimeStart is the starts within OnTimeTolerance of the planned start,
	// of the procedures started with one; StartDelay the mean of their
	// delays (negative for early starts, so early and late offset).
	OnTimeStart Rate `json:"onTimeStart"`
	StartDelay  Mean `json:"startDelay"`
	// Overrun is the mean of the actual less the planned duration, over
	// the completed procedures.
	Overrun Mean `json:"overrun"`
	// Cancellation is the cancelled procedures of all in the range.
	Cancellation Rate `json:"cancellation"`
	// NoShow is the no-shows of the bookings that reached their day: the
	// no-shows and the procedures whose patient checked in.
	NoShow Rate `json:"noShow"`
	// Complication is the completed procedures with at least one
	// complication, of the completed ones.
	Complication Rate `json:"complication"`
	// Resources are the utilisation of every resource booked or open in
	// the range, by kind then id; Kinds the sums per kind, over the
	// resources whose kind is known.
	Resources []Utilisation `json:"resources"`
	Kinds     []Utilisation `json:"kinds"`
}

// booking reports whether the summary's slot counts as booked time: a
// slot booked and not cancelled (a no-show's slot was booked and lost).
func (s Summary) booking() bool {
	switch s.Status {
	case StatusBooked, StatusCheckedIn, StatusInProgress, StatusCompleted, StatusNoShow:
		return s.PlannedStart != nil && s.PlannedEnd != nil
	}
	return false
}

// Metrics computes the quality measures over [from, to). A procedure is in
// the range when its planned start is, or, never scheduled, its request
// time: the counts and rates are over those. Utilisation is the booked time
// of every summary given (whatever its start) that falls in the range, per
// resource, over capacity, the open time of each resource in the range.
// Every rate and mean with nothing to divide by is 0 with a count (Of,
// Count) of 0; a resource open for no time has a rate of 0.
func Metrics(summaries []Summary, from, to time.Time, capacity map[uuid.UUID]time.Duration) Report {
	m := Report{From: from, To: to}
	byStatus := map[Status]int{}
	var delays, overruns []time.Duration
	for _, s := range summaries {
		at := s.RequestedAt
		if s.PlannedStart != nil {
			at = *s.PlannedStart
		}
		if at.Before(from) || !at.Before(to) {
			continue
		}
		m.Procedures++
		byStatus[s.Status]++
		m.Reschedules += s.Reschedules
		m.Bumps += s.Bumped
		if s.Reschedules > 0 {
			m.Rescheduled++
		}
		if s.Bumped > 0 {
			m.Bumped++
		}
		if s.OnTime != nil && s.StartDelay != nil {
			m.OnTimeStart.Of++
			if *s.OnTime {
				m.OnTimeStart.Count++
			}
			delays = append(delays, *s.StartDelay)
		}
		m.Cancellation.Of++
		if s.Cancelled {
			m.Cancellation.Count++
		}
		if s.NoShow || s.CheckedIn {
			m.NoShow.Of++
			if s.NoShow {
				m.NoShow.Count++
			}
		}
		if s.Status == StatusCompleted {
			m.Complication.Of++
			if s.Complications > 0 {
				m.Complication.Count++
			}
			if s.ActualStart != nil && s.ActualEnd != nil {
				overruns = append(overruns, s.ActualEnd.Sub(*s.ActualStart)-time.Duration(s.PlannedMinutes)*time.Minute)
			}
		}
	}
	for _, st := range Statuses {
		m.Statuses = append(m.Statuses, StatusCount{Status: st, Count: byStatus[st]})
	}
	m.OnTimeStart.Rate = ratio(m.OnTimeStart.Count, m.OnTimeStart.Of)
	m.Cancellation.Rate = ratio(m.Cancellation.Count, m.Cancellation.Of)
	m.NoShow.Rate = ratio(m.NoShow.Count, m.NoShow.Of)
	m.Complication.Rate = ratio(m.Complication.Count, m.Complication.Of)
	m.StartDelay, m.Overrun = meanOf(delays), meanOf(overruns)
	m.Resources, m.Kinds = utilisation(summaries, from, to, capacity)
	return m
}

// utilisation sums the booked time in [from, to) of each resource and of
// each kind, against capacity.
func utilisation(summaries []Summary, from, to time.Time, capacity map[uuid.UUID]time.Duration) ([]Utilisation, []Utilisation) {
	booked := map[uuid.UUID]time.Duration{}
	kinds := map[uuid.UUID]ResourceKind{}
	for _, s := range summaries {
		for _, a := range s.Resources {
			if a.Kind != "" {
				kinds[a.ID] = a.Kind
			}
		}
		if !s.booking() {
			continue
		}
		lo, hi := later(*s.PlannedStart, from), earlier(*s.PlannedEnd, to)
		if !hi.After(lo) {
			continue
		}
		for _, a := range s.Resources {
			booked[a.ID] += hi.Sub(lo)
		}
	}
	ids := map[uuid.UUID]bool{}
	for id := range booked {
		ids[id] = true
	}
	for id := range capacity {
		ids[id] = true
	}
	var out []Utilisation
	perKind := map[ResourceKind]*Utilisation{}
	for id := range ids {
		u := Utilisation{ResourceID: id, Kind: kinds[id], BookedMinutes: booked[id].Minutes(), OpenMinutes: max(capacity[id], 0).Minutes()}
		u.Rate = share(u.BookedMinutes, u.OpenMinutes)
		out = append(out, u)
		if u.Kind == "" {
			continue
		}
		k := perKind[u.Kind]
		if k == nil {
			k = &Utilisation{Kind: u.Kind}
			perKind[u.Kind] = k
		}
		k.BookedMinutes += u.BookedMinutes
		k.OpenMinutes += u.OpenMinutes
	}
	slices.SortFunc(out, func(a, b Utilisation) int {
		return cmp.Or(cmp.Compare(a.Kind, b.Kind), cmp.Compare(a.ResourceID.String(), b.ResourceID.String()))
	})
	byKind := []Utilisation{}
	for _, kind := range []ResourceKind{KindRoom, KindStaff, KindEquipment} {
		if k := perKind[kind]; k != nil {
			k.Rate = share(k.BookedMinutes, k.OpenMinutes)
			byKind = append(byKind, *k)
		}
	}
	if out == nil {
		out = []Utilisation{}
	}
	return out, byKind
}

func ratio(n, of int) float64 {
	if of == 0 {
		return 0
	}
	return float64(n) / float64(of)
}

func share(n, of float64) float64 {
	if of <= 0 {
		return 0
	}
	return n / of
}

// meanOf is the mean of ds, summed in float64 so many long durations do
// not overflow.
func meanOf(ds []time.Duration) Mean {
	if len(ds) == 0 {
		return Mean{}
	}
	var sum float64
	for _, d := range ds {
		sum += float64(d)
	}
	return Mean{Count: len(ds), Mean: time.Duration(math.Round(sum / float64(len(ds))))}
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

func earlier(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}
