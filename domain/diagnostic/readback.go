package diagnostic

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/google/uuid"

	"github.com/zarish-sphere/zarish/domain/observation"
)

// A critical result is telephoned to a responsible clinician, who reads the
// value back so the caller knows it was heard right. The Joint Commission's
// National Patient Safety Goal NPSG.02.03.01 asks that critical results of
// tests and diagnostic procedures be reported on a timely basis, and its
// earlier goal on verbal reports asked for the receiver's read-back; CLSI
// GP47 (Management of Critical- and Significant-Risk Results, 1st ed., 2015)
// describes the callback: who is tried, when, whether they were reached,
// the read-back, and the outcome, with escalation when nobody is reached.
// This file holds the pure part: the attempts, the match of a read-back
// with the result, and the outcomes. The workflow's alert escalation
// (workflows/alert) does the reaching.

// Outcome is how a critical-result callback ended.
type Outcome string

// The outcomes.
const (
	// OutcomeConfirmed: the receiver read back the value and it matched.
	OutcomeConfirmed Outcome = "confirmed"
	// OutcomeReachedWithoutReadBack: the receiver was reached but did not
	// read the value back (the caller says why).
	OutcomeReachedWithoutReadBack Outcome = "reached-without-read-back"
	// OutcomeUnableToReach: nobody responsible could be reached; the caller
	// says what was done instead (escalation).
	OutcomeUnableToReach Outcome = "unable-to-reach"
)

// Outcomes lists every outcome.
var Outcomes = []Outcome{OutcomeConfirmed, OutcomeReachedWithoutReadBack, OutcomeUnableToReach}

// Attempt is one try to reach someone about a critical result.
type Attempt struct {
	// To is who was tried; By who tried.
	To      uuid.UUID `json:"to"`
	By      uuid.UUID `json:"by"`
	At      time.Time `json:"at"`
	Reached bool      `json:"reached"`
	Note    string    `json:"note,omitempty"`
}

// ReadBack is the receiver's reading back of the value.
type ReadBack struct {
	Receiver uuid.UUID `json:"receiver"`
	// Entered is the value as the receiver read it back, typed by the caller.
	Entered string    `json:"entered"`
	At      time.Time `json:"at"`
}

// Callback is the telephoning of one critical result.
type Callback struct {
	ObservationID uuid.UUID `json:"observationId"`
	Code          string    `json:"code"`
	// Value is the result as called, e.g. "6.8 mmol/L".
	Value    string    `json:"value"`
	RaisedAt time.Time `json:"raisedAt"`
	Attempts []Attempt `json:"attempts"`
	ReadBack *ReadBack `json:"readBack,omitempty"`
	// Outcome is empty while the callback is open.
	Outcome  Outcome    `json:"outcome,omitempty"`
	ClosedAt *time.Time `json:"closedAt,omitempty"`
	ClosedBy uuid.UUID  `json:"closedBy,omitzero"`
	Note     string     `json:"note,omitempty"`
}

// Open reports whether the callback awaits its outcome.
func (c Callback) Open() bool { return c.Outcome == "" }

// Took is how long the callback took, from the critical result to its
// outcome; false while it is open.
func (c Callback) Took() (time.Duration, bool) {
	if c.ClosedAt == nil {
		return 0, false
	}
	return c.ClosedAt.Sub(c.RaisedAt), true
}

// reached reports whether anyone was reached, and whether who was.
func (c Callback) reached(who uuid.UUID) (someone, person bool) {
	for _, a := range c.Attempts {
		if a.Reached {
			someone = true
			person = person || a.To == who
		}
	}
	return someone, person
}

// followResult keeps the callbacks in step with a code's result: res (nil
// when the result is withdrawn) takes the place of observation old (nil
// for a new result). An open callback of old follows a critical res, taking
// its value (that is the one to call); it is dropped when res is not
// critical or gone and nobody has been tried yet, since nobody was told the
// value; once someone was tried it stays for the caller to close. A
// critical res with no open callback gets one, unless its value was
// already called.
func (r Report) followResult(old uuid.UUID, res *Result, at time.Time) Report {
	critical := res != nil && res.Critical()
	for i := 0; i < len(r.Callbacks); i++ {
		c := r.Callbacks[i]
		if !c.Open() || (c.ObservationID != old && (res == nil || c.ObservationID != res.ObservationID)) {
			continue
		}
		switch {
		case critical:
			r.Callbacks[i].ObservationID, r.Callbacks[i].Value = res.ObservationID, res.Text()
			return r
		case len(c.Attempts) == 0:
			r.Callbacks = slices.Delete(r.Callbacks, i, i+1)
			i--
		}
	}
	if !critical || slices.ContainsFunc(r.Callbacks, func(c Callback) bool {
		return c.ObservationID == res.ObservationID && c.Value == res.Text()
	}) {
		return r
	}
	r.Callbacks = append(r.Callbacks, Callback{ObservationID: res.ObservationID, Code: res.Code, Value: res.Text(),
		RaisedAt: at, Attempts: []Attempt{}})
	return r
}

// OpenCallbacks lists the callbacks awaiting their outcome.
func (r Report) OpenCallbacks() []Callback {
	var out []Callback
	for _, c := range r.Callbacks {
		if c.Open() {
			out = append(out, c)
		}
	}
	return out
}

// openCallbackOf finds the open callback of an observation.
func (r Report) openCallbackOf(obs uuid.UUID) (int, error) {
	i := slices.IndexFunc(r.Callbacks, func(c Callback) bool { return c.ObservationID == obs && c.Open() })
	if i < 0 {
		return -1, fmt.Errorf("%w: observation %s has no open critical-result callback", ErrInvalidArgument, obs)
	}
	return i, nil
}

// CanAttempt reports why the attempt may not be recorded, or nil.
func (r Report) CanAttempt(obs uuid.UUID, a Attempt) error {
	i, err := r.openCallbackOf(obs)
	switch {
	case err != nil:
		return err
	case a.To == uuid.Nil || a.By == uuid.Nil:
		return fmt.Errorf("%w: to and by are required", ErrInvalidArgument)
	case a.At.Before(r.Callbacks[i].RaisedAt):
		return fmt.Errorf("%w: an attempt is made after the critical result", ErrInvalidArgument)
	case len(r.Callbacks[i].Attempts) >= MaxAttempts:
		return fmt.Errorf("%w: %d attempts are recorded; record the outcome", ErrInvalidTransition, MaxAttempts)
	}
	if _, why := text(a.Note, MaxNoteLen, false); why != "" {
		return fmt.Errorf("%w: note: %s", ErrInvalidArgument, why)
	}
	return nil
}

// Attempt records one try to reach someone about a critical result.
func (r Report) Attempt(obs uuid.UUID, a Attempt) (Report, error) {
	if err := r.CanAttempt(obs, a); err != nil {
		return r, err
	}
	next := r.clone()
	i, _ := next.openCallbackOf(obs)
	a.Note, _ = text(a.Note, MaxNoteLen, false)
	c := &next.Callbacks[i]
	c.Attempts = append(slices.Clip(c.Attempts), a)
	note := "critical LOINC " + c.Code + " " + c.Value + ": not reached"
	if a.Reached {
		note = "critical LOINC " + c.Code + " " + c.Value + ": reached"
	}
	return next.add(EventCallbackAttempted, a.At, a.By, note), nil
}

// Confirm closes a callback with the receiver's read-back, which must match
// the result (MatchReadBack); a mismatch is refused and the callback stays
// open. The receiver must have been reached in an attempt.
func (r Report) Confirm(obs uuid.UUID, rb ReadBack, by uuid.UUID) (Report, error) {
	i, err := r.openCallbackOf(obs)
	if err != nil {
		return r, err
	}
	c := r.Callbacks[i]
	if _, person := c.reached(rb.Receiver); by == uuid.Nil || rb.Receiver == uuid.Nil || !person {
		return r, fmt.Errorf("%w: by is required, and the receiver must be someone reached in an attempt", ErrInvalidArgument)
	}
	if rb.At.Before(c.RaisedAt) {
		return r, fmt.Errorf("%w: the read-back is after the critical result", ErrInvalidArgument)
	}
	res, ok := r.resultOf(obs)
	if !ok {
		return r, fmt.Errorf("%w: observation %s is no longer a result of this report", ErrInvalidTransition, obs)
	}
	if err := MatchReadBack(res, rb.Entered); err != nil {
		return r, err
	}
	next := r.clone()
	rb.Entered = strings.TrimSpace(rb.Entered)
	return next.closeCallback(i, OutcomeConfirmed, &rb, by, "", rb.At), nil
}

// ConfirmInPerson closes a callback with a read-back the receiver gave
// themselves, signed in (on the clinical console, say), rather than on a
// call: who is both the receiver reached and the one recording it, so the
// reaching is recorded as an attempt of theirs and the read-back confirms
// at once. A mismatch is refused as Confirm refuses it, and records
// nothing.
func (r Report) ConfirmInPerson(obs uuid.UUID, entered string, who uuid.UUID, at time.Time) (Report, error) {
	if who == uuid.Nil {
		return r, fmt.Errorf("%w: by is required", ErrInvalidArgument)
	}
	i, err := r.openCallbackOf(obs)
	if err != nil {
		return r, err
	}
	if at.Before(r.Callbacks[i].RaisedAt) {
		return r, fmt.Errorf("%w: the read-back is after the critical result", ErrInvalidArgument)
	}
	res, ok := r.resultOf(obs)
	if !ok {
		return r, fmt.Errorf("%w: observation %s is no longer a result of this report", ErrInvalidTransition, obs)
	}
	if err := MatchReadBack(res, entered); err != nil {
		return r, err
	}
	reached, err := r.Attempt(obs, Attempt{To: who, By: who, At: at, Reached: true, Note: "read back by the receiver, signed in"})
	if err != nil {
		return r, err
	}
	return reached.Confirm(obs, ReadBack{Receiver: who, Entered: entered, At: at}, who)
}

// CanClose reports why the callback may not end with outcome (reached
// without read-back, or unable to reach), or nil: the first needs someone
// reached, the second attempts none of which reached anyone, and both a note.
func (r Report) CanClose(obs uuid.UUID, outcome Outcome, by uuid.UUID, note string, at time.Time) error {
	i, err := r.openCallbackOf(obs)
	if err != nil {
		return err
	}
	c := r.Callbacks[i]
	someone, _ := c.reached(uuid.Nil)
	switch {
	case by == uuid.Nil:
		return fmt.Errorf("%w: by is required", ErrInvalidArgument)
	case outcome == OutcomeConfirmed:
		return fmt.Errorf("%w: a callback is confirmed by its read-back", ErrInvalidArgument)
	case outcome != OutcomeReachedWithoutReadBack && outcome != OutcomeUnableToReach:
		return fmt.Errorf("%w: outcome must be reached-without-read-back or unable-to-reach", ErrInvalidArgument)
	case outcome == OutcomeReachedWithoutReadBack && !someone:
		return fmt.Errorf("%w: nobody was reached; record the attempt that reached someone", ErrInvalidTransition)
	case outcome == OutcomeUnableToReach && (len(c.Attempts) == 0 || someone):
		return fmt.Errorf("%w: unable-to-reach follows attempts none of which reached anyone", ErrInvalidTransition)
	case at.Before(c.RaisedAt):
		return fmt.Errorf("%w: the outcome is after the critical result", ErrInvalidArgument)
	}
	if _, why := text(note, MaxNoteLen, true); why != "" {
		return fmt.Errorf("%w: note: %s", ErrInvalidArgument, why)
	}
	return nil
}

// Close ends a callback without a read-back: reached without read-back, or
// unable to reach, with the caller's note.
func (r Report) Close(obs uuid.UUID, outcome Outcome, by uuid.UUID, note string, at time.Time) (Report, error) {
	if err := r.CanClose(obs, outcome, by, note, at); err != nil {
		return r, err
	}
	i, _ := r.openCallbackOf(obs)
	note, _ = text(note, MaxNoteLen, true)
	return r.clone().closeCallback(i, outcome, nil, by, note, at), nil
}

func (r Report) closeCallback(i int, outcome Outcome, rb *ReadBack, by uuid.UUID, note string, at time.Time) Report {
	c := &r.Callbacks[i]
	c.Attempts = slices.Clone(c.Attempts)
	c.Outcome, c.ReadBack, c.ClosedAt, c.ClosedBy, c.Note = outcome, rb, &at, by, note
	entry := "critical LOINC " + c.Code + " " + c.Value + ": " + string(outcome)
	if note != "" {
		entry += " (" + note + ")"
	}
	return r.add(EventCallbackClosed, at, by, entry)
}

// resultOf finds the result an observation is, in the report as it stands.
func (r Report) resultOf(obs uuid.UUID) (Result, bool) {
	i := slices.IndexFunc(r.Results, func(res Result) bool { return res.ObservationID == obs })
	if i < 0 {
		return Result{}, false
	}
	return r.Results[i], true
}

// MatchReadBack checks a read-back against the result and refuses a
// mismatch (ErrReadBackMismatch), naming both values. A number is compared
// in the code's canonical unit after converting the read-back's unit (the
// result's own unit when none is said) with the observation catalogue's
// conversion; it matches when the two values agree within their stated
// precision: each stands for the values within half a unit of its last
// decimal place (the result's at least the catalogue's resolution), and
// the two spans must overlap by more than a point, so 6.9 does not match
// 6.8 but 7 does. A coded, text or true/false value matches without regard to
// case or spaces; a coded one by its code or its display.
func MatchReadBack(res Result, entered string) error {
	entered = strings.TrimSpace(entered)
	if entered == "" {
		return fmt.Errorf("%w: the read-back value is required", ErrInvalidArgument)
	}
	mismatch := func(why string) error {
		return fmt.Errorf("%w: %w: read back %q, the result is %q%s", ErrInvalidArgument, ErrReadBackMismatch, entered, res.Text(), why)
	}
	v := res.Value
	switch {
	case v.Quantity != nil:
		ok, why := matchQuantity(res.Code, *v.Quantity, entered)
		if !ok {
			return mismatch(why)
		}
		return nil
	case v.Coding != nil:
		e := fold(entered)
		if e != fold(v.Coding.Code) && (v.Coding.Display == "" || e != fold(v.Coding.Display)) {
			return mismatch("")
		}
		return nil
	case v.Boolean != nil:
		b, err := strconv.ParseBool(fold(entered))
		if err != nil || b != *v.Boolean {
			return mismatch("")
		}
		return nil
	}
	if fold(entered) != fold(v.Text) {
		return mismatch("")
	}
	return nil
}

// fold lowers the case of s and drops its spaces.
func fold(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsSpace(r) {
			return -1
		}
		return unicode.ToLower(r)
	}, s)
}

// matchQuantity compares a read-back quantity with the result's.
func matchQuantity(code string, q observation.QuantityValue, entered string) (bool, string) {
	number, unit := splitQuantity(entered)
	if unit == "" {
		unit = q.Unit
	}
	decimals, ok := decimalPlaces(number)
	if !ok {
		return false, ": the read-back must be a number, e.g. \"6.8 mmol/L\""
	}
	value, _ := strconv.ParseFloat(number, 64)
	got, err := observation.Canonical(code, observation.Quantity{Value: value, Unit: unit})
	if err != nil {
		return false, " (" + err.Error() + ")"
	}
	resultDecimals, _ := decimalPlaces(strconv.FormatFloat(q.Value, 'f', -1, 64))
	if def, ok := observation.Lookup(code); ok && strings.EqualFold(q.Unit, def.Unit) {
		resultDecimals = max(resultDecimals, def.Decimals)
	}
	tolerance := halfStep(code, unit, decimals) + halfStep(code, q.Unit, resultDecimals)
	want := q.Canonical.Value
	if math.Abs(got.Value-want) >= tolerance-1e-9*math.Max(1, math.Abs(want)) {
		return false, ""
	}
	return true, ""
}

// splitQuantity splits "6.8 mmol/L" or "6.8mmol/L" into its number and unit.
// A unit that starts with a digit must be separated by a space.
func splitQuantity(s string) (number, unit string) {
	if i := strings.IndexFunc(s, unicode.IsSpace); i >= 0 {
		return s[:i], strings.TrimSpace(s[i:])
	}
	if i := strings.IndexFunc(s, func(r rune) bool { return !strings.ContainsRune("0123456789.+-", r) }); i >= 0 {
		return s[:i], s[i:]
	}
	return s, ""
}

// decimalPlaces counts the digits after the decimal point of a plain
// decimal number; false when s is not one (no exponents, one point).
func decimalPlaces(s string) (int, bool) {
	s = strings.TrimLeft(s, "+-")
	whole, frac, point := strings.Cut(s, ".")
	if whole == "" && frac == "" {
		return 0, false
	}
	for _, part := range []string{whole, frac} {
		for _, c := range part {
			if c < '0' || c > '9' {
				return 0, false
			}
		}
	}
	if point && frac == "" {
		return 0, true
	}
	return len(frac), true
}

// halfStep is half a unit of the last decimal place of a value written
// with decimals places in unit, in the code's canonical unit. Every unit
// the catalogue converts is linear, so the step is the same at any value.
func halfStep(code, unit string, decimals int) float64 {
	zero, err0 := observation.Convert(code, 0, unit)
	one, err1 := observation.Convert(code, 1, unit)
	if err0 != nil || err1 != nil || one.Value == zero.Value {
		return 0 // not reached: the unit was accepted before
	}
	return 0.5 * math.Pow10(-decimals) / math.Abs(one.Value-zero.Value)
}
