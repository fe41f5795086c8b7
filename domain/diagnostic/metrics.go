package diagnostic

import (
	"math"
	"slices"
	"time"

	"github.com/google/uuid"
)

// Percentile is the p-th percentile (0 < p ≤ 100) of values by the
// nearest-rank method: the smallest value such that at least p% of the
// values are no greater than it, i.e. the value at rank ⌈p/100 × N⌉ of the
// values sorted ascending (1-based). It is always one of the values, never
// interpolated, so a turnaround percentile is a time some order really
// took. False for no values or p outside (0, 100].
func Percentile(values []time.Duration, p float64) (time.Duration, bool) {
	if len(values) == 0 || !(p > 0 && p <= 100) {
		return 0, false
	}
	sorted := slices.Clone(values)
	slices.Sort(sorted)
	// A relative nudge keeps p/100 × N from landing just above a whole rank
	// through binary rounding (e.g. 0.9 × 10).
	rank := int(math.Ceil(p/100*float64(len(sorted))*(1-1e-12) - 1e-9))
	return sorted[max(rank, 1)-1], true
}

// Percentiles are the 50th, 90th and 95th nearest-rank percentiles of a
// set of durations, and how many there were.
type Percentiles struct {
	Count int           `json:"count"`
	P50   time.Duration `json:"p50"`
	P90   time.Duration `json:"p90"`
	P95   time.Duration `json:"p95"`
}

// PercentilesOf computes them; all zero for no values.
func PercentilesOf(values []time.Duration) Percentiles {
	out := Percentiles{Count: len(values)}
	out.P50, _ = Percentile(values, 50)
	out.P90, _ = Percentile(values, 90)
	out.P95, _ = Percentile(values, 95)
	return out
}

// CallbackTime is one closed critical-result callback, for the metrics.
type CallbackTime struct {
	Outcome Outcome       `json:"outcome"`
	Took    time.Duration `json:"took"`
}

// Summary is what the quality metrics read of one report; the read model
// keeps it beside the report so metrics are computed without the history.
type Summary struct {
	ReportID uuid.UUID  `json:"reportId"`
	Priority Priority   `json:"priority"`
	Imaging  bool       `json:"imaging,omitempty"`
	Status   Status     `json:"status"`
	Stages   Timestamps `json:"stages"`
	Targets  []Target   `json:"targets"`
	// Specimens counts every tube collected, rejected ones included.
	Specimens  int               `json:"specimens"`
	Rejections []RejectionReason `json:"rejections,omitempty"`
	// Verified is set once the report was final; Corrected once a version
	// corrected it.
	Verified      bool           `json:"verified"`
	Corrected     bool           `json:"corrected"`
	Callbacks     []CallbackTime `json:"callbacks,omitempty"`
	OpenCallbacks int            `json:"openCallbacks,omitempty"`
}

// Summary is the report as the quality metrics read it.
func (r Report) Summary() Summary {
	s := Summary{ReportID: r.Order.ID, Priority: r.Order.Priority, Imaging: r.Order.Imaging(), Status: r.Status,
		Stages: r.Stages(), Targets: r.Order.Targets(), Specimens: len(r.Specimens), Verified: r.Verification != nil}
	for _, sp := range r.Specimens {
		if sp.Rejection != nil {
			s.Rejections = append(s.Rejections, sp.Rejection.Reason)
		}
	}
	s.Corrected = slices.ContainsFunc(r.Versions, func(v Version) bool { return v.Status == StatusCorrected })
	for _, c := range r.Callbacks {
		if took, ok := c.Took(); ok {
			s.Callbacks = append(s.Callbacks, CallbackTime{Outcome: c.Outcome, Took: took})
		} else {
			s.OpenCallbacks++
		}
	}
	return s
}

// StageMetrics are the turnaround percentiles of one stage.
type StageMetrics struct {
	Stage Stage `json:"stage"`
	Percentiles
}

// PriorityMetrics are the turnaround of the orders of one priority.
type PriorityMetrics struct {
	Priority Priority `json:"priority"`
	Orders   int      `json:"orders"`
	// Stages are the percentiles of each stage after the order (see
	// Timestamps.Duration), over the orders that reached it.
	Stages []StageMetrics `json:"stages"`
	// Total is ordered → verified, over the verified orders.
	Total Percentiles `json:"total"`
	// Overdue counts the orders that missed a target (reached a stage late,
	// or not by its deadline); OverdueOpen those still waiting past one.
	Overdue     int `json:"overdue"`
	OverdueOpen int `json:"overdueOpen"`
}

// ReasonCount is how many specimens were rejected for one reason, and
// their share of all specimens.
type ReasonCount struct {
	Reason RejectionReason `json:"reason"`
	Count  int             `json:"count"`
	Rate   float64         `json:"rate"`
}

// RejectionMetrics are the specimens rejected: in all and by reason, as a
// share of every specimen collected.
type RejectionMetrics struct {
	Specimens int           `json:"specimens"`
	Rejected  int           `json:"rejected"`
	Rate      float64       `json:"rate"`
	ByReason  []ReasonCount `json:"byReason"`
}

// CorrectionMetrics are the verified reports later corrected, as a share of
// the verified reports.
type CorrectionMetrics struct {
	Verified  int     `json:"verified"`
	Corrected int     `json:"corrected"`
	Rate      float64 `json:"rate"`
}

// CallbackMetrics are the critical-result callbacks: how each ended, and
// the percentiles of the time from the critical result to a clinician
// reached (confirmed or reached without read-back). Unable-to-reach ones
// are counted, not timed: they ended without anyone hearing the value.
type CallbackMetrics struct {
	Callbacks       int         `json:"callbacks"`
	Confirmed       int         `json:"confirmed"`
	WithoutReadBack int         `json:"withoutReadBack"`
	Unreached       int         `json:"unreached"`
	Open            int         `json:"open"`
	Time            Percentiles `json:"time"`
}

// Metrics are the quality measures over a set of orders.
type Metrics struct {
	Orders      int               `json:"orders"`
	Priorities  []PriorityMetrics `json:"priorities"`
	Rejections  RejectionMetrics  `json:"rejections"`
	Corrections CorrectionMetrics `json:"corrections"`
	Callbacks   CallbackMetrics   `json:"callbacks"`
}

// Measure computes the metrics over the summaries at now: turnaround
// percentiles per priority and stage, overdue counts, the rejection rate by
// reason, the correction rate and the callback times. Cancelled and
// withdrawn orders count for their specimens and callbacks, not for
// turnaround or overdue.
func Measure(summaries []Summary, now time.Time) Metrics {
	m := Metrics{Orders: len(summaries)}
	for _, p := range Priorities {
		pm := PriorityMetrics{Priority: p}
		stages := make([][]time.Duration, len(Stages))
		var totals []time.Duration
		for _, s := range summaries {
			if s.Priority != p || s.Status.Closed() {
				continue
			}
			pm.Orders++
			for i, st := range Stages {
				if d, ok := s.Stages.Duration(st); ok {
					stages[i] = append(stages[i], d)
				}
			}
			if d, ok := s.Stages.Total(); ok {
				totals = append(totals, d)
			}
			missed := Missed(s.Stages, s.Targets, now)
			if len(missed) > 0 {
				pm.Overdue++
			}
			if slices.ContainsFunc(missed, func(b Breach) bool { return b.Reached == nil }) {
				pm.OverdueOpen++
			}
		}
		for i, st := range Stages[1:] {
			pm.Stages = append(pm.Stages, StageMetrics{Stage: st, Percentiles: PercentilesOf(stages[i+1])})
		}
		pm.Total = PercentilesOf(totals)
		m.Priorities = append(m.Priorities, pm)
	}
	counts := map[RejectionReason]int{}
	var times []time.Duration
	for _, s := range summaries {
		m.Rejections.Specimens += s.Specimens
		m.Rejections.Rejected += len(s.Rejections)
		for _, r := range s.Rejections {
			counts[r]++
		}
		if s.Verified {
			m.Corrections.Verified++
			if s.Corrected {
				m.Corrections.Corrected++
			}
		}
		m.Callbacks.Open += s.OpenCallbacks
		m.Callbacks.Callbacks += s.OpenCallbacks + len(s.Callbacks)
		for _, c := range s.Callbacks {
			switch c.Outcome {
			case OutcomeConfirmed:
				m.Callbacks.Confirmed++
				times = append(times, c.Took)
			case OutcomeReachedWithoutReadBack:
				m.Callbacks.WithoutReadBack++
				times = append(times, c.Took)
			case OutcomeUnableToReach:
				m.Callbacks.Unreached++
			}
		}
	}
	m.Rejections.Rate = rate(m.Rejections.Rejected, m.Rejections.Specimens)
	m.Rejections.ByReason = []ReasonCount{}
	for _, r := range RejectionReasons {
		m.Rejections.ByReason = append(m.Rejections.ByReason, ReasonCount{Reason: r, Count: counts[r], Rate: rate(counts[r], m.Rejections.Specimens)})
	}
	m.Corrections.Rate = rate(m.Corrections.Corrected, m.Corrections.Verified)
	m.Callbacks.Time = PercentilesOf(times)
	return m
}

func rate(n, of int) float64 {
	if of == 0 {
		return 0
	}
	return float64(n) / float64(of)
}
