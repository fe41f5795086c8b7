package diagnostic

import (
	"fmt"
	"time"

	"github.com/google/uuid"
)

// Release is when the patient sees the verified report. An ordinary report
// is released a configured delay after verification, so the clinician can
// see it first; a report with a sensitive test (HIV, a genetic result) is
// held until a clinician releases it, so that the result can be given in
// person. Which tests are sensitive is the hospital's policy (the
// catalogue's sensitive flag), not a published list.
type Release struct {
	// Held is set when a clinician must release the report.
	Held bool `json:"held,omitempty"`
	// Due is when the report is released without anyone's action.
	Due *time.Time `json:"due,omitempty"`
	// At is when the report was released; By who released it (empty when
	// released when due).
	At *time.Time `json:"at,omitempty"`
	By uuid.UUID  `json:"by,omitzero"`
}

// Released reports whether the patient may see the report: released, and
// not withdrawn since. Once released, every later version is the patient's
// to see too.
func (r Report) Released() bool { return r.Release.At != nil && r.Status.Verified() }

// ReleaseDue is when the report is released to the patient without anyone's
// action, for the workflow's timer; false when it is held, already
// released, or not verified.
func (r Report) ReleaseDue() (time.Time, bool) {
	if !r.Status.Verified() || r.Release.At != nil || r.Release.Held || r.Release.Due == nil {
		return time.Time{}, false
	}
	return *r.Release.Due, true
}

// ReleaseWhenDue releases the report once its delay has run out at at.
func (r Report) ReleaseWhenDue(at time.Time) (Report, error) {
	due, ok := r.ReleaseDue()
	switch {
	case !ok:
		return r, fmt.Errorf("%w: the report is not waiting to be released (status %s, held %v)", ErrInvalidTransition, r.Status, r.Release.Held)
	case at.Before(due):
		return r, fmt.Errorf("%w: the report is released at %s", ErrInvalidTransition, due.UTC().Format(time.RFC3339))
	}
	next := r.clone()
	next.Release.At = &at
	return next.add(EventReleased, at, uuid.Nil, "released to the patient"), nil
}

// CanReleaseNow reports why a clinician may not release the report now, or nil.
func (r Report) CanReleaseNow(by uuid.UUID) error {
	switch {
	case by == uuid.Nil:
		return fmt.Errorf("%w: by is required", ErrInvalidArgument)
	case !r.Status.Verified():
		return fmt.Errorf("%w: only a verified report is released; this one is %s", ErrInvalidTransition, r.Status)
	case r.Release.At != nil:
		return fmt.Errorf("%w: the report was released at %s", ErrInvalidTransition, r.Release.At.UTC().Format(time.RFC3339))
	}
	return nil
}

// ReleaseNow is a clinician's release of the report to the patient: a held
// report, or one before its delay runs out.
func (r Report) ReleaseNow(by uuid.UUID, at time.Time) (Report, error) {
	if err := r.CanReleaseNow(by); err != nil {
		return r, err
	}
	next := r.clone()
	next.Release.At, next.Release.By = &at, by
	note := "released to the patient by a clinician"
	if r.Release.Held {
		note += " (held: sensitive test)"
	}
	return next.add(EventReleased, at, by, note), nil
}

// Reader is who opens or receives a report.
type Reader string

// The readers.
const (
	ReaderClinician Reader = "clinician"
	ReaderPatient   Reader = "patient"
)

// Valid reports whether r is a known reader.
func (r Reader) Valid() bool { return r == ReaderClinician || r == ReaderPatient }

// Recipient is someone the report was sent to.
type Recipient struct {
	Who     uuid.UUID `json:"who"`
	Role    Reader    `json:"role"`
	Channel string    `json:"channel"` // inapp, email, sms …
	// Version is the version sent; 0 for a preliminary report.
	Version int       `json:"version"`
	At      time.Time `json:"at"`
}

// Opening is someone's opening of the report.
type Opening struct {
	Who  uuid.UUID `json:"who"`
	Role Reader    `json:"role"`
	// Version is the version opened; 0 for a preliminary report.
	Version int       `json:"version"`
	At      time.Time `json:"at"`
}

// canSee reports why the reader may not see the report now, or nil:
// clinicians see it from the first result until it is withdrawn, the
// patient once it is released.
func (r Report) canSee(who uuid.UUID, role Reader) error {
	switch {
	case who == uuid.Nil:
		return fmt.Errorf("%w: who is required", ErrInvalidArgument)
	case !role.Valid():
		return fmt.Errorf("%w: role must be clinician or patient", ErrInvalidArgument)
	case role == ReaderPatient && !r.Released():
		return fmt.Errorf("%w: %w (status %s)", ErrInvalidTransition, ErrNotReleased, r.Status)
	case role == ReaderClinician && !r.Status.Visible():
		return fmt.Errorf("%w: the report has nothing to show; it is %s", ErrInvalidTransition, r.Status)
	}
	return nil
}

// CanNotify reports why the recipient may not be sent the report, or nil.
func (r Report) CanNotify(rc Recipient) error {
	if err := r.canSee(rc.Who, rc.Role); err != nil {
		return err
	}
	if rc.At.IsZero() {
		return fmt.Errorf("%w: at is required", ErrInvalidArgument)
	}
	if _, why := text(rc.Channel, MaxChannelLen, true); why != "" {
		return fmt.Errorf("%w: channel: %s", ErrInvalidArgument, why)
	}
	if len(r.Recipients) >= MaxRecipients {
		return fmt.Errorf("%w: the report was sent %d times", ErrInvalidTransition, MaxRecipients)
	}
	return nil
}

// Notify records that the report, as it stands, was sent to someone.
func (r Report) Notify(rc Recipient) (Report, error) {
	if err := r.CanNotify(rc); err != nil {
		return r, err
	}
	next := r.clone()
	rc.Channel, _ = text(rc.Channel, MaxChannelLen, true)
	rc.Version = len(r.Versions)
	next.Recipients = append(next.Recipients, rc)
	return next.add(EventNotified, rc.At, uuid.Nil, fmt.Sprintf("version %d sent to a %s by %s", rc.Version, rc.Role, rc.Channel)), nil
}

// Open records someone opening the report as it stands: the clinician's
// first opening of a verified version is the read stage. The patient
// opens only a released report (ErrNotReleased). Past MaxOpenings the
// report stops recording openings (the audit trail still has every read).
func (r Report) Open(who uuid.UUID, role Reader, at time.Time) (Report, error) {
	if err := r.canSee(who, role); err != nil {
		return r, err
	}
	if len(r.Openings) >= MaxOpenings {
		return r, nil
	}
	next := r.clone()
	o := Opening{Who: who, Role: role, Version: len(r.Versions), At: at}
	next.Openings = append(next.Openings, o)
	return next.add(EventOpened, at, who, fmt.Sprintf("version %d opened by a %s", o.Version, role)), nil
}

// OpenedBy lists who opened a version of the report (0 for the
// preliminary report), in the order they did.
func (r Report) OpenedBy(version int) []Opening {
	var out []Opening
	for _, o := range r.Openings {
		if o.Version == version {
			out = append(out, o)
		}
	}
	return out
}
