package prescription_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/zarish-sphere/zarish/domain/alert"
	"github.com/zarish-sphere/zarish/domain/medication"
	"github.com/zarish-sphere/zarish/domain/prescription"
	prescriptionwf "github.com/zarish-sphere/zarish/workflows/prescription"
)

// A held order nobody acts on alerts the pharmacist on call once, after
// HoldTimeout; the override that lets it go resolves the alert.
func TestHoldNobodyActsOnRaisesOneAlert(t *testing.T) {
	h := newHarness(t, patientOn(ibuprofen))
	in := h.input(warfarin, func(d *prescription.Details) { d.EncounterID = &encounterID })
	var during []raised
	h.at(time.Hour+50*time.Minute, func() { during = h.raised() })
	overridden := h.override(2*time.Hour, pharmacist, prescription.RolePharmacist, nil)
	h.stop(3 * time.Hour)
	h.run(in)

	accepted(t, "override", overridden)
	if len(during) != 1 || during[0].at != prescriptionwf.DefaultHoldTimeout {
		t.Fatalf("alerts before the override %+v, want one at %s", during, prescriptionwf.DefaultHoldTimeout)
	}
	a := during[0].Raise
	source := prescriptionwf.Source(rxID)
	if a.Category != prescriptionwf.CategoryHold || a.Severity != alert.SeverityUrgent || a.OwnerID != nil ||
		a.Unit != "ward-3" || a.PatientID != patient || a.EncounterID == nil || *a.EncounterID != encounterID ||
		a.Source != source || a.AlertID != alert.OccurrenceID(patient, prescriptionwf.CategoryHold, source, 1) ||
		!strings.Contains(a.Message, "warfarin") {
		t.Fatalf("hold alert %+v", a)
	}
	if got := h.raised(); len(got) != 1 {
		t.Fatalf("alerts %+v", got)
	}
	r := h.resolver.resolved()
	if len(r) != 1 || r[0].alertID != a.AlertID || r[0].by != pharmacist || r[0].note != "The prescription is active." {
		t.Fatalf("resolved %+v", r)
	}
}

// The hold timeout is the input's when given; an order without a ward
// alerts the hospital.
func TestHoldTimeoutFromTheInput(t *testing.T) {
	h := newHarness(t, patientOn(ibuprofen))
	in := h.input(warfarin, func(d *prescription.Details) { d.Unit = "" })
	in.HoldTimeout = 5 * time.Minute
	h.stop(time.Hour)
	h.run(in)
	got := h.raised()
	if len(got) != 1 || got[0].at != 5*time.Minute || got[0].Unit != alert.UnitHospital || got[0].EncounterID != nil {
		t.Fatalf("alerts %+v", got)
	}
	// Discontinuing a held prescription settles its alert too.
	if r := h.resolver.resolved(); len(r) != 1 || r[0].alertID != got[0].AlertID || r[0].by != prescriber ||
		r[0].note != "The prescription is stopped." {
		t.Fatalf("resolved %+v", r)
	}
}

// A held order acted on in time raises nothing.
func TestHoldActedOnInTimeRaisesNoAlert(t *testing.T) {
	h := newHarness(t, patientOn(ibuprofen))
	h.send(29*time.Minute, prescriptionwf.UpdateCancel, prescriptionwf.CancelRequest{By: prescriber, Reason: "use paracetamol"})
	final := h.run(h.input(warfarin))
	if final.Status != prescription.StatusCancelled || len(h.raised()) != 0 || len(h.resolver.resolved()) != 0 {
		t.Fatalf("final %s, alerts %+v", final.Status, h.raised())
	}
}

// A new allergy recorded for the patient: the recheck holds the active
// amoxicillin and tells its prescriber. A recheck that finds nothing new
// records nothing and raises nothing.
func TestRecheckWithANewAllergyTellsThePrescriber(t *testing.T) {
	h := newHarness(t, patientOn())
	h.recheck(5*time.Minute, prescriptionwf.Recheck{Reason: prescription.ReasonNewMedication, Cause: "prescription/" + otherRx.String()})
	var before prescriptionwf.State
	h.query(6*time.Minute, &before)
	h.at(9*time.Minute, func() {
		c := patientOn()
		c.Patient.Allergies = []medication.Allergy{penicillinAllergy}
		h.store.set(c)
	})
	h.recheck(10*time.Minute, prescriptionwf.Recheck{Reason: prescription.ReasonNewAllergy, Cause: "allergy/1"})
	var held prescriptionwf.State
	h.query(11*time.Minute, &held)
	h.stop(20 * time.Minute)
	h.run(h.input(amoxicillin))

	if before.Status != prescription.StatusActive || before.Version != 2 || h.store.reads != 3 {
		t.Fatalf("after a recheck that found nothing: %s v%d, %d checks run", before.Status, before.Version, h.store.reads)
	}
	if held.Status != prescription.StatusOnHold || kinds(held) != "created activated held" || len(held.Checks) != 2 ||
		held.Checks[1].Reason != prescription.ReasonNewAllergy || held.HeldAt.Sub(h.start) != 10*time.Minute {
		t.Fatalf("after the allergy: %s, %s, checks %+v", held.Status, kinds(held), held.Checks)
	}
	if s := held.Standing(); len(s) != 1 || s[0].Kind != medication.KindAllergy || s[0].Severity != medication.SeverityHold {
		t.Fatalf("standing %+v", s)
	}
	got := h.raised()
	if len(got) != 1 || got[0].at != 10*time.Minute {
		t.Fatalf("alerts %+v", got)
	}
	a := got[0].Raise
	if a.Category != prescriptionwf.CategoryFinding || a.Severity != alert.SeverityUrgent || a.OwnerID == nil ||
		*a.OwnerID != prescriber || !strings.Contains(a.Message, "new allergy") || !strings.Contains(a.Message, "Penicillin") {
		t.Fatalf("finding alert %+v", a)
	}
	if w := h.store.writtenKinds(); w != "activated held discontinued" {
		t.Fatalf("written %s", w)
	}
}

// A new finding on a prescription already on hold is recorded but raises no
// finding alert: the hold alert is the one that goes out.
func TestRecheckOfAHeldPrescriptionRaisesNoFindingAlert(t *testing.T) {
	h := newHarness(t, patientOn(ibuprofen))
	h.at(9*time.Minute, func() { h.store.set(patientOn(ibuprofen, fluconazole)) })
	h.recheck(10*time.Minute, prescriptionwf.Recheck{Reason: prescription.ReasonNewMedication, Cause: "prescription/" + activeRx(1).String()})
	h.stop(20 * time.Minute)
	final := h.run(h.input(warfarin))
	if len(h.raised()) != 0 || kinds(final) != "created held rechecked discontinued" || len(final.Findings) != 2 ||
		final.Checks[1].Found != 1 || final.Checks[1].Reason != prescription.ReasonNewMedication {
		t.Fatalf("alerts %+v, %s, findings %+v", h.raised(), kinds(final), final.Findings)
	}
	if f := final.Findings[1]; f.Other != "fluconazole" || f.OtherPrescriptionID == nil || *f.OtherPrescriptionID != activeRx(1) {
		t.Fatalf("new finding %+v", f)
	}
}

// A q8h dose not recorded within the grace after it falls due reminds the
// ward; recording it resolves the reminder, and the next dose is due 8
// hours after it. Discontinuing resolves the next reminder without saying
// that dose was recorded.
func TestDoseReminder(t *testing.T) {
	h := newHarness(t, patientOn())
	h.send(10*time.Minute, prescriptionwf.UpdateVerify, prescriptionwf.VerifyRequest{By: pharmacist})
	given := h.send(time.Hour, prescriptionwf.UpdateAdminister, prescriptionwf.AdministerRequest{
		Administration: prescription.Administration{Dose: prescription.Quantity{Value: 500, Unit: "mg"}, At: h.start.Add(55 * time.Minute), By: nurse}})
	h.stop(9*time.Hour + 30*time.Minute)
	h.run(h.input(amoxicillin))

	accepted(t, "administer", given)
	if next, ok := given.state.NextDose(); !ok || next.Sub(h.start) != 8*time.Hour+55*time.Minute {
		t.Fatalf("next dose %v, %v", next.Sub(h.start), ok)
	}
	got := h.raised()
	if len(got) != 2 || got[0].at != 40*time.Minute || got[1].at != 9*time.Hour+25*time.Minute {
		t.Fatalf("reminders %+v, want at 40m and 9h25m", got)
	}
	a := got[0].Raise
	if a.Category != prescriptionwf.CategoryDoseDue || a.Severity != alert.SeverityWarning || a.OwnerID != nil || a.Unit != "ward-3" ||
		a.AlertID == got[1].AlertID {
		t.Fatalf("reminder %+v", a)
	}
	r := h.resolver.resolved()
	if len(r) != 2 || r[0].alertID != a.AlertID || r[0].by != nurse || r[0].note != "The dose was recorded." ||
		r[1].alertID != got[1].AlertID || r[1].by != prescriber || r[1].note != "The prescription is stopped." {
		t.Fatalf("resolved %+v", r)
	}
}

// Doses recorded in time raise no reminder; a PRN order never does.
func TestNoReminderWhenDosesAreOnTime(t *testing.T) {
	for _, tc := range []struct {
		name  string
		order medication.Order
	}{
		{"q8h given on time", amoxicillin},
		{"prn", func() medication.Order { o := amoxicillin; o.PRN = true; return o }()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, patientOn())
			in := h.input(tc.order)
			in.DoseGrace = time.Hour
			h.send(10*time.Minute, prescriptionwf.UpdateVerify, prescriptionwf.VerifyRequest{By: pharmacist})
			for i, at := range []time.Duration{time.Hour, 9 * time.Hour} {
				o := h.send(at, prescriptionwf.UpdateAdminister, prescriptionwf.AdministerRequest{
					Administration: prescription.Administration{Dose: prescription.Quantity{Value: 500, Unit: "mg"}, At: h.start.Add(at), By: nurse}})
				defer func() { accepted(t, "dose "+string(rune('1'+i)), o) }()
			}
			h.stop(10 * time.Hour)
			h.run(in)
			if len(h.raised()) != 0 {
				t.Fatalf("reminders %+v", h.raised())
			}
		})
	}
}

// A recheck whose write fails (the read model down for a while) is run
// again a minute later until it is recorded: a new allergy during an outage
// still holds the order.
func TestRecheckWhoseWriteFailsRunsAgain(t *testing.T) {
	h := newHarness(t, patientOn())
	down := true
	h.at(9*time.Minute, func() {
		c := patientOn()
		c.Patient.Allergies = []medication.Allergy{penicillinAllergy}
		h.store.set(c)
		h.store.mu.Lock()
		h.store.refuse = func(prescription.Prescription) error {
			if down {
				return errors.New("connection refused")
			}
			return nil
		}
		h.store.mu.Unlock()
	})
	h.recheck(10*time.Minute, prescriptionwf.Recheck{Reason: prescription.ReasonNewAllergy, Cause: "allergy/1"})
	h.at(14*time.Minute, func() {
		h.store.mu.Lock()
		down = false
		h.store.mu.Unlock()
	})
	var during, after prescriptionwf.State
	h.query(12*time.Minute, &during)
	h.query(20*time.Minute, &after)
	h.stop(30 * time.Minute)
	h.run(h.input(amoxicillin))

	if during.Status != prescription.StatusActive {
		t.Fatalf("while the read model is down: %s", during.Status)
	}
	if after.Status != prescription.StatusOnHold || after.HeldAt.Sub(h.start) < 14*time.Minute {
		t.Fatalf("after it is back: %s, held at %v", after.Status, after.HeldAt)
	}
}
