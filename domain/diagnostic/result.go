package diagnostic

import (
	"fmt"
	"slices"
	"time"

	"github.com/google/uuid"

	"github.com/zarish-sphere/zarish/domain/observation"
)

// This file holds the results of a laboratory report: the observations
// linked to it as they arrive, and the delta-check flags on them.

// Result is one observation that results the order, as the report holds it.
// The observation service stores the observation; the report keeps the
// version it read, so a report version shows the values it was verified with.
type Result struct {
	ObservationID      uuid.UUID          `json:"observationId"`
	ObservationVersion int                `json:"observationVersion"`
	Code               string             `json:"code"` // LOINC
	Display            string             `json:"display"`
	Value              observation.Value  `json:"value"`
	Flag               observation.Flag   `json:"flag,omitempty"`
	Status             observation.Status `json:"status"`
	EffectiveAt        time.Time          `json:"effectiveAt"`
	Issued             time.Time          `json:"issued"`
	RecordedAt         time.Time          `json:"recordedAt"` // when the report took it
}

// Critical reports whether the result is beyond a critical limit.
func (r Result) Critical() bool { return r.Flag.Critical() }

// Text is the value as a reader sees it, e.g. "6.8 mmol/L" or "Reactive".
func (r Result) Text() string { return valueText(r.Value) }

func resultOf(o observation.Observation, at time.Time) Result {
	res := Result{ObservationID: o.ID, ObservationVersion: o.Version, Code: o.Code, Display: o.Display,
		Flag: o.Interpretation.Flag, Status: o.Status, EffectiveAt: o.EffectiveAt, Issued: o.Issued, RecordedAt: at}
	if o.Value != nil {
		res.Value = *o.Value
	}
	return res
}

// Flag is a delta-check flag on a result, which someone reviews before the
// report is verified (CLSI EP33, Use of Delta Checks in the Medical
// Laboratory, 2016: a flagged result is investigated before it is
// released).
type Flag struct {
	// ID names the flag: the observation, its code and the delta rule.
	ID            string                `json:"id"`
	ObservationID uuid.UUID             `json:"observationId"`
	Code          string                `json:"code"`
	Delta         observation.DeltaFlag `json:"delta"`
	Review        *Review               `json:"review,omitempty"`
}

// Review is someone's look at a flag: who, when, and what they concluded.
type Review struct {
	By   uuid.UUID `json:"by"`
	At   time.Time `json:"at"`
	Note string    `json:"note"`
}

// result finds the result of a code.
func (r Report) result(code string) int {
	return slices.IndexFunc(r.Results, func(res Result) bool { return res.Code == code })
}

// Result returns the result of a LOINC code.
func (r Report) Result(code string) (Result, bool) {
	if i := r.result(code); i >= 0 {
		return r.Results[i], true
	}
	return Result{}, false
}

// CanRecord reports why the observation may not result the report now, or
// nil. It must be the patient's, of a code the order expects, with a value,
// and from a received tube.
func (r Report) CanRecord(o observation.Observation) error {
	switch {
	case r.Order.Imaging():
		return fmt.Errorf("%w: an imaging report is resulted by its imaging studies", ErrInvalidTransition)
	case r.Status.Closed():
		return fmt.Errorf("%w: the report is %s", ErrInvalidTransition, r.Status)
	case r.Status.Verified():
		return fmt.Errorf("%w: the report is %s; correct it to change a result", ErrInvalidTransition, r.Status)
	case o.ID == uuid.Nil:
		return fmt.Errorf("%w: the observation has no id", ErrInvalidArgument)
	case o.PatientID != r.Order.PatientID:
		return fmt.Errorf("%w: observation %s is of another patient", ErrInvalidArgument, o.ID)
	case !slices.Contains(r.Order.ResultCodes(), o.Code):
		return fmt.Errorf("%w: LOINC %s was not ordered; the order expects %v", ErrInvalidArgument, o.Code, r.Order.ResultCodes())
	case o.Value == nil && o.Status != observation.StatusEnteredInError:
		return fmt.Errorf("%w: observation %s has no value", ErrInvalidArgument, o.ID)
	}
	if o.Status == observation.StatusEnteredInError {
		return nil
	}
	container, _ := r.Order.ContainerOf(o.Code)
	if i := r.activeIn(container); i < 0 || r.Specimens[i].Status != SpecimenReceived {
		return fmt.Errorf("%w: LOINC %s is resulted from a received %s tube; none is received", ErrInvalidTransition, o.Code, container)
	}
	return nil
}

// Record takes a version of an observation that results the order: a new
// result, a newer version of one (replacing it), another observation of the
// same code (replacing the earlier one), or a withdrawal (entered in error),
// which removes it. A version the report already holds, or an older one,
// changes nothing, so a repeated delivery is harmless. A critical value
// opens a callback; the result's delta-check flags await review (a new
// version of a result is reviewed again).
func (r Report) Record(o observation.Observation, at time.Time) (Report, error) {
	if err := r.CanRecord(o); err != nil {
		return r, err
	}
	i := r.result(o.Code)
	if i >= 0 && r.Results[i].ObservationID == o.ID && o.Version <= r.Results[i].ObservationVersion {
		return r, nil
	}
	next := r.clone()
	if o.Status == observation.StatusEnteredInError {
		if i < 0 || r.Results[i].ObservationID != o.ID {
			return r, nil
		}
		next.Results = slices.Delete(next.Results, i, i+1)
		next.Flags = dropFlags(next.Flags, o.ID)
		next = next.followResult(o.ID, nil, at)
		note := "LOINC " + o.Code + " withdrawn"
		if o.Reason != "" {
			note += ": " + o.Reason
		}
		return next.settle(at).add(EventResultWithdrawn, at, uuid.Nil, note), nil
	}
	res := resultOf(o, at)
	note := "LOINC " + o.Code + " " + res.Text()
	old := uuid.Nil
	if i >= 0 {
		old = r.Results[i].ObservationID
		if old := r.Results[i]; old.ObservationID != o.ID {
			note += ", replacing observation " + old.ObservationID.String()
		} else {
			note += fmt.Sprintf(" (observation version %d)", o.Version)
		}
		next.Flags = dropFlags(next.Flags, r.Results[i].ObservationID)
		next.Results[i] = res
	} else {
		next.Results = append(next.Results, res)
	}
	for _, d := range o.DeltaFlags {
		next.Flags = append(next.Flags, Flag{ID: o.ID.String() + "/" + o.Code + "/" + string(d.Code), ObservationID: o.ID, Code: o.Code, Delta: d})
	}
	next = next.followResult(old, &res, at)
	return next.settle(at).add(EventResulted, at, uuid.Nil, note), nil
}

func dropFlags(fs []Flag, obs uuid.UUID) []Flag {
	return slices.DeleteFunc(fs, func(f Flag) bool { return f.ObservationID == obs })
}

// Unreviewed lists the delta-check flags nobody has reviewed.
func (r Report) Unreviewed() []Flag {
	var out []Flag
	for _, f := range r.Flags {
		if f.Review == nil {
			out = append(out, f)
		}
	}
	return out
}

// CanReviewFlag reports why the flag may not be reviewed, or nil.
func (r Report) CanReviewFlag(id string, by uuid.UUID, note string) error {
	i := slices.IndexFunc(r.Flags, func(f Flag) bool { return f.ID == id })
	switch {
	case by == uuid.Nil:
		return fmt.Errorf("%w: by is required", ErrInvalidArgument)
	case i < 0:
		return fmt.Errorf("%w: %q is not a flag of this report", ErrInvalidArgument, id)
	case r.Status.Closed() || r.Status.Verified():
		return fmt.Errorf("%w: flags are reviewed before verification; the report is %s", ErrInvalidTransition, r.Status)
	case r.Flags[i].Review != nil:
		return fmt.Errorf("%w: the flag was reviewed at %s", ErrInvalidTransition, r.Flags[i].Review.At.UTC().Format(time.RFC3339))
	}
	if _, why := text(note, MaxNoteLen, true); why != "" {
		return fmt.Errorf("%w: note: %s", ErrInvalidArgument, why)
	}
	return nil
}

// ReviewFlag records someone's review of a delta-check flag.
func (r Report) ReviewFlag(id string, by uuid.UUID, note string, at time.Time) (Report, error) {
	if err := r.CanReviewFlag(id, by, note); err != nil {
		return r, err
	}
	next := r.clone()
	i := slices.IndexFunc(next.Flags, func(f Flag) bool { return f.ID == id })
	note, _ = text(note, MaxNoteLen, true)
	next.Flags[i].Review = &Review{By: by, At: at, Note: note}
	return next.add(EventFlagReviewed, at, by, string(next.Flags[i].Delta.Code)+" on LOINC "+next.Flags[i].Code+": "+note), nil
}
