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

// Importer maps a bundle's entries onto the register and the observation
// store: Patients are registered (or found by their identifiers),
// Observations of catalogued LOINC codes recorded; every other entry is
// answered with the reason it was not imported.
type Importer struct {
	store Store
	// patients and observations are the entry-by-entry stores of an
	// importer made by NewImporter.
	patients     Patients
	observations Observations
	now          func() time.Time
	newID        func() (uuid.UUID, error)
}

// New returns an importer writing each bundle through store in one
// transaction, in bulk, taking the time from now and new ids from newID.
func New(store Store, now func() time.Time, newID func() (uuid.UUID, error)) *Importer {
	return &Importer{store: store, now: now, newID: newID}
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
	// Audited reports that the request's audit record was stored in the
	// import's transaction.
	Audited bool
}

// RefusedError refuses a transaction, with nothing written: Entries lists
// every entry that could not be imported.
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
// refused (a *RefusedError), writes what it mapped with by as the
// observations' performer. A reader error is returned as it is.
//
// A transaction is all or nothing: every entry is mapped and validated
// before anything is written, and everything is written in one database
// transaction, with rec, when not nil, as its audit record (completed with
// the patients the import touched; rec itself is left as it is). An entry
// found refused only then (imported before with other content) refuses the
// whole transaction, and nothing is left behind. A batch answers each
// entry on its own: the refused ones are not written, the rest are.
func (im *Importer) Import(ctx context.Context, r *Reader, by observation.Performer, rec *audit.Record) (Result, error) {
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
		if refused := refusals(plans, nil); len(refused) > 0 {
			return Result{}, &RefusedError{Entries: refused}
		}
	}
	if im.store == nil {
		return im.applyEach(ctx, plans, r.Type(), by, now)
	}
	var res Result
	err := im.store.Transaction(ctx, func(ctx context.Context) error {
		var err error
		res, err = im.write(ctx, plans, r.Type(), by, now, rec)
		return err
	})
	if err != nil {
		return Result{}, err
	}
	return res, nil
}

// refusals lists the refused entries of a transaction: those planned
// refused, or, with out, those whose outcome is a refusal; entries the
// engine does not import do not count.
func refusals(plans []*planned, out []Outcome) []Outcome {
	var refused []Outcome
	for i, p := range plans {
		switch {
		case p.skipped:
		case p.refusal != "":
			refused = append(refused, Outcome{Index: p.Index, Status: http.StatusUnprocessableEntity, Reason: p.refusal})
		case out != nil && out[i].Status == http.StatusUnprocessableEntity:
			refused = append(refused, out[i])
		}
	}
	return refused
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
			p.refusal = fmt.Sprintf("its subject, entry[%d], is not imported", plans[i].Index)
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

// patientKey guards the registration of a patient: the key of its first
// identifier, so that two imports of one patient at once register it once,
// or, with no identifier, that of its entry.
func patientKey(p *planned) domain.Idempotency {
	if ids := p.patient.details.Identifiers; len(ids) > 0 {
		key := "Patient|" + patient.IdentifierKey(ids[0].System, ids[0].Value)
		return domain.Idempotency{Scope: IdempotencyScope, Key: key, Hash: sha256.Sum256([]byte(key))}
	}
	return domain.Idempotency{Scope: IdempotencyScope, Key: "Patient|" + keyOf(p.Entry), Hash: p.Hash}
}

// observationKey guards the recording of an observation entry.
func observationKey(p *planned) domain.Idempotency {
	return domain.Idempotency{Scope: IdempotencyScope, Key: "Observation|" + keyOf(p.Entry), Hash: p.Hash}
}

// importedBefore is the refusal of an entry whose key names other content.
func importedBefore(p *planned) string {
	return "the entry " + keyOf(p.Entry) + " was imported before with other content"
}

// keyOf names an entry across imports: its fullUrl, else its request.
func keyOf(e Entry) string {
	if e.FullURL != "" {
		return e.FullURL
	}
	return e.Method + " " + e.URL + " " + fmt.Sprintf("%x", e.Hash[:8])
}
