package prescription_test

import (
	"errors"
	"testing"
	"time"

	"github.com/google/uuid"
	"go.temporal.io/sdk/workflow"

	"github.com/zarish-sphere/zarish/domain"
	"github.com/zarish-sphere/zarish/domain/audit"
	"github.com/zarish-sphere/zarish/domain/encounter"
	"github.com/zarish-sphere/zarish/domain/medication"
	"github.com/zarish-sphere/zarish/domain/prescription"
	encounterwf "github.com/zarish-sphere/zarish/workflows/encounter"
	prescriptionwf "github.com/zarish-sphere/zarish/workflows/prescription"
)

func TestCleanOrderIsActive(t *testing.T) {
	h := newHarness(t, patientOn())
	checked := h.send(0, prescriptionwf.UpdateChecked)
	h.stop(time.Hour)
	final := h.run(h.input(amoxicillin))

	accepted(t, "checked", checked)
	s := checked.state
	if s.Status != prescription.StatusActive || len(s.Findings) != 0 || len(s.Checks) != 1 ||
		s.Checks[0].Reason != prescription.ReasonOrdered || s.Checks[0].Version != medication.EmbeddedVersion ||
		s.ActivatedAt == nil || !s.ActivatedAt.Equal(h.start) {
		t.Fatalf("checked: %s, findings %+v, checks %+v", s.Status, s.Findings, s.Checks)
	}
	if final.Status != prescription.StatusStopped || kinds(final) != "created activated discontinued" {
		t.Fatalf("final %s: %s", final.Status, kinds(final))
	}
	if got := h.store.writtenKinds(); got != "activated discontinued" {
		t.Fatalf("written %s", got)
	}
	if got := h.upserted(); got != "active stopped" {
		t.Fatalf("PrescriptionStatus upserts: %s", got)
	}
	if len(h.raised()) != 0 {
		t.Fatalf("alerts raised: %+v", h.raised())
	}
}

// Warfarin ordered for a patient taking ibuprofen: the major interaction
// holds the order; the prescriber overrides it with a reason.
func TestInteractionHoldsUntilOverridden(t *testing.T) {
	h := newHarness(t, patientOn(ibuprofen))
	checked := h.send(0, prescriptionwf.UpdateChecked)
	rec := &audit.Record{ID: uuid.MustParse("0193d000-0000-7000-8000-0000000000f1"), Action: audit.ActionUpdate, Status: 200}
	overridden := h.override(5*time.Minute, prescriber, prescription.RolePrescriber, rec)
	h.stop(10 * time.Minute)
	h.run(h.input(warfarin))

	accepted(t, "checked", checked)
	s := checked.state
	if s.Status != prescription.StatusOnHold || len(s.Findings) != 1 || s.HeldAt == nil {
		t.Fatalf("checked: %s, findings %+v", s.Status, s.Findings)
	}
	f := s.Findings[0]
	if f.Kind != medication.KindInteraction || f.Severity != medication.SeverityMajor || f.Other != "ibuprofen" ||
		f.Rule != "warfarin-nsaid" || !f.Standing() || f.OtherPrescriptionID == nil || *f.OtherPrescriptionID != activeRx(0) {
		t.Fatalf("finding %+v", f)
	}

	accepted(t, "override", overridden)
	o := overridden.state
	if o.Status != prescription.StatusActive || o.Findings[0].Override == nil || o.Findings[0].Override.By != prescriber ||
		o.Findings[0].Override.Reason == "" || o.Last().Kind != prescription.EventOverridden {
		t.Fatalf("overridden: %s, %+v", o.Status, o.Findings[0].Override)
	}
	w := h.store.writes()
	if h.store.writtenKinds() != "held overridden discontinued" || w[0].audit != nil || w[1].audit == nil || w[1].audit.ID != rec.ID ||
		w[1].p.Findings[0].Override == nil || w[2].audit != nil {
		t.Fatalf("written %s, audits %v %v %v", h.store.writtenKinds(), w[0].audit, w[1].audit, w[2].audit)
	}
	if got := h.upserted(); got != "on-hold active stopped" {
		t.Fatalf("PrescriptionStatus upserts: %s", got)
	}
}

// An override that leaves a standing finding without a reason is refused
// by the validator: nothing reaches the history or the read model.
func TestOverrideWithoutAReasonIsRefused(t *testing.T) {
	h := newHarness(t, patientOn(ibuprofen))
	var before, after prescriptionwf.State
	h.query(4*time.Minute, &before)
	noReason := h.send(5*time.Minute, prescriptionwf.UpdateOverride,
		prescriptionwf.OverrideRequest{OverrideRequest: prescription.OverrideRequest{By: prescriber, Role: prescription.RolePrescriber}})
	blank := h.sendWith(5*time.Minute, prescriptionwf.UpdateOverride, func() []any {
		r := reasons(h.state())
		for id := range r {
			r[id] = "   "
		}
		return []any{prescriptionwf.OverrideRequest{OverrideRequest: prescription.OverrideRequest{By: prescriber,
			Role: prescription.RolePrescriber, Reasons: r}}}
	})
	h.query(6*time.Minute, &after)
	h.stop(10 * time.Minute)
	h.run(h.input(warfarin))

	for name, o := range map[string]*outcome{"no reason": noReason, "blank reason": blank} {
		if o.accepted || !refusedAs(o.rejected, prescriptionwf.RefusedInvalidArgument) {
			t.Errorf("%s: accepted %v, rejected %v", name, o.accepted, o.rejected)
		}
	}
	if after.Status != prescription.StatusOnHold || after.Version != before.Version || len(after.Standing()) != 1 {
		t.Fatalf("after the refusals: %s v%d, before v%d", after.Status, after.Version, before.Version)
	}
	if got := h.store.writtenKinds(); got != "held discontinued" {
		t.Fatalf("written %s", got)
	}
}

// Simvastatin for a patient on clarithromycin is contraindicated: only a
// pharmacist may let it pass.
func TestContraindicatedOverrideNeedsThePharmacist(t *testing.T) {
	h := newHarness(t, patientOn(clarithro))
	checked := h.send(0, prescriptionwf.UpdateChecked)
	byPrescriber := h.override(5*time.Minute, prescriber, prescription.RolePrescriber, nil)
	byPharmacist := h.override(6*time.Minute, pharmacist, prescription.RolePharmacist, nil)
	h.stop(10 * time.Minute)
	h.run(h.input(simvastatin))

	if s := checked.state; s.Status != prescription.StatusOnHold || len(s.Findings) != 1 ||
		s.Findings[0].Severity != medication.SeverityContraindicated || s.Findings[0].Other != "clarithromycin" {
		t.Fatalf("checked: %s, findings %+v", s.Status, s.Findings)
	}
	if byPrescriber.accepted || !refusedAs(byPrescriber.rejected, prescriptionwf.RefusedPharmacistRequired) {
		t.Fatalf("prescriber's override: accepted %v, rejected %v", byPrescriber.accepted, byPrescriber.rejected)
	}
	accepted(t, "pharmacist's override", byPharmacist)
	if s := byPharmacist.state; s.Status != prescription.StatusActive || s.Findings[0].Override.Role != prescription.RolePharmacist {
		t.Fatalf("pharmacist's override: %s", s.Status)
	}
	if got := h.store.writtenKinds(); got != "held overridden discontinued" {
		t.Fatalf("written %s", got)
	}
}

// The pharmacist's verification runs the checks again: ibuprofen started
// since the order was placed holds it, unverified, and raises no alert.
func TestVerifyChecksAgain(t *testing.T) {
	h := newHarness(t, patientOn())
	h.at(10*time.Minute, func() { h.store.set(patientOn(ibuprofen)) })
	verify := h.send(20*time.Minute, prescriptionwf.UpdateVerify, prescriptionwf.VerifyRequest{By: pharmacist})
	h.stop(40 * time.Minute)
	h.run(h.input(warfarin))

	accepted(t, "verify", verify)
	s := verify.state
	if s.Status != prescription.StatusOnHold || s.VerifiedBy != nil || len(s.Standing()) != 1 || len(s.Checks) != 2 ||
		s.Checks[1].Reason != prescription.ReasonVerification || s.Checks[1].Found != 1 || kinds(s) != "created activated held" ||
		s.HeldAt == nil || s.HeldAt.Sub(h.start) != 20*time.Minute {
		t.Fatalf("verify: %s, verified %v, %s", s.Status, s.VerifiedBy, kinds(s))
	}
	if got := h.store.writtenKinds(); got != "activated held discontinued" {
		t.Fatalf("written %s", got)
	}
	if len(h.raised()) != 0 {
		t.Fatalf("alerts raised: %+v", h.raised())
	}
}

// A verified prescription is dispensed in partial fills up to its total and
// given; a fill beyond the total is refused.
func TestVerifiedDispensedAndGiven(t *testing.T) {
	h := newHarness(t, patientOn())
	in := h.input(amoxicillin, func(d *prescription.Details) {
		d.Quantity = prescription.Quantity{Value: 15, Unit: "capsule"}
		d.Order.DurationDays = 5
	})
	early := h.send(5*time.Minute, prescriptionwf.UpdateDispense,
		prescriptionwf.DispenseRequest{By: pharmacist, Quantity: prescription.Quantity{Value: 10, Unit: "capsule"}})
	verify := h.send(10*time.Minute, prescriptionwf.UpdateVerify, prescriptionwf.VerifyRequest{By: pharmacist})
	again := h.send(11*time.Minute, prescriptionwf.UpdateVerify, prescriptionwf.VerifyRequest{By: pharmacist})
	first := h.send(15*time.Minute, prescriptionwf.UpdateDispense,
		prescriptionwf.DispenseRequest{By: pharmacist, Quantity: prescription.Quantity{Value: 10, Unit: "capsule"}})
	beyond := h.send(16*time.Minute, prescriptionwf.UpdateDispense,
		prescriptionwf.DispenseRequest{By: pharmacist, Quantity: prescription.Quantity{Value: 10, Unit: "capsule"}})
	rest := h.send(17*time.Minute, prescriptionwf.UpdateDispense,
		prescriptionwf.DispenseRequest{By: pharmacist, Quantity: prescription.Quantity{Value: 5, Unit: "capsule"}})
	wrongUnit := h.send(20*time.Minute, prescriptionwf.UpdateAdminister, prescriptionwf.AdministerRequest{
		Administration: prescription.Administration{Dose: prescription.Quantity{Value: 0.5, Unit: "g"}, At: h.start.Add(20 * time.Minute), By: nurse}})
	given := h.send(20*time.Minute, prescriptionwf.UpdateAdminister, prescriptionwf.AdministerRequest{
		Administration: prescription.Administration{Dose: prescription.Quantity{Value: 500, Unit: "mg"}, At: h.start.Add(20 * time.Minute), By: nurse}})
	cancel := h.send(30*time.Minute, prescriptionwf.UpdateCancel, prescriptionwf.CancelRequest{By: prescriber, Reason: "wrong drug"})
	h.stop(time.Hour)
	final := h.run(in)

	if early.accepted || !refusedAs(early.rejected, prescriptionwf.RefusedInvalidTransition) {
		t.Errorf("dispensed before verification: %+v", early)
	}
	accepted(t, "verify", verify)
	if s := verify.state; s.VerifiedBy == nil || *s.VerifiedBy != pharmacist || s.Status != prescription.StatusActive {
		t.Fatalf("verified: %s by %v", s.Status, s.VerifiedBy)
	}
	if again.accepted || !refusedAs(again.rejected, prescriptionwf.RefusedInvalidTransition) {
		t.Errorf("verified twice: %+v", again)
	}
	accepted(t, "first fill", first)
	accepted(t, "the rest", rest)
	if beyond.accepted || !refusedAs(beyond.rejected, prescriptionwf.RefusedInvalidArgument) {
		t.Errorf("fill beyond the total: %+v", beyond)
	}
	if wrongUnit.accepted || !refusedAs(wrongUnit.rejected, prescriptionwf.RefusedInvalidArgument) {
		t.Errorf("dose in another unit: %+v", wrongUnit)
	}
	accepted(t, "given", given)
	if cancel.accepted || !refusedAs(cancel.rejected, prescriptionwf.RefusedInvalidTransition) {
		t.Errorf("cancelled after it was given: %+v", cancel)
	}
	if final.Status != prescription.StatusStopped || final.Dispensed() != 15 || len(final.Administrations) != 1 ||
		kinds(final) != "created activated rechecked verified dispensed dispensed administered discontinued" {
		t.Fatalf("final %s, dispensed %v: %s", final.Status, final.Dispensed(), kinds(final))
	}
	if got := h.store.writtenKinds(); got != "activated verified dispensed dispensed administered discontinued" {
		t.Fatalf("written %s", got)
	}
}

// The order is linked to its encounter, and the encounter is told when it is
// discontinued. The patient's other prescriptions hear of it from its events
// (notify.PrescriptionRecheckConsumer), not from the workflow.
func TestDiscontinueTellsTheEncounter(t *testing.T) {
	h := newHarness(t, patientOn())
	in := h.input(amoxicillin, func(d *prescription.Details) { d.EncounterID = &encounterID })
	var during []signalled
	h.at(time.Minute, func() { during = h.sent() })
	stop := h.stop(30 * time.Minute)
	final := h.run(in)

	accepted(t, "discontinue", stop)
	if final.Status != prescription.StatusStopped || final.Last().By != prescriber || final.Last().Note != "course changed" {
		t.Fatalf("final %s %+v", final.Status, final.Last())
	}
	order := encounterwf.OrderSignal{OrderID: rxID, Kind: encounter.OrderPrescription}
	want := []signalled{
		{encounterwf.WorkflowID(encounterID), encounterwf.SignalOrderLinked, order},
		{encounterwf.WorkflowID(encounterID), encounterwf.SignalOrderClosed, order},
	}
	got := h.sent()
	if len(during) != 1 || len(got) != len(want) {
		t.Fatalf("signals %+v (%d by the first minute)", got, len(during))
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("signal %d: %+v, want %+v", i, got[i], want[i])
		}
	}
}

// An order for a set number of days completes when they have passed, with
// nobody acting; the run ends a second later (the close linger).
func TestCompletesWhenItsDurationEnds(t *testing.T) {
	h := newHarness(t, patientOn())
	in := h.input(amoxicillin, func(d *prescription.Details) {
		d.Order.DurationDays = 3
		d.EncounterID = &encounterID
	})
	final := h.run(in)
	if final.Status != prescription.StatusCompleted || kinds(final) != "created activated completed" ||
		final.Last().At.Sub(h.start) != 72*time.Hour || h.env.Now().Sub(h.start) != 72*time.Hour+time.Second {
		t.Fatalf("final %s at %s: %s", final.Status, final.Last().At.Sub(h.start), kinds(final))
	}
	if got := h.store.writtenKinds(); got != "activated completed" {
		t.Fatalf("written %s", got)
	}
	if got := h.upserted(); got != "active completed" {
		t.Fatalf("PrescriptionStatus upserts: %s", got)
	}
	if s := h.sent(); len(s) != 2 || s[1].name != encounterwf.SignalOrderClosed {
		t.Fatalf("signals %+v", s)
	}
}

// Checks that cannot read the patient within their retries hold the order
// with a check-unavailable finding; once the store answers, a recheck
// clears it.
func TestChecksThatKeepFailingHoldTheOrder(t *testing.T) {
	h := newHarness(t, patientOn())
	h.store.readErr = errors.New("connection refused")
	checked := h.send(0, prescriptionwf.UpdateChecked)
	h.at(time.Hour, func() {
		h.store.mu.Lock()
		h.store.readErr = nil
		h.store.mu.Unlock()
	})
	h.recheck(2*time.Hour, prescriptionwf.Recheck{Reason: "recheck"})
	var after prescriptionwf.State
	h.query(3*time.Hour, &after)
	h.stop(4 * time.Hour)
	h.run(h.input(amoxicillin))

	accepted(t, "checked", checked)
	s := checked.state
	if s.Status != prescription.StatusOnHold || len(s.Findings) != 1 {
		t.Fatalf("checked: %s, findings %+v", s.Status, s.Findings)
	}
	if f := s.Findings[0]; f.Kind != medication.KindUnavailable || f.Rule != prescriptionwf.RuleChecksFailed || !f.Standing() {
		t.Fatalf("finding %+v", f)
	}
	if h.store.reads < 4 {
		t.Fatalf("the checks read the patient %d times", h.store.reads)
	}
	if after.Status != prescription.StatusActive || len(after.Findings) != 0 || after.Checks[1].Version != medication.EmbeddedVersion {
		t.Fatalf("after the store came back: %s, findings %+v", after.Status, after.Findings)
	}
}

// A step the read model refuses for good is refused as NotRecorded; one it
// cannot take now as RecordUnavailable. Either leaves the prescription as it
// was, and the same step taken again goes through.
func TestStepTheReadModelRefusesChangesNothing(t *testing.T) {
	h := newHarness(t, patientOn())
	h.store.refuse = func(p prescription.Prescription) error {
		switch e := p.Last(); {
		case e.Kind == prescription.EventVerified && e.By == nurse:
			return &domain.ValidationError{Fields: []domain.FieldError{{Field: "verifiedBy", Message: "not a pharmacist"}}}
		case e.Kind == prescription.EventDiscontinued && e.Note == "database down":
			return errors.New("connection refused")
		}
		return nil
	}
	var before, between prescriptionwf.State
	h.query(9*time.Minute, &before)
	forGood := h.send(10*time.Minute, prescriptionwf.UpdateVerify, prescriptionwf.VerifyRequest{By: nurse})
	h.query(11*time.Minute, &between)
	verify := h.send(12*time.Minute, prescriptionwf.UpdateVerify, prescriptionwf.VerifyRequest{By: pharmacist})
	down := h.send(20*time.Minute, prescriptionwf.UpdateDiscontinue, prescriptionwf.DiscontinueRequest{By: prescriber, Reason: "database down"})
	var afterDown prescriptionwf.State
	h.query(time.Hour, &afterDown)
	h.stop(2 * time.Hour)
	final := h.run(h.input(amoxicillin))

	if !forGood.accepted || !refusedAs(forGood.failed, prescriptionwf.RefusedNotRecorded) {
		t.Fatalf("verify the store refuses: accepted %v, failed %v", forGood.accepted, forGood.failed)
	}
	if between.VerifiedBy != nil || between.Version != before.Version || len(between.Checks) != len(before.Checks) {
		t.Fatalf("after the refused verify: verified %v, v%d (before v%d)", between.VerifiedBy, between.Version, before.Version)
	}
	accepted(t, "verify again", verify)
	if !down.accepted || !refusedAs(down.failed, prescriptionwf.RefusedRecordUnavailable) {
		t.Fatalf("discontinue while the store is down: accepted %v, failed %v", down.accepted, down.failed)
	}
	if afterDown.Status != prescription.StatusActive || afterDown.Version != verify.state.Version {
		t.Fatalf("after the unrecorded discontinue: %s v%d", afterDown.Status, afterDown.Version)
	}
	if final.Status != prescription.StatusStopped || kinds(final) != "created activated rechecked verified discontinued" {
		t.Fatalf("final %s: %s", final.Status, kinds(final))
	}
	if got := h.store.writtenKinds(); got != "activated verified discontinued" {
		t.Fatalf("written %s", got)
	}
	if got := h.upserted(); got != "active active stopped" {
		t.Fatalf("PrescriptionStatus upserts: %s", got)
	}
}

// A run continued as new carries the prescription and its unsettled alerts:
// the next run checks nothing again and resolves the carried hold alert.
func TestContinueAsNewCarriesStateAndAlerts(t *testing.T) {
	h := newHarness(t, patientOn(ibuprofen))
	in := h.input(warfarin)
	h.at(40*time.Minute, func() {
		h.store.set(patientOn(ibuprofen, fluconazole))
		h.env.SetContinueAsNewSuggested(true)
	})
	h.recheck(41*time.Minute, prescriptionwf.Recheck{Reason: prescription.ReasonNewMedication})
	h.env.ExecuteWorkflow(prescriptionwf.WorkflowName, in)
	var can *workflow.ContinueAsNewError
	if err := h.env.GetWorkflowError(); !errors.As(err, &can) {
		t.Fatalf("first run ended with %v, want continue-as-new", err)
	}
	next := decode(t, can)
	if next.Resume == nil || next.Resume.Prescription.Status != prescription.StatusOnHold || next.Resume.Alerts.Hold == nil ||
		next.Resume.Alerts.Raised != 1 || kinds(next.Resume.Prescription) != "created held rechecked" {
		t.Fatalf("carried input %+v", next.Resume)
	}
	if len(h.raised()) != 1 || h.raised()[0].AlertID != *next.Resume.Alerts.Hold {
		t.Fatalf("alerts %+v", h.raised())
	}

	h2 := newHarness(t, patientOn(ibuprofen))
	h2.start = h.start
	h2.env.SetStartTime(h.start.Add(41 * time.Minute))
	overridden := h2.override(time.Hour, pharmacist, prescription.RolePharmacist, nil)
	h2.stop(2 * time.Hour)
	final := h2.run(next)
	accepted(t, "override", overridden)
	if final.Status != prescription.StatusStopped || kinds(final) != "created held rechecked overridden discontinued" {
		t.Fatalf("final %s: %s", final.Status, kinds(final))
	}
	if got := h2.store.writtenKinds(); got != "overridden discontinued" || len(h2.raised()) != 0 {
		t.Fatalf("second run wrote %s, raised %+v", got, h2.raised())
	}
	if r := h2.resolver.resolved(); len(r) != 1 || r[0].alertID != *next.Resume.Alerts.Hold || r[0].by != pharmacist {
		t.Fatalf("resolved %+v", r)
	}
}

// A workflow id reads back as the prescription it names; another process's
// does not.
func TestIDFromWorkflowID(t *testing.T) {
	got, err := prescriptionwf.IDFromWorkflowID(prescriptionwf.WorkflowID(rxID))
	if err != nil || got != rxID {
		t.Fatalf("round trip: %s, %v", got, err)
	}
	for _, bad := range []string{"encounter/" + rxID.String(), "prescription/x", ""} {
		if _, err := prescriptionwf.IDFromWorkflowID(bad); err == nil {
			t.Errorf("%q read as a prescription", bad)
		}
	}
}
