package diagnostic_test

import (
	"errors"
	"slices"
	"strconv"
	"testing"
	"time"

	"go.temporal.io/sdk/workflow"

	"github.com/zarish-sphere/zarish/domain/diagnostic"
	"github.com/zarish-sphere/zarish/domain/observation"
	diagnosticwf "github.com/zarish-sphere/zarish/workflows/diagnostic"
)

// recipients lists who each version was sent to, as "who@version".
func recipients(s diagnosticwf.State) []string {
	var out []string
	for _, r := range s.Recipients {
		who := "orderer"
		if r.Who == patient {
			who = "patient"
		}
		out = append(out, who+"@"+strconv.Itoa(r.Version))
	}
	return out
}

// A final report's potassium is corrected to a critical value: a corrected
// version, sent again to the orderer, and a critical-result callback with
// its alert. An addendum after it is sent again too.
func TestCorrectionAfterFinalNotifiesAgain(t *testing.T) {
	h := newHarness(t)
	in := h.renal()
	h.resulted(4.2)
	h.verify(time.Hour)
	correct := h.sendWith(90*time.Minute, diagnosticwf.UpdateCorrect, func() []any {
		k := quantity(t, "k", observation.CodePotassium, 4.2, "mmol/L", h.start.Add(40*time.Minute))
		return []any{diagnosticwf.CorrectRequest{Correction: diagnostic.Correction{By: scientist, Reason: "sample of another patient run",
			Results: []observation.Observation{corrected(t, k, 6.8, "mmol/L", h.start.Add(90*time.Minute))}}}}
	})
	amend := h.send(100*time.Minute, diagnosticwf.UpdateAmend, diagnosticwf.AmendRequest{Amendment: diagnostic.Amendment{
		By: scientist, Reason: "ward informed", Addendum: "Discussed with the ward at 09:40."}})
	h.end(3 * time.Hour)
	h.run(in)

	accepted(t, "correct", correct)
	s := correct.state
	if s.Status != diagnostic.StatusCorrected || len(s.Versions) != 2 || s.Versions[1].Changes[0].Previous != "4.2 mmol/L" ||
		!slices.Equal(recipients(s), []string{"orderer@1", "orderer@2"}) || s.Recipients[1].At.Sub(h.start) != 90*time.Minute {
		t.Fatalf("corrected: %s, versions %d, recipients %v", s.Status, len(s.Versions), recipients(s))
	}
	if c := s.OpenCallbacks(); len(c) != 1 || c[0].Value != "6.8 mmol/L" {
		t.Fatalf("callbacks %+v", s.Callbacks)
	}
	if got := h.raised(); len(got) != 1 || got[0].Category != diagnosticwf.CategoryCriticalResult || got[0].at != 90*time.Minute {
		t.Fatalf("alerts %+v", got)
	}
	accepted(t, "amend", amend)
	if s := amend.state; s.Status != diagnostic.StatusAppended || len(s.Versions) != 3 ||
		!slices.Equal(recipients(s), []string{"orderer@1", "orderer@2", "orderer@3"}) {
		t.Fatalf("amended: %s, recipients %v", s.Status, recipients(s))
	}
	// The encounter heard of the order's end once, at verification.
	if s := h.sent(); len(s) != 2 {
		t.Fatalf("signals %+v", s)
	}
}

// finalReport is the renal panel resulted, verified at 60 minutes and
// released at once, and sent to the orderer and to the patient.
func finalReport(t *testing.T, h *harness) diagnostic.Report {
	t.Helper()
	must := func(r diagnostic.Report, err error) diagnostic.Report {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	r := h.renal().Report
	r = must(r.Collect(diagnostic.Collection{Accession: "A1", Container: goldTop, CollectedAt: t0.Add(10 * time.Minute), CollectorID: phleb},
		t0.Add(10*time.Minute)))
	r = must(r.Receive("A1", scientist, t0.Add(20*time.Minute)))
	for _, o := range append(firstResults(t, t0.Add(40*time.Minute), 4.2), restResults(t, t0.Add(40*time.Minute))...) {
		r = must(r.Record(o, t0.Add(40*time.Minute)))
	}
	r = must(r.Verify(diagnostic.Verification{By: scientist, Role: diagnostic.RoleLaboratoryScientist, At: t0.Add(time.Hour)}, 0))
	r = must(r.ReleaseWhenDue(t0.Add(time.Hour)))
	r = must(r.Notify(diagnostic.Recipient{Who: orderer, Role: diagnostic.ReaderClinician, Channel: diagnosticwf.ChannelInApp, At: t0.Add(time.Hour)}))
	return must(r.Notify(diagnostic.Recipient{Who: patient, Role: diagnostic.ReaderPatient, Channel: "sms", At: t0.Add(time.Hour)}))
}

// Everyone a report was sent to is sent its correction: here the orderer and
// the patient, each on the channel they had it by. The patient opens the
// corrected version.
func TestCorrectionNotifiesEveryEarlierRecipient(t *testing.T) {
	h := newHarness(t)
	r := finalReport(t, h)
	in := h.renal()
	in.Resume = &diagnosticwf.Resume{Report: r, EncounterTold: true}
	h.start = t0.Add(2 * time.Hour)
	h.env.SetStartTime(h.start)
	correct := h.sendWith(10*time.Minute, diagnosticwf.UpdateCorrect, func() []any {
		creat := restResults(t, t0.Add(40*time.Minute))[1]
		return []any{diagnosticwf.CorrectRequest{Correction: diagnostic.Correction{By: scientist, Reason: "units transcribed wrongly",
			Results: []observation.Observation{corrected(t, creat, 1.4, "mg/dL", h.start.Add(10*time.Minute))}}}}
	})
	opened := h.send(20*time.Minute, diagnosticwf.UpdateOpen, diagnosticwf.OpenRequest{Who: patient, Role: diagnostic.ReaderPatient})
	h.end(time.Hour)
	h.run(in)

	accepted(t, "correct", correct)
	s := correct.state
	if s.Status != diagnostic.StatusCorrected || !slices.Equal(recipients(s), []string{"orderer@1", "patient@1", "orderer@2", "patient@2"}) ||
		s.Recipients[3].Channel != "sms" || s.Recipients[2].Channel != diagnosticwf.ChannelInApp {
		t.Fatalf("corrected: %s, recipients %v", s.Status, recipients(s))
	}
	accepted(t, "open", opened)
	if o := opened.state.OpenedBy(2); len(o) != 1 || o[0].Who != patient || o[0].At.Sub(h.start) != 20*time.Minute {
		t.Fatalf("openings %+v", opened.state.Openings)
	}
	if got := h.upserted(); got != "corrected" {
		t.Fatalf("DiagnosticStatus upserts: %s", got)
	}
	if len(h.sent()) != 0 {
		t.Fatalf("the encounter was told again: %+v", h.sent())
	}
}

// A sensitive test's report is held from the patient until a clinician
// releases it; withdrawing it then ends the run.
func TestSensitiveReportHeldUntilReleased(t *testing.T) {
	h := newHarness(t)
	in := h.input(diagnostic.PriorityRoutine, []string{"56888-1"}) // HIV 1+2 antibody and p24 antigen
	h.send(10*time.Minute, diagnosticwf.UpdateCollect, diagnosticwf.CollectRequest{Collection: diagnostic.Collection{
		Accession: "H1", Container: goldTop, CollectedAt: h.start.Add(10 * time.Minute), CollectorID: phleb}})
	h.receive(20*time.Minute, "H1")
	h.sendWith(40*time.Minute, diagnosticwf.UpdateRecordResults, func() []any {
		// The observation catalogue holds no serology; the laboratory
		// system sends the coded answer as it is.
		at := h.start.Add(40 * time.Minute)
		o := observation.Observation{ID: obsID("hiv"), Version: 1, PatientID: patient, Code: "56888-1", Display: "HIV 1+2 Ab+HIV1 p24 Ag",
			Value:       &observation.Value{Kind: observation.KindCoded, Coding: &observation.Coding{Code: "LA6577-6", Display: "Negative"}},
			EffectiveAt: at.Add(-10 * time.Minute), Issued: at, Status: observation.StatusFinal, RecordedAt: at}
		return []any{diagnosticwf.RecordResultsRequest{Observations: []observation.Observation{o}, By: scientist}}
	})
	verified := h.send(time.Hour, diagnosticwf.UpdateVerify, diagnosticwf.VerifyRequest{Verification: diagnostic.Verification{
		By: scientist, Role: diagnostic.RolePathologist}})
	var held diagnosticwf.State
	h.query(3*time.Hour, &held)
	release := h.send(4*time.Hour, diagnosticwf.UpdateRelease, diagnosticwf.ReleaseRequest{By: clinician})
	twice := h.send(4*time.Hour+time.Minute, diagnosticwf.UpdateRelease, diagnosticwf.ReleaseRequest{By: clinician})
	withdrawn := h.send(5*time.Hour, diagnosticwf.UpdateWithdraw, diagnosticwf.WithdrawRequest{By: scientist, Reason: "wrong patient"})
	final := h.run(in)

	accepted(t, "verify", verified)
	if !verified.state.Release.Held || held.Released() || held.Release.At != nil {
		t.Fatalf("held %+v", held.Release)
	}
	accepted(t, "release", release)
	if r := release.state.Release; r.At == nil || r.At.Sub(h.start) != 4*time.Hour || r.By != clinician {
		t.Fatalf("released %+v", r)
	}
	refused(t, "release twice", twice, diagnosticwf.RefusedInvalidTransition)
	accepted(t, "withdraw", withdrawn)
	if final.Status != diagnostic.StatusEnteredInError || final.Released() || len(final.Versions) != 2 {
		t.Fatalf("final %s, released %v, versions %d", final.Status, final.Released(), len(final.Versions))
	}
	if got := h.upserted(); got != "preliminary final entered-in-error" {
		t.Fatalf("DiagnosticStatus upserts: %s", got)
	}
	// Told once, at verification; the withdrawal needs no second telling.
	if s := h.sent(); len(s) != 2 {
		t.Fatalf("signals %+v", s)
	}
}

// A run continued as new carries the report and its open alerts: the next
// run tells the encounter nothing again and resolves the carried alert when
// the callback is confirmed.
func TestContinueAsNewCarriesStateAndAlerts(t *testing.T) {
	h := newHarness(t)
	in := h.renal()
	h.resulted(6.8)
	h.at(41*time.Minute, func() { h.env.SetContinueAsNewSuggested(true) })
	h.attempt(42*time.Minute, clinician, true)
	h.env.ExecuteWorkflow(diagnosticwf.WorkflowName, in)
	var can *workflow.ContinueAsNewError
	if err := h.env.GetWorkflowError(); !errors.As(err, &can) {
		t.Fatalf("first run ended with %v, want continue-as-new", err)
	}
	next := decode(t, can)
	if next.Resume == nil || next.Resume.Report.Status != diagnostic.StatusPartial || len(next.Resume.Alerts.Critical) != 1 ||
		next.Resume.Alerts.Raised != 1 || next.Resume.EncounterTold || len(next.Resume.Report.OpenCallbacks()) != 1 ||
		next.ReleaseDelay == nil || *next.ReleaseDelay != time.Hour || next.Unit != "ward-3" {
		t.Fatalf("carried input %+v", next.Resume)
	}
	raised := h.raised()
	if len(raised) != 1 || raised[0].AlertID != next.Resume.Alerts.Critical[0].AlertID {
		t.Fatalf("alerts %+v", raised)
	}

	h2 := newHarness(t)
	h2.env.SetStartTime(t0.Add(42 * time.Minute))
	h2.start = t0.Add(42 * time.Minute)
	h2.results(5*time.Minute, func(at time.Time) []observation.Observation { return restResults(t, at) })
	confirmed := h2.confirm(10*time.Minute, "6.8 mmol/L")
	verified := h2.verify(20 * time.Minute)
	h2.end(time.Hour)
	final := h2.run(next)
	accepted(t, "confirm", confirmed)
	accepted(t, "verify", verified)
	if final.Status != diagnostic.StatusFinal || len(h2.raised()) != 0 {
		t.Fatalf("final %s, alerts %+v", final.Status, h2.raised())
	}
	if r := h2.resolver.resolved(); len(r) != 1 || r[0].alertID != raised[0].AlertID || r[0].by != caller {
		t.Fatalf("resolved %+v", r)
	}
	if s := h2.sent(); len(s) != 1 || s[0].name != "order-closed" {
		t.Fatalf("signals of the second run %+v", s)
	}
}
