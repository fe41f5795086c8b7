package alert_test

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
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/converter"
	sdklog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	activities "github.com/zarish-sphere/zarish/activities/alert"
	"github.com/zarish-sphere/zarish/domain/alert"
	"github.com/zarish-sphere/zarish/domain/careteam"
	alertwf "github.com/zarish-sphere/zarish/workflows/alert"
	"github.com/zarish-sphere/zarish/workflows/process"
)

// The care team of the tests: who each level of testPolicy reaches.
var (
	nurse    = uuid.MustParse("0193a000-0000-7000-8000-000000000001")
	charge   = uuid.MustParse("0193a000-0000-7000-8000-000000000002")
	doctor   = uuid.MustParse("0193a000-0000-7000-8000-000000000003")
	stranger = uuid.MustParse("0193a000-0000-7000-8000-000000000009")
	byLevel  = []uuid.UUID{nurse, charge, doctor}
	names    = map[uuid.UUID]string{nurse: "Nurse Amina", charge: "Charge Nurse Bilkis", doctor: "Dr Karim"}
)

func testPolicy(repeat int) alert.Policy {
	level := func(role careteam.Role, timeout time.Duration) alert.Level {
		return alert.Level{Recipients: []alert.RecipientRule{{Kind: alert.RecipientUnitRole, Role: role}},
			Channels: []alert.Channel{alert.ChannelInApp}, AckTimeout: timeout}
	}
	return alert.Policy{ID: "critical-default", Repeat: repeat, Levels: []alert.Level{
		level(careteam.RoleNurse, 5*time.Minute),
		level(careteam.RoleChargeNurse, 5*time.Minute),
		level(careteam.RolePhysician, 10*time.Minute),
	}}
}

func testInput() alertwf.Input {
	return alertwf.Input{Raise: alert.Raise{
		AlertID:   uuid.MustParse("0193a000-0000-7000-8000-00000000a1e7"),
		PatientID: uuid.MustParse("0193a000-0000-7000-8000-0000000000aa"),
		Unit:      "ward-3", Severity: alert.SeverityCritical, Category: "news2-high",
		Message: "NEWS2 score 9", Source: "encounter/0193a000-0000-7000-8000-0000000000e1",
	}}
}

// harness runs the workflow with mocked activities and records what they were asked.
type harness struct {
	t        *testing.T
	env      *testsuite.TestWorkflowEnvironment
	start    time.Time
	notified []activities.NotifyRequest
	acked    []activities.TransitionRequest
	resolved []activities.TransitionRequest
	exhaust  int
	raised   int
	// empty lists the levels (0-based) with nobody to notify.
	empty map[int]bool
	// undeliverable are the operator alarms raised.
	undeliverable []activities.UndeliverableRequest
	// ackErr, when set, is what recording an acknowledgement fails with.
	ackErr error
	// notifyErr, when set, may fail a step's notification.
	notifyErr func(activities.NotifyRequest) error
}

var acts *activities.Activities

func newHarness(t *testing.T, policy alert.Policy) *harness {
	var suite testsuite.WorkflowTestSuite
	suite.SetLogger(sdklog.NewStructuredLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	h := &harness{t: t, env: suite.NewTestWorkflowEnvironment(), empty: map[int]bool{}}
	h.start = h.env.Now()
	alertwf.Register(h.env, acts)
	h.env.OnActivity(acts.PreparePolicy, mock.Anything, mock.Anything).Return(policy, nil)
	h.env.OnActivity(acts.RecordRaised, mock.Anything, mock.Anything).Return(
		func(context.Context, activities.RaisedRequest) error { h.raised++; return nil })
	notify := func(req activities.NotifyRequest) []alert.Notification {
		h.notified = append(h.notified, req)
		p := byLevel[req.Step.Level]
		if req.Kind != "" { // a reminder goes to whoever acknowledged
			p = req.Level.Recipients[0].PractitionerID
		} else if h.empty[req.Step.Level] {
			return nil
		}
		who := careteam.Practitioner{ID: p, Name: names[p], Active: true}
		return alert.Notifications(req.Raise, req.Step, req.Kind, req.Level.Channels, []careteam.Practitioner{who}, req.At)
	}
	h.env.OnActivity(acts.Notify, mock.Anything, mock.Anything).Return(
		func(_ context.Context, req activities.NotifyRequest) ([]alert.Notification, error) {
			return notify(req), nil
		})
	h.env.OnActivity(acts.NotifyStep, mock.Anything, mock.Anything).Return(
		func(_ context.Context, req activities.NotifyRequest) (activities.NotifyResult, error) {
			if h.notifyErr != nil {
				if err := h.notifyErr(req); err != nil {
					return activities.NotifyResult{}, err
				}
			}
			ns := notify(req)
			if len(ns) == 0 {
				e := alert.UnreachableEvent(req.Step, alert.UnreachableNote(req.Level, req.Raise.Unit, nil), req.At)
				return activities.NotifyResult{Unreachable: &e}, nil
			}
			return activities.NotifyResult{Notifications: ns}, nil
		})
	h.env.OnActivity(acts.RecordUndeliverable, mock.Anything, mock.Anything).Return(
		func(_ context.Context, req activities.UndeliverableRequest) ([]alert.Notification, error) {
			h.undeliverable = append(h.undeliverable, req)
			return []alert.Notification{alert.FallbackNotification(req.Raise, "operator@localhost", req.Reasons, req.At)}, nil
		})
	h.env.OnActivity(acts.RecordAcknowledged, mock.Anything, mock.Anything).Return(
		func(_ context.Context, req activities.TransitionRequest) error {
			if h.ackErr != nil {
				return h.ackErr
			}
			h.acked = append(h.acked, req)
			return nil
		})
	h.env.OnActivity(acts.RecordResolved, mock.Anything, mock.Anything).Return(
		func(_ context.Context, req activities.TransitionRequest) error {
			h.resolved = append(h.resolved, req)
			return nil
		})
	h.env.OnActivity(acts.RecordExhausted, mock.Anything, mock.Anything).Return(
		func(context.Context, activities.TransitionRequest) error { h.exhaust++; return nil })
	return h
}

// at schedules f at offset d after the workflow starts.
func (h *harness) at(d time.Duration, f func()) { h.env.RegisterDelayedCallback(f, d) }

// outcome is what became of an update; the test environment fills it in
// as the workflow processes the update.
type outcome struct {
	accepted bool
	rejected error
	failed   error       // the handler's error, when it was accepted and failed
	result   alert.State // the handler's result, when it completed
}

// update sends an update; its outcome is known once the workflow has run.
// An accepted update that fails fails the test.
func (h *harness) update(name string, arg any) *outcome {
	o := h.updateMayFail(name, arg)
	o.mustComplete = true
	return o.outcome
}

type pending struct {
	*outcome
	mustComplete bool
}

// updateMayFail sends an update whose handler may fail.
func (h *harness) updateMayFail(name string, arg any) *pending {
	p := &pending{outcome: &outcome{}}
	h.env.UpdateWorkflow(name, uuid.NewString(), &testsuite.TestUpdateCallback{
		OnAccept: func() { p.accepted = true },
		OnReject: func(err error) { p.rejected = err },
		OnComplete: func(v any, err error) {
			p.failed = err
			if s, ok := v.(alert.State); ok {
				p.result = s
			}
			if err != nil && p.mustComplete {
				h.t.Errorf("%s: %v", name, err)
			}
		},
	}, arg)
	return p
}

func (h *harness) state() alertwf.State {
	v, err := h.env.QueryWorkflow(alertwf.QueryState)
	if err != nil {
		h.t.Fatalf("query state: %v", err)
	}
	var s alertwf.State
	if err := v.Get(&s); err != nil {
		h.t.Fatal(err)
	}
	return s
}

func (h *harness) result() alertwf.State {
	h.t.Helper()
	if !h.env.IsWorkflowCompleted() {
		h.t.Fatal("workflow did not complete")
	}
	if err := h.env.GetWorkflowError(); err != nil {
		h.t.Fatalf("workflow failed: %v", err)
	}
	var s alertwf.State
	if err := h.env.GetWorkflowResult(&s); err != nil {
		h.t.Fatal(err)
	}
	return s
}

// steps lists the notified steps as "level/round@offset".
func (h *harness) steps() []string {
	var out []string
	for _, n := range h.notified {
		out = append(out, stepAt(n.Step, n.At.Sub(h.start)))
	}
	return out
}

func stepAt(s alert.Step, d time.Duration) string {
	return "L" + string(rune('1'+s.Level)) + "/R" + string(rune('0'+s.Round)) + "@" + d.String()
}

func equal(t *testing.T, what string, got, want []string) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s = %v, want %v", what, got, want)
	}
	for i := range got {
		if got[i] != want[i] {
			t.Fatalf("%s = %v, want %v", what, got, want)
		}
	}
}

func kinds(s alertwf.State) []string {
	var out []string
	for _, e := range s.Timeline {
		out = append(out, string(e.Kind))
	}
	return out
}

func TestEscalatesAfterEachTimeoutInOrderThenExhausts(t *testing.T) {
	h := newHarness(t, testPolicy(0))
	h.env.ExecuteWorkflow(alertwf.WorkflowName, testInput())
	s := h.result()

	equal(t, "notified steps", h.steps(), []string{"L1/R0@0s", "L2/R0@5m0s", "L3/R0@10m0s"})
	if s.Status != alertwf.StatusExhausted || h.exhaust != 1 {
		t.Fatalf("status %s, exhausted recorded %d times", s.Status, h.exhaust)
	}
	if end := s.Timeline[len(s.Timeline)-1]; end.At.Sub(h.start) != 20*time.Minute {
		t.Fatalf("exhausted after %s, want 20m (the last level's timeout)", end.At.Sub(h.start))
	}
	equal(t, "timeline", kinds(s), []string{"raised", "notified", "escalated", "notified", "escalated", "notified", "exhausted"})
	if len(s.Recipients) != 3 || h.raised != 1 {
		t.Fatalf("recipients %v, raised recorded %d times", s.Recipients, h.raised)
	}
}

func TestRepeatsThePolicyBeforeExhausting(t *testing.T) {
	h := newHarness(t, testPolicy(1))
	h.env.ExecuteWorkflow(alertwf.WorkflowName, testInput())
	s := h.result()
	equal(t, "notified steps", h.steps(), []string{
		"L1/R0@0s", "L2/R0@5m0s", "L3/R0@10m0s", "L1/R1@20m0s", "L2/R1@25m0s", "L3/R1@30m0s"})
	if s.Status != alertwf.StatusExhausted {
		t.Fatalf("status %s", s.Status)
	}
}

func TestAcknowledgementByRecipientStopsEscalation(t *testing.T) {
	h := newHarness(t, testPolicy(0))
	var (
		during alertwf.State
		ack    *outcome
	)
	h.at(6*time.Minute, func() { // level 2 is running; the level-1 nurse answers
		ack = h.update(alertwf.UpdateAcknowledge, alertwf.AcknowledgeRequest{PractitionerID: nurse})
	})
	h.at(45*time.Minute, func() { during = h.state() })
	h.at(50*time.Minute, func() {
		h.update(alertwf.UpdateResolve, alertwf.ResolveRequest{PractitionerID: doctor, Note: "reviewed, fluids started"})
	})
	h.env.ExecuteWorkflow(alertwf.WorkflowName, testInput())
	s := h.result()

	if !ack.accepted || ack.rejected != nil {
		t.Fatalf("acknowledge by the nurse: rejected %v", ack.rejected)
	}
	equal(t, "notified steps", h.steps(), []string{"L1/R0@0s", "L2/R0@5m0s"})
	if during.Status != alertwf.StatusAcknowledged || during.AcknowledgedBy != nurse {
		t.Fatalf("state after acknowledgement: %s by %s", during.Status, during.AcknowledgedBy)
	}
	if len(h.acked) != 1 || h.acked[0].PractitionerID != nurse || h.acked[0].At.Sub(h.start) != 6*time.Minute || h.acked[0].Name != "Nurse Amina" {
		t.Fatalf("acknowledgements recorded: %+v", h.acked)
	}
	if s.Status != alertwf.StatusResolved || len(h.resolved) != 1 || h.resolved[0].Note != "reviewed, fluids started" {
		t.Fatalf("status %s, resolutions %+v", s.Status, h.resolved)
	}
	equal(t, "timeline", kinds(s), []string{"raised", "notified", "escalated", "notified", "acknowledged", "resolved"})
}

func TestAcknowledgementBySomeoneElseIsRejected(t *testing.T) {
	h := newHarness(t, testPolicy(0))
	var outcomes []*outcome
	h.at(time.Minute, func() {
		// Not notified at all, the charge nurse before her level is reached, nobody.
		for _, who := range []uuid.UUID{stranger, charge, uuid.Nil} {
			outcomes = append(outcomes, h.update(alertwf.UpdateAcknowledge, alertwf.AcknowledgeRequest{PractitionerID: who}))
		}
	})
	var after alertwf.State
	h.at(2*time.Minute, func() { after = h.state() })
	h.env.ExecuteWorkflow(alertwf.WorkflowName, testInput())
	s := h.result()

	if len(outcomes) != 3 {
		t.Fatalf("%d updates sent", len(outcomes))
	}
	for i, o := range outcomes {
		if o.accepted || o.rejected == nil {
			t.Fatalf("acknowledgement %d: accepted %v, rejected %v", i, o.accepted, o.rejected)
		}
	}
	// Refusals are typed: the API answers by type, never by the words.
	for i, want := range []string{alertwf.RefusedNotARecipient, alertwf.RefusedNotARecipient, process.TypeInvalidInput} {
		if got := process.ErrorType(outcomes[i].rejected); got != want {
			t.Fatalf("acknowledgement %d refused as %q (%v), want %q", i, got, outcomes[i].rejected, want)
		}
	}
	if len(h.acked) != 0 {
		t.Fatalf("rejected acknowledgements were recorded: %+v", h.acked)
	}
	if after.Status != alertwf.StatusOpen || len(kinds(after)) != 2 {
		t.Fatalf("state after rejections: %s %v", after.Status, kinds(after))
	}
	if s.Status != alertwf.StatusExhausted {
		t.Fatalf("rejected acknowledgements stopped escalation: %s", s.Status)
	}
}

func TestSecondAcknowledgementIsRejected(t *testing.T) {
	h := newHarness(t, testPolicy(0))
	var second *outcome
	h.at(6*time.Minute, func() { h.update(alertwf.UpdateAcknowledge, alertwf.AcknowledgeRequest{PractitionerID: charge}) })
	h.at(7*time.Minute, func() {
		second = h.update(alertwf.UpdateAcknowledge, alertwf.AcknowledgeRequest{PractitionerID: nurse})
	})
	h.at(8*time.Minute, func() { h.update(alertwf.UpdateResolve, alertwf.ResolveRequest{PractitionerID: charge}) })
	h.env.ExecuteWorkflow(alertwf.WorkflowName, testInput())
	s := h.result()
	if second == nil || second.accepted || process.ErrorType(second.rejected) != alertwf.RefusedAlreadyAcknowledged {
		t.Fatalf("second acknowledgement: %+v", second)
	}
	if len(h.acked) != 1 || h.acked[0].PractitionerID != charge || s.AcknowledgedBy != charge {
		t.Fatalf("acknowledgements: %+v", h.acked)
	}
}

func TestResolveEndsAnOpenAlert(t *testing.T) {
	h := newHarness(t, testPolicy(0))
	h.at(2*time.Minute, func() {
		h.update(alertwf.UpdateResolve, alertwf.ResolveRequest{PractitionerID: doctor, Note: "false alarm: probe off"})
	})
	h.env.ExecuteWorkflow(alertwf.WorkflowName, testInput())
	s := h.result()
	equal(t, "notified steps", h.steps(), []string{"L1/R0@0s"})
	if s.Status != alertwf.StatusResolved || len(h.resolved) != 1 || h.resolved[0].At.Sub(h.start) != 2*time.Minute {
		t.Fatalf("status %s, resolutions %+v", s.Status, h.resolved)
	}
}

func TestResolveReminderRenotifiesTheAcknowledger(t *testing.T) {
	p := testPolicy(0)
	p.ResolveReminder = 30 * time.Minute
	h := newHarness(t, p)
	h.at(time.Minute, func() { h.update(alertwf.UpdateAcknowledge, alertwf.AcknowledgeRequest{PractitionerID: nurse}) })
	h.at(70*time.Minute, func() { h.update(alertwf.UpdateResolve, alertwf.ResolveRequest{PractitionerID: nurse}) })
	h.env.ExecuteWorkflow(alertwf.WorkflowName, testInput())
	h.result()
	equal(t, "notified steps", h.steps(), []string{"L1/R0@0s", "L1/R0@31m0s", "L1/R0@1h1m0s"})
	for _, n := range h.notified[1:] {
		if n.Kind == "" || n.Level.Recipients[0].PractitionerID != nurse {
			t.Fatalf("reminder %+v", n)
		}
	}
}

func TestContinueAsNewKeepsState(t *testing.T) {
	// First run: the server suggests continuing as new once level 1 is out.
	h := newHarness(t, testPolicy(0))
	h.env.SetContinueAsNewSuggested(true)
	h.env.ExecuteWorkflow(alertwf.WorkflowName, testInput())
	if !h.env.IsWorkflowCompleted() {
		t.Fatal("first run did not end")
	}
	var can *workflow.ContinueAsNewError
	if err := h.env.GetWorkflowError(); !errors.As(err, &can) {
		t.Fatalf("first run ended with %v, want continue-as-new", err)
	}
	var next alertwf.Input
	if err := converter.GetDefaultDataConverter().FromPayloads(can.Input, &next); err != nil {
		t.Fatal(err)
	}
	if next.Resume == nil || next.Resume.Step != (alert.Step{}) || len(next.Resume.Recipients) != 1 || len(next.Resume.Timeline) != 2 {
		t.Fatalf("carried state %+v", next.Resume)
	}

	// Second run: it resumes the wait, escalates on time and still accepts
	// the level-1 nurse, without raising or notifying level 1 again.
	h2 := newHarness(t, testPolicy(0))
	h2.start = next.Resume.Timeline[0].At
	h2.env.SetStartTime(h2.start.Add(time.Second))
	h2.at(6*time.Minute, func() {
		h2.update(alertwf.UpdateAcknowledge, alertwf.AcknowledgeRequest{PractitionerID: nurse})
	})
	h2.at(7*time.Minute, func() { h2.update(alertwf.UpdateResolve, alertwf.ResolveRequest{PractitionerID: nurse}) })
	h2.env.ExecuteWorkflow(alertwf.WorkflowName, next)
	s := h2.result()
	if len(h2.acked) != 1 || h2.acked[0].PractitionerID != nurse {
		t.Fatalf("the level-1 nurse could not acknowledge after continue-as-new: %+v", h2.acked)
	}
	if h2.raised != 0 {
		t.Fatal("raised again after continue-as-new")
	}
	equal(t, "notified steps", h2.steps(), []string{"L2/R0@5m0s"})
	equal(t, "timeline", kinds(s), []string{"raised", "notified", "escalated", "notified", "acknowledged", "resolved"})
}

func TestInvalidInputFailsWithoutRetry(t *testing.T) {
	h := newHarness(t, testPolicy(0))
	in := testInput()
	in.Severity = "catastrophic"
	h.env.ExecuteWorkflow(alertwf.WorkflowName, in)
	if err := h.env.GetWorkflowError(); err == nil {
		t.Fatal("invalid alert accepted")
	}
	if len(h.notified) != 0 {
		t.Fatal("invalid alert notified someone")
	}
}

// raiser stands for any clinical workflow that raises an alert.
func raiser(ctx workflow.Context, in alertwf.Input) (alertwf.State, error) {
	f, err := alertwf.StartChild(ctx, in)
	if err != nil {
		return alertwf.State{}, err
	}
	var started workflow.Execution
	if err := f.GetChildWorkflowExecution().Get(ctx, &started); err != nil {
		return alertwf.State{}, err
	}
	if started.ID != alertwf.WorkflowID(in.AlertID) {
		return alertwf.State{}, errors.New("child started as " + started.ID)
	}
	var s alertwf.State
	err = f.Get(ctx, &s)
	return s, err
}

func TestStartChildRaisesFromAnotherWorkflow(t *testing.T) {
	h := newHarness(t, testPolicy(0))
	h.env.RegisterWorkflow(raiser)
	h.env.ExecuteWorkflow(raiser, testInput())
	s := h.result()
	if s.Status != alertwf.StatusExhausted || len(h.notified) != 3 {
		t.Fatalf("child alert: %s after %d notifications", s.Status, len(h.notified))
	}
	in := testInput()
	in.Category = ""
	if _, err := alertwf.StartChild(nil, in); err == nil {
		t.Fatal("StartChild accepted an alert without category")
	}
}

// TestEmptyLevelEscalatesAtOnce: a level with nobody to notify is recorded
// in the timeline, naming the role and unit, and the alert escalates at once
// to the next level instead of waiting out the empty level's timeout.
func TestEmptyLevelEscalatesAtOnce(t *testing.T) {
	h := newHarness(t, testPolicy(0))
	h.empty[0] = true // no nurse on ward-3
	h.env.ExecuteWorkflow(alertwf.WorkflowName, testInput())
	s := h.result()

	equal(t, "notified steps", h.steps(), []string{"L1/R0@0s", "L2/R0@0s", "L3/R0@5m0s"})
	equal(t, "timeline", kinds(s), []string{"raised", "unreachable", "escalated", "notified", "escalated", "notified", "exhausted"})
	if e := s.Timeline[1]; e.Note != "no nurse on ward-3" || e.Level != 1 {
		t.Fatalf("unreachable entry %+v", e)
	}
	if e := s.Timeline[2]; e.Note != "nobody to notify at level 1" || e.Level != 2 {
		t.Fatalf("escalated entry %+v", e)
	}
	if s.Status != alertwf.StatusExhausted || len(h.undeliverable) != 0 {
		t.Fatalf("status %s, operator alarms %d: someone was notified, so the alert is exhausted", s.Status, len(h.undeliverable))
	}
	if end := s.Timeline[len(s.Timeline)-1]; end.At.Sub(h.start) != 15*time.Minute {
		t.Fatalf("exhausted after %s, want 15m (levels 2 and 3 only)", end.At.Sub(h.start))
	}
}

// TestNoLevelDeliverableAlarmsTheOperator: when no level has anyone to
// notify, the alert is not left waiting: it goes to the fallback contact at
// once and closes as undeliverable, every missing level named.
func TestNoLevelDeliverableAlarmsTheOperator(t *testing.T) {
	h := newHarness(t, testPolicy(2)) // repeats would reach nobody either
	h.empty[0], h.empty[1], h.empty[2] = true, true, true
	h.env.ExecuteWorkflow(alertwf.WorkflowName, testInput())
	s := h.result()

	equal(t, "notified steps", h.steps(), []string{"L1/R0@0s", "L2/R0@0s", "L3/R0@0s"})
	if s.Status != alertwf.StatusUndeliverable || h.exhaust != 0 {
		t.Fatalf("status %s, exhausted %d", s.Status, h.exhaust)
	}
	if len(h.undeliverable) != 1 {
		t.Fatalf("operator alarms %d, want 1", len(h.undeliverable))
	}
	equal(t, "reasons", h.undeliverable[0].Reasons, []string{"no nurse on ward-3", "no charge-nurse on ward-3", "no physician on ward-3"})
	equal(t, "timeline", kinds(s), []string{"raised", "unreachable", "escalated", "unreachable", "escalated", "unreachable", "undeliverable", "notified"})
	if last := s.Timeline[len(s.Timeline)-1]; last.Name != alert.OperatorName || last.Channel != alert.ChannelEmail {
		t.Fatalf("operator notification entry %+v", last)
	}
	if !strings.Contains(s.Timeline[6].Note, "operator@localhost") {
		t.Fatalf("undeliverable entry %+v", s.Timeline[6])
	}
	if end := s.Timeline[len(s.Timeline)-1]; end.At.Sub(h.start) != 0 {
		t.Fatalf("undeliverable after %s: nothing to wait for", end.At.Sub(h.start))
	}
}

// TestAcknowledgementNotRecordedLeavesTheAlertOpen: an acknowledgement the
// read model refuses for good is refused, and the alert goes on escalating
// as if it had never been asked.
func TestAcknowledgementNotRecordedLeavesTheAlertOpen(t *testing.T) {
	h := newHarness(t, testPolicy(0))
	h.ackErr = process.InvalidInput(errors.New("validation failed: (body): holds a character that cannot be stored"))
	var ack *pending
	var during alertwf.State
	h.at(time.Minute, func() {
		ack = h.updateMayFail(alertwf.UpdateAcknowledge, alertwf.AcknowledgeRequest{PractitionerID: nurse})
	})
	h.at(2*time.Minute, func() { during = h.state() })
	h.env.ExecuteWorkflow(alertwf.WorkflowName, testInput())
	s := h.result()

	if ack == nil || !ack.accepted || process.ErrorType(ack.failed) != alertwf.RefusedNotRecorded {
		t.Fatalf("acknowledgement: accepted %v, failed %v", ack != nil && ack.accepted, ack.failed)
	}
	if during.Status != alertwf.StatusOpen || during.AcknowledgedBy != uuid.Nil || len(kinds(during)) != 2 {
		t.Fatalf("state after the refused acknowledgement: %s by %s, %v", during.Status, during.AcknowledgedBy, kinds(during))
	}
	equal(t, "notified steps", h.steps(), []string{"L1/R0@0s", "L2/R0@5m0s", "L3/R0@10m0s"})
	if s.Status != alertwf.StatusExhausted {
		t.Fatalf("status %s", s.Status)
	}
}

// TestStepOutlastingItsRetriesIsTriedAgain: a notification whose activity
// fails past its retry policy (a database outage) is late, never dropped.
func TestStepOutlastingItsRetriesIsTriedAgain(t *testing.T) {
	h := newHarness(t, testPolicy(0))
	failures := 0
	h.notifyErr = func(req activities.NotifyRequest) error {
		if req.Step.Level == 0 && failures < process.RetryAttempts+2 {
			failures++
			return errors.New("connection refused")
		}
		return nil
	}
	h.env.ExecuteWorkflow(alertwf.WorkflowName, testInput())
	s := h.result()
	if len(h.notified) != 3 || h.notified[0].Step.Level != 0 || s.Status != alertwf.StatusExhausted {
		t.Fatalf("notified %v, status %s", h.steps(), s.Status)
	}
	if failures != process.RetryAttempts+2 {
		t.Fatalf("%d failed attempts", failures)
	}
}

// TestConcurrentAcknowledgementsRecordOne: two acknowledgements at the same
// moment both pass their validators, but they are recorded one at a time:
// the second finds the alert acknowledged and is refused, typed.
func TestConcurrentAcknowledgementsRecordOne(t *testing.T) {
	h := newHarness(t, testPolicy(0))
	var first, second *pending
	h.at(6*time.Minute, func() { // nurse (level 1) and charge nurse (level 2) at once
		first = h.updateMayFail(alertwf.UpdateAcknowledge, alertwf.AcknowledgeRequest{PractitionerID: nurse})
		second = h.updateMayFail(alertwf.UpdateAcknowledge, alertwf.AcknowledgeRequest{PractitionerID: charge})
	})
	h.at(7*time.Minute, func() { h.update(alertwf.UpdateResolve, alertwf.ResolveRequest{PractitionerID: nurse, Note: "seen"}) })
	h.env.ExecuteWorkflow(alertwf.WorkflowName, testInput())
	s := h.result()
	if first.failed != nil || process.ErrorType(second.failed) != alertwf.RefusedAlreadyAcknowledged {
		t.Fatalf("first %v, second %v (rejected %v)", first.failed, second.failed, second.rejected)
	}
	if len(h.acked) != 1 || s.AcknowledgedBy != nurse {
		t.Fatalf("acknowledgements recorded: %+v, acknowledged by %s", h.acked, s.AcknowledgedBy)
	}
}

// A page can reach its nurse before the step that sent it has returned to
// the workflow (the in-app notification travels outbox, broker, inbox and
// her stream while the activity's completion waits for a workflow task):
// her acknowledgement then is accepted, waits for the step, and is
// recorded. Someone the step did not notify is still refused, once it is
// known.
func TestAcknowledgementWhileItsPageIsBeingSent(t *testing.T) {
	h := newHarness(t, testPolicy(0))
	var nurseAck, strangerAck *pending
	first := true
	h.env.SetOnActivityStartedListener(func(info *activity.Info, _ context.Context, _ converter.EncodedValues) {
		if info.ActivityType.Name != "NotifyStep" || !first {
			return
		}
		first = false
		nurseAck = h.updateMayFail(alertwf.UpdateAcknowledge, alertwf.AcknowledgeRequest{PractitionerID: nurse})
		strangerAck = h.updateMayFail(alertwf.UpdateAcknowledge, alertwf.AcknowledgeRequest{PractitionerID: stranger})
	})
	h.at(time.Minute, func() {
		h.update(alertwf.UpdateResolve, alertwf.ResolveRequest{PractitionerID: nurse, Note: "reviewed"})
	})
	h.env.ExecuteWorkflow(alertwf.WorkflowName, testInput())
	s := h.result()

	if nurseAck == nil || !nurseAck.accepted || nurseAck.rejected != nil || nurseAck.failed != nil {
		t.Fatalf("the paged nurse's acknowledgement during the send: %+v", nurseAck)
	}
	if len(h.acked) != 1 || h.acked[0].PractitionerID != nurse {
		t.Fatalf("acknowledgements recorded: %+v", h.acked)
	}
	if strangerAck.failed == nil || process.ErrorType(strangerAck.failed) != alertwf.RefusedNotARecipient {
		t.Fatalf("a stranger's acknowledgement during the send: accepted %v, failed %v", strangerAck.accepted, strangerAck.failed)
	}
	equal(t, "notified steps", h.steps(), []string{"L1/R0@0s"})
	equal(t, "timeline", kinds(s), []string{"raised", "notified", "acknowledged", "resolved"})
}
