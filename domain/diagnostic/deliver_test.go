package diagnostic_test

import (
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/zarish-sphere/zarish/domain/diagnostic"
	"github.com/zarish-sphere/zarish/domain/observation"
)

// sentTo records r sent to each clinician at at, as the workflow does.
func sentTo(t *testing.T, r diagnostic.Report, at time.Time, who ...uuid.UUID) diagnostic.Report {
	t.Helper()
	for _, w := range who {
		r = must(t)(r.Notify(diagnostic.Recipient{Who: w, Role: diagnostic.ReaderClinician, Channel: "inapp", At: at}))
	}
	return r
}

func TestDeliveriesFollowTheTimeline(t *testing.T) {
	f := final(t)
	before := len(f.Timeline)
	f = sentTo(t, f, t0.Add(2*time.Hour), orderer)
	d := f.Deliveries(before)
	if len(d) != 1 || d[0].To != orderer || d[0].Severity != "info" || !strings.HasPrefix(d[0].Subject, "Final report: ") ||
		d[0].Seq != len(f.Timeline) || !strings.Contains(d[0].Body, "Version 1") {
		t.Fatalf("final deliveries %+v", d)
	}
	// Written again from the same point, the same messages with the same ids.
	if again := f.Deliveries(before); len(again) != 1 || again[0].ID != d[0].ID {
		t.Fatalf("deliveries are not stable: %+v", again)
	}
	if rest := f.Deliveries(len(f.Timeline)); len(rest) != 0 {
		t.Fatalf("nothing new asks for nothing: %+v", rest)
	}
	// A correction goes to the orderer and to everyone sent it before, as
	// a warning; the first message keeps its id.
	f = must(t)(f.Open(clinician, diagnostic.ReaderClinician, t0.Add(150*time.Minute)))
	f = sentTo(t, f, t0.Add(160*time.Minute), clinician)
	k := amended(t, resultObservation(t, observation.CodePotassium), 5.9, "mmol/L")
	before = len(f.Timeline)
	c := must(t)(f.Correct(diagnostic.Correction{By: scientist, Reason: "analyser recalibrated", Results: []observation.Observation{k}}, t0.Add(3*time.Hour)))
	c = sentTo(t, c, t0.Add(3*time.Hour), orderer, clinician)
	d = c.Deliveries(before)
	if len(d) != 2 || d[0].To != orderer || d[1].To != clinician {
		t.Fatalf("correction deliveries %+v", d)
	}
	for _, x := range d {
		if x.Severity != "warning" || !strings.HasPrefix(x.Subject, "Report corrected: ") || !strings.Contains(x.Body, "Version 2") {
			t.Fatalf("correction delivery %+v", x)
		}
	}
	if all := c.Deliveries(0); len(all) != 4 || all[0].ID != c.Deliveries(0)[0].ID {
		t.Fatalf("every delivery of the timeline: %+v", all)
	}

	// Entered in error: everyone who was sent it or opened it is told once.
	f = must(t)(c.Open(stranger, diagnostic.ReaderClinician, t0.Add(4*time.Hour)))
	before = len(f.Timeline)
	w := must(t)(f.Withdraw(scientist, "wrong patient's sample", t0.Add(5*time.Hour)))
	d = w.Deliveries(before)
	if len(d) != 3 || d[0].To != orderer || d[1].To != clinician || d[2].To != stranger {
		t.Fatalf("withdrawal deliveries %+v", d)
	}
	for _, x := range d {
		if x.Severity != "warning" || !strings.HasPrefix(x.Subject, "Report withdrawn: ") || !strings.Contains(x.Body, "wrong patient's sample") {
			t.Fatalf("withdrawal delivery %+v", x)
		}
	}
	if w.Deliveries(-1) != nil || w.Deliveries(len(w.Timeline)+1) != nil {
		t.Fatal("a position outside the timeline asks for deliveries")
	}
}
