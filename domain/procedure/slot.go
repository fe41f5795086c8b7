package procedure

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
)

// ErrNoSlot is what a *NoSlot matches with errors.Is.
var ErrNoSlot = errors.New("no slot")

// Limits of the slot search.
const (
	// DefaultStep is the granularity of start times when Search.Step is zero.
	DefaultStep = 5 * time.Minute
	// AlternativesHorizon is how far past the window the alternatives of a
	// refusal are sought.
	AlternativesHorizon = 14 * 24 * time.Hour
	// MaxAlternatives is how many alternatives a refusal offers.
	MaxAlternatives = 3
	// MaxSearchWindow is the longest window a search reads.
	MaxSearchWindow = 366 * 24 * time.Hour
)

// Search is what finding a slot reads: the request, the directory's
// resources that may meet its requirements, and every resource's busy
// spans (and the patient's, under the request's PatientID) over the window.
type Search struct {
	Request   Request
	Resources []Resource
	// Busy is sorted by From; each span includes the turnover of the case
	// that made it.
	Busy map[uuid.UUID][]Busy
	// Step is the granularity of start times, 5 minutes when zero; starts
	// are aligned to it (in UTC).
	Step time.Duration
	// Bump lets an emergency take an elective case's slot: elective busy
	// spans count as free, and the slot names them.
	Bump bool
}

// Found is the earliest slot and, under Bump, the elective procedures whose
// allocations it overlaps, sorted by id.
type Found struct {
	Slot  Slot        `json:"slot"`
	Bumps []uuid.UUID `json:"bumps,omitempty"`
}

// NoSlot is the refusal FindSlot answers when no slot exists: why, the
// requirement and resources that block it, and the nearest alternatives
// after the window.
type NoSlot struct {
	Reason       string    `json:"reason"`
	Blocking     []Blocker `json:"blocking,omitempty"`
	Alternatives []Slot    `json:"alternatives,omitempty"`
}

// Blocker is a requirement (its index in Request.Requirements, -1 for the
// patient) that keeps a slot from existing, the resources concerned and why.
type Blocker struct {
	Requirement int         `json:"requirement"`
	ResourceIDs []uuid.UUID `json:"resourceIds"`
	Why         string      `json:"why"`
}

func (e *NoSlot) Error() string { return "no slot: " + e.Reason }

// Is makes errors.Is(err, ErrNoSlot) hold for a *NoSlot.
func (e *NoSlot) Is(target error) bool { return target == ErrNoSlot }

// Outcome is the refusal as a procedure keeps it, said at at.
func (e *NoSlot) Outcome(at time.Time) SearchOutcome {
	return SearchOutcome{Reason: e.Reason, Blocking: slices.Clone(e.Blocking), Alternatives: slices.Clone(e.Alternatives), At: at}
}

// FindSlot finds the earliest slot of the request in its window: a start
// aligned to the step, with, for each requirement, Needed distinct
// resources that meet it, are open over the case and, with their turnover
// after it, free of their busy spans, and the patient free over the case.
// A resource serves one requirement of a slot. Among the resources free at
// that start, those that bump no case come first, then the preferred
// practitioner, then the lowest id. It answers a *NoSlot (ErrNoSlot) when
// the window holds none, and an error wrapping ErrInvalidArgument when the
// search itself is wrong.
func FindSlot(s Search) (Found, error) {
	sr, err := newSearcher(s)
	if err != nil {
		return Found{}, err
	}
	if refusal := sr.unmeetable(); refusal != nil {
		return Found{}, refusal
	}
	kLo, kHi := sr.startRange(s.Request.Window.To)
	if kLo <= kHi {
		sr.prepare(kLo, kHi)
		if k, picks, ok := sr.first(kLo, kHi, sr.all, true); ok {
			return sr.found(k, picks), nil
		}
	}
	return Found{}, sr.refusal(kLo, kHi)
}

// Availability lists the free slots of the window, earliest first: every
// start that works, at most limit of them. A search FindSlot would refuse
// as invalid has none.
func Availability(s Search, limit int) []Slot {
	if limit <= 0 {
		return nil
	}
	sr, err := newSearcher(s)
	if err != nil || sr.unmeetable() != nil {
		return nil
	}
	kLo, kHi := sr.startRange(s.Request.Window.To)
	if kLo > kHi {
		return nil
	}
	sr.prepare(kLo, kHi)
	var slots []Slot
	for k := kLo; len(slots) < limit && k <= kHi; k++ {
		var picks [][]*candidate
		var ok bool
		if k, picks, ok = sr.first(k, kHi, sr.all, true); !ok {
			break
		}
		slots = append(slots, sr.slot(k, picks))
	}
	return slots
}

// startRun is a run of feasible start indices (start = index × step since the
// Unix epoch), both ends inclusive.
type startRun struct{ lo, hi int64 }

// candidate is a resource that meets at least one requirement, with what
// the search derives from it.
type candidate struct {
	res      Resource
	loc      *time.Location
	week     weekHours
	blocked  []Period // sorted by From
	busy     []Busy   // sorted by From
	turnover int64
	open     []startRun // starts inside its hours and clear of its blocked periods
	free     []startRun // open starts clear of its busy spans (bumpable ones aside)
	strict   []startRun // open starts clear of every busy span; free unless Bump
	cur      int        // cursor into free
	ok       bool       // free at the start under test
	seat     int        // the seat it holds in a matching, -1 for none
	visit    int        // matching stamp
	mark     int        // collection stamp
}

// searcher is one search's state.
type searcher struct {
	s           Search
	step, dur   int64
	reqs        [][]*candidate // per requirement, in preference order
	cands       []*candidate   // distinct
	all         []int          // every requirement's index
	patientBusy []Busy
	patient     []startRun
	stamp       int
}

func newSearcher(s Search) (*searcher, error) {
	q := s.Request
	w := q.Window
	switch {
	case q.Duration <= 0:
		return nil, fmt.Errorf("%w: the duration must be positive", ErrInvalidArgument)
	case w.From.IsZero() || w.To.IsZero():
		return nil, fmt.Errorf("%w: the window needs a from and a to", ErrInvalidArgument)
	case !w.To.After(w.From):
		return nil, fmt.Errorf("%w: the window must end after it starts", ErrInvalidArgument)
	case w.To.Sub(w.From) > MaxSearchWindow:
		return nil, fmt.Errorf("%w: the window may span at most %d days", ErrInvalidArgument, MaxSearchWindow/(24*time.Hour))
	case s.Step < 0 || (s.Step > 0 && s.Step < time.Minute) || s.Step > 24*time.Hour:
		return nil, fmt.Errorf("%w: the step must be between 1m and 24h", ErrInvalidArgument)
	case s.Bump && q.Priority != PriorityEmergency:
		return nil, fmt.Errorf("%w: only an emergency may bump elective cases", ErrInvalidArgument)
	}
	sr := &searcher{s: s, step: int64(s.Step), dur: int64(q.Duration), reqs: make([][]*candidate, len(q.Requirements))}
	if sr.step == 0 {
		sr.step = int64(DefaultStep)
	}
	zones := map[string]*time.Location{}
	seen := map[uuid.UUID]bool{}
	for _, r := range s.Resources {
		if seen[r.ID] {
			continue
		}
		var c *candidate
		for j, req := range q.Requirements {
			if !r.Has(req) {
				continue
			}
			if c == nil {
				if c = newCandidate(r, zones, s.Busy[r.ID]); c == nil {
					break // its zone does not load: never open
				}
				seen[r.ID] = true
				sr.cands = append(sr.cands, c)
			}
			sr.reqs[j] = append(sr.reqs[j], c)
		}
	}
	for j, cs := range sr.reqs {
		sr.all = append(sr.all, j)
		preferred := func(c *candidate) bool {
			p := q.PreferredPractitionerID
			return p != nil && q.Requirements[j].Type == KindStaff && c.res.PractitionerID != nil && *c.res.PractitionerID == *p
		}
		slices.SortFunc(cs, func(a, b *candidate) int {
			if pa, pb := preferred(a), preferred(b); pa != pb {
				if pa {
					return -1
				}
				return 1
			}
			return bytes.Compare(a.res.ID[:], b.res.ID[:])
		})
	}
	sr.patientBusy = sortedBusy(s.Busy[q.PatientID])
	return sr, nil
}

func newCandidate(r Resource, zones map[string]*time.Location, busy []Busy) *candidate {
	loc, ok := zones[r.TimeZone]
	if !ok {
		var err error
		if loc, err = loadZone(r.TimeZone); err != nil {
			loc = nil
		}
		zones[r.TimeZone] = loc
	}
	if loc == nil {
		return nil
	}
	c := &candidate{res: r, loc: loc, week: parseWeek(r.Hours), busy: sortedBusy(busy), turnover: int64(max(r.Turnover, 0))}
	for _, b := range r.Blocked {
		c.blocked = append(c.blocked, b.Period)
	}
	slices.SortFunc(c.blocked, func(a, b Period) int { return a.From.Compare(b.From) })
	return c
}

// sortedBusy returns busy sorted by From, copying only when it is not.
func sortedBusy(busy []Busy) []Busy {
	byFrom := func(a, b Busy) int { return a.From.Compare(b.From) }
	if slices.IsSortedFunc(busy, byFrom) {
		return busy
	}
	busy = slices.Clone(busy)
	slices.SortStableFunc(busy, byFrom)
	return busy
}

// startRange is the range of start indices from the window's start to the
// last start whose case ends by end.
func (sr *searcher) startRange(end time.Time) (int64, int64) {
	return divCeil(unixNanos(sr.s.Request.Window.From), sr.step), divFloor(unixNanos(end)-sr.dur, sr.step)
}

// prepare derives every candidate's and the patient's feasible starts in
// [kLo, kHi].
func (sr *searcher) prepare(kLo, kHi int64) {
	if kLo > kHi {
		for _, c := range sr.cands {
			c.open, c.free, c.strict = nil, nil, nil
		}
		sr.patient = nil
		return
	}
	for _, c := range sr.cands {
		c.open = sr.openStarts(c, kLo, kHi)
		c.free = subtractRuns(c.open, sr.busyCuts(c.busy, c.turnover, kHi, sr.s.Bump))
		c.strict = c.free
		if sr.s.Bump {
			c.strict = subtractRuns(c.free, sr.busyCuts(c.busy, c.turnover, kHi, false))
		}
	}
	sr.patient = subtractRuns([]startRun{{kLo, kHi}}, sr.busyCuts(sr.patientBusy, 0, kHi, false))
}

// openStarts are the starts in [kLo, kHi] whose case lies inside the
// resource's working time and overlaps no blocked period. Working spans
// that meet — a day's ending at 24:00 and the next one's starting at 00:00
// — are one span, so a case may run across midnight.
func (sr *searcher) openStarts(c *candidate, kLo, kHi int64) []startRun {
	last := kHi*sr.step + sr.dur
	day := time.Unix(0, kLo*sr.step).In(c.loc)
	y, m, d := day.Date()
	var spans [][2]int64 // absolute working spans, in order, merged where they meet
	for i := 0; ; i++ {
		midnight := time.Date(y, m, d+i, 0, 0, 0, 0, c.loc)
		if unixNanos(midnight) >= last {
			break
		}
		for _, cs := range c.week[midnight.Weekday()] {
			from, to := cs.on(y, m, d+i, c.loc)
			f, t := unixNanos(from), unixNanos(to)
			if n := len(spans); n > 0 && f <= spans[n-1][1] {
				spans[n-1][1] = max(spans[n-1][1], t)
				continue
			}
			spans = append(spans, [2]int64{f, t})
		}
	}
	var open []startRun
	for _, sp := range spans {
		lo, hi := max(divCeil(sp[0], sr.step), kLo), min(divFloor(sp[1]-sr.dur, sr.step), kHi)
		if lo > hi {
			continue
		}
		if n := len(open); n > 0 && lo <= open[n-1].hi+1 {
			open[n-1].hi = max(open[n-1].hi, hi)
			continue
		}
		open = append(open, startRun{lo, hi})
	}
	cuts := make([]startRun, 0, len(c.blocked))
	for _, b := range c.blocked {
		if b.To.After(b.From) {
			cuts = append(cuts, sr.cut(b, 0))
		}
	}
	return subtractRuns(open, cuts)
}

// busyCuts are the starts each busy span forbids (with the case's turnover
// after it), in order, up to kHi; bumpable skips elective cases.
func (sr *searcher) busyCuts(busy []Busy, turnover, kHi int64, bumpable bool) []startRun {
	limit := kHi*sr.step + sr.dur + turnover
	n := sort.Search(len(busy), func(i int) bool { return unixNanos(busy[i].From) >= limit })
	cuts := make([]startRun, 0, n)
	for _, b := range busy[:n] {
		if !b.To.After(b.From) || (bumpable && electiveCase(b)) {
			continue
		}
		cuts = append(cuts, sr.cut(b.Period, turnover))
	}
	return cuts
}

// cut is the starts s whose [s, s+duration+turnover) overlaps p.
func (sr *searcher) cut(p Period, turnover int64) startRun {
	return startRun{divFloor(unixNanos(p.From)-sr.dur-turnover, sr.step) + 1, divCeil(unixNanos(p.To), sr.step) - 1}
}

func electiveCase(b Busy) bool {
	return b.Priority == PriorityElective && b.ProcedureID != uuid.Nil && !b.Held
}

// subtractRuns removes cuts (sorted by lo, possibly overlapping) from keep
// (sorted, disjoint).
func subtractRuns(keep, cuts []startRun) []startRun {
	merged := cuts[:0:0]
	for _, c := range cuts {
		if c.lo > c.hi {
			continue
		}
		if n := len(merged); n > 0 && c.lo <= merged[n-1].hi+1 {
			merged[n-1].hi = max(merged[n-1].hi, c.hi)
			continue
		}
		merged = append(merged, c)
	}
	if len(merged) == 0 {
		return keep
	}
	out := make([]startRun, 0, len(keep)+len(merged))
	j := 0
	for _, s := range keep {
		lo := s.lo
		for j < len(merged) && merged[j].hi < lo {
			j++
		}
		for i := j; i < len(merged) && merged[i].lo <= s.hi && lo <= s.hi; i++ {
			if merged[i].lo > lo {
				out = append(out, startRun{lo, merged[i].lo - 1})
			}
			lo = max(lo, merged[i].hi+1)
		}
		if lo <= s.hi {
			out = append(out, startRun{lo, s.hi})
		}
	}
	return out
}

// first is the earliest start in [kLo, kHi] at which the requirements reqs
// (and the patient, when withPatient) can all be met, with the candidates
// chosen for each of them. It walks the candidates' free runs with one
// cursor each, jumping to the next start at which a missing resource frees.
func (sr *searcher) first(kLo, kHi int64, reqs []int, withPatient bool) (int64, [][]*candidate, bool) {
	sr.stamp++
	var cands []*candidate
	for _, j := range reqs {
		for _, c := range sr.reqs[j] {
			if c.mark != sr.stamp {
				c.mark = sr.stamp
				c.cur = sort.Search(len(c.free), func(i int) bool { return c.free[i].hi >= kLo })
				cands = append(cands, c)
			}
		}
	}
	p := sort.Search(len(sr.patient), func(i int) bool { return sr.patient[i].hi >= kLo })
	for k := kLo; k <= kHi; {
		if withPatient {
			for p < len(sr.patient) && sr.patient[p].hi < k {
				p++
			}
			if p == len(sr.patient) {
				return 0, nil, false
			}
			if sr.patient[p].lo > k {
				k = sr.patient[p].lo
				continue
			}
		}
		for _, c := range cands {
			for c.cur < len(c.free) && c.free[c.cur].hi < k {
				c.cur++
			}
			c.ok = c.cur < len(c.free) && c.free[c.cur].lo <= k
		}
		jump := k
		for _, j := range reqs {
			n, next := 0, int64(math.MaxInt64)
			for _, c := range sr.reqs[j] {
				if c.ok {
					n++
				} else if c.cur < len(c.free) {
					next = min(next, c.free[c.cur].lo)
				}
			}
			if n < sr.s.Request.Requirements[j].Needed() {
				if next == math.MaxInt64 {
					return 0, nil, false
				}
				jump = max(jump, next)
			}
		}
		if jump > k {
			k = jump
			continue
		}
		if picks, ok := sr.match(k, reqs, sr.s.Bump); ok {
			return k, picks, true
		}
		// Enough resources are free, but not distinct ones: only one more
		// freeing can help.
		next := int64(math.MaxInt64)
		for _, c := range cands {
			if !c.ok && c.cur < len(c.free) {
				next = min(next, c.free[c.cur].lo)
			}
		}
		if next == math.MaxInt64 {
			return 0, nil, false
		}
		k = next
	}
	return 0, nil, false
}

// match assigns distinct candidates marked ok to the seats of reqs (Needed
// per requirement), trying each requirement's candidates in preference
// order, those that bump no case first when bump is set (augmenting paths).
// It answers the candidates per requirement of reqs, in order.
func (sr *searcher) match(k int64, reqs []int, bump bool) ([][]*candidate, bool) {
	type seat struct {
		req  int
		opts []*candidate
	}
	var seats []seat
	for pos, j := range reqs {
		var opts []*candidate
		for _, c := range sr.reqs[j] {
			if c.ok {
				c.seat = -1
				opts = append(opts, c)
			}
		}
		if bump {
			slices.SortStableFunc(opts, func(a, b *candidate) int {
				fa, fb := runsHold(a.strict, k), runsHold(b.strict, k)
				switch {
				case fa == fb:
					return 0
				case fa:
					return -1
				}
				return 1
			})
		}
		for range sr.s.Request.Requirements[j].Needed() {
			seats = append(seats, seat{pos, opts})
		}
	}
	held := make([]*candidate, len(seats))
	var try func(i int) bool
	try = func(i int) bool {
		for _, c := range seats[i].opts { // a free candidate first, in order
			if c.seat < 0 {
				c.seat, held[i] = i, c
				return true
			}
		}
		for _, c := range seats[i].opts { // else move a holder to another
			if c.visit == sr.stamp {
				continue
			}
			c.visit = sr.stamp
			if try(c.seat) {
				c.seat, held[i] = i, c
				return true
			}
		}
		return false
	}
	for i := range seats {
		sr.stamp++
		if !try(i) {
			return nil, false
		}
	}
	picks := make([][]*candidate, len(reqs))
	for i, st := range seats {
		picks[st.req] = append(picks[st.req], held[i])
	}
	return picks, true
}

// runsHold reports whether k lies in one of spans.
func runsHold(spans []startRun, k int64) bool {
	i := sort.Search(len(spans), func(i int) bool { return spans[i].hi >= k })
	return i < len(spans) && spans[i].lo <= k
}

func (sr *searcher) slot(k int64, picks [][]*candidate) Slot {
	from := time.Unix(0, k*sr.step).UTC()
	ids := make([][]uuid.UUID, len(picks))
	for j, cs := range picks {
		ids[j] = make([]uuid.UUID, len(cs))
		for i, c := range cs {
			ids[j][i] = c.res.ID
		}
	}
	return Slot{Period: Period{From: from, To: from.Add(time.Duration(sr.dur))}, Resources: ids}
}

// found is the slot at k and, under Bump, the elective cases it overlaps.
func (sr *searcher) found(k int64, picks [][]*candidate) Found {
	f := Found{Slot: sr.slot(k, picks)}
	if !sr.s.Bump {
		return f
	}
	for _, cs := range picks {
		for _, c := range cs {
			if runsHold(c.strict, k) {
				continue
			}
			taken := Period{From: f.Slot.From, To: f.Slot.To.Add(time.Duration(c.turnover))}
			for _, b := range c.busy {
				if !b.From.Before(taken.To) {
					break
				}
				if electiveCase(b) && b.Overlaps(taken) && !slices.Contains(f.Bumps, b.ProcedureID) {
					f.Bumps = append(f.Bumps, b.ProcedureID)
				}
			}
		}
	}
	slices.SortFunc(f.Bumps, func(a, b uuid.UUID) int { return bytes.Compare(a[:], b[:]) })
	return f
}

// unmeetable is the refusal of a request whose requirements too few active
// resources meet at all, whatever the time.
func (sr *searcher) unmeetable() *NoSlot {
	var blocking []Blocker
	for j, q := range sr.s.Request.Requirements {
		if n := len(sr.reqs[j]); n < q.Needed() {
			why := "no active " + describeRequirement(q, false)
			if n > 0 {
				why = "only " + strconv.Itoa(n) + " active " + describeRequirement(q, n > 1) + ", " + strconv.Itoa(q.Needed()) + " needed"
			}
			blocking = append(blocking, Blocker{Requirement: j, ResourceIDs: candidateIDs(sr.reqs[j]), Why: why})
		}
	}
	if len(blocking) == 0 {
		for _, c := range sr.cands {
			c.ok = true
		}
		if _, ok := sr.match(0, sr.all, false); !ok {
			blocking = sr.sharing()
		}
	}
	if len(blocking) == 0 {
		return nil
	}
	return &NoSlot{Reason: joinWhys(blocking), Blocking: blocking}
}

// sharing names the requirements that share their resources and together
// need more distinct ones than those can give: each group of requirements
// linked by a shared resource that no matching serves.
func (sr *searcher) sharing() []Blocker {
	q := sr.s.Request
	group := make([]int, len(sr.reqs)) // each requirement's group: its lowest linked index
	for j := range group {
		group[j] = j
	}
	for changed := true; changed; {
		changed = false
		for j := range sr.reqs {
			for i := range sr.reqs {
				if group[i] < group[j] && sharesCandidates(sr.reqs[i], sr.reqs[j]) {
					group[j], changed = group[i], true
				}
			}
		}
	}
	var blocking []Blocker
	for g := range sr.reqs {
		var members, names []string
		var reqs []int
		need, have := 0, map[*candidate]bool{}
		for j, req := range q.Requirements {
			if group[j] != g {
				continue
			}
			reqs = append(reqs, j)
			members = append(members, strconv.Itoa(j))
			names = append(names, "the "+describeRequirement(req, req.Needed() > 1))
			need += req.Needed()
			for _, c := range sr.reqs[j] {
				have[c] = true
			}
		}
		if len(reqs) < 2 {
			continue
		}
		if _, ok := sr.match(0, reqs, false); ok {
			continue
		}
		why := strings.Join(names, " and ") + " together need " + strconv.Itoa(need) + " distinct resources, and "
		switch {
		case len(have) == 1:
			why += "only 1 meets them"
		case len(have) < need:
			why += "only " + strconv.Itoa(len(have)) + " meet them"
		default:
			why += "the " + strconv.Itoa(len(have)) + " that meet them cannot provide them"
		}
		why += ": a resource serves one requirement of a slot"
		for _, j := range reqs {
			blocking = append(blocking, Blocker{Requirement: j, ResourceIDs: candidateIDs(sr.reqs[j]), Why: why})
		}
	}
	return blocking
}

// refusal explains why the window [kLo, kHi] of starts (prepared, unless
// empty) holds no slot, and offers the alternatives after it.
func (sr *searcher) refusal(kLo, kHi int64) *NoSlot {
	q := sr.s.Request
	w := q.Window
	var blocking []Blocker
	var reason string
	if kLo > kHi {
		reason = "the window from " + utcStamp(w.From) + " to " + utcStamp(w.To) + " is too short for a " + q.Duration.String() + " case"
	} else {
		blocking = sr.blockers(kLo, kHi)
		reason = "no slot from " + utcStamp(w.From) + " to " + utcStamp(w.To) + ": " + joinWhys(blocking)
	}
	_, kEnd := sr.startRange(w.To.Add(AlternativesHorizon))
	sr.prepare(kLo, kEnd)
	var alternatives []Slot
	for k := kLo; len(alternatives) < MaxAlternatives && k <= kEnd; {
		var picks [][]*candidate
		var ok bool
		if k, picks, ok = sr.first(k, kEnd, sr.all, true); !ok {
			break
		}
		alternatives = append(alternatives, sr.slot(k, picks))
		k += divCeil(sr.dur, sr.step) // the next alternative starts after this one ends
	}
	switch within := " (within " + horizonDays(AlternativesHorizon) + ")"; len(alternatives) {
	case 0:
		reason += "; nor is there one in the " + horizonDays(AlternativesHorizon) + " after the window"
	case 1:
		reason += "; the nearest slot after the window" + within + " is offered instead"
	default:
		reason += "; the " + strconv.Itoa(len(alternatives)) + " nearest slots after the window" + within + " are offered instead"
	}
	return &NoSlot{Reason: reason, Blocking: blocking, Alternatives: alternatives}
}

// blockers names what keeps the prepared window [kLo, kHi] free of slots:
// the patient busy throughout, requirements whose resources are closed or
// busy throughout, or else the patient or requirements never free together.
func (sr *searcher) blockers(kLo, kHi int64) []Blocker {
	q := sr.s.Request
	var blocking []Blocker
	if len(sr.patient) == 0 {
		blocking = append(blocking, Blocker{Requirement: -1, ResourceIDs: []uuid.UUID{q.PatientID}, Why: "the patient is busy throughout the window"})
	}
	for j, req := range q.Requirements {
		if _, _, ok := sr.first(kLo, kHi, []int{j}, false); ok {
			continue
		}
		closed, free := 0, 0
		for _, c := range sr.reqs[j] {
			if len(c.open) == 0 {
				closed++
			}
			if len(c.free) > 0 {
				free++
			}
		}
		subject := "every " + describeRequirement(req, false) + " is"
		if n := len(sr.reqs[j]); req.Needed() > 1 && n > 1 {
			subject = "all " + strconv.Itoa(n) + " " + describeRequirement(req, true) + " are"
		}
		var why string
		switch {
		case closed == len(sr.reqs[j]):
			why = subject + " closed (working hours or blocked periods) throughout the window"
		case free == 0:
			why = subject + " busy or closed throughout the window"
		default:
			why = "never " + strconv.Itoa(req.Needed()) + " " + describeRequirement(req, true) + " free at once in the window"
		}
		blocking = append(blocking, Blocker{Requirement: j, ResourceIDs: candidateIDs(sr.reqs[j]), Why: why})
	}
	if len(blocking) > 0 {
		return blocking
	}
	if _, _, ok := sr.first(kLo, kHi, sr.all, false); ok {
		return []Blocker{{Requirement: -1, ResourceIDs: []uuid.UUID{q.PatientID}, Why: "the patient is busy whenever the resources are free"}}
	}
	for j, req := range q.Requirements {
		subject := "the " + describeRequirement(req, false) + " is"
		if len(sr.reqs[j]) > 1 {
			subject = "the " + describeRequirement(req, true) + " are"
		}
		blocking = append(blocking, Blocker{Requirement: j, ResourceIDs: candidateIDs(sr.reqs[j]),
			Why: subject + " free only while another requirement is not"})
	}
	if len(blocking) == 0 { // no requirements: only the patient can block
		blocking = append(blocking, Blocker{Requirement: -1, ResourceIDs: []uuid.UUID{q.PatientID}, Why: "the patient is busy throughout the window"})
	}
	return blocking
}

// describeRequirement names what a requirement asks for, in the singular or plural.
func describeRequirement(q Requirement, plural bool) string {
	switch q.Type {
	case KindRoom:
		if plural {
			return "rooms with capability " + q.Capability
		}
		return "room with capability " + q.Capability
	case KindStaff:
		if plural {
			return "members of staff with skill " + q.Skill
		}
		return "member of staff with skill " + q.Skill
	case KindEquipment:
		return "equipment of kind " + q.Kind
	}
	if plural {
		return "resources of type " + string(q.Type)
	}
	return "resource of type " + string(q.Type)
}

// joinWhys joins the blockers' distinct whys.
func joinWhys(blocking []Blocker) string {
	var parts []string
	for _, b := range blocking {
		if !slices.Contains(parts, b.Why) {
			parts = append(parts, b.Why)
		}
	}
	return strings.Join(parts, "; ")
}

func candidateIDs(cs []*candidate) []uuid.UUID {
	out := make([]uuid.UUID, len(cs))
	for i, c := range cs {
		out[i] = c.res.ID
	}
	return out
}

func sharesCandidates(a, b []*candidate) bool {
	for _, c := range a {
		if slices.Contains(b, c) {
			return true
		}
	}
	return false
}

func utcStamp(t time.Time) string { return t.UTC().Format(time.RFC3339) }

func horizonDays(d time.Duration) string { return strconv.Itoa(int(d/(24*time.Hour))) + " days" }

// unixNanos is t in nanoseconds since the Unix epoch, clamped far from
// overflow for instants outside 1678–2262.
func unixNanos(t time.Time) int64 {
	const bound = 1 << 61
	switch {
	case t.Before(time.Unix(0, -bound)):
		return -bound
	case t.After(time.Unix(0, bound)):
		return bound
	}
	return t.UnixNano()
}

func divFloor(a, b int64) int64 {
	q := a / b
	if a%b != 0 && a < 0 {
		q--
	}
	return q
}

func divCeil(a, b int64) int64 {
	q := a / b
	if a%b != 0 && a > 0 {
		q++
	}
	return q
}
