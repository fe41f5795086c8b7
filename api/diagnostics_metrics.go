package api

import (
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/zarish-sphere/zarish/domain"
	"github.com/zarish-sphere/zarish/domain/audit"
	"github.com/zarish-sphere/zarish/domain/diagnostic"
)

// diagnosticSummaryCap is the most orders one metrics query reads: the
// newest of the range (DiagnosticStore.Summaries' bound).
const diagnosticSummaryCap = 50000

// MinutePercentiles are the 50th, 90th and 95th nearest-rank percentiles
// of a set of durations, in minutes, and how many there were.
type MinutePercentiles struct {
	Count int     `json:"count"`
	P50   float64 `json:"p50Minutes"`
	P90   float64 `json:"p90Minutes"`
	P95   float64 `json:"p95Minutes"`
}

func minutesOf(p diagnostic.Percentiles) MinutePercentiles {
	return MinutePercentiles{Count: p.Count, P50: p.P50.Minutes(), P90: p.P90.Minutes(), P95: p.P95.Minutes()}
}

// StagePercentiles are the turnaround percentiles of one stage.
type StagePercentiles struct {
	Stage diagnostic.Stage `json:"stage"`
	MinutePercentiles
}

// PriorityTurnaround is the turnaround of the orders of one priority: each
// stage's, the whole (ordered → verified), and the orders that missed a
// target (overdueOpen: still waiting past one).
type PriorityTurnaround struct {
	Priority    diagnostic.Priority `json:"priority"`
	Orders      int                 `json:"orders"`
	Stages      []StagePercentiles  `json:"stages"`
	Total       MinutePercentiles   `json:"total"`
	Overdue     int                 `json:"overdue"`
	OverdueOpen int                 `json:"overdueOpen"`
}

// CallbackTimes are the critical-result callbacks: how each ended, and how
// long a clinician took to be reached.
type CallbackTimes struct {
	Callbacks       int               `json:"callbacks"`
	Confirmed       int               `json:"confirmed"`
	WithoutReadBack int               `json:"withoutReadBack"`
	Unreached       int               `json:"unreached"`
	Open            int               `json:"open"`
	Time            MinutePercentiles `json:"time"`
}

// DiagnosticMetrics is GET /v1/diagnostics/metrics: the quality measures
// (diagnostic.Measure) of the orders placed within [from, to), of one
// priority and test when asked. Capped is set when the range held more
// orders than one query reads, and only the newest were measured.
type DiagnosticMetrics struct {
	From        time.Time                    `json:"from"`
	To          time.Time                    `json:"to"`
	Priority    diagnostic.Priority          `json:"priority,omitempty"`
	Test        string                       `json:"test,omitempty"`
	Capped      bool                         `json:"capped"`
	Orders      int                          `json:"orders"`
	Priorities  []PriorityTurnaround         `json:"priorities"`
	Rejections  diagnostic.RejectionMetrics  `json:"rejections"`
	Corrections diagnostic.CorrectionMetrics `json:"corrections"`
	Callbacks   CallbackTimes                `json:"callbacks"`
}

// metrics serves GET /v1/diagnostics/metrics?from=&to=&priority=&test=:
// turnaround percentiles per priority and stage, overdue counts, the
// specimen rejection rate by reason, the correction rate and the
// critical-result callback times, over the last 30 days unless from and to
// say otherwise. They span every patient, so a token confined to one is
// refused.
func (s *diagnosticRoutes) metrics(c *gin.Context) {
	if _, confined := launchPatient(c); confined {
		refusePatientContext(c, "", "The diagnostic metrics span every patient; a token confined to one cannot read them.")
		return
	}
	verr := &domain.ValidationError{}
	onlyParams(c, verr, "from", "to", "priority", "test")
	from, to := s.timeRange(c, verr)
	priority := diagnostic.Priority(c.Query("priority"))
	if priority != "" && !priority.Valid() {
		verr.Add("priority", "must be one of "+choices(diagnostic.Priorities))
	}
	test := c.Query("test")
	if test != "" {
		cat, err := s.tests()
		if err != nil {
			s.fail(c, err)
			return
		}
		if _, ok := cat.Lookup(test); !ok {
			verr.Add("test", test+" is not a test, panel or imaging procedure of catalogue "+cat.Version)
		}
	}
	if err := verr.OrNil(); err != nil {
		s.fail(c, err)
		return
	}
	auditOf(c).about(audit.ActionRead, entityMeasureReport, "", nil)
	summaries, err := s.store.Summaries(c.Request.Context(), from, to, priority, test)
	if err != nil {
		s.fail(c, err)
		return
	}
	m := diagnostic.Measure(summaries, s.now())
	out := DiagnosticMetrics{From: from, To: to, Priority: priority, Test: test, Capped: len(summaries) >= diagnosticSummaryCap,
		Orders: m.Orders, Priorities: []PriorityTurnaround{}, Rejections: m.Rejections, Corrections: m.Corrections,
		Callbacks: CallbackTimes{Callbacks: m.Callbacks.Callbacks, Confirmed: m.Callbacks.Confirmed,
			WithoutReadBack: m.Callbacks.WithoutReadBack, Unreached: m.Callbacks.Unreached, Open: m.Callbacks.Open,
			Time: minutesOf(m.Callbacks.Time)}}
	for _, p := range m.Priorities {
		if priority != "" && p.Priority != priority {
			continue
		}
		t := PriorityTurnaround{Priority: p.Priority, Orders: p.Orders, Stages: make([]StagePercentiles, len(p.Stages)),
			Total: minutesOf(p.Total), Overdue: p.Overdue, OverdueOpen: p.OverdueOpen}
		for i, st := range p.Stages {
			t.Stages[i] = StagePercentiles{Stage: st.Stage, MinutePercentiles: minutesOf(st.Percentiles)}
		}
		out.Priorities = append(out.Priorities, t)
	}
	c.JSON(http.StatusOK, out)
}
