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

// A STAT renal panel not collected within 15 minutes: the miss is recorded
// at the target and the ward is alerted once; collecting the tube resolves
// the alert.
func TestStatTargetMissedAlertsOnce(t *testing.T) {
	h := newHarness(t)
	in := h.input(diagnostic.PriorityStat, []string{renalPanel})
	var late diagnosticwf.State
	var during []raised
	h.query(16*time.Minute, &late)
	h.at(19*time.Minute, func() { during = h.raised() })
	collected := h.collect(20*time.Minute, "A1")
	h.receive(25*time.Minute, "A1")
	h.cancel(30 * time.Minute)
	final := h.run(in)

	if len(during) != 1 || during[0].at != 15*time.Minute {
		t.Fatalf("alerts before the collection %+v, want one at 15 minutes", during)
	}
	a := during[0].Raise
	source := diagnosticwf.Source(orderID)
	if a.Category != diagnosticwf.CategoryOverdue || a.Severity != alert.SeverityUrgent || a.OwnerID != nil || a.Unit != "ward-3" ||
		a.PatientID != patient || a.Source != source || a.AlertID != alert.OccurrenceID(patient, diagnosticwf.CategoryOverdue, source, 1) ||
		!strings.Contains(a.Message, "ordered→collected") || !strings.Contains(a.Message, "15 minutes") ||
		!strings.Contains(a.Message, "stat Renal function panel") {
		t.Fatalf("overdue alert %+v", a)
	}
	if len(late.Breaches) != 1 || late.Breaches[0].Target.Span() != "ordered→collected" || late.Breaches[0].Noted.Sub(h.start) != 15*time.Minute ||
		late.Last().Kind != diagnostic.EventTargetMissed || late.Last().By != uuid.Nil {
		t.Fatalf("breaches %+v, last %+v", late.Breaches, late.Last())
	}
	accepted(t, "collect", collected)
	if got := h.raised(); len(got) != 1 {
		t.Fatalf("alerts %+v", got)
	}
	r := h.resolver.resolved()
	if len(r) != 1 || r[0].alertID != a.AlertID || r[0].by != phleb || r[0].note != "The order reached the collected stage." {
		t.Fatalf("resolved %+v", r)
	}
	w := h.store.writes()
	if got := h.store.writtenKinds(1); got != "target-missed specimen-collected specimen-received cancelled" || w[0].audit != nil {
		t.Fatalf("written %s, first audit %v", got, w[0].audit)
	}
	if final.Status != diagnostic.StatusCancelled || len(final.Breaches) != 1 {
		t.Fatalf("final %s, breaches %+v", final.Status, final.Breaches)
	}
}

// An order outside any encounter's ward alerts the hospital; cancelling the
// order resolves the alert.
func TestStatAlertWithoutAWard(t *testing.T) {
	h := newHarness(t)
	in := h.input(diagnostic.PriorityStat, []string{renalPanel}, func(r *diagnostic.Request) { r.EncounterID = nil })
	in.Unit = ""
	h.cancel(20 * time.Minute)
	h.run(in)
	got := h.raised()
	if len(got) != 1 || got[0].Unit != alert.UnitHospital || got[0].EncounterID != nil {
		t.Fatalf("alerts %+v", got)
	}
	if r := h.resolver.resolved(); len(r) != 1 || r[0].alertID != got[0].AlertID || r[0].by != orderer || r[0].note != "The order is cancelled." {
		t.Fatalf("resolved %+v", r)
	}
	if len(h.sent()) != 0 {
		t.Fatalf("signals without an encounter %+v", h.sent())
	}
}

// A routine order's missed target counts in the metrics: it is recorded,
// and nobody is alerted.
func TestRoutineTargetMissedIsRecordedOnly(t *testing.T) {
	h := newHarness(t)
	in := h.renal()
	h.collect(10*time.Minute, "A1")
	h.receive(20*time.Minute, "A1")
	// Received at 20 minutes: the results are due within 4 hours.
	h.results(5*time.Hour, func(at time.Time) []observation.Observation {
		return append(firstResults(t, at, 4.2), restResults(t, at)...)
	})
	h.cancel(6 * time.Hour)
	final := h.run(in)
	if len(final.Breaches) != 1 || final.Breaches[0].Target.Span() != "received→resulted" ||
		final.Breaches[0].Noted.Sub(h.start) != 4*time.Hour+20*time.Minute || len(h.raised()) != 0 {
		t.Fatalf("breaches %+v, alerts %+v", final.Breaches, h.raised())
	}
}
