package diagnostic_test

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/zarish-sphere/zarish/domain/diagnostic"
	"github.com/zarish-sphere/zarish/domain/observation"
)

func collection(acc, container string, at time.Time) diagnostic.Collection {
	return diagnostic.Collection{Accession: acc, Container: container, CollectedAt: at, CollectorID: phleb}
}

func TestCollectReceiveReject(t *testing.T) {
	r := newReport(t, request())
	if got := r.Awaiting(); !slices.Equal(got, []string{"sst-gold", "edta-lavender"}) {
		t.Fatalf("awaiting %v", got)
	}
	r = must(t)(r.Collect(collection("SST-001", "sst-gold", t0.Add(5*time.Minute)), t0.Add(6*time.Minute)))
	if s := r.Specimens[0]; s.Status != diagnostic.SpecimenCollected || s.Type != "SER" || s.CollectorID != phleb || s.Replaces != "" {
		t.Fatalf("specimen %+v", s)
	}
	if r.Stages().Collected != nil {
		t.Fatal("collected before every tube is")
	}
	r = must(t)(r.Collect(collection("EDTA-001", "edta-lavender", t0.Add(7*time.Minute)), t0.Add(7*time.Minute)))
	if c := r.Stages().Collected; c == nil || !c.Equal(t0.Add(7*time.Minute)) {
		t.Fatalf("collected stage %v, want the last tube's time", c)
	}
	r = must(t)(r.Receive("SST-001", scientist, t0.Add(30*time.Minute)))
	if r.Stages().Received != nil {
		t.Fatal("received before every tube is")
	}
	r = must(t)(r.Receive("EDTA-001", scientist, t0.Add(32*time.Minute)))
	if rc := r.Stages().Received; rc == nil || !rc.Equal(t0.Add(32*time.Minute)) {
		t.Fatalf("received stage %v", rc)
	}
	if len(r.Awaiting()) != 0 || len(r.Recollect()) != 0 {
		t.Fatal("nothing is awaited once every tube is in")
	}

	// Haemolysed: the laboratory rejects the serum tube and asks for another.
	rejectedAt := t0.Add(40 * time.Minute)
	rej := must(t)(r.Reject("SST-001", diagnostic.RejectHaemolysed, "  visibly pink serum ", scientist, rejectedAt))
	s := rej.Specimens[0]
	if s.Status != diagnostic.SpecimenRejected || s.Rejection.Reason != diagnostic.RejectHaemolysed || s.Rejection.Note != "visibly pink serum" {
		t.Fatalf("rejected specimen %+v", s)
	}
	if got := rej.Recollect(); !slices.Equal(got, []string{"sst-gold"}) {
		t.Fatalf("recollect %v", got)
	}
	ts := rej.Stages()
	if ts.Restarted == nil || !ts.Restarted.Equal(rejectedAt) || ts.Collected != nil || ts.Received != nil || !ts.Start().Equal(rejectedAt) {
		t.Fatalf("a rejection restarts the stage clock: %+v", ts)
	}
	if last := rej.Last(); last.Kind != diagnostic.EventRejected || !strings.Contains(last.Note, "Haemolysed specimen; recollection requested (visibly pink serum)") {
		t.Fatalf("timeline %+v", last)
	}
	if r.Specimens[0].Status != diagnostic.SpecimenReceived {
		t.Fatal("the rejection changed the report it was made on")
	}

	// Recollected: the new tube names the one it replaces; its stage is
	// counted from the rejection.
	if _, err := rej.Collect(collection("SST-002", "sst-gold", rejectedAt.Add(-time.Minute)), rejectedAt); !errors.Is(err, diagnostic.ErrInvalidArgument) {
		t.Fatalf("a recollection before the rejection: %v", err)
	}
	re := must(t)(rej.Collect(collection("SST-002", "sst-gold", rejectedAt.Add(15*time.Minute)), rejectedAt.Add(15*time.Minute)))
	if re.Specimens[2].Replaces != "SST-001" || len(re.Recollect()) != 0 {
		t.Fatalf("recollection %+v", re.Specimens[2])
	}
	if d, ok := re.Stages().Duration(diagnostic.StageCollected); !ok || d != 15*time.Minute {
		t.Fatalf("collection stage %v, want 15m from the rejection", d)
	}
	if !strings.Contains(re.Last().Note, "replacing SST-001") {
		t.Fatalf("timeline %q", re.Last().Note)
	}
	if want := "ordered specimen-collected specimen-collected specimen-received specimen-received specimen-rejected specimen-collected"; kinds(re) != want {
		t.Fatalf("timeline %s", kinds(re))
	}
}

func TestSpecimenRefusals(t *testing.T) {
	r := newReport(t, request())
	r = must(t)(r.Collect(collection("SST-001", "sst-gold", t0.Add(5*time.Minute)), t0.Add(5*time.Minute)))
	withResult := must(t)(must(t)(r.Receive("SST-001", scientist, t0.Add(10*time.Minute))).
		Record(quantity(t, "na", observation.CodeSodium, 140, "mmol/L"), t0.Add(time.Hour)))
	imaging := newReport(t, func() diagnostic.Request { q := request("36643-5"); return q }())
	cancelled := must(t)(r.Cancel(orderer, "patient discharged", t0.Add(time.Hour)))
	now := t0.Add(time.Hour)
	cases := []struct {
		name string
		err  error
		want error
	}{
		{"imaging order", imaging.CanCollect(collection("X1", "sst-gold", now), now), diagnostic.ErrInvalidTransition},
		{"cancelled", cancelled.CanCollect(collection("X1", "edta-lavender", now), now), diagnostic.ErrInvalidTransition},
		{"no collector", r.CanCollect(diagnostic.Collection{Accession: "X1", Container: "edta-lavender", CollectedAt: now}, now), diagnostic.ErrInvalidArgument},
		{"bad accession", r.CanCollect(collection("X 1", "edta-lavender", now), now), diagnostic.ErrInvalidArgument},
		{"long accession", r.CanCollect(collection(strings.Repeat("A", diagnostic.MaxAccessionLen+1), "edta-lavender", now), now), diagnostic.ErrInvalidArgument},
		{"accession reused", r.CanCollect(collection("SST-001", "edta-lavender", now), now), diagnostic.ErrInvalidArgument},
		{"tube not needed", r.CanCollect(collection("X1", "citrate-light-blue", now), now), diagnostic.ErrInvalidArgument},
		{"tube already in", r.CanCollect(collection("X1", "sst-gold", now), now), diagnostic.ErrInvalidTransition},
		{"no time", r.CanCollect(collection("X1", "edta-lavender", time.Time{}), now), diagnostic.ErrInvalidArgument},
		{"future", r.CanCollect(collection("X1", "edta-lavender", now.Add(10*time.Minute)), now), diagnostic.ErrInvalidArgument},
		{"before the order", r.CanCollect(collection("X1", "edta-lavender", t0.Add(-time.Minute)), now), diagnostic.ErrInvalidArgument},
		{"receive: nobody", r.CanReceive("SST-001", uuid.Nil, now), diagnostic.ErrInvalidArgument},
		{"receive: unknown", r.CanReceive("NOPE", scientist, now), diagnostic.ErrInvalidArgument},
		{"receive: before collection", r.CanReceive("SST-001", scientist, t0), diagnostic.ErrInvalidArgument},
		{"receive: twice", withResult.CanReceive("SST-001", scientist, now), diagnostic.ErrInvalidTransition},
		{"receive: cancelled", cancelled.CanReceive("SST-001", scientist, now), diagnostic.ErrInvalidTransition},
		{"reject: nobody", r.CanReject("SST-001", diagnostic.RejectClotted, "", uuid.Nil, now), diagnostic.ErrInvalidArgument},
		{"reject: unknown reason", r.CanReject("SST-001", "lipaemic", "", scientist, now), diagnostic.ErrInvalidArgument},
		{"reject: unknown tube", r.CanReject("NOPE", diagnostic.RejectClotted, "", scientist, now), diagnostic.ErrInvalidArgument},
		{"reject: before collection", r.CanReject("SST-001", diagnostic.RejectClotted, "", scientist, t0), diagnostic.ErrInvalidArgument},
		{"reject: long note", r.CanReject("SST-001", diagnostic.RejectClotted, strings.Repeat("x", diagnostic.MaxNoteLen+1), scientist, now), diagnostic.ErrInvalidArgument},
		{"reject: cancelled", cancelled.CanReject("SST-001", diagnostic.RejectClotted, "", scientist, now), diagnostic.ErrInvalidTransition},
		{"reject: results recorded", withResult.CanReject("SST-001", diagnostic.RejectHaemolysed, "", scientist, now), diagnostic.ErrInvalidTransition},
	}
	for _, tc := range cases {
		if !errors.Is(tc.err, tc.want) {
			t.Errorf("%s: err = %v, want %v", tc.name, tc.err, tc.want)
		}
	}
	rej := must(t)(r.Reject("SST-001", diagnostic.RejectMislabelled, "", scientist, now))
	if _, err := rej.Reject("SST-001", diagnostic.RejectClotted, "", scientist, now); !errors.Is(err, diagnostic.ErrInvalidTransition) {
		t.Errorf("rejected twice: %v", err)
	}
	if _, err := rej.Receive("SST-001", scientist, now); !errors.Is(err, diagnostic.ErrInvalidTransition) {
		t.Errorf("a rejected tube received: %v", err)
	}
	if err := withResult.CanReject("SST-001", diagnostic.RejectHaemolysed, "", scientist, now); !strings.Contains(err.Error(), "2951-2") {
		t.Errorf("the refusal does not name the recorded result: %v", err)
	}
	if _, err := r.Collect(collection("X1", "citrate-light-blue", now), now); err == nil {
		t.Error("Collect accepted what CanCollect refuses")
	}
	if _, err := r.Receive("NOPE", scientist, now); err == nil {
		t.Error("Receive accepted what CanReceive refuses")
	}
}

func TestTooManySpecimens(t *testing.T) {
	r := newReport(t, request("1988-5"))
	at := t0.Add(time.Minute)
	for i := 0; i < diagnostic.MaxSpecimens; i++ {
		acc := "T" + strings.Repeat("x", i)
		r = must(t)(r.Collect(collection(acc, "sst-gold", at), at))
		if i < diagnostic.MaxSpecimens-1 {
			r = must(t)(r.Reject(acc, diagnostic.RejectInsufficient, "", scientist, at))
		}
	}
	r = must(t)(r.Reject(r.Specimens[len(r.Specimens)-1].Accession, diagnostic.RejectClotted, "", scientist, at))
	if err := r.CanCollect(collection("LAST", "sst-gold", at), at); !errors.Is(err, diagnostic.ErrInvalidTransition) {
		t.Fatalf("specimen %d: %v", diagnostic.MaxSpecimens+1, err)
	}
}

func TestRejectionReasons(t *testing.T) {
	seen := map[string]bool{}
	for _, r := range diagnostic.RejectionReasons {
		d := r.Display()
		if !r.Valid() || d == string(r) || seen[d] {
			t.Errorf("%s: display %q", r, d)
		}
		seen[d] = true
	}
	if want := []diagnostic.RejectionReason{"haemolysed", "clotted", "insufficient", "mislabelled", "wrong-container"}; !slices.Equal(diagnostic.RejectionReasons, want) {
		t.Fatalf("reasons %v", diagnostic.RejectionReasons)
	}
	if r := diagnostic.RejectionReason("lipaemic"); r.Valid() || r.Display() != "lipaemic" {
		t.Fatal("an unknown reason")
	}
}
