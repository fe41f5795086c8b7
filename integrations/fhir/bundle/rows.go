package bundle

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/google/uuid"

	"github.com/zarish-sphere/zarish/domain"
	"github.com/zarish-sphere/zarish/domain/audit"
	"github.com/zarish-sphere/zarish/domain/observation"
	"github.com/zarish-sphere/zarish/domain/patient"
)

// Patients is what an importer made by NewImporter needs of the patient
// register.
type Patients interface {
	Register(ctx context.Context, idem *domain.Idempotency, rec *audit.Record, create func(mrn string) (patient.Patient, error)) (patient.Patient, bool, error)
	Search(ctx context.Context, c patient.Criteria) ([]patient.Patient, string, error)
}

// Observations is what an importer made by NewImporter needs of the
// observation store.
type Observations interface {
	Record(ctx context.Context, idem *domain.Idempotency, rec *audit.Record, o observation.Observation) (id uuid.UUID, replay bool, err error)
	PreviousResults(ctx context.Context, obs []observation.Observation) (map[uuid.UUID][]observation.Result, error)
}

// NewImporter returns an importer that writes entry by entry to patients
// and observations, each write a transaction of its own: a transaction
// bundle is validated whole before the first write, but a failure while
// writing leaves the entries before it written, and the request's audit
// record is left to the caller (Result.Audited is false).
//
// Deprecated: use New with a Store, which writes a bundle in one
// transaction, in bulk.
func NewImporter(patients Patients, observations Observations, now func() time.Time, newID func() (uuid.UUID, error)) *Importer {
	return &Importer{patients: patients, observations: observations, now: now, newID: newID}
}

// applyEach writes the planned entries one by one.
func (im *Importer) applyEach(ctx context.Context, plans []*planned, typ string, by observation.Performer, now time.Time) (Result, error) {
	res := Result{Type: typ + "-response", Entries: make([]Outcome, 0, len(plans))}
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
		out.Status, out.Reason = http.StatusUnprocessableEntity, importedBefore(p)
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
	idem := patientKey(p)
	return im.patients.Register(ctx, &idem, nil, func(mrn string) (patient.Patient, error) {
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
	idem := observationKey(p)
	first, replay, err := im.observations.Record(ctx, &idem, nil, o)
	return first, !replay, err
}
