package diagnostic_test

import (
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/zarish-sphere/zarish/domain/alert"
	"github.com/zarish-sphere/zarish/domain/diagnostic"
	"github.com/zarish-sphere/zarish/domain/observation"
	diagnosticwf "github.com/zarish-sphere/zarish/workflows/diagnostic"
)

// attempt tries to reach who about the potassium at offset d.
func (h *harness) attempt(d time.Duration, who uuid.UUID, reached bool) *outcome {
	a := diagnostic.Attempt{To: who, By: caller, Reached: reached, Note: "bleep"}
	return h.send(d, diagnosticwf.UpdateCallbackAttempt, diagnosticwf.CallbackAttemptRequest{ObservationID: obsID("k"), Attempt: a})
}

// confirm sends the read-back entered by the clinician at offset d.
func (h *harness) confirm(d time.Duration, entered string) *outcome {
	return h.send(d, diagnosticwf.UpdateCallbackConfirm, diagnosticwf.CallbackConfirmRequest{ObservationID: obsID("k"),
		ReadBack: diagnostic.ReadBack{Receiver: clinician, Entered: entered}, By: caller})
}

// A critical potassium raises a critical alert owned by the orderer. The
// caller tries the orderer, reaches the clinician, and a read-back that does
// not match is refused naming both values, recording nothing; the matching
// read-back closes the callback and resolves the alert.
func TestCriticalResultReadBackConfirmed(t *testing.T) {
	h := newHarness(t)
	in := h.renal()
	h.resulted(6.8)
	var open diagnosticwf.State
	h.query(41*time.Minute, &open)
	notReached := h.attempt(45*time.Minute, orderer, false)
	reached := h.attempt(50*time.Minute, clinician, true)
	var before, after diagnosticwf.State
	var writesBefore, writesAfter int
	h.query(51*time.Minute, &before)
	h.at(51*time.Minute, func() { writesBefore = len(h.store.writes()) })
	mismatch := h.confirm(52*time.Minute, "8.6 mmol/L")
	h.query(53*time.Minute, &after)
	h.at(53*time.Minute, func() { writesAfter = len(h.store.writes()) })
	confirmed := h.confirm(55*time.Minute, "6.8")
	again := h.confirm(56*time.Minute, "6.8")
	h.end(2 * time.Hour)
	h.run(in)

	got := h.raised()
	if len(got) != 1 || got[0].at != 40*time.Minute {
		t.Fatalf("alerts %+v", got)
	}
	a := got[0].Raise
	source := diagnosticwf.Source(orderID)
	if a.Category != diagnosticwf.CategoryCriticalResult || a.Severity != alert.SeverityCritical || a.OwnerID == nil ||
		*a.OwnerID != orderer || a.Unit != "ward-3" || a.PatientID != patient || a.EncounterID == nil || *a.EncounterID != encounterID ||
		a.Source != source || a.AlertID != alert.OccurrenceID(patient, diagnosticwf.CategoryCriticalResult, source, 1) ||
		!strings.Contains(a.Message, "Potassium") || !strings.Contains(a.Message, "6.8 mmol/L") {
		t.Fatalf("critical alert %+v", a)
	}
	if c := open.OpenCallbacks(); len(c) != 1 || c[0].ObservationID != obsID("k") || c[0].Value != "6.8 mmol/L" {
		t.Fatalf("callbacks %+v", open.Callbacks)
	}
	accepted(t, "attempt the orderer", notReached)
	accepted(t, "reach the clinician", reached)

	refused(t, "a read-back that does not match", mismatch, diagnosticwf.RefusedReadBackMismatch)
	m, ok := diagnosticwf.MismatchOf(mismatch.rejected)
	if !ok || m.ReadBack != "8.6 mmol/L" || m.Result != "6.8 mmol/L" ||
		!strings.Contains(mismatch.rejected.Error(), "8.6 mmol/L") || !strings.Contains(mismatch.rejected.Error(), "6.8 mmol/L") {
		t.Fatalf("mismatch %+v %v", m, mismatch.rejected)
	}
	if after.Version != before.Version || writesAfter != writesBefore || len(after.OpenCallbacks()) != 1 {
		t.Fatalf("after the mismatch: v%d (before v%d), %d writes (before %d)", after.Version, before.Version, writesAfter, writesBefore)
	}

	accepted(t, "confirm", confirmed)
	c := confirmed.state.Callbacks[0]
	if c.Outcome != diagnostic.OutcomeConfirmed || c.ReadBack == nil || c.ReadBack.Entered != "6.8" || c.ReadBack.Receiver != clinician ||
		c.ClosedBy != caller || c.ClosedAt.Sub(h.start) != 55*time.Minute || len(c.Attempts) != 2 {
		t.Fatalf("callback %+v", c)
	}
	refused(t, "confirm twice", again, diagnosticwf.RefusedInvalidArgument)
	r := h.resolver.resolved()
	if len(r) != 1 || r[0].alertID != a.AlertID || r[0].by != caller || r[0].note != "The critical result was telephoned and read back." {
		t.Fatalf("resolved %+v", r)
	}
	if len(h.raised()) != 1 {
		t.Fatalf("alerts %+v", h.raised())
	}
}

// Nobody responsible answers: the callback is closed as unable to reach,
// with what the caller did instead, and that resolves the alert. It cannot
// be closed as reached when nobody was.
func TestCriticalResultNobodyReached(t *testing.T) {
	h := newHarness(t)
	in := h.renal()
	h.resulted(6.8)
	h.attempt(45*time.Minute, orderer, false)
	h.attempt(50*time.Minute, clinician, false)
	asReached := h.send(52*time.Minute, diagnosticwf.UpdateCallbackClose, diagnosticwf.CallbackCloseRequest{ObservationID: obsID("k"),
		Outcome: diagnostic.OutcomeReachedWithoutReadBack, By: caller, Note: "left a message"})
	closed := h.send(55*time.Minute, diagnosticwf.UpdateCallbackClose, diagnosticwf.CallbackCloseRequest{ObservationID: obsID("k"),
		Outcome: diagnostic.OutcomeUnableToReach, By: caller, Note: "escalated to the on-call registrar"})
	h.end(2 * time.Hour)
	final := h.run(in)

	refused(t, "closed as reached when nobody was", asReached, diagnosticwf.RefusedInvalidTransition)
	accepted(t, "close", closed)
	if c := final.Callbacks; len(c) != 1 || c[0].Outcome != diagnostic.OutcomeUnableToReach || c[0].Note != "escalated to the on-call registrar" ||
		len(final.OpenCallbacks()) != 0 {
		t.Fatalf("callbacks %+v", c)
	}
	got := h.raised()
	r := h.resolver.resolved()
	if len(got) != 1 || len(r) != 1 || r[0].alertID != got[0].AlertID || r[0].by != caller ||
		r[0].note != "Nobody responsible could be reached about the critical result: escalated to the on-call registrar" {
		t.Fatalf("alerts %+v, resolved %+v", got, r)
	}
}

// A critical value replaced by a normal one before anyone was called is no
// longer telephoned: its callback goes, and its alert is resolved.
func TestCriticalValueReplacedBeforeTheCall(t *testing.T) {
	h := newHarness(t)
	in := h.renal()
	h.resulted(6.8)
	replaced := h.results(45*time.Minute, func(at time.Time) []observation.Observation {
		k := quantity(t, "k", observation.CodePotassium, 6.8, "mmol/L", h.start.Add(40*time.Minute))
		return []observation.Observation{corrected(t, k, 4.2, "mmol/L", at)}
	})
	h.end(2 * time.Hour)
	h.run(in)

	accepted(t, "replace the value", replaced)
	if s := replaced.state; len(s.Callbacks) != 0 {
		t.Fatalf("callbacks %+v", s.Callbacks)
	}
	got := h.raised()
	r := h.resolver.resolved()
	if len(got) != 1 || len(r) != 1 || r[0].alertID != got[0].AlertID || r[0].note != "The result is no longer critical." ||
		r[0].by != orderer {
		t.Fatalf("alerts %+v, resolved %+v", got, r)
	}
}

// The observation service raised its critical-value alert for the same
// potassium before the callback opened: the callback's alert takes over,
// and the other yields, naming it. Another test's alert stays.
func TestCriticalResultTakesOverTheCriticalValueAlert(t *testing.T) {
	h := newHarness(t)
	valueAlert := uuid.MustParse("0193c000-0000-7000-8000-00000000c0a1")
	sodiumAlert := uuid.MustParse("0193c000-0000-7000-8000-00000000c0a2")
	h.open.records = []alert.Record{
		{ID: valueAlert, PatientID: patient, Category: "critical-value", Source: "observation/" + observation.CodePotassium, Status: alert.StatusOpen},
		{ID: sodiumAlert, PatientID: patient, Category: "critical-value", Source: "observation/" + observation.CodeSodium, Status: alert.StatusOpen},
	}
	in := h.renal()
	h.resulted(6.8)
	h.end(2 * time.Hour)
	h.run(in)

	got := h.raised()
	if len(got) != 1 || got[0].Category != diagnosticwf.CategoryCriticalResult {
		t.Fatalf("alerts %+v", got)
	}
	r := h.resolver.resolved()
	if len(r) != 1 || r[0].alertID != valueAlert || !strings.Contains(r[0].note, got[0].AlertID.String()) {
		t.Fatalf("resolved %+v", r)
	}
}

// The orderer reads the critical value back themselves, signed in: a wrong
// value is refused recording nothing, the right one closes the callback
// with them as receiver and resolves their alert in their name.
func TestCriticalResultReadBackInPerson(t *testing.T) {
	h := newHarness(t)
	in := h.renal()
	h.resulted(6.8)
	inPerson := func(d time.Duration, entered string) *outcome {
		return h.send(d, diagnosticwf.UpdateCallbackConfirm, diagnosticwf.CallbackConfirmRequest{ObservationID: obsID("k"),
			ReadBack: diagnostic.ReadBack{Entered: entered}, By: orderer, InPerson: true})
	}
	mismatch := inPerson(45*time.Minute, "8.6 mmol/L")
	confirmed := inPerson(50*time.Minute, "6.8 mmol/L")
	h.end(2 * time.Hour)
	h.run(in)

	refused(t, "a read-back that does not match", mismatch, diagnosticwf.RefusedReadBackMismatch)
	accepted(t, "read back in person", confirmed)
	c := confirmed.state.Callbacks[0]
	if c.Outcome != diagnostic.OutcomeConfirmed || c.ReadBack == nil || c.ReadBack.Receiver != orderer || c.ClosedBy != orderer ||
		len(c.Attempts) != 1 || c.Attempts[0].To != orderer || !c.Attempts[0].Reached || c.ClosedAt.Sub(h.start) != 50*time.Minute {
		t.Fatalf("callback %+v", c)
	}
	r := h.resolver.resolved()
	if len(r) != 1 || r[0].by != orderer || r[0].note != "The receiver read the critical result back, signed in." {
		t.Fatalf("resolved %+v", r)
	}
}
