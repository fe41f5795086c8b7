package diagnostic

import (
	"fmt"
	"slices"
	"time"

	"github.com/google/uuid"
)

// Status is where a report stands: FHIR R4 DiagnosticReport.status codes
// (http://hl7.org/fhir/R4/valueset-diagnostic-report-status.html).
type Status string

// The statuses. A report is registered when ordered, partial while some of
// its tests are resulted (clinicians see it as a preliminary report),
// preliminary once every test is resulted and it awaits verification, and
// final when verified. After final a change makes it amended (the
// conclusion changed), appended (content added, nothing changed) or
// corrected (a result changed). Cancelled ends an order never completed;
// entered-in-error withdraws a report made in error.
const (
	StatusRegistered     Status = "registered"
	StatusPartial        Status = "partial"
	StatusPreliminary    Status = "preliminary"
	StatusFinal          Status = "final"
	StatusAmended        Status = "amended"
	StatusCorrected      Status = "corrected"
	StatusAppended       Status = "appended"
	StatusCancelled      Status = "cancelled"
	StatusEnteredInError Status = "entered-in-error"
)

// Statuses lists every status.
var Statuses = []Status{StatusRegistered, StatusPartial, StatusPreliminary, StatusFinal, StatusAmended,
	StatusCorrected, StatusAppended, StatusCancelled, StatusEnteredInError}

// Valid reports whether s is a known status.
func (s Status) Valid() bool { return slices.Contains(Statuses, s) }

// Closed reports whether the report has ended without a result to stand:
// cancelled or entered in error.
func (s Status) Closed() bool { return s == StatusCancelled || s == StatusEnteredInError }

// Verified reports whether the report was verified and stands: final, or
// changed since.
func (s Status) Verified() bool {
	return s == StatusFinal || s == StatusAmended || s == StatusCorrected || s == StatusAppended
}

// Visible reports whether clinicians see results: from the first result
// (as a preliminary report) until the report is withdrawn.
func (s Status) Visible() bool {
	return s == StatusPartial || s == StatusPreliminary || s.Verified()
}

// Role is what a person verifies a report as.
type Role string

// The verifying roles.
const (
	RoleLaboratoryScientist Role = "laboratory-scientist"
	RolePathologist         Role = "pathologist"
	RoleRadiologist         Role = "radiologist"
)

// Verification is the verifier's sign-off with the report's conclusion.
type Verification struct {
	By         uuid.UUID `json:"by"`
	Role       Role      `json:"role"`
	At         time.Time `json:"at"`
	Conclusion string    `json:"conclusion,omitempty"`
	// Codes are the coded conclusions, SNOMED CT concepts.
	Codes []Coding `json:"codes,omitempty"`
}

// Report is a diagnostic order and its report as the process keeps it.
type Report struct {
	Order     Order      `json:"order"`
	Status    Status     `json:"status"`
	Specimens []Specimen `json:"specimens"`
	Results   []Result   `json:"results"`
	Flags     []Flag     `json:"flags,omitempty"`
	// Studies are the imaging studies an imaging report refers to.
	Studies   []ImagingStudy `json:"studies,omitempty"`
	Callbacks []Callback     `json:"callbacks,omitempty"`
	// ResultedAt is when every test was first resulted; nil until then.
	ResultedAt   *time.Time    `json:"resultedAt,omitempty"`
	Verification *Verification `json:"verification,omitempty"`
	// Conclusion, Codes and Addenda are the report's current text: set at
	// verification, changed by amendments.
	Conclusion string     `json:"conclusion,omitempty"`
	Codes      []Coding   `json:"codes,omitempty"`
	Addenda    []Addendum `json:"addenda,omitempty"`
	// Versions are the verified report and every change after it; the last
	// is the report as it stands.
	Versions   []Version   `json:"versions,omitempty"`
	Release    Release     `json:"release"`
	Recipients []Recipient `json:"recipients,omitempty"`
	Openings   []Opening   `json:"openings,omitempty"`
	Breaches   []Breach    `json:"breaches,omitempty"`
	Timeline   []Entry     `json:"timeline"`
	// Version counts the timeline's entries: each change adds one.
	Version   int       `json:"version"`
	UpdatedAt time.Time `json:"updatedAt"`
}

// New is a report as ordered: registered, nothing collected yet.
func New(req Request, cat *Catalogue) (Report, error) {
	o, err := NewOrder(req, cat)
	if err != nil {
		return Report{}, err
	}
	r := Report{Order: o, Status: StatusRegistered, Specimens: []Specimen{}, Results: []Result{}, Timeline: []Entry{}}
	note := fmt.Sprintf("%s order of %d item(s)", o.Priority, len(o.Items))
	return r.add(EventOrdered, o.CreatedAt, o.OrdererID, note), nil
}

// Last is the newest timeline entry.
func (r Report) Last() Entry {
	if len(r.Timeline) == 0 {
		return Entry{}
	}
	return r.Timeline[len(r.Timeline)-1]
}

// clone copies r so a change never aliases the slices of the version before.
func (r Report) clone() Report {
	r.Specimens = slices.Clone(r.Specimens)
	r.Results = slices.Clone(r.Results)
	r.Flags = slices.Clone(r.Flags)
	r.Studies = slices.Clone(r.Studies)
	r.Callbacks = slices.Clone(r.Callbacks)
	r.Codes = slices.Clone(r.Codes)
	r.Addenda = slices.Clone(r.Addenda)
	r.Versions = slices.Clone(r.Versions)
	r.Recipients = slices.Clone(r.Recipients)
	r.Openings = slices.Clone(r.Openings)
	r.Breaches = slices.Clone(r.Breaches)
	r.Timeline = slices.Clone(r.Timeline)
	return r
}

// add appends a timeline entry for a change at, leaving the status as it is.
func (r Report) add(kind EventKind, at time.Time, by uuid.UUID, note string) Report {
	r.Version++
	r.UpdatedAt = at
	r.Timeline = append(r.Timeline, Entry{Seq: len(r.Timeline) + 1, Kind: kind, At: at, By: by, Status: r.Status, Note: note})
	return r
}

// Resulted counts the order's tests that are resulted (for imaging, the
// procedures with an available study) and how many there are.
func (r Report) Resulted() (done, total int) {
	if r.Order.Imaging() {
		for _, it := range r.Order.Items {
			total++
			if r.studyAvailable(it.Code) {
				done++
			}
		}
		return done, total
	}
	for _, c := range r.Order.ResultCodes() {
		total++
		if r.result(c) >= 0 {
			done++
		}
	}
	return done, total
}

// Missing lists the result codes (for imaging, the procedure codes) not yet
// resulted.
func (r Report) Missing() []string {
	var out []string
	if r.Order.Imaging() {
		for _, it := range r.Order.Items {
			if !r.studyAvailable(it.Code) {
				out = append(out, it.Code)
			}
		}
		return out
	}
	for _, c := range r.Order.ResultCodes() {
		if r.result(c) < 0 {
			out = append(out, c)
		}
	}
	return out
}

// settle sets the status the results leave before verification, and when
// every test was resulted. Its callers change only open, unverified reports.
func (r Report) settle(at time.Time) Report {
	done, total := r.Resulted()
	switch {
	case done == 0:
		r.Status = StatusRegistered
	case done < total:
		r.Status = StatusPartial
	default:
		r.Status = StatusPreliminary
	}
	switch {
	case total > 0 && done == total && r.ResultedAt == nil:
		r.ResultedAt = &at
	case done < total:
		r.ResultedAt = nil
	}
	return r
}

// CanVerify reports why the report may not be verified as v says, or nil:
// every test resulted, every delta-check flag reviewed, a verifier of the
// right discipline, a conclusion for imaging, and coded conclusions that are
// SNOMED CT concept ids.
func (r Report) CanVerify(v Verification) error {
	switch {
	case v.By == uuid.Nil:
		return fmt.Errorf("%w: by is required", ErrInvalidArgument)
	case r.Status != StatusPreliminary:
		if r.Status == StatusRegistered || r.Status == StatusPartial {
			return fmt.Errorf("%w: the report is %s: %v not yet resulted", ErrInvalidTransition, r.Status, r.Missing())
		}
		return fmt.Errorf("%w: only a preliminary report is verified; this one is %s", ErrInvalidTransition, r.Status)
	case len(r.Unreviewed()) > 0:
		return fmt.Errorf("%w: %w: %d delta-check flag(s) await review", ErrInvalidTransition, ErrUnreviewedFlags, len(r.Unreviewed()))
	case r.Order.Imaging() && v.Role != RoleRadiologist:
		return fmt.Errorf("%w: an imaging report is verified by a radiologist", ErrInvalidArgument)
	case !r.Order.Imaging() && v.Role != RoleLaboratoryScientist && v.Role != RolePathologist:
		return fmt.Errorf("%w: a laboratory report is verified by a laboratory scientist or a pathologist", ErrInvalidArgument)
	case v.At.Before(r.Order.CreatedAt):
		return fmt.Errorf("%w: at must not be before the order", ErrInvalidArgument)
	case r.ResultedAt != nil && v.At.Before(*r.ResultedAt):
		return fmt.Errorf("%w: at must not be before the last result (%s)", ErrInvalidArgument, r.ResultedAt.UTC().Format(time.RFC3339))
	}
	if _, why := text(v.Conclusion, MaxConclusionLen, r.Order.Imaging()); why != "" {
		return fmt.Errorf("%w: conclusion: %s", ErrInvalidArgument, why)
	}
	if _, err := conclusionCodes(v.Codes); err != nil {
		return err
	}
	return nil
}

// conclusionCodes checks coded conclusions: SNOMED CT concept ids, at most
// MaxConclusionCodes, none twice.
func conclusionCodes(cs []Coding) ([]Coding, error) {
	if len(cs) > MaxConclusionCodes {
		return nil, fmt.Errorf("%w: codes: at most %d", ErrInvalidArgument, MaxConclusionCodes)
	}
	var out []Coding
	for i, c := range cs {
		if c.System == "" {
			c.System = SystemSNOMED
		}
		switch {
		case c.System != SystemSNOMED:
			return nil, fmt.Errorf("%w: codes[%d]: coded conclusions are SNOMED CT (%s)", ErrInvalidArgument, i, SystemSNOMED)
		case !ValidSCTID(c.Code):
			return nil, fmt.Errorf("%w: codes[%d]: %q is not a SNOMED CT concept id", ErrInvalidArgument, i, c.Code)
		case slices.ContainsFunc(out, func(x Coding) bool { return x.Code == c.Code }):
			return nil, fmt.Errorf("%w: codes[%d]: %s is given twice", ErrInvalidArgument, i, c.Code)
		}
		if _, why := text(c.Display, MaxNoteLen, false); why != "" {
			return nil, fmt.Errorf("%w: codes[%d].display: %s", ErrInvalidArgument, i, why)
		}
		out = append(out, c)
	}
	return out, nil
}

// Verify records the verification: the report is final, its first version
// is kept, and its release to the patient is scheduled releaseDelay after
// verification, or held for a clinician when a test is sensitive.
func (r Report) Verify(v Verification, releaseDelay time.Duration) (Report, error) {
	if err := r.CanVerify(v); err != nil {
		return r, err
	}
	if releaseDelay < 0 {
		return r, fmt.Errorf("%w: the release delay must not be negative", ErrInvalidArgument)
	}
	next := r.clone()
	v.Conclusion, _ = text(v.Conclusion, MaxConclusionLen, false)
	v.Codes, _ = conclusionCodes(v.Codes)
	next.Verification = &v
	next.Status = StatusFinal
	next.Conclusion, next.Codes = v.Conclusion, slices.Clone(v.Codes)
	next.Versions = append(next.Versions, Version{Number: 1, Status: StatusFinal, At: v.At, By: v.By, Content: next.content()})
	note := "verified by the " + string(v.Role)
	if r.Order.Sensitive() {
		next.Release = Release{Held: true}
		note += "; held from the patient until a clinician releases it"
	} else {
		due := v.At.Add(releaseDelay)
		next.Release = Release{Due: &due}
		note += "; released to the patient at " + due.UTC().Format(time.RFC3339)
	}
	return next.add(EventVerified, v.At, v.By, note), nil
}

// CanCancel reports why the order may not be cancelled, or nil: only before
// verification; a verified report is entered in error instead.
func (r Report) CanCancel(by uuid.UUID, reason string) error {
	if err := requireReason(by, reason); err != nil {
		return err
	}
	switch {
	case r.Status.Closed():
		return fmt.Errorf("%w: the report is already %s", ErrInvalidTransition, r.Status)
	case r.Status.Verified():
		return fmt.Errorf("%w: the report is %s; enter it in error instead", ErrInvalidTransition, r.Status)
	}
	return nil
}

// Cancel withdraws an order before its report is verified.
func (r Report) Cancel(by uuid.UUID, reason string, at time.Time) (Report, error) {
	if err := r.CanCancel(by, reason); err != nil {
		return r, err
	}
	next := r.clone()
	next.Status = StatusCancelled
	reason, _ = text(reason, MaxReasonLen, true)
	return next.add(EventCancelled, at, by, reason), nil
}

// CanWithdraw reports why the report may not be entered in error, or nil.
func (r Report) CanWithdraw(by uuid.UUID, reason string) error {
	if err := requireReason(by, reason); err != nil {
		return err
	}
	if r.Status.Closed() {
		return fmt.Errorf("%w: the report is already %s", ErrInvalidTransition, r.Status)
	}
	if r.Status.Verified() && len(r.Versions) >= MaxVersions {
		return fmt.Errorf("%w: the report has %d versions", ErrInvalidTransition, MaxVersions)
	}
	return nil
}

// Withdraw enters the report in error: nobody should act on it, and the
// patient no longer sees it. A verified report keeps every version and
// gains one saying it was withdrawn.
func (r Report) Withdraw(by uuid.UUID, reason string, at time.Time) (Report, error) {
	if err := r.CanWithdraw(by, reason); err != nil {
		return r, err
	}
	next := r.clone()
	reason, _ = text(reason, MaxReasonLen, true)
	if r.Status.Verified() {
		next.Versions = append(next.Versions, Version{Number: len(r.Versions) + 1, Status: StatusEnteredInError, At: at, By: by,
			Reason: reason, Content: next.content(),
			Changes: []Change{{Field: FieldStatus, Previous: string(r.Status), New: string(StatusEnteredInError)}}})
	}
	next.Status = StatusEnteredInError
	return next.add(EventEnteredInError, at, by, reason), nil
}

func requireReason(by uuid.UUID, reason string) error {
	if by == uuid.Nil {
		return fmt.Errorf("%w: by is required", ErrInvalidArgument)
	}
	if _, why := text(reason, MaxReasonLen, true); why != "" {
		return fmt.Errorf("%w: reason: %s", ErrInvalidArgument, why)
	}
	return nil
}

// Stages are when the order reached each stage: collected and received
// when the last tube it needs was (none for imaging), resulted when every
// test first was, verified, and read when a clinician first opened a
// verified version. The clock restarts at the last rejection.
func (r Report) Stages() Timestamps {
	ts := Timestamps{Ordered: r.Order.CreatedAt, Resulted: r.ResultedAt}
	for _, s := range r.Specimens {
		if s.Rejection != nil && (ts.Restarted == nil || s.Rejection.At.After(*ts.Restarted)) {
			at := s.Rejection.At
			ts.Restarted = &at
		}
	}
	if !r.Order.Imaging() {
		var collected, received time.Time
		all, allReceived := true, true
		for _, c := range r.Order.Containers() {
			i := r.activeIn(c)
			if i < 0 {
				all, allReceived = false, false
				break
			}
			s := r.Specimens[i]
			collected = later(collected, s.CollectedAt)
			if s.ReceivedAt == nil {
				allReceived = false
			} else {
				received = later(received, *s.ReceivedAt)
			}
		}
		if all {
			ts.Collected = &collected
		}
		if allReceived {
			ts.Received = &received
		}
	}
	if r.Verification != nil {
		at := r.Verification.At
		ts.Verified = &at
	}
	for _, o := range r.Openings {
		if o.Role == ReaderClinician && o.Version >= 1 {
			at := o.At
			ts.Read = &at
			break
		}
	}
	return ts
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// pendingTargets are the order's targets not yet recorded as missed; none
// once the report is closed.
func (r Report) pendingTargets() []Target {
	if r.Status.Closed() {
		return nil
	}
	var out []Target
	for _, t := range r.Order.Targets() {
		if !slices.ContainsFunc(r.Breaches, func(b Breach) bool { return b.Target.From == t.From && b.Target.To == t.To }) {
			out = append(out, t)
		}
	}
	return out
}

// NextDeadline is when the workflow's turnaround timer should fire next.
func (r Report) NextDeadline(now time.Time) (time.Time, bool) {
	return NextDeadline(r.Stages(), r.pendingTargets(), now)
}

// Overdue records the targets missed at now that were not recorded before,
// and returns them: for a STAT order (Priority.AlertOnMiss) the workflow
// raises an alert for each.
func (r Report) Overdue(now time.Time) (Report, []Breach) {
	missed := Missed(r.Stages(), r.pendingTargets(), now)
	if len(missed) == 0 {
		return r, nil
	}
	next := r.clone()
	for i := range missed {
		missed[i].Noted = now
		b := missed[i]
		next.Breaches = append(next.Breaches, b)
		next = next.add(EventTargetMissed, now, uuid.Nil, fmt.Sprintf("%s target of %d minutes missed (due %s)",
			b.Target.Span(), b.Target.Minutes, b.Deadline.UTC().Format(time.RFC3339)))
	}
	return next, missed
}
