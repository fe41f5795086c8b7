package api

import (
	"net/http"
	"slices"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"github.com/zarish-sphere/zarish/domain"
	"github.com/zarish-sphere/zarish/domain/audit"
	"github.com/zarish-sphere/zarish/domain/diagnostic"
	diagnosticflow "github.com/zarish-sphere/zarish/workflows/diagnostic"
)

// StageTime is when an order reached one stage of its turnaround, and how
// long that stage took from the one before it (see
// diagnostic.Timestamps.Duration); both absent until it is reached.
type StageTime struct {
	Stage   diagnostic.Stage `json:"stage"`
	At      *time.Time       `json:"at,omitempty"`
	Minutes *float64         `json:"minutes,omitempty"`
}

// The states of a turnaround target.
const (
	targetWaiting = "waiting" // its start is not reached: no clock runs
	targetRunning = "running" // its clock runs, the deadline is still ahead
	targetMet     = "met"
	targetMissed  = "missed"  // reached after the deadline
	targetOverdue = "overdue" // not reached, the deadline has passed
)

// TargetProgress is one turnaround target of the order and where it
// stands: its deadline once its start is reached, when its end was.
type TargetProgress struct {
	diagnostic.Target
	Deadline *time.Time `json:"deadline,omitempty"`
	Reached  *time.Time `json:"reached,omitempty"`
	State    string     `json:"state"`
}

// turnaround is when each stage was reached and how long it took, and how
// each target stands at now.
func turnaround(r diagnostic.Report, now time.Time) ([]StageTime, []TargetProgress) {
	ts := r.Stages()
	stages := make([]StageTime, 0, len(diagnostic.Stages))
	for _, st := range diagnostic.Stages {
		if r.Order.Imaging() && (st == diagnostic.StageCollected || st == diagnostic.StageReceived) {
			continue // an imaging order has no specimens
		}
		t := StageTime{Stage: st}
		if at, ok := ts.At(st); ok {
			t.At = &at
		}
		if d, ok := ts.Duration(st); ok {
			m := d.Minutes()
			t.Minutes = &m
		}
		stages = append(stages, t)
	}
	targets := []TargetProgress{}
	for _, tg := range r.Order.Targets() {
		p := TargetProgress{Target: tg, State: targetWaiting}
		due, started := tg.Deadline(ts)
		end, reached := ts.At(tg.To)
		if reached {
			p.Reached = &end
		}
		if started {
			p.Deadline = &due
			switch {
			case reached && end.After(due):
				p.State = targetMissed
			case reached:
				p.State = targetMet
			case !now.Before(due):
				p.State = targetOverdue
			default:
				p.State = targetRunning
			}
		}
		targets = append(targets, p)
	}
	return stages, targets
}

// DiagnosticReportView is a report as the report routes answer it: the
// workflow's view (results, flags, callbacks, versions, release, timeline),
// with its stages and targets, the tubes still to collect and the tests
// not yet resulted.
type DiagnosticReportView struct {
	diagnosticflow.View
	Stages     []StageTime      `json:"stages"`
	Targets    []TargetProgress `json:"targets"`
	Awaiting   []string         `json:"awaiting"`
	Recollect  []string         `json:"recollect"`
	Missing    []string         `json:"missing"`
	Unreviewed int              `json:"unreviewedFlags"`
}

// reportViewOf is the report's view at now.
func reportViewOf(r diagnostic.Report, now time.Time) DiagnosticReportView {
	v := DiagnosticReportView{View: diagnosticflow.ViewOf(r), Awaiting: orEmpty(r.Awaiting()), Recollect: orEmpty(r.Recollect()),
		Missing: orEmpty(r.Missing()), Unreviewed: len(r.Unreviewed())}
	v.Stages, v.Targets = turnaround(r, now)
	return v
}

// DiagnosticOrderView is an order as the order and specimen routes answer
// it: what was ordered and where it stands — its specimens, stages,
// targets, how many tests are resulted, the release — without the results
// or anything of them (the timeline keeps only the notes of the order's
// own steps), which the report routes show to those who may read them.
type DiagnosticOrderView struct {
	Order      diagnostic.Order      `json:"order"`
	Status     diagnostic.Status     `json:"status"`
	Specimens  []diagnostic.Specimen `json:"specimens"`
	Awaiting   []string              `json:"awaiting"`
	Recollect  []string              `json:"recollect"`
	Resulted   int                   `json:"resulted"`
	Expected   int                   `json:"expected"`
	Release    diagnostic.Release    `json:"release"`
	Stages     []StageTime           `json:"stages"`
	Targets    []TargetProgress      `json:"targets"`
	Breaches   []diagnostic.Breach   `json:"breaches"`
	Timeline   []diagnostic.Entry    `json:"timeline"`
	Version    int                   `json:"version"`
	UpdatedAt  time.Time             `json:"updatedAt"`
	WorkflowID string                `json:"workflowId"`
}

// orderNotes are the timeline entries whose notes the order's view keeps:
// the order's own steps, which say nothing of a result.
var orderNotes = []diagnostic.EventKind{diagnostic.EventOrdered, diagnostic.EventCollected, diagnostic.EventReceived,
	diagnostic.EventRejected, diagnostic.EventTargetMissed, diagnostic.EventCancelled}

// orderViewOf is the order's view at now.
func orderViewOf(r diagnostic.Report, now time.Time) DiagnosticOrderView {
	done, total := r.Resulted()
	v := DiagnosticOrderView{Order: r.Order, Status: r.Status, Specimens: orEmpty(r.Specimens), Awaiting: orEmpty(r.Awaiting()),
		Recollect: orEmpty(r.Recollect()), Resulted: done, Expected: total, Release: r.Release, Breaches: orEmpty(r.Breaches),
		Timeline: make([]diagnostic.Entry, len(r.Timeline)), Version: r.Version, UpdatedAt: r.UpdatedAt,
		WorkflowID: diagnosticflow.WorkflowID(r.Order.ID)}
	for i, e := range r.Timeline {
		if !slices.Contains(orderNotes, e.Kind) {
			e.Note = ""
		}
		v.Timeline[i] = e
	}
	v.Stages, v.Targets = turnaround(r, now)
	return v
}

// orEmpty is s, or an empty list for none: lists answer [] rather than null.
func orEmpty[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// getOrder serves GET /v1/diagnostics/orders/{id}: the order's view; ETag
// is the report's version, If-None-Match answers 304.
func (s *diagnosticRoutes) getOrder(c *gin.Context) {
	s.read(c, entityServiceRequest, true)
}

// getReport serves GET /v1/diagnostics/reports/{id}: the report's view
// with every version.
func (s *diagnosticRoutes) getReport(c *gin.Context) {
	s.read(c, entityDiagnosticReport, false)
}

func (s *diagnosticRoutes) read(c *gin.Context, entity string, asOrder bool) {
	id, ok := uuidParam(c, diagnosticIDMessage)
	if !ok {
		return
	}
	a := auditOf(c)
	a.about(audit.ActionRead, entity, id.String(), nil)
	r, ok := s.load(c, id)
	if !ok {
		return
	}
	a.rec.PatientID = &r.Order.PatientID
	if notModified(c, r.Version) {
		return
	}
	c.Header("ETag", etag(r.Version))
	s.answer(c, http.StatusOK, r, asOrder)
}

// list serves GET /v1/diagnostics/reports: reports newest order first, of
// a patient, in a status, of a category (laboratory, imaging), ordered
// within from and to, one page at a time.
func (s *diagnosticRoutes) list(c *gin.Context) {
	verr := &domain.ValidationError{}
	onlyParams(c, verr, "patientId", "status", "category", "from", "to", "limit", "cursor")
	f := diagnostic.ReportFilter{Cursor: c.Query("cursor")}
	if p := optionalUUID(c, "patientId", verr); p != nil {
		f.PatientID = *p
	}
	if st := diagnostic.Status(c.Query("status")); st != "" {
		if !st.Valid() {
			verr.Add("status", "must be one of "+choices(diagnostic.Statuses))
		}
		f.Status = st
	}
	if cat := diagnostic.Category(c.Query("category")); cat != "" {
		if !cat.Valid() {
			verr.Add("category", "must be laboratory or imaging")
		}
		f.Category = cat
	}
	if c.Query("from") != "" || c.Query("to") != "" {
		f.From, f.To = s.timeRange(c, verr)
	}
	f.Limit = limitParam(c, verr, 50, 200)
	if err := verr.OrNil(); err != nil {
		s.fail(c, err)
		return
	}
	var patient *uuid.UUID
	if f.PatientID != uuid.Nil {
		patient = &f.PatientID
	}
	a := auditOf(c)
	a.about(audit.ActionSearch, entityDiagnosticReport, "", patient)
	page, err := s.store.List(c.Request.Context(), f)
	if err != nil {
		s.fail(c, err)
		return
	}
	now := s.now()
	views := make([]DiagnosticReportView, len(page.Reports))
	for i, r := range page.Reports {
		a.disclosed(r.Order.PatientID)
		views[i] = reportViewOf(r, now)
	}
	c.JSON(http.StatusOK, pageBody(views, page.Next))
}

// diagnosticNotice is the notice the LOINC licence asks to go with the
// test catalogue's codes and names (domain/diagnostic/LOINC-NOTICE.md).
const diagnosticNotice = "This material contains content from LOINC (http://loinc.org). LOINC is copyright © Regenstrief Institute, Inc. " +
	"and the Logical Observation Identifiers Names and Codes (LOINC) Committee and is available at no cost under the license at " +
	"http://loinc.org/license. LOINC® is a registered United States trademark of Regenstrief Institute, Inc. The imaging procedures " +
	"are those of the LOINC/RSNA Radiology Playbook; body sites are SNOMED CT concepts (SNOMED International)."

// DiagnosticCatalogue is GET /v1/diagnostics/catalogue: the orderable
// tests, panels and imaging procedures of one catalogue version, with the
// tubes they are collected in.
type DiagnosticCatalogue struct {
	Version    string                 `json:"version"`
	Notice     string                 `json:"notice"`
	Data       []diagnostic.Orderable `json:"data"`
	Containers []diagnostic.Container `json:"containers"`
}

// listCatalogue serves GET /v1/diagnostics/catalogue: every orderable, or
// those whose code, display or a name holds q, of one kind.
func (s *diagnosticRoutes) listCatalogue(c *gin.Context) {
	verr := &domain.ValidationError{}
	onlyParams(c, verr, "q", "kind")
	kind := diagnostic.Kind(c.Query("kind"))
	if kind != "" && !kind.Laboratory() && kind != diagnostic.KindImaging {
		verr.Add("kind", "must be test, panel or imaging")
	}
	if err := verr.OrNil(); err != nil {
		s.fail(c, err)
		return
	}
	auditOf(c).about(audit.ActionRead, entityTestCatalogue, "", nil)
	cat, err := s.tests()
	if err != nil {
		s.fail(c, err)
		return
	}
	found := slices.DeleteFunc(cat.Search(c.Query("q")), func(o diagnostic.Orderable) bool { return kind != "" && o.Kind != kind })
	c.JSON(http.StatusOK, DiagnosticCatalogue{Version: cat.Version, Notice: diagnosticNotice, Data: orEmpty(found),
		Containers: slices.Clone(cat.Containers)})
}
