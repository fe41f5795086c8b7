package bundle

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/google/uuid"

	"github.com/zarish-sphere/zarish/domain"
	"github.com/zarish-sphere/zarish/domain/audit"
	"github.com/zarish-sphere/zarish/domain/observation"
	"github.com/zarish-sphere/zarish/domain/patient"
)

// IdempotencyScope is the scope of the keys an import stores its writes
// under: a re-imported entry is recognised by its fullUrl and content.
const IdempotencyScope = "fhir-import"

// Patients is what the importer needs of the patient register.
type Patients interface {
	Register(ctx context.Context, idem *domain.Idempotency, rec *audit.Record, create func(mrn string) (patient.Patient, error)) (patient.Patient, bool, error)
	Search(ctx context.Context, c patient.Criteria) ([]patient.Patient, string, error)
}

// Observations is what the importer needs of the observation store.
type Observations interface {
	Record(ctx context.Context, idem *domain.Idempotency, rec *audit.Record, o observation.Observation) (id uuid.UUID, replay bool, err error)
	PreviousResults(ctx context.Context, obs []observation.Observation) (map[uuid.UUID][]observation.Result, error)
}

// Importer maps a bundle's entries onto the register and the observation
// store: Patients are registered (or found by their identifiers),
// Observations of catalogued LOINC codes recorded; every other entry is
// answered with the reason it was not imported.
type Importer struct {
	patients     Patients
	observations Observations
	now          func() time.Time
	newID        func() (uuid.UUID, error)
}

// NewImporter returns an importer writing to patients and observations,
// taking the time from now and new ids from newID.
func NewImporter(patients Patients, observations Observations, now func() time.Time, newID func() (uuid.UUID, error)) *Importer {
	return &Importer{patients: patients, observations: observations, now: now, newID: newID}
}

// Outcome is what the import did with one entry.
type Outcome struct {
	Index int
	// Status is 201 (created), 200 (it existed already) or 422 (refused or
	// not imported; Reason says why).
	Status int
	// Location is "Patient/<id>" or "Observation/<id>" when Status is 201 or 200.
	Location string
	Reason   string
}

// Result is the answer to an import: one outcome per entry, in order, and
// the patients it touched.
type Result struct {
	Type     string
	Entries  []Outcome
	Patients []uuid.UUID
}

// RefusedError refuses a transaction before anything was written: Entries
// lists every entry that could not be imported.
type RefusedError struct {
	Entries []Outcome
}

// Error counts the refused entries.
func (e *RefusedError) Error() string {
	return fmt.Sprintf("bundle: the transaction was refused: %d entries cannot be imported", len(e.Entries))
}

// planned is one entry, read and mapped.
type planned struct {
	Entry
	patient *patientPlan
	obs     *observationPlan
	// subject is the index of the patient entry an observation names.
	subject int
	refusal string
	// skipped marks an entry the engine does not import (refusal says
	// why): it does not refuse a transaction.
	skipped bool
	// patientID is the registered patient, once applied.
	patientID uuid.UUID
}

// Import reads every entry of r, maps it, and, unless a transaction is
// refused (a *RefusedError), writes what it mapped, entry by entry, with by
// as the observations' performer. A reader error is returned as it is.
//
// A transaction is all or nothing only up to its writes: every entry is
// mapped and validated before the first write, but the writes are not one
// database transaction.
func (im *Importer) Import(ctx context.Context, r *Reader, by observation.Performer) (Result, error) {
	now := im.now()
	var plans []*planned
	for {
		e, err := r.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return Result{}, err
		}
		plans = append(plans, im.plan(e, now))
	}
	im.resolve(plans, by, now)
	if r.Type() == TypeTransaction {
		var refused []Outcome
		for _, p := range plans {
			if p.refusal != "" && !p.skipped {
				refused = append(refused, Outcome{Index: p.Index, Status: http.StatusUnprocessableEntity, Reason: p.refusal})
			}
		}
		if len(refused) > 0 {
			return Result{}, &RefusedError{Entries: refused}
		}
	}
	res := Result{Type: r.Type() + "-response", Entries: make([]Outcome, 0, len(plans))}
	seen := map[uuid.UUID]bool{}
	for _, p := range plans {
		out, err := im.apply(ctx, p, plans, by, now)
		if err != nil {
			return Result{}, err
		}
		if p.patient != nil && p.patientID != uuid.Nil && !seen[p.patientID] {
			seen[p.patientID] = true
			res.Patients = append(res.Patients, p.patientID)
		}
		res.Entries = append(res.Entries, out)
	}
	return res, nil
}

// plan maps one entry, or says why it is not imported.
func (im *Importer) plan(e Entry, now time.Time) *planned {
	p := &planned{Entry: e, subject: -1}
	if e.ResourceType != "Patient" && e.ResourceType != "Observation" {
		p.refusal, p.skipped = "resource type "+e.ResourceType+" is not imported", true
		return p
	}
	if e.Method != http.MethodPost {
		p.refusal, p.skipped = "request method "+e.Method+" is not imported: only POST creates a "+e.ResourceType, true
		return p
	}
	switch e.ResourceType {
	case "Patient":
		pp, err := mapPatient(e, now)
		if err != nil {
			p.refusal = reason(err)
			return p
		}
		p.patient = &pp
	case "Observation":
		op, err := mapObservation(e)
		if err != nil {
			p.refusal, p.skipped = reason(err), errors.Is(err, errNotImported)
			return p
		}
		p.obs = &op
	}
	return p
}

// resolve points each observation at its patient's entry and validates it
// for that patient.
func (im *Importer) resolve(plans []*planned, by observation.Performer, now time.Time) {
	byRef := map[string]int{}
	for i, p := range plans {
		if p.patient != nil || (p.ResourceType == "Patient" && p.refusal != "") {
			for _, ref := range refsOf(p) {
				byRef[ref] = i
			}
		}
	}
	for _, p := range plans {
		if p.obs == nil {
			continue
		}
		i, ok := byRef[p.obs.subject]
		switch {
		case !ok:
			p.refusal = "subject " + p.obs.subject + " is not a Patient entry of this bundle"
			continue
		case plans[i].patient == nil:
			p.refusal = fmt.Sprintf("its subject, entry[%d], is not imported", i)
			continue
		}
		p.subject = i
		in := p.obs.input
		in.PatientID = uuid.Max // the patient's id, once registered
		if _, err := im.newObservation(uuid.Max, in, plans[i].patient.details, by, now); err != nil {
			p.refusal = reason(err)
		}
	}
}

// refsOf is what other entries may call a Patient entry by.
func refsOf(p *planned) []string {
	if p.patient != nil {
		return p.patient.refs
	}
	if p.FullURL != "" {
		return []string{p.FullURL}
	}
	return nil
}

func (im *Importer) newObservation(id uuid.UUID, in observation.Input, d patient.Details, by observation.Performer, now time.Time) (observation.Observation, error) {
	s, err := observation.Demographics{Sex: d.Sex, BirthDate: d.BirthDate}.SubjectAt(in.EffectiveAt)
	if err != nil {
		return observation.Observation{}, err
	}
	return observation.New(id, in, s, by, now)
}

// apply writes one planned entry.
func (im *Importer) apply(ctx context.Context, p *planned, plans []*planned, by observation.Performer, now time.Time) (Outcome, error) {
	out := Outcome{Index: p.Index}
	if p.refusal != "" {
		out.Status, out.Reason = http.StatusUnprocessableEntity, p.refusal
		return out, nil
	}
	var (
		location string
		created  bool
		err      error
	)
	switch {
	case p.patient != nil:
		var pt patient.Patient
		pt, created, err = im.register(ctx, p, now)
		p.patientID, location = pt.ID, "Patient/"+pt.ID.String()
	case p.obs != nil:
		var id uuid.UUID
		id, created, err = im.record(ctx, p, plans[p.subject], by, now)
		location = "Observation/" + id.String()
	}
	var invalid *domain.ValidationError
	switch {
	case errors.As(err, &invalid):
		out.Status, out.Reason = http.StatusUnprocessableEntity, reason(err)
	case errors.Is(err, domain.ErrIdempotencyMismatch):
		out.Status, out.Reason = http.StatusUnprocessableEntity, "the entry "+keyOf(p.Entry)+" was imported before with other content"
	case err != nil:
		return Outcome{}, fmt.Errorf("bundle entry %d: %w", p.Index, err)
	case created:
		out.Status, out.Location = http.StatusCreated, location
	default:
		out.Status, out.Location = http.StatusOK, location
	}
	return out, nil
}

// register finds the patient by any of its identifiers, or registers it.
func (im *Importer) register(ctx context.Context, p *planned, now time.Time) (patient.Patient, bool, error) {
	d := p.patient.details
	for _, id := range d.Identifiers {
		found, _, err := im.patients.Search(ctx, patient.Criteria{Identifier: patient.IdentifierKey(id.System, id.Value), Limit: 1})
		if err != nil {
			return patient.Patient{}, false, err
		}
		if len(found) > 0 {
			return found[0], false, nil
		}
	}
	// Two imports of one patient at once: the key of its first identifier
	// (or of its entry) lets only one of them register it.
	idem := &domain.Idempotency{Scope: IdempotencyScope, Key: "Patient|" + keyOf(p.Entry), Hash: p.Hash}
	if len(d.Identifiers) > 0 {
		key := "Patient|" + patient.IdentifierKey(d.Identifiers[0].System, d.Identifiers[0].Value)
		idem = &domain.Idempotency{Scope: IdempotencyScope, Key: key, Hash: sha256.Sum256([]byte(key))}
	}
	return im.patients.Register(ctx, idem, nil, func(mrn string) (patient.Patient, error) {
		id, err := im.newID()
		if err != nil {
			return patient.Patient{}, err
		}
		return patient.NewPatient(id, mrn, d, now)
	})
}

// record records the observation for the patient registered from subject,
// once per entry.
func (im *Importer) record(ctx context.Context, p, subject *planned, by observation.Performer, now time.Time) (uuid.UUID, bool, error) {
	id, err := im.newID()
	if err != nil {
		return uuid.Nil, false, err
	}
	in := p.obs.input
	in.PatientID = subject.patientID
	o, err := im.newObservation(id, in, subject.patient.details, by, now)
	if err != nil {
		return uuid.Nil, false, err
	}
	previous, err := im.observations.PreviousResults(ctx, []observation.Observation{o})
	if err != nil {
		return uuid.Nil, false, err
	}
	o = o.WithDelta(previous[o.PatientID])
	idem := &domain.Idempotency{Scope: IdempotencyScope, Key: "Observation|" + keyOf(p.Entry), Hash: p.Hash}
	first, replay, err := im.observations.Record(ctx, idem, nil, o)
	return first, !replay, err
}

// keyOf names an entry across imports: its fullUrl, else its request.
func keyOf(e Entry) string {
	if e.FullURL != "" {
		return e.FullURL
	}
	return e.Method + " " + e.URL + " " + fmt.Sprintf("%x", e.Hash[:8])
}
