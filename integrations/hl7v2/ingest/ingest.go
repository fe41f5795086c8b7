// Package ingest takes HL7 v2 messages from hospital systems into the
// engine: each message is stored before it is acknowledged, a sender's
// duplicate is acknowledged again with its first outcome and not applied
// twice, and the message is applied through the same domain code the REST
// API uses. The MLLP listener and the HTTP route both call Receive.
//
// Mapped (mapMessage's switch is the list):
//
//   - ADT^A01, A04, A08, A28, A31 register or update the patient the PID
//     segment names, matched on its PID-3 identifiers. An A01 with a visit
//     number (PV1-19) also opens the visit's encounter, as POST
//     /v1/clinical/encounters does: class from PV1-2, location PV1-3, the
//     visit number kept on it. It opens planned: arrival, triage and the
//     start of care (which names the attending) are the encounter
//     workflow's steps, and ADT carries no triage.
//   - ADT^A03 discharges the PV1-19 visit's encounter through the encounter
//     workflow's discharge Update (disposition PV1-36), ADT^A11 cancels it
//     (the cancel Update); each acts as the practitioner EVN-5, else PV1-7,
//     names. ADT^A13 (cancel discharge) is answered AE: a discharge is final
//     in the encounter workflow, which cannot reopen an encounter.
//   - ADT^A40 merges: MRG-1 names the patient merged away; the survivor
//     (PID-3) takes its identifiers, so a search by the old identifier finds
//     the survivor, and the merged-away patient, when registered here, is
//     deactivated. Its records stay where they are: nothing is moved.
//   - ORM^O01 and OML^O21 place diagnostic orders as POST
//     /v1/diagnostics/orders does, one per placer order number (ORC-2, else
//     OBR-2), kept on the order: a sender's placer number is placed once.
//     Tests from OBR-4 (catalogue codes), priority from ORC-7, TQ1-9 or
//     OBR-27, clinical information from OBR-13, the encounter of the PV1-19
//     visit, ordered by the practitioner ORC-12 (else OBR-16) names.
//   - ORU^R01 records its LOINC-coded OBX results. The results of an OBR
//     whose OBR-2 names an order placed here (by its placer number, or our
//     order id in OBR-2 or OBR-3) are recorded on that order through the
//     diagnostic workflow's record-results Update, as POST
//     /v1/diagnostics/orders/{id}/results does, acting as the responsible
//     observer (OBX-16) or the principal result interpreter (OBR-32); the
//     others become the patient's observations.
//
// A practitioner is named by an XCN whose ID number (component 1) is the
// practitioner's id in our care-team directory, active: the directory
// holds no identifiers of other systems, so no other number can be
// matched. A message that names nobody we know where a person must act is
// refused (AE, the field named), never applied as nobody.
//
// Every other message type is stored and answered AR with error 200 or
// 201, so the sender knows it was not applied; it can be replayed once the
// engine maps it. A message refused in part names each refusal in an ERR
// segment (segment, sequence, field, component).
package ingest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
	"go.temporal.io/sdk/client"

	"github.com/zarish-sphere/zarish/domain"
	"github.com/zarish-sphere/zarish/domain/audit"
	"github.com/zarish-sphere/zarish/domain/careteam"
	"github.com/zarish-sphere/zarish/domain/diagnostic"
	"github.com/zarish-sphere/zarish/domain/encounter"
	"github.com/zarish-sphere/zarish/domain/hl7message"
	"github.com/zarish-sphere/zarish/domain/outbox"
	"github.com/zarish-sphere/zarish/domain/patient"
	"github.com/zarish-sphere/zarish/integrations/hl7v2"
)

// Messages keeps the received messages.
type Messages interface {
	// Receive stores m, or counts it as received again and returns the
	// first one when its sender sent its control id before (first false).
	Receive(ctx context.Context, m hl7message.Message) (hl7message.Message, bool, error)
	// Processed records the outcome of applying message id.
	Processed(ctx context.Context, id uuid.UUID, m hl7message.Message, replay bool) (hl7message.Message, error)
	Get(ctx context.Context, id uuid.UUID) (hl7message.Message, error)
}

// Patients is the patient register.
type Patients interface {
	Register(ctx context.Context, idem *domain.Idempotency, rec *audit.Record, create func(mrn string) (patient.Patient, error)) (patient.Patient, bool, error)
	Update(ctx context.Context, id uuid.UUID, rec *audit.Record, change func(patient.Patient) (patient.Patient, error)) (patient.Patient, error)
	Search(ctx context.Context, c patient.Criteria) ([]patient.Patient, string, error)
}

// Diagnostics is the diagnostic orders' read model, as the /v1 diagnostic
// routes use it.
type Diagnostics interface {
	// Create stores a new order with its audit record and workflow start
	// row; replay reports a repeated key.
	Create(ctx context.Context, idem *domain.Idempotency, rec *audit.Record, r diagnostic.Report,
		starts ...outbox.WorkflowStart) (stored diagnostic.Report, replay bool, err error)
	// MarkStarted records that the workflow was started right away.
	MarkStarted(ctx context.Context, workflowID string) error
	Get(ctx context.Context, id uuid.UUID) (diagnostic.Report, error)
	// ByPlacer is every order placed with a placer order number.
	ByPlacer(ctx context.Context, number string) ([]diagnostic.Report, error)
}

// Encounters is the encounters' read model.
type Encounters interface {
	// CreateVisitEncounter stores a new encounter for a visit, with its
	// audit record and workflow start row; the visit opened one before
	// (replay true) and it is returned as it is.
	CreateVisitEncounter(ctx context.Context, rec *audit.Record, st encounter.State, v encounter.Visit,
		starts ...outbox.WorkflowStart) (encounter.Record, bool, error)
	// EncounterByVisit is the encounter a visit opened: domain.ErrNotFound
	// when none did.
	EncounterByVisit(ctx context.Context, v encounter.Visit) (encounter.Record, error)
	MarkStarted(ctx context.Context, workflowID string) error
}

// Directory is the care-team directory, which says who a message's
// practitioners are.
type Directory interface {
	GetPractitioner(ctx context.Context, id uuid.UUID) (careteam.Practitioner, error)
}

// Workflows is what the ingest asks of Temporal (a client.Client is one):
// it starts the workflow of an order or encounter it placed right after
// the commit (the workflow starter starts it from its row otherwise), and
// moves a running one by an Update.
type Workflows interface {
	ExecuteWorkflow(ctx context.Context, options client.StartWorkflowOptions, workflow any, args ...any) (client.WorkflowRun, error)
	UpdateWorkflow(ctx context.Context, options client.UpdateWorkflowOptions) (client.WorkflowUpdateHandle, error)
}

// Ingester applies HL7 v2 messages.
type Ingester struct {
	messages     Messages
	patients     Patients
	observations Observations
	diagnostics  Diagnostics
	catalogue    *diagnostic.Catalogue
	encounters   Encounters
	directory    Directory
	workflows    Workflows
	log          *slog.Logger
	now          func() time.Time
	newID        func() (uuid.UUID, error)
}

// Option gives an ingester what the messages beyond patients and
// observations need.
type Option func(*Ingester)

// WithOrders places orders (ORM^O01, OML^O21) in diagnostics, resolving
// their tests against cat (nil: the catalogue built into the binary), and
// records an ORU^R01's results on the orders they name.
func WithOrders(diagnostics Diagnostics, cat *diagnostic.Catalogue) Option {
	return func(i *Ingester) { i.diagnostics, i.catalogue = diagnostics, cat }
}

// WithEncounters opens, discharges and cancels the encounters of ADT
// visits (A01, A03, A11).
func WithEncounters(encounters Encounters) Option {
	return func(i *Ingester) { i.encounters = encounters }
}

// WithDirectory names the care-team directory the messages' practitioners
// are found in.
func WithDirectory(directory Directory) Option {
	return func(i *Ingester) { i.directory = directory }
}

// WithWorkflows is the Temporal client the workflows are started and moved
// with.
func WithWorkflows(w Workflows) Option {
	return func(i *Ingester) { i.workflows = w }
}

// New returns an ingester over the stores. Without WithOrders an order is
// stored and refused AR, and results are recorded as observations only;
// without WithEncounters an admission registers its patient only, and a
// discharge or cancellation is refused AR.
func New(messages Messages, patients Patients, observations Observations, log *slog.Logger, opts ...Option) *Ingester {
	if log == nil {
		log = slog.Default()
	}
	i := &Ingester{messages: messages, patients: patients, observations: observations, log: log.With("component", "hl7v2"),
		now: time.Now, newID: uuid.NewV7}
	for _, o := range opts {
		o(i)
	}
	return i
}

// Source is who sent a message: the transport, and for the audit trail the
// client (the MLLP peer's address, or the API client).
type Source struct {
	Transport hl7message.Transport
	// Client names the sending client in the audit trail.
	Client string
	// Address is the peer's network address.
	Address string
}

// Receive stores raw, applies it unless it is a duplicate, records the
// outcome and returns the acknowledgement to send. An error means the
// message could not be stored: nothing may be acknowledged, and the
// sender should send it again.
func (i *Ingester) Receive(ctx context.Context, raw []byte, src Source) ([]byte, hl7message.Message, error) {
	msg, perr := hl7v2.Parse(raw)
	var h *hl7v2.Header
	if perr == nil {
		h = &msg.Header
	} else if hh, err := hl7v2.ParseHeader(raw); err == nil {
		h = hh
	}
	rec := hl7message.Message{Raw: raw, Transport: src.Transport}
	if h != nil {
		rec.Sender, rec.ControlID, rec.MessageType = sender(h), h.ControlID, messageType(h)
		rec.Version, rec.Charset = h.Version, h.Charset
	}
	var refusal []error
	switch {
	case perr != nil:
		refusal = []error{perr}
	case len(h.Check()) > 0:
		for _, e := range h.Check() {
			refusal = append(refusal, e)
		}
	}
	if refusal != nil {
		// Not understood: stored as refused, answered AR.
		rec.Outcome, rec.Problems = hl7message.OutcomeRejected, problems(refusal)
	}
	stored, first, err := i.messages.Receive(ctx, rec)
	if err != nil {
		return nil, hl7message.Message{}, fmt.Errorf("store HL7 v2 message: %w", err)
	}
	if !first || refusal != nil {
		// A duplicate is answered as its first was; a refusal as it is.
		if stored.Outcome == "" {
			// The first is still being applied, or its application was
			// cut short: the sender may send it again later.
			return nil, stored, fmt.Errorf("message %s of %s is still being applied", stored.ControlID, stored.Sender)
		}
		return i.ack(raw, h, stored), stored, nil
	}
	out, err := i.apply(ctx, stored, msg, src, false)
	if err != nil {
		return nil, stored, err
	}
	return i.ack(raw, h, out), out, nil
}

// Replay applies stored message id again, as it was received, and records
// the new outcome: for a message refused before the engine mapped its
// type, or one whose application failed.
func (i *Ingester) Replay(ctx context.Context, id uuid.UUID, src Source) (hl7message.Message, error) {
	stored, err := i.messages.Get(ctx, id)
	if err != nil {
		return hl7message.Message{}, err
	}
	msg, perr := hl7v2.Parse(stored.Raw)
	if perr != nil {
		return i.messages.Processed(ctx, id, hl7message.Message{Outcome: hl7message.OutcomeRejected, Problems: problems([]error{perr})}, true)
	}
	if errs := msg.Header.Check(); len(errs) > 0 {
		var all []error
		for _, e := range errs {
			all = append(all, e)
		}
		return i.messages.Processed(ctx, id, hl7message.Message{Outcome: hl7message.OutcomeRejected, Problems: problems(all)}, true)
	}
	return i.apply(ctx, stored, msg, src, true)
}

// apply maps msg and records what it became.
func (i *Ingester) apply(ctx context.Context, stored hl7message.Message, msg *hl7v2.Message, src Source, replay bool) (hl7message.Message, error) {
	outcome := hl7message.Message{Outcome: hl7message.OutcomeAccepted}
	applied, errs, err := i.mapMessage(ctx, stored, msg, src)
	switch {
	case err != nil:
		// Ours, not the sender's: recorded as an AE naming no detail, and
		// the message stays replayable.
		i.log.ErrorContext(ctx, "HL7 v2 message not applied", "messageId", stored.ID, "type", stored.MessageType, "error", err)
		outcome.Outcome = hl7message.OutcomeError
		errs = append(errs, &hl7v2.Error{Code: hl7v2.ApplicationInternalError, Message: "the engine could not apply the message; it is stored and can be replayed"})
	case isUnmapped(errs):
		outcome.Outcome = hl7message.OutcomeRejected
	case len(errs) > 0:
		// Refused in part or whole (a warning names a result left out):
		// the sender sees what was not applied.
		outcome.Outcome = hl7message.OutcomeError
	}
	outcome.Applied, outcome.Problems = applied, problems(errs)
	done, perr := i.messages.Processed(ctx, stored.ID, outcome, replay)
	if perr != nil {
		return stored, fmt.Errorf("record the outcome of message %s: %w", stored.ID, perr)
	}
	return done, nil
}

// ack is the acknowledgement of m.
func (i *Ingester) ack(raw []byte, h *hl7v2.Header, m hl7message.Message) []byte {
	var errs []error
	for _, p := range m.Problems {
		errs = append(errs, &hl7v2.Error{Code: hl7v2.ErrorCode(p.Code), Severity: hl7v2.Severity(firstByte(p.Severity)), Segment: p.Segment,
			Sequence: p.Sequence, Field: p.Field, Component: p.Component, Message: p.Message})
	}
	id, _ := i.newID()
	a := hl7v2.Acknowledgment{Code: hl7v2.AckCode(m.Outcome), ControlID: strings.ReplaceAll(id.String(), "-", ""), Time: i.now().UTC(), Errors: errs}
	if h == nil {
		return hl7v2.ACKUnparsed(raw, a)
	}
	return hl7v2.ACK(h, a)
}

func firstByte(s string) byte {
	if s == "" {
		return 'E'
	}
	return s[0]
}

// sender names the sending application and facility, MSH-3 and MSH-4.
func sender(h *hl7v2.Header) string {
	hd := func(x hl7v2.HD) string {
		return strings.TrimRight(x.NamespaceID+"^"+x.UniversalID+"^"+x.UniversalIDType, "^")
	}
	return hd(h.SendingApplication) + "|" + hd(h.SendingFacility)
}

// messageType is MSH-9 as "ADT^A04".
func messageType(h *hl7v2.Header) string {
	return strings.TrimRight(h.Type.Code+"^"+h.Type.Trigger, "^")
}

// problems are errs as stored: an *hl7v2.Error with its location; any
// other error as an internal one without its text.
func problems(errs []error) []hl7message.Problem {
	out := []hl7message.Problem{}
	for _, err := range errs {
		var e *hl7v2.Error
		if !errors.As(err, &e) {
			out = append(out, hl7message.Problem{Code: int(hl7v2.ApplicationInternalError), Severity: "E", Message: "application internal error"})
			continue
		}
		sev := e.Severity
		if sev == 0 {
			sev = hl7v2.SeverityError
		}
		out = append(out, hl7message.Problem{Code: int(e.Code), Severity: string(rune(sev)), Segment: e.Segment, Sequence: e.Sequence,
			Field: e.Field, Component: e.Component, Message: e.Message})
	}
	return out
}

// unmapped is the refusal of a message type or event the engine does not
// apply (or cannot, as configured): answered AR, replayable once it does.
type unmapped struct{ err *hl7v2.Error }

func (u unmapped) Error() string { return u.err.Error() }
func (u unmapped) Unwrap() error { return u.err }

// notApplied refuses a message type or event that is not applied, at
// MSH-9 (component 1, the type, or 2, the event).
func notApplied(component int, message string) error {
	code := hl7v2.UnsupportedMessageType
	if component == 2 {
		code = hl7v2.UnsupportedEventCode
	}
	return unmapped{err: &hl7v2.Error{Code: code, Segment: "MSH", Sequence: 1, Field: 9, Component: component, Message: message}}
}

func isUnmapped(errs []error) bool {
	return slices.ContainsFunc(errs, func(err error) bool {
		var u unmapped
		return errors.As(err, &u)
	})
}
