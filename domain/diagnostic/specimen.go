package diagnostic

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
)

// MaxFuture is how far past the caller's clock a time a person enters
// (collected at) may lie, for clocks that drift.
const MaxFuture = 5 * time.Minute

// RejectionReason is why the laboratory refused a specimen. Each asks for a
// recollection.
type RejectionReason string

// The rejection reasons.
const (
	// RejectHaemolysed: red cells lysed in the tube, releasing potassium,
	// LDH and AST and interfering with many assays (CLSI C56-A, Hemolysis,
	// Icterus, and Lipemia/Turbidity Indicators as Potential Sources of
	// Error in Clinical Chemistry Testing, 2012).
	RejectHaemolysed RejectionReason = "haemolysed"
	// RejectClotted: a clot in an anticoagulated tube, which invalidates cell
	// counts and coagulation tests (CLSI GP41, 7th ed., 2017; CLSI H21-A5, 2008).
	RejectClotted RejectionReason = "clotted"
	// RejectInsufficient: too little specimen, or a citrate tube filled below
	// 90% of its volume, which upsets the 1:9 citrate ratio (CLSI H21-A5, 2008).
	RejectInsufficient RejectionReason = "insufficient"
	// RejectMislabelled: the label does not identify the patient with two
	// identifiers, or does not match the request; such a specimen is never
	// relabelled (CLSI GP33-A, Accuracy in Patient and Sample
	// Identification, 2010).
	RejectMislabelled RejectionReason = "mislabelled"
	// RejectWrongContainer: the tube's additive is not the one the test
	// needs (CLSI GP41, 7th ed., 2017).
	RejectWrongContainer RejectionReason = "wrong-container"
)

// RejectionReasons lists every reason.
var RejectionReasons = []RejectionReason{RejectHaemolysed, RejectClotted, RejectInsufficient, RejectMislabelled, RejectWrongContainer}

// Valid reports whether r is a known reason.
func (r RejectionReason) Valid() bool { return slices.Contains(RejectionReasons, r) }

// Display is the reason as the laboratory writes it.
func (r RejectionReason) Display() string {
	switch r {
	case RejectHaemolysed:
		return "Haemolysed specimen"
	case RejectClotted:
		return "Clotted specimen"
	case RejectInsufficient:
		return "Insufficient specimen (quantity not sufficient or tube under-filled)"
	case RejectMislabelled:
		return "Mislabelled or unlabelled specimen"
	case RejectWrongContainer:
		return "Wrong container for the test"
	}
	return string(r)
}

// SpecimenStatus is where one tube stands.
type SpecimenStatus string

// The specimen statuses.
const (
	SpecimenCollected SpecimenStatus = "collected"
	SpecimenReceived  SpecimenStatus = "received"
	SpecimenRejected  SpecimenStatus = "rejected"
)

// Rejection is the laboratory's refusal of a specimen.
type Rejection struct {
	Reason RejectionReason `json:"reason"`
	Note   string          `json:"note,omitempty"`
	By     uuid.UUID       `json:"by"`
	At     time.Time       `json:"at"`
}

// Specimen is one tube of the order, identified by its accession id.
type Specimen struct {
	Accession   string         `json:"accession"`
	Container   string         `json:"container"`
	Type        string         `json:"type"` // HL7 v2 table 0487
	CollectedAt time.Time      `json:"collectedAt"`
	CollectorID uuid.UUID      `json:"collectorId"`
	ReceivedAt  *time.Time     `json:"receivedAt,omitempty"`
	ReceivedBy  uuid.UUID      `json:"receivedBy,omitzero"`
	Rejection   *Rejection     `json:"rejection,omitempty"`
	Status      SpecimenStatus `json:"status"`
	// Replaces is the accession of the rejected tube this one recollects.
	Replaces string `json:"replaces,omitempty"`
}

// Collection is a tube as the collector records it.
type Collection struct {
	Accession   string    `json:"accession"`
	Container   string    `json:"container"`
	CollectedAt time.Time `json:"collectedAt"`
	CollectorID uuid.UUID `json:"collectorId"`
}

// validAccession reports whether s can be an accession id: 1 to
// MaxAccessionLen letters, digits, '-', '_' or '.'.
func validAccession(s string) bool {
	if s == "" || len(s) > MaxAccessionLen {
		return false
	}
	for _, c := range s {
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}

// specimen finds a tube by accession id.
func (r Report) specimen(accession string) int {
	return slices.IndexFunc(r.Specimens, func(s Specimen) bool { return s.Accession == accession })
}

// activeIn finds the tube of a container that is not rejected.
func (r Report) activeIn(container string) int {
	return slices.IndexFunc(r.Specimens, func(s Specimen) bool { return s.Container == container && s.Status != SpecimenRejected })
}

// lastRejectedIn finds the newest rejected tube of a container.
func (r Report) lastRejectedIn(container string) int {
	last := -1
	for i, s := range r.Specimens {
		if s.Container == container && s.Status == SpecimenRejected && (last < 0 || s.Rejection.At.After(r.Specimens[last].Rejection.At)) {
			last = i
		}
	}
	return last
}

// Rejected is the newest rejected tube of a container, when it has one.
func (r Report) Rejected(container string) (Specimen, bool) {
	if i := r.lastRejectedIn(container); i >= 0 {
		return r.Specimens[i], true
	}
	return Specimen{}, false
}

// Awaiting lists the tubes still to be collected, in the order of draw: every
// container the order needs that has no tube, or only rejected ones.
func (r Report) Awaiting() []string {
	if r.Status.Closed() || r.Status.Verified() {
		return nil
	}
	var out []string
	for _, c := range r.Order.Containers() {
		if r.activeIn(c) < 0 {
			out = append(out, c)
		}
	}
	return out
}

// Recollect lists the tubes whose last specimen was rejected and is not yet
// replaced: the recollections the laboratory asked for.
func (r Report) Recollect() []string {
	var out []string
	for _, c := range r.Awaiting() {
		if r.lastRejectedIn(c) >= 0 {
			out = append(out, c)
		}
	}
	return out
}

// CanCollect reports why the tube may not be recorded as collected now, or nil.
func (r Report) CanCollect(c Collection, now time.Time) error {
	switch {
	case r.Order.Imaging():
		return fmt.Errorf("%w: an imaging order has no specimens", ErrInvalidTransition)
	case r.Status.Closed() || r.Status.Verified():
		return fmt.Errorf("%w: specimens are collected before the report is final; this one is %s", ErrInvalidTransition, r.Status)
	case c.CollectorID == uuid.Nil:
		return fmt.Errorf("%w: collectorId is required", ErrInvalidArgument)
	case !validAccession(c.Accession):
		return fmt.Errorf("%w: accession must be 1 to %d letters, digits, '-', '_' or '.'", ErrInvalidArgument, MaxAccessionLen)
	case r.specimen(c.Accession) >= 0:
		return fmt.Errorf("%w: accession %s is already a specimen of this order", ErrInvalidArgument, c.Accession)
	case !slices.Contains(r.Order.Containers(), c.Container):
		return fmt.Errorf("%w: the order needs %s, not %q", ErrInvalidArgument, strings.Join(r.Order.Containers(), ", "), c.Container)
	case r.activeIn(c.Container) >= 0:
		return fmt.Errorf("%w: the %s tube is already collected (%s); a new one is collected after a rejection",
			ErrInvalidTransition, c.Container, r.Specimens[r.activeIn(c.Container)].Accession)
	case len(r.Specimens) >= MaxSpecimens:
		return fmt.Errorf("%w: this order has %d specimens; place the order again", ErrInvalidTransition, MaxSpecimens)
	case c.CollectedAt.IsZero():
		return fmt.Errorf("%w: collectedAt is required", ErrInvalidArgument)
	case c.CollectedAt.After(now.Add(MaxFuture)):
		return fmt.Errorf("%w: collectedAt must not be in the future", ErrInvalidArgument)
	case c.CollectedAt.Before(r.Order.CreatedAt):
		return fmt.Errorf("%w: collectedAt must not be before the order was placed", ErrInvalidArgument)
	}
	if i := r.lastRejectedIn(c.Container); i >= 0 && c.CollectedAt.Before(r.Specimens[i].Rejection.At) {
		return fmt.Errorf("%w: collectedAt must not be before %s was rejected", ErrInvalidArgument, r.Specimens[i].Accession)
	}
	return nil
}

// Collect records a tube as collected. A tube collected after a rejection
// names the tube it replaces.
func (r Report) Collect(c Collection, now time.Time) (Report, error) {
	if err := r.CanCollect(c, now); err != nil {
		return r, err
	}
	next := r.clone()
	s := Specimen{Accession: c.Accession, Container: c.Container, CollectedAt: c.CollectedAt, CollectorID: c.CollectorID,
		Status: SpecimenCollected}
	for _, it := range r.Order.Items {
		if it.Container == c.Container {
			s.Type = it.Specimen
			break
		}
	}
	note := c.Container + " " + c.Accession + " collected"
	if i := r.lastRejectedIn(c.Container); i >= 0 {
		s.Replaces = r.Specimens[i].Accession
		note += ", replacing " + s.Replaces
	}
	next.Specimens = append(next.Specimens, s)
	return next.add(EventCollected, now, c.CollectorID, note), nil
}

// CanReceive reports why the tube may not be recorded as received, or nil.
func (r Report) CanReceive(accession string, by uuid.UUID, at time.Time) error {
	i := r.specimen(accession)
	switch {
	case by == uuid.Nil:
		return fmt.Errorf("%w: by is required", ErrInvalidArgument)
	case i < 0:
		return fmt.Errorf("%w: %q is not a specimen of this order", ErrInvalidArgument, accession)
	case r.Status.Closed():
		return fmt.Errorf("%w: the report is %s", ErrInvalidTransition, r.Status)
	case r.Specimens[i].Status != SpecimenCollected:
		return fmt.Errorf("%w: specimen %s is %s", ErrInvalidTransition, accession, r.Specimens[i].Status)
	case at.Before(r.Specimens[i].CollectedAt):
		return fmt.Errorf("%w: a specimen is received after it is collected", ErrInvalidArgument)
	}
	return nil
}

// Receive records a tube's arrival in the laboratory.
func (r Report) Receive(accession string, by uuid.UUID, at time.Time) (Report, error) {
	if err := r.CanReceive(accession, by, at); err != nil {
		return r, err
	}
	next := r.clone()
	s := &next.Specimens[r.specimen(accession)]
	s.Status, s.ReceivedAt, s.ReceivedBy = SpecimenReceived, &at, by
	return next.add(EventReceived, at, by, s.Container+" "+accession+" received"), nil
}

// CanReject reports why the tube may not be rejected, or nil. A tube whose
// tests already have results is not rejected: the results are withdrawn
// through the observation service first, so no result outlives its specimen.
func (r Report) CanReject(accession string, reason RejectionReason, note string, by uuid.UUID, at time.Time) error {
	i := r.specimen(accession)
	switch {
	case by == uuid.Nil:
		return fmt.Errorf("%w: by is required", ErrInvalidArgument)
	case !reason.Valid():
		return fmt.Errorf("%w: reason must be one of haemolysed, clotted, insufficient, mislabelled, wrong-container", ErrInvalidArgument)
	case i < 0:
		return fmt.Errorf("%w: %q is not a specimen of this order", ErrInvalidArgument, accession)
	case r.Status.Closed() || r.Status.Verified():
		return fmt.Errorf("%w: specimens are rejected before the report is final; this one is %s", ErrInvalidTransition, r.Status)
	case r.Specimens[i].Status == SpecimenRejected:
		return fmt.Errorf("%w: specimen %s is already rejected", ErrInvalidTransition, accession)
	case at.Before(r.Specimens[i].CollectedAt):
		return fmt.Errorf("%w: a specimen is rejected after it is collected", ErrInvalidArgument)
	}
	if _, why := text(note, MaxNoteLen, false); why != "" {
		return fmt.Errorf("%w: note: %s", ErrInvalidArgument, why)
	}
	var resulted []string
	for _, res := range r.Results {
		if c, _ := r.Order.ContainerOf(res.Code); c == r.Specimens[i].Container {
			resulted = append(resulted, res.Code)
		}
	}
	if len(resulted) > 0 {
		return fmt.Errorf("%w: results from the %s tube are recorded (%s); withdraw them first", ErrInvalidTransition,
			r.Specimens[i].Container, strings.Join(resulted, ", "))
	}
	return nil
}

// Reject records the laboratory's refusal of a tube, which asks for a
// recollection and restarts the stage clock.
func (r Report) Reject(accession string, reason RejectionReason, note string, by uuid.UUID, at time.Time) (Report, error) {
	if err := r.CanReject(accession, reason, note, by, at); err != nil {
		return r, err
	}
	next := r.clone()
	s := &next.Specimens[r.specimen(accession)]
	note, _ = text(note, MaxNoteLen, false)
	s.Status, s.Rejection = SpecimenRejected, &Rejection{Reason: reason, Note: note, By: by, At: at}
	entry := s.Container + " " + accession + " rejected: " + reason.Display() + "; recollection requested"
	if note != "" {
		entry += " (" + note + ")"
	}
	return next.add(EventRejected, at, by, entry), nil
}
