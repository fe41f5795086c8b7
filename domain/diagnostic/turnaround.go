package diagnostic

import (
	"errors"
	"slices"
	"strconv"
	"time"
)

// Stage is a step of an order's turnaround. ISO 15189:2022 asks a
// laboratory to set turnaround times and monitor them; Hawkins (Clin Biochem
// Rev 2007;28:179-194) reviews how the total time divides into these steps.
type Stage string

// The stages, in the order an order passes them.
const (
	StageOrdered   Stage = "ordered"
	StageCollected Stage = "collected" // every tube drawn
	StageReceived  Stage = "received"  // every tube received in the laboratory
	StageResulted  Stage = "resulted"  // every test resulted (an imaging study available)
	StageVerified  Stage = "verified"  // the report final
	StageRead      Stage = "read"      // a clinician opened the final report
)

// Stages lists every stage in order.
var Stages = []Stage{StageOrdered, StageCollected, StageReceived, StageResulted, StageVerified, StageRead}

// Valid reports whether s is a known stage.
func (s Stage) Valid() bool { return slices.Contains(Stages, s) }

func (s Stage) index() int { return slices.Index(Stages, s) }

// Target is a turnaround target: the order reaches To within Minutes of
// reaching From. Standard is true when the figure is a published one (its
// Source names it), false when it is this engine's default for the
// laboratory or radiology service to review.
type Target struct {
	Priority Priority `json:"priority"`
	From     Stage    `json:"from"`
	To       Stage    `json:"to"`
	Minutes  int      `json:"minutes"`
	Standard bool     `json:"standard"`
	Source   string   `json:"source"`
}

// Within is the target's span.
func (t Target) Within() time.Duration { return time.Duration(t.Minutes) * time.Minute }

// Span names the stages the target spans, e.g. "received→resulted".
func (t Target) Span() string { return string(t.From) + "→" + string(t.To) }

func (t Target) check() error {
	switch {
	case !t.Priority.Valid():
		return errors.New("priority " + strconv.Quote(string(t.Priority)) + " is not routine, urgent or stat")
	case !t.From.Valid() || !t.To.Valid() || t.From.index() >= t.To.index():
		return errors.New("from and to must be stages, from before to")
	case t.Minutes <= 0:
		return errors.New("minutes must be positive")
	}
	return nil
}

// Timestamps are when an order reached each stage; nil until it does.
type Timestamps struct {
	Ordered time.Time `json:"ordered"`
	// Restarted is when a specimen was last rejected and a recollection
	// asked for: the stage clock starts again there, so the collection stage
	// and targets counted from the order run from it.
	Restarted *time.Time `json:"restarted,omitempty"`
	Collected *time.Time `json:"collected,omitempty"`
	Received  *time.Time `json:"received,omitempty"`
	Resulted  *time.Time `json:"resulted,omitempty"`
	Verified  *time.Time `json:"verified,omitempty"`
	Read      *time.Time `json:"read,omitempty"`
}

// Start is when the stage clock runs from: the last recollection request,
// or the order.
func (t Timestamps) Start() time.Time {
	if t.Restarted != nil && t.Restarted.After(t.Ordered) {
		return *t.Restarted
	}
	return t.Ordered
}

// At is when the order reached stage s; false until it has. The ordered
// stage is reached at the order's creation.
func (t Timestamps) At(s Stage) (time.Time, bool) {
	var p *time.Time
	switch s {
	case StageOrdered:
		return t.Ordered, !t.Ordered.IsZero()
	case StageCollected:
		p = t.Collected
	case StageReceived:
		p = t.Received
	case StageResulted:
		p = t.Resulted
	case StageVerified:
		p = t.Verified
	case StageRead:
		p = t.Read
	}
	if p == nil {
		return time.Time{}, false
	}
	return *p, true
}

// from is when a target starting at s starts: the stage clock's start for
// the ordered stage, else when s was reached.
func (t Timestamps) from(s Stage) (time.Time, bool) {
	if s == StageOrdered {
		return t.Start(), !t.Ordered.IsZero()
	}
	return t.At(s)
}

// Duration is the turnaround of stage s: from the latest earlier stage the
// order reached (the stage clock's start for the first) to s. An imaging
// order has no collection or receipt, so its resulted stage runs from the
// order. False until s is reached, and for the ordered stage.
func (t Timestamps) Duration(s Stage) (time.Duration, bool) {
	end, ok := t.At(s)
	if !ok || s == StageOrdered || !s.Valid() {
		return 0, false
	}
	for i := s.index() - 1; i >= 0; i-- {
		if start, ok := t.from(Stages[i]); ok {
			return end.Sub(start), true
		}
	}
	return 0, false
}

// Total is the order's whole turnaround, from the order (not the clock's
// restart: the patient waited all along) to verification.
func (t Timestamps) Total() (time.Duration, bool) {
	if t.Verified == nil || t.Ordered.IsZero() {
		return 0, false
	}
	return t.Verified.Sub(t.Ordered), true
}

// Deadline is when the target's To stage is due; false while its From
// stage is not reached.
func (t Target) Deadline(ts Timestamps) (time.Time, bool) {
	start, ok := ts.from(t.From)
	if !ok {
		return time.Time{}, false
	}
	return start.Add(t.Within()), true
}

// Breach is a target an order missed: reached late, or not reached by its
// deadline.
type Breach struct {
	Target   Target    `json:"target"`
	Deadline time.Time `json:"deadline"`
	// Reached is when the To stage was reached; nil while it is still open.
	Reached *time.Time `json:"reached,omitempty"`
	// Noted is when the breach was recorded on the report.
	Noted time.Time `json:"noted,omitzero"`
}

// Late is how far past the deadline the stage was reached, or is at now.
func (b Breach) Late(now time.Time) time.Duration {
	if b.Reached != nil {
		return b.Reached.Sub(b.Deadline)
	}
	return now.Sub(b.Deadline)
}

// Missed lists the targets the order has missed at now: a To stage reached
// after its deadline, or not reached when the deadline has come. Reaching
// a stage exactly at its deadline meets the target.
func Missed(ts Timestamps, targets []Target, now time.Time) []Breach {
	var out []Breach
	for _, t := range targets {
		due, ok := t.Deadline(ts)
		if !ok {
			continue
		}
		end, reached := ts.At(t.To)
		switch {
		case reached && end.After(due):
			out = append(out, Breach{Target: t, Deadline: due, Reached: &end})
		case !reached && !now.Before(due):
			out = append(out, Breach{Target: t, Deadline: due})
		}
	}
	return out
}

// NextDeadline is the earliest deadline still to come at now among the
// targets whose From stage is reached and To stage is not: a workflow sets
// one timer for it, and calls Missed when it fires. False when none is
// pending.
func NextDeadline(ts Timestamps, targets []Target, now time.Time) (time.Time, bool) {
	var next time.Time
	found := false
	for _, t := range targets {
		due, ok := t.Deadline(ts)
		if !ok {
			continue
		}
		if _, reached := ts.At(t.To); reached || !now.Before(due) {
			continue
		}
		if !found || due.Before(next) {
			next, found = due, true
		}
	}
	return next, found
}
