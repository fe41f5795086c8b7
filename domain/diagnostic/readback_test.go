package diagnostic_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/zarish-sphere/zarish/domain/diagnostic"
	"github.com/zarish-sphere/zarish/domain/observation"
)

func quantityResult(code string, value float64, unit string, canonical float64) diagnostic.Result {
	def, _ := observation.Lookup(code)
	return diagnostic.Result{Code: code, Value: observation.Value{Kind: observation.KindQuantity,
		Quantity: &observation.QuantityValue{Value: value, Unit: unit, Canonical: observation.Quantity{Value: canonical, Unit: def.Unit}}}}
}

func TestMatchReadBack(t *testing.T) {
	potassium := quantityResult(observation.CodePotassium, 6.8, "mmol/L", 6.8)
	creatinine := quantityResult(observation.CodeCreatinine, 4.52, "mg/dL", 4.52)
	creatUmol := quantityResult(observation.CodeCreatinine, 400, "umol/L", 400/88.42)
	glucose := quantityResult(observation.CodeGlucose, 2.1, "mmol/L", 2.1*18.016)
	inr := quantityResult(observation.CodeINR, 6, "{INR}", 6)
	coded := diagnostic.Result{Code: "56888-1", Value: observation.Value{Kind: observation.KindCoded,
		Coding: &observation.Coding{Code: "LA6576-8", Display: "Positive"}}}
	text := diagnostic.Result{Code: "x", Value: observation.Value{Kind: observation.KindString, Text: "Gram-negative rods"}}
	yes := true
	boolean := diagnostic.Result{Code: "b", Value: observation.Value{Kind: observation.KindBoolean, Boolean: &yes}}
	cases := []struct {
		name     string
		res      diagnostic.Result
		entered  string
		mismatch bool // refused as a mismatch (else accepted, or refused as unreadable)
		refused  bool
	}{
		{"same number", potassium, "6.8", false, false},
		{"same number and unit", potassium, "6.8 mmol/L", false, false},
		{"unit without a space", potassium, "6.8mmol/l", false, false},
		{"more precision, same value", potassium, "6.80", false, false},
		{"equivalent unit", potassium, "6.8 meq/L", false, false},
		{"another value", potassium, "6.9", true, true},
		{"a transposition", potassium, "8.6", true, true},
		{"less precision overlaps", potassium, "7", false, false},
		{"a point without decimals", potassium, "7.", false, false},
		{"a unit without a number", potassium, "mmol/L", true, true},
		{"less precision misses", potassium, "6", true, true},
		{"not a number", potassium, "six point eight", true, true},
		{"exponent", potassium, "6.8e0", true, true},
		{"wrong dimension", potassium, "6.8 kg", true, true},
		{"empty", potassium, "  ", false, true},
		{"µmol/L for mg/dL", creatinine, "400 umol/L", false, false},
		{"micro sign", creatinine, "400 µmol/L", false, false},
		{"one µmol/L off", creatinine, "401 umol/L", true, true},
		{"mg/dL for µmol/L", creatUmol, "4.52 mg/dL", false, false},
		{"result's unit when none said", creatUmol, "400", false, false},
		{"mmol/L glucose in mg/dL", glucose, "38 mg/dL", false, false},
		{"glucose off", glucose, "40 mg/dL", true, true},
		{"dimensionless", inr, "6.0", false, false},
		{"at the edge of what is possible", quantityResult(observation.CodePotassium, 30, "mmol/L", 30), "30", false, false},
		{"coded by display", coded, "  POSITIVE ", false, false},
		{"coded by code", coded, "la6576-8", false, false},
		{"coded wrong", coded, "negative", true, true},
		{"text without spaces or case", text, "gram-negative  RODS", false, false},
		{"text wrong", text, "gram-positive cocci", true, true},
		{"boolean", boolean, "TRUE", false, false},
		{"boolean wrong", boolean, "false", true, true},
		{"boolean unreadable", boolean, "yes", true, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := diagnostic.MatchReadBack(tc.res, tc.entered)
			if (err != nil) != tc.refused || errors.Is(err, diagnostic.ErrReadBackMismatch) != tc.mismatch {
				t.Fatalf("err = %v, want refused %v mismatch %v", err, tc.refused, tc.mismatch)
			}
			if err != nil && !errors.Is(err, diagnostic.ErrInvalidArgument) {
				t.Fatalf("%v is not an invalid argument", err)
			}
			if tc.mismatch && (!strings.Contains(err.Error(), strings.TrimSpace(tc.entered)) || !strings.Contains(err.Error(), tc.res.Text())) {
				t.Fatalf("%v does not name both values", err)
			}
		})
	}
}

// critical is the default order with a critical potassium of 6.8 mmol/L.
func critical(t *testing.T) (diagnostic.Report, uuid.UUID) {
	t.Helper()
	r := collectedAndReceived(t, newReport(t, request()))
	k := quantity(t, "k-critical", observation.CodePotassium, 6.8, "mmol/L")
	if !k.Critical() {
		t.Fatal("6.8 mmol/L is not critical")
	}
	return must(t)(r.Record(k, t0.Add(time.Hour))), k.ID
}

func TestCriticalResultCallbackConfirmed(t *testing.T) {
	r, k := critical(t)
	open := r.OpenCallbacks()
	if len(open) != 1 || open[0].Value != "6.8 mmol/L" || open[0].Code != observation.CodePotassium || !open[0].RaisedAt.Equal(t0.Add(time.Hour)) {
		t.Fatalf("callbacks %+v", r.Callbacks)
	}
	// The same value delivered again opens no second callback.
	if again := must(t)(r.Record(amended(t, quantity(t, "k-critical", observation.CodePotassium, 6.8, "mmol/L"), 6.8, "mmol/L"), t0.Add(62*time.Minute))); len(again.Callbacks) != 1 {
		t.Fatalf("a repeated critical value: %d callbacks", len(again.Callbacks))
	}
	r = must(t)(r.Attempt(k, diagnostic.Attempt{To: orderer, By: caller, At: t0.Add(65 * time.Minute), Note: "bleep, no answer"}))
	if _, err := r.Confirm(k, diagnostic.ReadBack{Receiver: orderer, Entered: "6.8", At: t0.Add(66 * time.Minute)}, caller); !errors.Is(err, diagnostic.ErrInvalidArgument) {
		t.Fatalf("confirmed by someone never reached: %v", err)
	}
	r = must(t)(r.Attempt(k, diagnostic.Attempt{To: clinician, By: caller, At: t0.Add(70 * time.Minute), Reached: true}))
	if len(r.Callbacks[0].Attempts) != 2 || !strings.HasSuffix(r.Last().Note, "reached") {
		t.Fatalf("attempts %+v", r.Callbacks[0].Attempts)
	}
	_, err := r.Confirm(k, diagnostic.ReadBack{Receiver: clinician, Entered: "8.6 mmol/L", At: t0.Add(71 * time.Minute)}, caller)
	if !errors.Is(err, diagnostic.ErrReadBackMismatch) || !strings.Contains(err.Error(), `"8.6 mmol/L"`) || !strings.Contains(err.Error(), `"6.8 mmol/L"`) {
		t.Fatalf("mismatch: %v", err)
	}
	done := must(t)(r.Confirm(k, diagnostic.ReadBack{Receiver: clinician, Entered: " 6.8 mmol/L ", At: t0.Add(72 * time.Minute)}, caller))
	c := done.Callbacks[0]
	if c.Open() || c.Outcome != diagnostic.OutcomeConfirmed || c.ReadBack.Entered != "6.8 mmol/L" || c.ClosedBy != caller || len(done.OpenCallbacks()) != 0 {
		t.Fatalf("confirmed %+v", c)
	}
	if took, ok := c.Took(); !ok || took != 12*time.Minute {
		t.Fatalf("took %v", took)
	}
	if _, ok := r.Callbacks[0].Took(); ok || !r.Callbacks[0].Open() {
		t.Fatal("confirming changed the report it was made on")
	}
	if _, err := done.Attempt(k, diagnostic.Attempt{To: clinician, By: caller, At: t0.Add(80 * time.Minute)}); !errors.Is(err, diagnostic.ErrInvalidArgument) {
		t.Fatalf("an attempt after the outcome: %v", err)
	}
	if s := done.Summary(); len(s.Callbacks) != 1 || s.Callbacks[0].Took != 12*time.Minute || s.OpenCallbacks != 0 {
		t.Fatalf("summary %+v", s.Callbacks)
	}
	if want := "callback-attempted callback-attempted callback-closed"; !strings.HasSuffix(kinds(done), want) {
		t.Fatalf("timeline %s", kinds(done))
	}
	// The same value again, as a newer version, is not called twice.
	repeat := amended(t, quantity(t, "k-critical", observation.CodePotassium, 6.8, "mmol/L"), 6.8, "mmol/L")
	if again := must(t)(done.Record(repeat, t0.Add(90*time.Minute))); len(again.Callbacks) != 1 || len(again.OpenCallbacks()) != 0 {
		t.Fatalf("a value already called: %+v", again.Callbacks)
	}
}

func TestCriticalResultCallbackOtherOutcomes(t *testing.T) {
	r, k := critical(t)
	at := t0.Add(2 * time.Hour)
	if err := r.CanClose(k, diagnostic.OutcomeUnableToReach, caller, "escalated to the on-call registrar", at); !errors.Is(err, diagnostic.ErrInvalidTransition) {
		t.Fatalf("unable to reach without an attempt: %v", err)
	}
	tried := must(t)(r.Attempt(k, diagnostic.Attempt{To: orderer, By: caller, At: t0.Add(70 * time.Minute)}))
	if err := tried.CanClose(k, diagnostic.OutcomeReachedWithoutReadBack, caller, "x", at); !errors.Is(err, diagnostic.ErrInvalidTransition) {
		t.Fatalf("reached without anyone reached: %v", err)
	}
	unreached := must(t)(tried.Close(k, diagnostic.OutcomeUnableToReach, caller, " escalated to the on-call registrar ", at))
	if c := unreached.Callbacks[0]; c.Outcome != diagnostic.OutcomeUnableToReach || c.Note != "escalated to the on-call registrar" || c.ReadBack != nil {
		t.Fatalf("unreached %+v", c)
	}
	reached := must(t)(tried.Attempt(k, diagnostic.Attempt{To: clinician, By: caller, At: t0.Add(80 * time.Minute), Reached: true}))
	if err := reached.CanClose(k, diagnostic.OutcomeUnableToReach, caller, "x", at); !errors.Is(err, diagnostic.ErrInvalidTransition) {
		t.Fatalf("unable to reach after reaching someone: %v", err)
	}
	noRB := must(t)(reached.Close(k, diagnostic.OutcomeReachedWithoutReadBack, caller, "receiver in theatre; message relayed by the scrub nurse", at))
	if noRB.Callbacks[0].Outcome != diagnostic.OutcomeReachedWithoutReadBack {
		t.Fatalf("outcome %s", noRB.Callbacks[0].Outcome)
	}
	cases := []struct {
		name string
		err  error
		want error
	}{
		{"unknown observation", reached.CanClose(uuid.New(), diagnostic.OutcomeReachedWithoutReadBack, caller, "x", at), diagnostic.ErrInvalidArgument},
		{"nobody", reached.CanClose(k, diagnostic.OutcomeReachedWithoutReadBack, uuid.Nil, "x", at), diagnostic.ErrInvalidArgument},
		{"confirmed without read-back", reached.CanClose(k, diagnostic.OutcomeConfirmed, caller, "x", at), diagnostic.ErrInvalidArgument},
		{"unknown outcome", reached.CanClose(k, "gave up", caller, "x", at), diagnostic.ErrInvalidArgument},
		{"no note", reached.CanClose(k, diagnostic.OutcomeReachedWithoutReadBack, caller, " ", at), diagnostic.ErrInvalidArgument},
		{"before the result", reached.CanClose(k, diagnostic.OutcomeReachedWithoutReadBack, caller, "x", t0), diagnostic.ErrInvalidArgument},
		{"closed already", noRB.CanClose(k, diagnostic.OutcomeReachedWithoutReadBack, caller, "x", at), diagnostic.ErrInvalidArgument},
		{"attempt: nobody tried", r.CanAttempt(k, diagnostic.Attempt{By: caller, At: at}), diagnostic.ErrInvalidArgument},
		{"attempt: before the result", r.CanAttempt(k, diagnostic.Attempt{To: orderer, By: caller, At: t0}), diagnostic.ErrInvalidArgument},
		{"attempt: long note", r.CanAttempt(k, diagnostic.Attempt{To: orderer, By: caller, At: at, Note: strings.Repeat("x", diagnostic.MaxNoteLen+1)}), diagnostic.ErrInvalidArgument},
	}
	for _, tc := range cases {
		if !errors.Is(tc.err, tc.want) {
			t.Errorf("%s: err = %v, want %v", tc.name, tc.err, tc.want)
		}
	}
	if _, err := reached.Close(k, "gave up", caller, "x", at); err == nil {
		t.Error("Close accepted what CanClose refuses")
	}
	if _, err := reached.Confirm(k, diagnostic.ReadBack{Receiver: clinician, Entered: "6.8", At: t0}, caller); !errors.Is(err, diagnostic.ErrInvalidArgument) {
		t.Errorf("a read-back before the result: %v", err)
	}
	if _, err := reached.Confirm(k, diagnostic.ReadBack{Receiver: clinician, Entered: "6.8", At: at}, uuid.Nil); !errors.Is(err, diagnostic.ErrInvalidArgument) {
		t.Errorf("a read-back recorded by nobody: %v", err)
	}
	if _, err := reached.Confirm(uuid.New(), diagnostic.ReadBack{Receiver: clinician, Entered: "6.8", At: at}, caller); !errors.Is(err, diagnostic.ErrInvalidArgument) {
		t.Errorf("a read-back of no callback: %v", err)
	}
	many := r
	for i := 0; i < diagnostic.MaxAttempts; i++ {
		many = must(t)(many.Attempt(k, diagnostic.Attempt{To: orderer, By: caller, At: at}))
	}
	if err := many.CanAttempt(k, diagnostic.Attempt{To: orderer, By: caller, At: at}); !errors.Is(err, diagnostic.ErrInvalidTransition) {
		t.Errorf("attempt past the limit: %v", err)
	}
	if s := r.Summary(); s.OpenCallbacks != 1 {
		t.Errorf("open callbacks %d", s.OpenCallbacks)
	}
}

func TestCallbackFollowsTheValueToCall(t *testing.T) {
	r, k := critical(t)
	first := quantity(t, "k-critical", observation.CodePotassium, 6.8, "mmol/L")
	// A newer version with another critical value: the open callback calls it.
	higher := must(t)(r.Record(amended(t, first, 7.2, "mmol/L"), t0.Add(70*time.Minute)))
	if len(higher.Callbacks) != 1 || higher.Callbacks[0].Value != "7.2 mmol/L" {
		t.Fatalf("callbacks %+v", higher.Callbacks)
	}
	reached := must(t)(higher.Attempt(k, diagnostic.Attempt{To: clinician, By: caller, At: t0.Add(75 * time.Minute), Reached: true}))
	if _, err := reached.Confirm(k, diagnostic.ReadBack{Receiver: clinician, Entered: "6.8", At: t0.Add(76 * time.Minute)}, caller); !errors.Is(err, diagnostic.ErrReadBackMismatch) {
		t.Fatalf("the superseded value read back: %v", err)
	}
	// Once the result is withdrawn, its callback cannot be confirmed.
	void, _ := observation.Void(amended(t, first, 7.2, "mmol/L"), "wrong patient", observation.Performer{ClientID: "lis"}, t0.Add(77*time.Minute))
	gone := must(t)(reached.Record(void, t0.Add(77*time.Minute)))
	if _, err := gone.Confirm(k, diagnostic.ReadBack{Receiver: clinician, Entered: "7.2", At: t0.Add(78 * time.Minute)}, caller); !errors.Is(err, diagnostic.ErrInvalidTransition) {
		t.Fatalf("a withdrawn result confirmed: %v", err)
	}
}

func TestCallbackFollowsItsResult(t *testing.T) {
	r, k := critical(t)
	// Withdrawn before anyone was tried: nobody was told, nothing to call.
	void, _ := observation.Void(quantity(t, "k-critical", observation.CodePotassium, 6.8, "mmol/L"), "haemolysed on review",
		observation.Performer{ClientID: "lis"}, t0.Add(70*time.Minute))
	if gone := must(t)(r.Record(void, t0.Add(70*time.Minute))); len(gone.Callbacks) != 0 {
		t.Fatalf("a withdrawn value is still to be called: %+v", gone.Callbacks)
	}
	// Replaced by another observation that is still critical: the open
	// callback calls the new value, attempts kept.
	tried := must(t)(r.Attempt(k, diagnostic.Attempt{To: orderer, By: caller, At: t0.Add(65 * time.Minute)}))
	repeat := quantity(t, "k-repeat", observation.CodePotassium, 7.0, "mmol/L")
	moved := must(t)(tried.Record(repeat, t0.Add(70*time.Minute)))
	if c := moved.Callbacks; len(c) != 1 || c[0].ObservationID != repeat.ID || c[0].Value != "7 mmol/L" || len(c[0].Attempts) != 1 {
		t.Fatalf("callbacks %+v", c)
	}
	// Replaced by a value that is not critical before anyone was tried: dropped.
	normal := quantity(t, "k-normal", observation.CodePotassium, 4.6, "mmol/L")
	if calm := must(t)(r.Record(normal, t0.Add(70*time.Minute))); len(calm.Callbacks) != 0 {
		t.Fatalf("a value no longer critical is still to be called: %+v", calm.Callbacks)
	}
	// Once someone was tried, the callback stays for the caller to close.
	if kept := must(t)(tried.Record(normal, t0.Add(70*time.Minute))); len(kept.OpenCallbacks()) != 1 {
		t.Fatalf("a tried callback vanished: %+v", kept.Callbacks)
	}
}

func TestCriticalResultReadBackInPerson(t *testing.T) {
	r, k := critical(t)
	at := t0.Add(75 * time.Minute)
	// A mismatch records nothing: no attempt, the callback open.
	if _, err := r.ConfirmInPerson(k, "8.6 mmol/L", clinician, at); !errors.Is(err, diagnostic.ErrReadBackMismatch) {
		t.Fatalf("mismatch: %v", err)
	}
	if len(r.Callbacks[0].Attempts) != 0 || !r.Callbacks[0].Open() {
		t.Fatalf("a refused read-back changed the report: %+v", r.Callbacks[0])
	}
	if _, err := r.ConfirmInPerson(k, "6.8", uuid.Nil, at); !errors.Is(err, diagnostic.ErrInvalidArgument) {
		t.Fatalf("nobody: %v", err)
	}
	if _, err := r.ConfirmInPerson(k, "6.8", clinician, t0); !errors.Is(err, diagnostic.ErrInvalidArgument) {
		t.Fatalf("before the result: %v", err)
	}
	done := must(t)(r.ConfirmInPerson(k, "6.8 mmol/L", clinician, at))
	c := done.Callbacks[0]
	if c.Outcome != diagnostic.OutcomeConfirmed || c.ReadBack.Receiver != clinician || c.ClosedBy != clinician ||
		len(c.Attempts) != 1 || !c.Attempts[0].Reached || c.Attempts[0].To != clinician || c.Attempts[0].By != clinician {
		t.Fatalf("read back in person: %+v", c)
	}
	if took, ok := c.Took(); !ok || took != 15*time.Minute {
		t.Fatalf("took %v", took)
	}
	if _, err := done.ConfirmInPerson(k, "6.8", clinician, at); !errors.Is(err, diagnostic.ErrInvalidArgument) {
		t.Fatalf("a second read-back of a closed callback: %v", err)
	}
}
