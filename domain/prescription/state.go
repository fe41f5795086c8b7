package prescription

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/zarish-sphere/zarish/domain"
	"github.com/zarish-sphere/zarish/domain/medication"
)

// Limits on what a person writes into a prescription.
const (
	MaxReasonLen     = 1000
	MaxIndicationLen = 500
	MaxUnitLen       = 40
	// MaxDispenses and MaxAdministrations bound one prescription's records,
	// so its history stays short: a long course is prescribed again.
	MaxDispenses       = 100
	MaxAdministrations = 2000
)

// Roles a person acts in on a prescription.
const (
	RolePrescriber = "prescriber"
	RolePharmacist = "pharmacist"
)

// ErrPharmacistRequired refuses a change only a pharmacist may make:
// overriding a contraindicated finding. (Verifying and dispensing need the
// pharmacist role too; the API checks it before the request reaches the
// process.)
var ErrPharmacistRequired = errors.New("a pharmacist must make this change")

// New is a prescription as ordered: draft, its checks not yet run. It
// reports every invalid detail at once.
func New(d Details) (Prescription, error) {
	var v domain.ValidationError
	if d.ID == uuid.Nil {
		v.Add("id", "required")
	}
	if d.PatientID == uuid.Nil {
		v.Add("patientId", "required")
	}
	if d.EncounterID != nil && *d.EncounterID == uuid.Nil {
		v.Add("encounterId", "must be an encounter id")
	}
	if d.PrescriberID == uuid.Nil {
		v.Add("prescriberId", "required")
	}
	if d.Drug.ID == "" {
		v.Add("medication", "must resolve to a drug of the knowledge base")
	}
	o := d.Order
	if !(o.Dose > 0) || math.IsInf(o.Dose, 0) {
		v.Add("dose.value", "must be a positive number")
	}
	if strings.TrimSpace(o.DoseUnit) == "" || len(o.DoseUnit) > MaxUnitLen {
		v.Add("dose.unit", "required, at most 40 characters")
	}
	if strings.TrimSpace(o.Route) == "" {
		v.Add("route", "required")
	} else if _, ok := medication.ParseRoute(o.Route); !ok {
		v.Add("route", "is not a route the engine knows (oral, iv, im, sc, inhaled, topical, rectal …)")
	}
	if strings.TrimSpace(o.Frequency) == "" && o.DosesPerDay <= 0 {
		v.Add("frequency", "required")
	} else if o.Frequency != "" {
		if _, ok := medication.ParseFrequency(o.Frequency); !ok {
			v.Add("frequency", "is not a frequency the engine reads (q6h, BD, TDS, daily, every 8 hours, stat …)")
		}
	}
	if o.DurationDays < 0 || o.DurationDays > 3650 || math.IsNaN(o.DurationDays) {
		v.Add("durationDays", "must be between 0 (open-ended) and 3650")
	}
	if utf8.RuneCountInString(o.Indication) > MaxIndicationLen {
		v.Add("indication", "at most 500 characters")
	}
	if d.Quantity.Value < 0 || math.IsNaN(d.Quantity.Value) || math.IsInf(d.Quantity.Value, 0) {
		v.Add("quantity.value", "must not be negative")
	}
	if d.Quantity.Value > 0 && (strings.TrimSpace(d.Quantity.Unit) == "" || len(d.Quantity.Unit) > MaxUnitLen) {
		v.Add("quantity.unit", "required with a quantity, at most 40 characters")
	}
	if d.CreatedAt.IsZero() {
		v.Add("createdAt", "required")
	}
	if err := v.OrNil(); err != nil {
		return Prescription{}, err
	}
	p := Prescription{Details: d, Status: StatusDraft, Findings: []Finding{}, Checks: []Check{}}
	return p.add(EventCreated, d.CreatedAt, d.PrescriberID, ""), nil
}

// Check reasons.
const (
	ReasonOrdered       = "ordered"
	ReasonVerification  = "verification"
	ReasonNewAllergy    = "new allergy"
	ReasonNewMedication = "new prescription"
)

// Checked applies a run of the checks: the findings become what it found,
// each keeping its override. A draft becomes active, or on hold when a
// finding stands; an active prescription a new standing finding holds; a
// held one whose standing findings are gone is active again. It reports how
// many findings are new and how many of those block.
func (p Prescription) Checked(res medication.Result, ctx Context, reason string, at time.Time) (next Prescription, fresh, blocking int) {
	if p.Status.Closed() {
		return p, 0, 0
	}
	next = p.clone()
	next.Findings, fresh, blocking = merge(p.Findings, FindingsOf(res, ctx, at))
	next.Checks = append(next.Checks, Check{At: at, Reason: reason, Version: res.Version, Found: fresh, Basis: ctx.Basis})
	note := fmt.Sprintf("checks (%s) against knowledge base %s: %d finding(s), %d new", reason, res.Version, len(next.Findings), fresh)
	return next.settleHold(at, note), fresh, blocking
}

// ChecksFailed records checks that could not run at all (the patient's
// record could not be read): the findings stand as they were, with their
// overrides, and f — a check-unavailable finding — is added, which holds the
// order until the checks run again. It reports whether f is new.
func (p Prescription) ChecksFailed(f medication.Finding, reason string, at time.Time) (next Prescription, fresh bool) {
	if p.Status.Closed() {
		return p, false
	}
	next = p.clone()
	id := findingID(f, nil)
	if _, seen := findingByID(p.Findings, id); !seen {
		next.Findings = append(next.Findings, Finding{ID: id, Finding: f, Blocking: true, FoundAt: at})
		fresh = true
	}
	found := 0
	if fresh {
		found = 1
	}
	next.Checks = append(next.Checks, Check{At: at, Reason: reason, Version: f.Version, Found: found})
	return next.settleHold(at, fmt.Sprintf("checks (%s) could not run: %s", reason, f.Explanation)), fresh
}

// settleHold sets the status a run of the checks leaves and adds its
// timeline entry.
func (p Prescription) settleHold(at time.Time, note string) Prescription {
	standing := len(p.Standing()) > 0
	switch {
	case standing && p.Status != StatusOnHold:
		p.Status = StatusOnHold
		p.HeldAt = &at
		return p.add(EventHeld, at, uuid.Nil, note)
	case !standing && p.Status != StatusActive:
		p.activate(at)
		return p.add(EventActivated, at, uuid.Nil, note)
	}
	return p.add(EventRechecked, at, uuid.Nil, note)
}

// activate makes the prescription active, starting its duration the first
// time.
func (p *Prescription) activate(at time.Time) {
	p.Status = StatusActive
	p.HeldAt = nil
	if p.ActivatedAt != nil {
		return
	}
	p.ActivatedAt = &at
	if d := p.Details.Order.DurationDays; d > 0 {
		end := at.Add(time.Duration(d * 24 * float64(time.Hour)))
		p.EndsAt = &end
	}
}

// OverrideRequest lets the standing findings pass, each with its reason.
type OverrideRequest struct {
	By uuid.UUID `json:"by"`
	// Role is the role the person acts in: prescriber or pharmacist.
	Role string `json:"role"`
	// Reasons maps each standing finding's id to why it may pass.
	Reasons map[string]string `json:"reasons"`
}

// CanOverride reports why req may not override p's standing findings, or nil.
func (p Prescription) CanOverride(req OverrideRequest) error {
	if p.Status != StatusOnHold {
		return fmt.Errorf("%w: only a prescription on hold is overridden; this one is %s", ErrInvalidTransition, p.Status)
	}
	if req.By == uuid.Nil {
		return fmt.Errorf("%w: by is required", ErrInvalidArgument)
	}
	if req.Role != RolePrescriber && req.Role != RolePharmacist {
		return fmt.Errorf("%w: role must be prescriber or pharmacist", ErrInvalidArgument)
	}
	standing := p.Standing()
	for id := range req.Reasons {
		f, ok := findingByID(p.Findings, id)
		if !ok || !f.Standing() {
			return fmt.Errorf("%w: reasons.%s names no standing finding of this prescription", ErrInvalidArgument, id)
		}
	}
	for _, f := range standing {
		reason := strings.TrimSpace(req.Reasons[f.ID])
		if reason == "" {
			return fmt.Errorf("%w: reasons.%s: a reason is required for each standing finding", ErrInvalidArgument, f.ID)
		}
		if utf8.RuneCountInString(reason) > MaxReasonLen {
			return fmt.Errorf("%w: reasons.%s: at most %d characters", ErrInvalidArgument, f.ID, MaxReasonLen)
		}
		if f.Severity == medication.SeverityContraindicated && req.Role != RolePharmacist {
			return fmt.Errorf("%w: finding %s is contraindicated", ErrPharmacistRequired, f.ID)
		}
	}
	return nil
}

// Override records the reasons against the standing findings and makes the
// prescription active.
func (p Prescription) Override(req OverrideRequest, at time.Time) (Prescription, error) {
	if err := p.CanOverride(req); err != nil {
		return p, err
	}
	next := p.clone()
	n := 0
	for i, f := range next.Findings {
		if f.Standing() {
			next.Findings[i].Override = &Override{By: req.By, Role: req.Role, Reason: strings.TrimSpace(req.Reasons[f.ID]), At: at}
			n++
		}
	}
	next.activate(at)
	return next.add(EventOverridden, at, req.By, fmt.Sprintf("%d finding(s) overridden by the %s", n, req.Role)), nil
}

// CanVerify reports why p may not be verified now, or nil.
func (p Prescription) CanVerify(by uuid.UUID) error {
	switch {
	case by == uuid.Nil:
		return fmt.Errorf("%w: by is required", ErrInvalidArgument)
	case p.Status != StatusActive:
		return fmt.Errorf("%w: only an active prescription is verified; this one is %s", ErrInvalidTransition, p.Status)
	case p.VerifiedBy != nil:
		return fmt.Errorf("%w: the prescription is already verified", ErrInvalidTransition)
	}
	return nil
}

// Verify records the pharmacist's verification. The checks run again first
// (Checked, ReasonVerification): a prescription they hold is not verified.
func (p Prescription) Verify(by uuid.UUID, at time.Time) (Prescription, error) {
	if err := p.CanVerify(by); err != nil {
		return p, err
	}
	next := p.clone()
	next.VerifiedBy, next.VerifiedAt = &by, &at
	return next.add(EventVerified, at, by, ""), nil
}

// CanDispense reports why q may not be dispensed now, or nil.
func (p Prescription) CanDispense(by uuid.UUID, q Quantity) error {
	switch {
	case by == uuid.Nil:
		return fmt.Errorf("%w: by is required", ErrInvalidArgument)
	case p.Status != StatusActive:
		return fmt.Errorf("%w: only an active prescription is dispensed; this one is %s", ErrInvalidTransition, p.Status)
	case p.VerifiedBy == nil:
		return fmt.Errorf("%w: a pharmacist verifies the prescription before it is dispensed", ErrInvalidTransition)
	case !(q.Value > 0) || math.IsInf(q.Value, 0):
		return fmt.Errorf("%w: quantity.value must be a positive number", ErrInvalidArgument)
	case len(p.Dispenses) >= MaxDispenses:
		return fmt.Errorf("%w: this prescription has been dispensed %d times; prescribe again", ErrInvalidTransition, MaxDispenses)
	}
	total := p.Details.Quantity
	if total.Value == 0 {
		if strings.TrimSpace(q.Unit) == "" || len(q.Unit) > MaxUnitLen {
			return fmt.Errorf("%w: quantity.unit is required, at most %d characters", ErrInvalidArgument, MaxUnitLen)
		}
		return nil
	}
	if !strings.EqualFold(strings.TrimSpace(q.Unit), total.Unit) {
		return fmt.Errorf("%w: quantity.unit must be %s, the prescription's unit", ErrInvalidArgument, total.Unit)
	}
	if left := total.Value - p.Dispensed(); q.Value > left+1e-9 {
		return fmt.Errorf("%w: %s %s left to dispense of %s", ErrInvalidArgument, trim(left), total.Unit, trim(total.Value))
	}
	return nil
}

// Dispense records a fill, partial fills counted against the total.
func (p Prescription) Dispense(by uuid.UUID, q Quantity, at time.Time) (Prescription, error) {
	if err := p.CanDispense(by, q); err != nil {
		return p, err
	}
	next := p.clone()
	if next.Details.Quantity.Value > 0 {
		q.Unit = next.Details.Quantity.Unit
	}
	q.Unit = strings.TrimSpace(q.Unit)
	next.Dispenses = append(next.Dispenses, Dispense{Quantity: q, By: by, At: at})
	note := trim(q.Value) + " " + q.Unit
	if t := next.Details.Quantity; t.Value > 0 {
		note += fmt.Sprintf(" (%s of %s dispensed)", trim(next.Dispensed()), trim(t.Value))
	}
	return next.add(EventDispensed, at, by, note), nil
}

// CanAdminister reports why a may not be recorded now (at is the time it is
// recorded), or nil.
func (p Prescription) CanAdminister(a Administration, now time.Time) error {
	switch {
	case a.By == uuid.Nil:
		return fmt.Errorf("%w: by is required", ErrInvalidArgument)
	case p.Status != StatusActive:
		return fmt.Errorf("%w: only an active prescription is given; this one is %s", ErrInvalidTransition, p.Status)
	case p.VerifiedBy == nil:
		return fmt.Errorf("%w: a pharmacist verifies the prescription before it is given", ErrInvalidTransition)
	case len(p.Administrations) >= MaxAdministrations:
		return fmt.Errorf("%w: this prescription has %d administration records; prescribe again", ErrInvalidTransition, MaxAdministrations)
	case a.At.IsZero():
		return fmt.Errorf("%w: at is required", ErrInvalidArgument)
	case a.At.After(now.Add(5 * time.Minute)):
		return fmt.Errorf("%w: at must not be in the future", ErrInvalidArgument)
	case a.At.Before(p.Details.CreatedAt):
		return fmt.Errorf("%w: at must not be before the prescription was written", ErrInvalidArgument)
	case utf8.RuneCountInString(a.Reason) > MaxReasonLen:
		return fmt.Errorf("%w: reason: at most %d characters", ErrInvalidArgument, MaxReasonLen)
	}
	if a.NotGiven {
		if strings.TrimSpace(a.Reason) == "" {
			return fmt.Errorf("%w: reason is required for a dose not given", ErrInvalidArgument)
		}
		return nil
	}
	if !(a.Dose.Value > 0) || math.IsInf(a.Dose.Value, 0) {
		return fmt.Errorf("%w: dose.value must be a positive number", ErrInvalidArgument)
	}
	if !strings.EqualFold(strings.TrimSpace(a.Dose.Unit), p.Details.Order.DoseUnit) {
		return fmt.Errorf("%w: dose.unit must be %s, the prescribed unit", ErrInvalidArgument, p.Details.Order.DoseUnit)
	}
	return nil
}

// Administer records a dose given, or not given with its reason.
func (p Prescription) Administer(a Administration, now time.Time) (Prescription, error) {
	if err := p.CanAdminister(a, now); err != nil {
		return p, err
	}
	next := p.clone()
	a.Reason = strings.TrimSpace(a.Reason)
	if a.NotGiven {
		a.Dose = Quantity{}
	} else {
		a.Dose.Unit = p.Details.Order.DoseUnit
	}
	next.Administrations = append(next.Administrations, a)
	note := "given " + trim(a.Dose.Value) + " " + a.Dose.Unit
	if a.NotGiven {
		note = "not given: " + a.Reason
	}
	return next.add(EventAdministered, now, a.By, note), nil
}

// CanDiscontinue reports why p may not be discontinued, or nil.
func (p Prescription) CanDiscontinue(by uuid.UUID, reason string) error {
	if err := requireReason(by, reason); err != nil {
		return err
	}
	if p.Status != StatusActive && p.Status != StatusOnHold {
		return fmt.Errorf("%w: only an active or held prescription is discontinued; this one is %s", ErrInvalidTransition, p.Status)
	}
	return nil
}

// Discontinue stops the prescription.
func (p Prescription) Discontinue(by uuid.UUID, reason string, at time.Time) (Prescription, error) {
	if err := p.CanDiscontinue(by, reason); err != nil {
		return p, err
	}
	next := p.clone()
	next.Status, next.HeldAt = StatusStopped, nil
	return next.add(EventDiscontinued, at, by, strings.TrimSpace(reason)), nil
}

// CanCancel reports why p may not be cancelled, or nil: only an order none
// of which was dispensed or given is cancelled; later it is discontinued.
func (p Prescription) CanCancel(by uuid.UUID, reason string) error {
	if err := requireReason(by, reason); err != nil {
		return err
	}
	switch {
	case p.Status.Closed():
		return fmt.Errorf("%w: the prescription is already %s", ErrInvalidTransition, p.Status)
	case len(p.Dispenses) > 0 || p.Given():
		return fmt.Errorf("%w: the prescription was dispensed or given; discontinue it instead", ErrInvalidTransition)
	}
	return nil
}

// Cancel withdraws the prescription.
func (p Prescription) Cancel(by uuid.UUID, reason string, at time.Time) (Prescription, error) {
	if err := p.CanCancel(by, reason); err != nil {
		return p, err
	}
	next := p.clone()
	next.Status, next.HeldAt = StatusCancelled, nil
	return next.add(EventCancelled, at, by, strings.TrimSpace(reason)), nil
}

// Complete ends a prescription whose duration ran out at (EndsAt).
func (p Prescription) Complete(at time.Time) (Prescription, error) {
	if p.Status.Closed() || p.EndsAt == nil || at.Before(*p.EndsAt) {
		return p, fmt.Errorf("%w: the prescription's duration has not run out", ErrInvalidTransition)
	}
	next := p.clone()
	next.Status, next.HeldAt = StatusCompleted, nil
	return next.add(EventCompleted, at, uuid.Nil, "duration ended"), nil
}

// DoseReminderGrace is how late a scheduled dose may be recorded before its
// reminder is raised.
const DoseReminderGrace = 30 * time.Minute

// NextDose is when the next scheduled dose falls due: at verification for
// the first, then one interval after the last dose recorded (given or not).
// False for an order that is not active and verified, PRN, given once and
// done, or whose frequency names no interval.
func (p Prescription) NextDose() (time.Time, bool) {
	o := p.Details.Order
	if p.Status != StatusActive || p.VerifiedAt == nil || o.PRN {
		return time.Time{}, false
	}
	f, ok := medication.ParseFrequency(o.Frequency)
	if o.DosesPerDay > 0 {
		f, ok = medication.Frequency{PerDay: o.DosesPerDay, IntervalHours: 24 / o.DosesPerDay}, true
	}
	if !ok {
		return time.Time{}, false
	}
	if len(p.Administrations) == 0 {
		return *p.VerifiedAt, true
	}
	if f.Once || f.IntervalHours <= 0 {
		return time.Time{}, false
	}
	last := p.Administrations[len(p.Administrations)-1].At
	for _, a := range p.Administrations {
		if a.At.After(last) {
			last = a.At
		}
	}
	return last.Add(time.Duration(f.IntervalHours * float64(time.Hour))), true
}

func requireReason(by uuid.UUID, reason string) error {
	switch {
	case by == uuid.Nil:
		return fmt.Errorf("%w: by is required", ErrInvalidArgument)
	case strings.TrimSpace(reason) == "":
		return fmt.Errorf("%w: reason is required", ErrInvalidArgument)
	case utf8.RuneCountInString(reason) > MaxReasonLen:
		return fmt.Errorf("%w: reason: at most %d characters", ErrInvalidArgument, MaxReasonLen)
	}
	return nil
}

// trim formats a quantity without trailing zeros.
func trim(v float64) string {
	return strings.TrimRight(strings.TrimRight(fmt.Sprintf("%.3f", v), "0"), ".")
}
