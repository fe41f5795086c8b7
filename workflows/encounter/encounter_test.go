package encounter_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/converter"
	sdklog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	activities "github.com/zarish-sphere/zarish/activities/encounter"
	"github.com/zarish-sphere/zarish/domain/alert"
	"github.com/zarish-sphere/zarish/domain/encounter"
	alertwf "github.com/zarish-sphere/zarish/workflows/alert"
	encounterwf "github.com/zarish-sphere/zarish/workflows/encounter"
	"github.com/zarish-sphere/zarish/workflows/process"
)

var (
	nurse    = uuid.MustParse("0193a000-0000-7000-8000-000000000001")
	doctor   = uuid.MustParse("0193a000-0000-7000-8000-000000000003")
	labOrder = uuid.MustParse("0193a000-0000-7000-8000-0000000000c1")
	rxOrder  = uuid.MustParse("0193a000-0000-7000-8000-0000000000c2")
)

func testInput() encounterwf.Input {
	return encounterwf.Input{
		EncounterID: uuid.MustParse("0193a000-0000-7000-8000-0000000000e1"),
		PatientID:   uuid.MustParse("0193a000-0000-7000-8000-0000000000aa"),
		Class:       encounter.ClassEmergency, Reason: "chest pain", Location: "ed-triage", Priority: "urgent",
	}
}

// The transitions' requests, as the tests send them.
var (
	arrive    = encounterwf.ArriveRequest{By: nurse}
	triage    = encounterwf.TriageRequest{By: nurse, Acuity: encounter.AcuityEmergent, ChiefComplaint: "chest pain"}
	start     = encounterwf.StartRequest{By: doctor, Attending: doctor}
	transfer  = encounterwf.TransferRequest{By: nurse, Location: "ward-3"}
	discharge = encounterwf.DischargeRequest{By: doctor, Disposition: encounter.DispositionHome}
	cancel    = encounterwf.CancelRequest{By: nurse, Reason: "left before being seen"}
)

// harness runs the workflow with mocked activities and a stub alert
// workflow, and records what they were asked.
type harness struct {
	t        *testing.T
	env      *testsuite.TestWorkflowEnvironment
	start    time.Time
	created  int
	recorded []activities.TransitionRequest
	statuses []string // EncounterStatus as upserted
	alerts   []alertwf.Input
	// refuse, when set, fails the read-model writes it returns an error for.
	refuse func(activities.TransitionRequest) error
}

var acts *activities.Activities

func newHarness(t *testing.T) *harness {
	var suite testsuite.WorkflowTestSuite
	suite.SetLogger(sdklog.NewStructuredLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	h := &harness{t: t, env: suite.NewTestWorkflowEnvironment()}
	h.start = h.env.Now()
	encounterwf.Register(h.env, acts)
	// The alert escalation is another process: a stub stands in for it.
	h.env.RegisterWorkflowWithOptions(func(_ workflow.Context, in alertwf.Input) (alertwf.State, error) {
		h.alerts = append(h.alerts, in)
		return alertwf.State{Raise: in.Raise, Status: alertwf.StatusResolved}, nil
	}, workflow.RegisterOptions{Name: alertwf.WorkflowName})
	h.env.OnActivity(acts.RecordCreated, mock.Anything, mock.Anything).Return(
		func(context.Context, activities.CreatedRequest) error { h.created++; return nil })
	h.env.OnActivity(acts.RecordTransition, mock.Anything, mock.Anything).Return(
		func(_ context.Context, req activities.TransitionRequest) error {
			if h.refuse != nil {
				if err := h.refuse(req); err != nil {
					return err
				}
			}
			h.recorded = append(h.recorded, req)
			return nil
		})
	h.env.OnUpsertTypedSearchAttributes(mock.Anything).Run(func(args mock.Arguments) {
		sa := args.Get(0).(temporal.SearchAttributes)
		status, _ := sa.GetKeyword(encounterwf.SearchStatus)
		h.statuses = append(h.statuses, status)
	}).Return(nil)
	return h
}

// at schedules f at offset d after the workflow starts.
func (h *harness) at(d time.Duration, f func()) { h.env.RegisterDelayedCallback(f, d) }

// outcome is what became of an update.
type outcome struct {
	accepted bool
	rejected error
	failed   error
}

// update sends an update; its outcome is known once the workflow has run.
func (h *harness) update(name string, arg any) *outcome {
	o := &outcome{}
	h.updateInto(o, name, arg)
	return o
}

func (h *harness) updateInto(o *outcome, name string, arg any) {
	h.env.UpdateWorkflow(name, uuid.NewString(), &testsuite.TestUpdateCallback{
		OnAccept:   func() { o.accepted = true },
		OnReject:   func(err error) { o.rejected = err },
		OnComplete: func(_ any, err error) { o.failed = err },
	}, arg)
}

// send schedules an update at offset d.
func (h *harness) send(d time.Duration, name string, arg any) *outcome {
	o := &outcome{}
	h.at(d, func() { h.updateInto(o, name, arg) })
	return o
}

func (h *harness) state() encounterwf.State {
	v, err := h.env.QueryWorkflow(encounterwf.QueryState)
	if err != nil {
		h.t.Fatalf("query state: %v", err)
	}
	var s encounterwf.State
	if err := v.Get(&s); err != nil {
		h.t.Fatal(err)
	}
	return s
}

func (h *harness) result() encounterwf.State {
	h.t.Helper()
	if !h.env.IsWorkflowCompleted() {
		h.t.Fatal("workflow did not complete")
	}
	if err := h.env.GetWorkflowError(); err != nil {
		h.t.Fatalf("workflow failed: %v", err)
	}
	var s encounterwf.State
	if err := h.env.GetWorkflowResult(&s); err != nil {
		h.t.Fatal(err)
	}
	return s
}

func (h *harness) recordedKinds() string {
	var out []string
	for _, r := range h.recorded {
		out = append(out, string(r.Entry.Kind))
	}
	return strings.Join(out, " ")
}

func kinds(s encounterwf.State) string {
	var out []string
	for _, e := range s.Timeline {
		out = append(out, string(e.Kind))
	}
	return strings.Join(out, " ")
}

func accepted(t *testing.T, what string, o *outcome) {
	t.Helper()
	if !o.accepted || o.rejected != nil || o.failed != nil {
		t.Fatalf("%s: accepted %v, rejected %v, failed %v", what, o.accepted, o.rejected, o.failed)
	}
}

func TestEncounterMovesThroughEveryTransition(t *testing.T) {
	h := newHarness(t)
	steps := []*outcome{
		h.send(time.Minute, encounterwf.UpdateArrive, arrive),
		h.send(5*time.Minute, encounterwf.UpdateTriage, triage),
		h.send(20*time.Minute, encounterwf.UpdateStart, start),
		h.send(time.Hour, encounterwf.UpdateTransfer, transfer),
		h.send(3*time.Hour, encounterwf.UpdateDischarge, discharge),
	}
	var during encounterwf.State
	h.at(2*time.Hour, func() { during = h.state() })
	h.env.ExecuteWorkflow(encounterwf.WorkflowName, testInput())
	s := h.result()

	for i, o := range steps {
		accepted(t, "step "+string(rune('1'+i)), o)
	}
	if during.Status != encounter.StatusInProgress || during.Location != "ward-3" || during.Attending != doctor {
		t.Fatalf("state during care: %s at %s under %s", during.Status, during.Location, during.Attending)
	}
	if s.Status != encounter.StatusDischarged || s.Acuity != encounter.AcuityEmergent || s.Disposition != encounter.DispositionHome {
		t.Fatalf("final %s, acuity %d, disposition %s", s.Status, s.Acuity, s.Disposition)
	}
	if got := kinds(s); got != "created arrived triaged started transferred discharged" {
		t.Fatalf("timeline %s", got)
	}
	if h.created != 1 || h.recordedKinds() != "arrived triaged started transferred discharged" {
		t.Fatalf("created %d, recorded %s", h.created, h.recordedKinds())
	}
	if last := h.recorded[len(h.recorded)-1]; last.Entry.At.Sub(h.start) != 3*time.Hour || last.State.Status != encounter.StatusDischarged {
		t.Fatalf("discharge recorded %+v", last.Entry)
	}
	if got := strings.Join(h.statuses, " "); got != "planned arrived triaged in-progress in-progress discharged" {
		t.Fatalf("EncounterStatus upserts: %s", got)
	}
	if len(h.alerts) != 0 {
		t.Fatalf("alerts raised on a timely encounter: %+v", h.alerts)
	}
}

func TestCancelFromEveryOpenStatus(t *testing.T) {
	tests := []struct {
		status encounter.Status
		before []string
	}{
		{encounter.StatusPlanned, nil},
		{encounter.StatusArrived, []string{encounterwf.UpdateArrive}},
		{encounter.StatusTriaged, []string{encounterwf.UpdateArrive, encounterwf.UpdateTriage}},
		{encounter.StatusInProgress, []string{encounterwf.UpdateArrive, encounterwf.UpdateTriage, encounterwf.UpdateStart}},
	}
	requests := map[string]any{encounterwf.UpdateArrive: arrive, encounterwf.UpdateTriage: triage, encounterwf.UpdateStart: start}
	for _, tc := range tests {
		t.Run(string(tc.status), func(t *testing.T) {
			h := newHarness(t)
			for i, name := range tc.before {
				h.send(time.Duration(i+1)*time.Minute, name, requests[name])
			}
			o := h.send(10*time.Minute, encounterwf.UpdateCancel, cancel)
			h.env.ExecuteWorkflow(encounterwf.WorkflowName, testInput())
			s := h.result()
			accepted(t, "cancel", o)
			if s.Status != encounter.StatusCancelled || s.CancelReason != cancel.Reason || s.EndedAt == nil {
				t.Fatalf("final %s, reason %q", s.Status, s.CancelReason)
			}
			if last := h.recorded[len(h.recorded)-1]; last.Entry.Kind != encounter.EventCancelled {
				t.Fatalf("last recorded %s", last.Entry.Kind)
			}
		})
	}
}

func TestInvalidTransitionsAreRejectedByTheValidator(t *testing.T) {
	requests := map[string]any{
		encounterwf.UpdateArrive: arrive, encounterwf.UpdateTriage: triage, encounterwf.UpdateStart: start,
		encounterwf.UpdateTransfer: transfer, encounterwf.UpdateDischarge: discharge,
	}
	path := []string{encounterwf.UpdateArrive, encounterwf.UpdateTriage, encounterwf.UpdateStart}
	tests := []struct {
		status  encounter.Status
		reached int // how many steps of path lead to it
		invalid []string
	}{
		{encounter.StatusPlanned, 0, []string{encounterwf.UpdateTriage, encounterwf.UpdateStart, encounterwf.UpdateTransfer, encounterwf.UpdateDischarge}},
		{encounter.StatusArrived, 1, []string{encounterwf.UpdateArrive, encounterwf.UpdateStart, encounterwf.UpdateTransfer, encounterwf.UpdateDischarge}},
		{encounter.StatusTriaged, 2, []string{encounterwf.UpdateArrive, encounterwf.UpdateTriage, encounterwf.UpdateTransfer, encounterwf.UpdateDischarge}},
		{encounter.StatusInProgress, 3, []string{encounterwf.UpdateArrive, encounterwf.UpdateTriage, encounterwf.UpdateStart}},
	}
	for _, tc := range tests {
		t.Run(string(tc.status), func(t *testing.T) {
			h := newHarness(t)
			for i, name := range path[:tc.reached] {
				h.send(time.Duration(i+1)*time.Minute, name, requests[name])
			}
			var before, after encounterwf.State
			var recordedBefore int
			h.at(9*time.Minute, func() { before, recordedBefore = h.state(), len(h.recorded) })
			var outcomes []*outcome
			for _, name := range tc.invalid {
				outcomes = append(outcomes, h.send(10*time.Minute, name, requests[name]))
			}
			h.at(11*time.Minute, func() { after = h.state() })
			h.send(12*time.Minute, encounterwf.UpdateCancel, cancel)
			h.env.ExecuteWorkflow(encounterwf.WorkflowName, testInput())
			h.result()

			for i, o := range outcomes {
				if o.accepted || o.rejected == nil {
					t.Fatalf("%s when %s: accepted %v", tc.invalid[i], tc.status, o.accepted)
				}
				if !strings.Contains(o.rejected.Error(), encounter.ErrInvalidTransition.Error()) ||
					!strings.Contains(o.rejected.Error(), "that is "+string(tc.status)) {
					t.Fatalf("%s when %s rejected with %q", tc.invalid[i], tc.status, o.rejected)
				}
			}
			if after.Status != tc.status || len(after.Timeline) != len(before.Timeline) {
				t.Fatalf("state changed by rejected updates: %s %s", after.Status, kinds(after))
			}
			if len(h.recorded) != recordedBefore+1 { // only the final cancel
				t.Fatalf("rejected updates were recorded: %s", h.recordedKinds())
			}
		})
	}
	t.Run("closed", func(t *testing.T) {
		h := newHarness(t)
		h.send(time.Minute, encounterwf.UpdateCancel, cancel)
		var late []*outcome
		h.at(time.Minute, func() {
			late = append(late, h.update(encounterwf.UpdateArrive, arrive), h.update(encounterwf.UpdateCancel, cancel))
		})
		h.env.ExecuteWorkflow(encounterwf.WorkflowName, testInput())
		h.result()
		for _, o := range late {
			if o.accepted || o.rejected == nil || !strings.Contains(o.rejected.Error(), "cancelled") {
				t.Fatalf("update after cancel: %+v", o)
			}
		}
	})
}

func TestInvalidArgumentsAreRejected(t *testing.T) {
	h := newHarness(t)
	h.send(time.Minute, encounterwf.UpdateArrive, arrive)
	bad := []*outcome{
		h.send(2*time.Minute, encounterwf.UpdateTriage, encounterwf.TriageRequest{By: nurse, Acuity: 6, ChiefComplaint: "cough"}),
		h.send(2*time.Minute, encounterwf.UpdateTriage, encounterwf.TriageRequest{By: nurse, Acuity: 3}),
		h.send(2*time.Minute, encounterwf.UpdateTriage, encounterwf.TriageRequest{Acuity: 3, ChiefComplaint: "cough"}),
	}
	h.send(3*time.Minute, encounterwf.UpdateCancel, cancel)
	h.env.ExecuteWorkflow(encounterwf.WorkflowName, testInput())
	h.result()
	for i, o := range bad {
		if o.accepted || o.rejected == nil || !strings.Contains(o.rejected.Error(), encounter.ErrInvalidArgument.Error()) {
			t.Fatalf("bad triage %d: %+v", i, o)
		}
	}
}

func TestTriageOverdueRaisesAnUrgentAlert(t *testing.T) {
	h := newHarness(t)
	in := testInput()
	h.send(time.Minute, encounterwf.UpdateArrive, arrive)
	h.send(40*time.Minute, encounterwf.UpdateTriage, triage)
	h.send(41*time.Minute, encounterwf.UpdateCancel, cancel)
	var after encounterwf.State
	h.at(30*time.Minute, func() { after = h.state() })
	h.env.ExecuteWorkflow(encounterwf.WorkflowName, in)
	h.result()

	if len(h.alerts) != 1 {
		t.Fatalf("alerts %+v", h.alerts)
	}
	a := h.alerts[0].Raise
	source := "encounter/" + in.EncounterID.String()
	if a.Category != encounterwf.CategoryTriageOverdue || a.Severity != alert.SeverityUrgent || a.Unit != "ed-triage" ||
		a.PatientID != in.PatientID || a.EncounterID == nil || *a.EncounterID != in.EncounterID || a.Source != source ||
		a.AlertID != alert.OccurrenceID(in.PatientID, encounterwf.CategoryTriageOverdue, source, 0) {
		t.Fatalf("alert %+v", a)
	}
	if len(after.Alerts) != 1 || after.Alerts[0].At.Sub(h.start) != 16*time.Minute {
		t.Fatalf("raised %+v, want 15m after arrival at 1m", after.Alerts)
	}
}

func TestTriageInTimeRaisesNoAlert(t *testing.T) {
	h := newHarness(t)
	in := testInput()
	in.TriageDeadline = 5 * time.Minute
	h.send(time.Minute, encounterwf.UpdateArrive, arrive)
	h.send(5*time.Minute, encounterwf.UpdateTriage, triage)
	h.send(time.Hour, encounterwf.UpdateCancel, cancel)
	h.env.ExecuteWorkflow(encounterwf.WorkflowName, in)
	h.result()
	if len(h.alerts) != 0 {
		t.Fatalf("alerts %+v", h.alerts)
	}
}

func TestLongEncounterRaisesAReviewAlert(t *testing.T) {
	h := newHarness(t)
	in := testInput()
	in.ExpectedLength = 4 * time.Hour
	h.send(time.Minute, encounterwf.UpdateArrive, arrive)
	h.send(2*time.Minute, encounterwf.UpdateTriage, triage)
	h.send(10*time.Minute, encounterwf.UpdateStart, start)
	h.send(time.Hour, encounterwf.UpdateTransfer, transfer)
	h.send(6*time.Hour, encounterwf.UpdateDischarge, discharge)
	h.env.ExecuteWorkflow(encounterwf.WorkflowName, in)
	s := h.result()
	if len(h.alerts) != 1 || h.alerts[0].Category != encounterwf.CategoryReview || h.alerts[0].Unit != "ward-3" ||
		h.alerts[0].Severity != alert.SeverityUrgent {
		t.Fatalf("alerts %+v", h.alerts)
	}
	if len(s.Alerts) != 1 || s.Alerts[0].At.Sub(h.start) != 4*time.Hour+10*time.Minute {
		t.Fatalf("review raised %+v", s.Alerts)
	}
}

// inCare sends the updates that bring the encounter into care by 3m.
func (h *harness) inCare() {
	h.send(time.Minute, encounterwf.UpdateArrive, arrive)
	h.send(2*time.Minute, encounterwf.UpdateTriage, triage)
	h.send(3*time.Minute, encounterwf.UpdateStart, start)
}

func (h *harness) signal(d time.Duration, name string, o encounterwf.OrderSignal) {
	h.at(d, func() { h.env.SignalWorkflow(name, o) })
}

func TestDischargeWithOpenOrdersIsRefused(t *testing.T) {
	h := newHarness(t)
	h.inCare()
	h.signal(10*time.Minute, encounterwf.SignalOrderLinked, encounterwf.OrderSignal{OrderID: labOrder, Kind: encounter.OrderDiagnostic})
	h.signal(11*time.Minute, encounterwf.SignalOrderLinked, encounterwf.OrderSignal{OrderID: rxOrder, Kind: encounter.OrderPrescription})
	h.signal(12*time.Minute, encounterwf.SignalOrderLinked, encounterwf.OrderSignal{OrderID: labOrder, Kind: encounter.OrderDiagnostic}) // repeated
	refused := h.send(20*time.Minute, encounterwf.UpdateDischarge, discharge)
	h.signal(30*time.Minute, encounterwf.SignalOrderClosed, encounterwf.OrderSignal{OrderID: labOrder})
	h.signal(31*time.Minute, encounterwf.SignalOrderClosed, encounterwf.OrderSignal{OrderID: rxOrder})
	done := h.send(40*time.Minute, encounterwf.UpdateDischarge, discharge)
	h.env.ExecuteWorkflow(encounterwf.WorkflowName, testInput())
	s := h.result()

	if refused.accepted || refused.rejected == nil || !strings.Contains(refused.rejected.Error(), encounter.ErrOpenOrders.Error()) ||
		!strings.Contains(refused.rejected.Error(), labOrder.String()) || !strings.Contains(refused.rejected.Error(), rxOrder.String()) {
		t.Fatalf("discharge with open orders: %+v", refused)
	}
	accepted(t, "discharge after the orders closed", done)
	if got := kinds(s); got != "created arrived triaged started order-linked order-linked order-closed order-closed discharged" {
		t.Fatalf("timeline %s", got)
	}
	if len(s.Orders) != 2 || len(s.OpenOrders()) != 0 {
		t.Fatalf("orders %+v", s.Orders)
	}
	if !strings.Contains(h.recordedKinds(), "order-linked order-linked order-closed order-closed discharged") {
		t.Fatalf("recorded %s", h.recordedKinds())
	}
}

func TestForcedDischargeNeedsAReason(t *testing.T) {
	h := newHarness(t)
	h.inCare()
	h.signal(10*time.Minute, encounterwf.SignalOrderLinked, encounterwf.OrderSignal{OrderID: labOrder, Kind: encounter.OrderDiagnostic})
	noReason := h.send(20*time.Minute, encounterwf.UpdateDischarge,
		encounterwf.DischargeRequest{By: doctor, Disposition: encounter.DispositionAdmitted, Force: true})
	forced := h.send(21*time.Minute, encounterwf.UpdateDischarge,
		encounterwf.DischargeRequest{By: doctor, Disposition: encounter.DispositionAdmitted, Force: true, Reason: "result follows the patient to the ward"})
	h.env.ExecuteWorkflow(encounterwf.WorkflowName, testInput())
	s := h.result()
	if noReason.accepted || noReason.rejected == nil {
		t.Fatalf("forced discharge without a reason: %+v", noReason)
	}
	accepted(t, "forced discharge", forced)
	if s.Status != encounter.StatusDischarged || s.DischargeReason == "" || len(s.OpenOrders()) != 1 {
		t.Fatalf("final %s, reason %q, open %d", s.Status, s.DischargeReason, len(s.OpenOrders()))
	}
}

func TestContinueAsNewKeepsState(t *testing.T) {
	// First run: the server suggests continuing as new once the encounter is in care.
	h := newHarness(t)
	h.inCare()
	h.at(4*time.Minute, func() { h.env.SetContinueAsNewSuggested(true) })
	h.signal(5*time.Minute, encounterwf.SignalOrderLinked, encounterwf.OrderSignal{OrderID: labOrder, Kind: encounter.OrderDiagnostic})
	in := testInput()
	in.ExpectedLength = time.Hour
	h.env.ExecuteWorkflow(encounterwf.WorkflowName, in)
	if !h.env.IsWorkflowCompleted() {
		t.Fatal("first run did not end")
	}
	var can *workflow.ContinueAsNewError
	if err := h.env.GetWorkflowError(); !errors.As(err, &can) {
		t.Fatalf("first run ended with %v, want continue-as-new", err)
	}
	var next encounterwf.Input
	if err := converter.GetDefaultDataConverter().FromPayloads(can.Input, &next); err != nil {
		t.Fatal(err)
	}
	if next.Resume == nil || next.Resume.Status != encounter.StatusInProgress || len(next.Resume.OpenOrders()) != 1 ||
		next.ExpectedLength != time.Hour || kinds(*next.Resume) != "created arrived triaged started order-linked" {
		t.Fatalf("carried input %+v", next)
	}

	// Second run: the review deadline still counts from the start of care,
	// the open order still refuses a plain discharge, and nothing is
	// recorded again.
	h2 := newHarness(t)
	h2.start = next.Resume.CreatedAt
	h2.env.SetStartTime(h2.start.Add(5 * time.Minute))
	refused := h2.send(10*time.Minute, encounterwf.UpdateDischarge, discharge)
	h2.signal(20*time.Minute, encounterwf.SignalOrderClosed, encounterwf.OrderSignal{OrderID: labOrder})
	done := h2.send(2*time.Hour, encounterwf.UpdateDischarge, discharge)
	h2.env.ExecuteWorkflow(encounterwf.WorkflowName, next)
	s := h2.result()
	if refused.accepted || refused.rejected == nil {
		t.Fatalf("discharge with the carried open order: %+v", refused)
	}
	accepted(t, "discharge", done)
	if h2.created != 0 || h2.recordedKinds() != "order-closed discharged" {
		t.Fatalf("second run created %d, recorded %s", h2.created, h2.recordedKinds())
	}
	if len(h.alerts) != 0 || len(h2.alerts) != 1 || len(s.Alerts) != 1 || s.Alerts[0].At.Sub(h2.start) != time.Hour+3*time.Minute {
		t.Fatalf("review alert %+v, children %d", s.Alerts, len(h2.alerts))
	}
}

func TestInvalidInputFailsWithoutRetry(t *testing.T) {
	h := newHarness(t)
	in := testInput()
	in.Class = "ward-round"
	h.env.ExecuteWorkflow(encounterwf.WorkflowName, in)
	var app *temporal.ApplicationError
	if err := h.env.GetWorkflowError(); !errors.As(err, &app) || app.Type() != process.TypeInvalidInput {
		t.Fatalf("invalid encounter: %v", err)
	}
	if h.created != 0 {
		t.Fatal("invalid encounter recorded")
	}
}
