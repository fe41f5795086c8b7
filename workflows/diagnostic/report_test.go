package diagnostic_test

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/zarish-sphere/zarish/domain"
	"github.com/zarish-sphere/zarish/domain/alert"
	"github.com/zarish-sphere/zarish/domain/audit"
	"github.com/zarish-sphere/zarish/domain/diagnostic"
	"github.com/zarish-sphere/zarish/domain/encounter"
	"github.com/zarish-sphere/zarish/domain/observation"
	diagnosticwf "github.com/zarish-sphere/zarish/workflows/diagnostic"
	encounterwf "github.com/zarish-sphere/zarish/workflows/encounter"
	"github.com/zarish-sphere/zarish/workflows/process"
)

// A routine renal panel from order to final: the tube collected and
// received, the results arriving in two deliveries (a preliminary report
// after the first), a delta-check flag reviewed before the verification,
// which sends the report to its orderer and releases it to the patient an
// hour later. The encounter hears of the order and of its end.
func TestOrderToFinalReport(t *testing.T) {
	h := newHarness(t)
	in := h.renal()
	var ordered diagnosticwf.State
	var linked []signalled
	h.at(time.Minute, func() { linked = h.sent() })
	h.query(time.Minute, &ordered)
	collected := h.collect(10*time.Minute, "A1")
	received := h.receive(20*time.Minute, "A1")
	partial := h.results(40*time.Minute, func(at time.Time) []observation.Observation { return firstResults(t, at, 4.2) })
	early := h.verify(45 * time.Minute)
	rest := h.results(50*time.Minute, func(at time.Time) []observation.Observation {
		obs := restResults(t, at)
		obs[1] = flagged(obs[1]) // creatinine
		return obs
	})
	unreviewed := h.verify(55 * time.Minute)
	reviewed := h.sendWith(56*time.Minute, diagnosticwf.UpdateReviewFlag, func() []any {
		return []any{diagnosticwf.ReviewFlagRequest{FlagID: h.state().Flags[0].ID, By: scientist, Note: "rerun on the same sample: confirmed"}}
	})
	rec := &audit.Record{ID: uuid.MustParse("0193f100-0000-7000-8000-0000000000f1"), Action: audit.ActionUpdate, Status: 200}
	verified := h.send(60*time.Minute, diagnosticwf.UpdateVerify, diagnosticwf.VerifyRequest{
		Verification: diagnostic.Verification{By: scientist, Role: diagnostic.RoleLaboratoryScientist, Conclusion: "Within reference limits."},
		Audited:      process.Audited{Audit: rec}})
	var released diagnosticwf.State
	h.query(2*time.Hour+time.Minute, &released)
	h.end(3 * time.Hour)
	final := h.run(in)

	if ordered.Status != diagnostic.StatusRegistered || kinds(ordered) != "ordered" {
		t.Fatalf("ordered: %s, %s", ordered.Status, kinds(ordered))
	}
	order := encounterwf.OrderSignal{OrderID: orderID, Kind: encounter.OrderDiagnostic}
	if len(linked) != 1 || linked[0] != (signalled{encounterwf.WorkflowID(encounterID), encounterwf.SignalOrderLinked, order}) {
		t.Fatalf("signals by the first minute %+v", linked)
	}
	accepted(t, "collect", collected)
	if s := collected.state.Specimens; len(s) != 1 || s[0].Accession != "A1" || s[0].Status != diagnostic.SpecimenCollected ||
		s[0].Type != "SER" || s[0].CollectorID != phleb {
		t.Fatalf("collected %+v", s)
	}
	accepted(t, "receive", received)
	if s := received.state.Specimens[0]; s.Status != diagnostic.SpecimenReceived || s.ReceivedAt.Sub(h.start) != 20*time.Minute ||
		received.state.Status != diagnostic.StatusRegistered {
		t.Fatalf("received %+v", s)
	}
	accepted(t, "first results", partial)
	if s := partial.state; s.Status != diagnostic.StatusPartial || !s.Status.Visible() || len(s.Missing()) != 3 || len(s.Results) != 2 {
		t.Fatalf("after the first results: %s, missing %v", s.Status, s.Missing())
	}
	refused(t, "verify while results are missing", early, diagnosticwf.RefusedInvalidTransition)
	accepted(t, "the rest of the results", rest)
	if s := rest.state; s.Status != diagnostic.StatusPreliminary || s.ResultedAt == nil || s.ResultedAt.Sub(h.start) != 50*time.Minute ||
		len(s.Unreviewed()) != 1 {
		t.Fatalf("all resulted: %s at %v, flags %+v", s.Status, s.ResultedAt, s.Flags)
	}
	refused(t, "verify with a flag to review", unreviewed, diagnosticwf.RefusedUnreviewedFlags)
	accepted(t, "review the flag", reviewed)

	accepted(t, "verify", verified)
	v := verified.state
	if v.Status != diagnostic.StatusFinal || v.Verification == nil || v.Verification.At.Sub(h.start) != time.Hour ||
		v.Verification.By != scientist || len(v.Versions) != 1 || v.Conclusion != "Within reference limits." {
		t.Fatalf("verified: %s %+v", v.Status, v.Verification)
	}
	if len(v.Recipients) != 1 || v.Recipients[0] != (diagnostic.Recipient{Who: orderer, Role: diagnostic.ReaderClinician,
		Channel: diagnosticwf.ChannelInApp, Version: 1, At: h.start.Add(time.Hour)}) {
		t.Fatalf("recipients %+v", v.Recipients)
	}
	if v.Release.Due == nil || v.Release.Due.Sub(h.start) != 2*time.Hour || v.Released() {
		t.Fatalf("release %+v", v.Release)
	}
	if released.Release.At == nil || released.Release.At.Sub(h.start) != 2*time.Hour || !released.Released() ||
		released.Last().Kind != diagnostic.EventReleased || released.Last().By != uuid.Nil {
		t.Fatalf("released %+v, last %+v", released.Release, released.Last())
	}
	const timeline = "ordered specimen-collected specimen-received result-recorded result-recorded result-recorded result-recorded " +
		"result-recorded flag-reviewed verified notified released"
	if final.Status != diagnostic.StatusFinal || kinds(final) != timeline {
		t.Fatalf("final %s: %s", final.Status, kinds(final))
	}

	const writes = "specimen-collected specimen-received result-recorded+result-recorded " +
		"result-recorded+result-recorded+result-recorded flag-reviewed verified+notified released"
	if got := h.store.writtenKinds(1); got != writes {
		t.Fatalf("written %s", got)
	}
	w := h.store.writes()
	if a := w[len(w)-2].audit; a == nil || a.ID != rec.ID || w[len(w)-1].audit != nil {
		t.Fatalf("audits of the verification and the release: %v %v", a, w[len(w)-1].audit)
	}
	if got := h.upserted(); got != "partial preliminary final" {
		t.Fatalf("DiagnosticStatus upserts: %s", got)
	}
	want := []signalled{
		{encounterwf.WorkflowID(encounterID), encounterwf.SignalOrderLinked, order},
		{encounterwf.WorkflowID(encounterID), encounterwf.SignalOrderClosed, order},
	}
	if got := h.sent(); !slices.Equal(got, want) {
		t.Fatalf("signals %+v, want %+v", got, want)
	}
	if len(h.raised()) != 0 || len(h.resolver.resolved()) != 0 {
		t.Fatalf("alerts %+v, resolved %+v", h.raised(), h.resolver.resolved())
	}
}

// A haemolysed tube is rejected: it cannot be received or resulted, the
// laboratory asks for a recollection, and the new tube names the one it
// replaces. The order is then cancelled, which ends the run.
func TestRejectedTubeIsRecollected(t *testing.T) {
	h := newHarness(t)
	in := h.renal()
	h.collect(10*time.Minute, "A1")
	h.receive(20*time.Minute, "A1")
	rejected := h.send(25*time.Minute, diagnosticwf.UpdateReject, diagnosticwf.RejectRequest{Accession: "A1",
		Reason: diagnostic.RejectHaemolysed, Note: "grossly haemolysed", By: scientist})
	again := h.receive(26*time.Minute, "A1")
	early := h.results(30*time.Minute, func(at time.Time) []observation.Observation { return firstResults(t, at, 4.2) })
	recollected := h.collect(40*time.Minute, "A2")
	h.receive(50*time.Minute, "A2")
	resulted := h.results(60*time.Minute, func(at time.Time) []observation.Observation {
		return append(firstResults(t, at, 4.2), restResults(t, at)...)
	})
	cancelled := h.cancel(70 * time.Minute)
	final := h.run(in)

	accepted(t, "reject", rejected)
	if s := rejected.state; s.Status != diagnostic.StatusRegistered || !slices.Equal(s.Recollect(), []string{goldTop}) ||
		s.Specimens[0].Rejection == nil || s.Specimens[0].Rejection.Reason != diagnostic.RejectHaemolysed ||
		s.Stages().Restarted == nil || s.Stages().Restarted.Sub(h.start) != 25*time.Minute {
		t.Fatalf("rejected: %s, recollect %v, %+v", s.Status, s.Recollect(), s.Specimens)
	}
	refused(t, "receive the rejected tube", again, diagnosticwf.RefusedInvalidTransition)
	refused(t, "results before a tube is received", early, diagnosticwf.RefusedInvalidTransition)
	accepted(t, "recollect", recollected)
	if s := recollected.state.Specimens; len(s) != 2 || s[1].Accession != "A2" || s[1].Replaces != "A1" || len(recollected.state.Recollect()) != 0 {
		t.Fatalf("recollected %+v", s)
	}
	accepted(t, "results", resulted)
	if resulted.state.Status != diagnostic.StatusPreliminary {
		t.Fatalf("resulted: %s", resulted.state.Status)
	}
	accepted(t, "cancel", cancelled)
	if final.Status != diagnostic.StatusCancelled || final.Last().Note != "no longer needed" || final.Last().By != orderer ||
		h.env.Now().Sub(h.start) != 70*time.Minute+time.Second {
		t.Fatalf("final %s %+v, ended at %s", final.Status, final.Last(), h.env.Now().Sub(h.start))
	}
	if got := h.upserted(); got != "preliminary cancelled" {
		t.Fatalf("DiagnosticStatus upserts: %s", got)
	}
	if s := h.sent(); len(s) != 2 || s[1].name != encounterwf.SignalOrderClosed {
		t.Fatalf("signals %+v", s)
	}
	// The unit, and the tube's collector as its owner, were asked for the
	// new tube, and the alert was resolved once it was drawn.
	got := h.raised()
	if len(got) != 1 || got[0].Category != diagnosticwf.CategoryRecollect || got[0].at != 25*time.Minute ||
		got[0].Unit != "ward-3" || got[0].OwnerID == nil || *got[0].OwnerID != phleb ||
		got[0].Severity != alert.SeverityWarning || !strings.Contains(got[0].Message, "A1 was rejected (haemolysed: grossly haemolysed)") {
		t.Fatalf("alerts %+v", got)
	}
	if r := h.resolver.resolved(); len(r) != 1 || r[0].alertID != got[0].AlertID || r[0].note != "A new "+goldTop+" tube was collected." {
		t.Fatalf("resolved %+v", r)
	}
}

// Steps the report's status or the request forbid are refused by the
// validators: nothing reaches the read model, and the report stays as it was.
func TestInvalidStepsAreRefused(t *testing.T) {
	h := newHarness(t)
	in := h.renal()
	var before, after diagnosticwf.State
	var writesBefore, writesAfter int
	h.at(4*time.Minute, func() { writesBefore = len(h.store.writes()) })
	h.query(4*time.Minute, &before)
	other := quantity(t, "other-patient", observation.CodeSodium, 140, "mmol/L", t0)
	other.PatientID = uuid.MustParse("0193f100-0000-7000-8000-0000000000bb")
	cases := []struct {
		name    string
		update  string
		arg     any
		refusal string
	}{
		{"receive a tube never collected", diagnosticwf.UpdateReceive, diagnosticwf.ReceiveRequest{Accession: "X9", By: scientist},
			diagnosticwf.RefusedInvalidArgument},
		{"collect a tube the order does not need", diagnosticwf.UpdateCollect, diagnosticwf.CollectRequest{Collection: diagnostic.Collection{
			Accession: "B1", Container: "edta-lavender", CollectedAt: t0.Add(5 * time.Minute), CollectorID: phleb}},
			diagnosticwf.RefusedInvalidArgument},
		{"collect in the future", diagnosticwf.UpdateCollect, diagnosticwf.CollectRequest{Collection: diagnostic.Collection{
			Accession: "B1", Container: goldTop, CollectedAt: t0.Add(time.Hour), CollectorID: phleb}},
			diagnosticwf.RefusedInvalidArgument},
		{"verify before any result", diagnosticwf.UpdateVerify, diagnosticwf.VerifyRequest{Verification: diagnostic.Verification{
			By: scientist, Role: diagnostic.RoleLaboratoryScientist}}, diagnosticwf.RefusedInvalidTransition},
		{"release before verification", diagnosticwf.UpdateRelease, diagnosticwf.ReleaseRequest{By: clinician},
			diagnosticwf.RefusedInvalidTransition},
		{"amend before verification", diagnosticwf.UpdateAmend, diagnosticwf.AmendRequest{Amendment: diagnostic.Amendment{
			By: scientist, Reason: "typo", Addendum: "x"}}, diagnosticwf.RefusedInvalidTransition},
		{"the patient opens an unreleased report", diagnosticwf.UpdateOpen, diagnosticwf.OpenRequest{Who: patient,
			Role: diagnostic.ReaderPatient}, diagnosticwf.RefusedNotReleased},
		{"a clinician opens a report with nothing to show", diagnosticwf.UpdateOpen, diagnosticwf.OpenRequest{Who: clinician,
			Role: diagnostic.ReaderClinician}, diagnosticwf.RefusedInvalidTransition},
		{"cancel without a reason", diagnosticwf.UpdateCancel, diagnosticwf.CancelRequest{By: orderer, Reason: "  "},
			diagnosticwf.RefusedInvalidArgument},
		{"withdraw without anyone", diagnosticwf.UpdateWithdraw, diagnosticwf.WithdrawRequest{Reason: "wrong patient"},
			diagnosticwf.RefusedInvalidArgument},
		{"call about no critical result", diagnosticwf.UpdateCallbackAttempt, diagnosticwf.CallbackAttemptRequest{
			ObservationID: obsID("k"), Attempt: diagnostic.Attempt{To: orderer, By: caller}}, diagnosticwf.RefusedInvalidArgument},
		{"no observations", diagnosticwf.UpdateRecordResults, diagnosticwf.RecordResultsRequest{By: scientist},
			diagnosticwf.RefusedInvalidArgument},
		{"another patient's result", diagnosticwf.UpdateRecordResults, diagnosticwf.RecordResultsRequest{
			Observations: []observation.Observation{other}, By: scientist}, diagnosticwf.RefusedInvalidArgument},
		{"a test not ordered", diagnosticwf.UpdateRecordResults, diagnosticwf.RecordResultsRequest{Observations: []observation.Observation{
			quantity(t, "glucose", observation.CodeGlucose, 90, "mg/dL", t0)}, By: scientist}, diagnosticwf.RefusedInvalidArgument},
		{"link a study to a laboratory order", diagnosticwf.UpdateLinkStudy, diagnosticwf.LinkStudyRequest{
			Study: diagnostic.ImagingStudy{ID: uuid.New(), PatientID: patient, ReportID: orderID}, By: scientist},
			diagnosticwf.RefusedInvalidTransition},
	}
	outcomes := make([]*outcome, len(cases))
	for i, c := range cases {
		outcomes[i] = h.send(5*time.Minute, c.update, c.arg)
	}
	h.query(6*time.Minute, &after)
	h.at(6*time.Minute, func() { writesAfter = len(h.store.writes()) })
	h.cancel(10 * time.Minute)
	h.run(in)

	for i, c := range cases {
		refused(t, c.name, outcomes[i], c.refusal)
	}
	if after.Version != before.Version || kinds(after) != "ordered" || writesAfter != writesBefore {
		t.Fatalf("after the refusals: v%d (before v%d), %d writes (before %d)", after.Version, before.Version, writesAfter, writesBefore)
	}
	if got := h.store.writtenKinds(1); got != "cancelled" {
		t.Fatalf("written %s", got)
	}
}

// A step the read model refuses for good is refused as NotRecorded; one it
// cannot take now as RecordUnavailable. Either leaves the report as it was,
// and the step taken again goes through.
func TestStepTheReadModelRefusesChangesNothing(t *testing.T) {
	h := newHarness(t)
	h.store.refuse = func(r diagnostic.Report) error {
		switch e := r.Last(); {
		case e.Kind == diagnostic.EventCollected && e.Note == goldTop+" DOWN collected":
			return errors.New("connection refused")
		case e.Kind == diagnostic.EventReceived && e.By == clinician:
			return &domain.ValidationError{Fields: []domain.FieldError{{Field: "receivedBy", Message: "not of the laboratory"}}}
		}
		return nil
	}
	down := h.collect(10*time.Minute, "DOWN")
	var afterDown diagnosticwf.State
	h.query(30*time.Minute, &afterDown)
	collected := h.collect(31*time.Minute, "A1")
	forGood := h.send(40*time.Minute, diagnosticwf.UpdateReceive, diagnosticwf.ReceiveRequest{Accession: "A1", By: clinician})
	var afterForGood diagnosticwf.State
	h.query(41*time.Minute, &afterForGood)
	received := h.receive(45*time.Minute, "A1")
	h.cancel(50 * time.Minute)
	final := h.run(h.renal())

	if !down.accepted || !refusedAs(down.failed, diagnosticwf.RefusedRecordUnavailable) {
		t.Fatalf("collect while the store is down: accepted %v, failed %v", down.accepted, down.failed)
	}
	if len(afterDown.Specimens) != 0 || afterDown.Version != 1 {
		t.Fatalf("after the unrecorded collection: %+v v%d", afterDown.Specimens, afterDown.Version)
	}
	accepted(t, "collect again", collected)
	if !forGood.accepted || !refusedAs(forGood.failed, diagnosticwf.RefusedNotRecorded) {
		t.Fatalf("receive the store refuses: accepted %v, failed %v", forGood.accepted, forGood.failed)
	}
	if afterForGood.Specimens[0].Status != diagnostic.SpecimenCollected || afterForGood.Version != collected.state.Version {
		t.Fatalf("after the refused receipt: %+v", afterForGood.Specimens)
	}
	accepted(t, "receive", received)
	if final.Status != diagnostic.StatusCancelled || kinds(final) != "ordered specimen-collected specimen-received cancelled" {
		t.Fatalf("final %s: %s", final.Status, kinds(final))
	}
	if got := h.store.writtenKinds(1); got != "specimen-collected specimen-received cancelled" {
		t.Fatalf("written %s", got)
	}
}

// A workflow id reads back as the order it names; another process's does not.
func TestIDFromWorkflowID(t *testing.T) {
	got, err := diagnosticwf.IDFromWorkflowID(diagnosticwf.WorkflowID(orderID))
	if err != nil || got != orderID || diagnosticwf.WorkflowID(orderID) != "diagnostic/"+orderID.String() {
		t.Fatalf("round trip: %s, %v", got, err)
	}
	for _, bad := range []string{"prescription/" + orderID.String(), "diagnostic/x", ""} {
		if _, err := diagnosticwf.IDFromWorkflowID(bad); err == nil {
			t.Errorf("%q read as a diagnostic order", bad)
		}
	}
}

// Results delivered twice change nothing the second time; the second
// request is still recorded, so that its audit record is stored.
func TestRepeatedDeliveryIsAuditedOnly(t *testing.T) {
	h := newHarness(t)
	in := h.renal()
	h.collect(10*time.Minute, "A1")
	h.receive(20*time.Minute, "A1")
	first := h.results(40*time.Minute, func(at time.Time) []observation.Observation { return firstResults(t, at, 4.2) })
	rec := &audit.Record{ID: uuid.MustParse("0193f100-0000-7000-8000-0000000000f2"), Action: audit.ActionUpdate, Status: 200}
	again := h.sendWith(45*time.Minute, diagnosticwf.UpdateRecordResults, func() []any {
		req := diagnosticwf.RecordResultsRequest{Observations: firstResults(t, h.start.Add(40*time.Minute), 4.2), By: scientist}
		req.Audit = rec
		return []any{req}
	})
	h.cancel(time.Hour)
	h.run(in)

	accepted(t, "first delivery", first)
	accepted(t, "second delivery", again)
	if again.state.Version != first.state.Version || len(again.state.Results) != 2 {
		t.Fatalf("second delivery: v%d (first v%d)", again.state.Version, first.state.Version)
	}
	w := h.store.writes()
	if got := h.store.writtenKinds(1); got != "specimen-collected specimen-received result-recorded+result-recorded (unchanged) cancelled" ||
		w[3].audit == nil || w[3].audit.ID != rec.ID {
		t.Fatalf("written %s", got)
	}
}

// An imaging order is resulted by its study: registered, then available,
// which makes the report preliminary for the radiologist to verify.
func TestImagingStudyResultsTheReport(t *testing.T) {
	h := newHarness(t)
	in := h.input(diagnostic.PriorityRoutine, []string{"36643-5"}) // chest X-ray, two views
	study := diagnostic.ImagingStudy{ID: uuid.MustParse("0193f100-0000-7000-8000-0000000000c1"), PatientID: patient, ReportID: orderID,
		ProcedureCode: "36643-5", StudyUID: "1.2.826.0.1.3680043.8.498.1", Modalities: []string{"DX"}, Status: diagnostic.StudyRegistered}
	registered := h.send(10*time.Minute, diagnosticwf.UpdateLinkStudy, diagnosticwf.LinkStudyRequest{Study: study, By: phleb})
	available := study
	available.Status, available.NumberOfSeries, available.NumberOfInstances = diagnostic.StudyAvailable, 1, 2
	linked := h.send(20*time.Minute, diagnosticwf.UpdateLinkStudy, diagnosticwf.LinkStudyRequest{Study: available, By: phleb})
	byScientist := h.verify(30 * time.Minute)
	verified := h.send(31*time.Minute, diagnosticwf.UpdateVerify, diagnosticwf.VerifyRequest{Verification: diagnostic.Verification{
		By: clinician, Role: diagnostic.RoleRadiologist, Conclusion: "No focal consolidation."}})
	h.end(time.Hour)
	final := h.run(in)

	accepted(t, "registered study", registered)
	if registered.state.Status != diagnostic.StatusRegistered || len(registered.state.Studies) != 1 {
		t.Fatalf("registered: %s, studies %+v", registered.state.Status, registered.state.Studies)
	}
	accepted(t, "available study", linked)
	if linked.state.Status != diagnostic.StatusPreliminary {
		t.Fatalf("available: %s", linked.state.Status)
	}
	refused(t, "verified by a laboratory scientist", byScientist, diagnosticwf.RefusedInvalidArgument)
	accepted(t, "verify", verified)
	if final.Status != diagnostic.StatusFinal || final.Conclusion != "No focal consolidation." || len(final.Recipients) != 1 {
		t.Fatalf("final %s %q, recipients %+v", final.Status, final.Conclusion, final.Recipients)
	}
}
