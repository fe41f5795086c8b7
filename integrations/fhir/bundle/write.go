package bundle

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/google/uuid"

	"github.com/zarish-sphere/zarish/domain"
	"github.com/zarish-sphere/zarish/domain/audit"
	"github.com/zarish-sphere/zarish/domain/observation"
	"github.com/zarish-sphere/zarish/domain/patient"
)

// write stores the planned entries in the transaction ctx carries, in
// bulk: the patients (found by their identifiers, or claimed and
// registered), then the observations (claimed, checked against the
// patients' earlier results, recorded), then rec. It answers every entry;
// a transaction with an entry refused here is refused whole.
func (im *Importer) write(ctx context.Context, plans []*planned, typ string, by observation.Performer, now time.Time, rec *audit.Record) (Result, error) {
	out := make([]Outcome, len(plans))
	for i, p := range plans {
		out[i] = Outcome{Index: p.Index}
		p.patientID = uuid.Nil // a retried transaction starts afresh
		if p.refusal != "" {
			out[i].Status, out[i].Reason = http.StatusUnprocessableEntity, p.refusal
		}
	}
	existing, err := im.writePatients(ctx, plans, out, now)
	if err != nil {
		return Result{}, err
	}
	if err := im.writeObservations(ctx, plans, out, existing, by, now); err != nil {
		return Result{}, err
	}
	if typ == TypeTransaction {
		if refused := refusals(plans, out); len(refused) > 0 {
			return Result{}, &RefusedError{Entries: refused}
		}
	}
	res := Result{Type: typ + "-response", Entries: out}
	for _, p := range plans {
		if p.patient != nil && p.patientID != uuid.Nil && !slices.Contains(res.Patients, p.patientID) {
			res.Patients = append(res.Patients, p.patientID)
		}
	}
	if rec != nil {
		r := *rec
		r.PatientIDs = slices.Clone(r.PatientIDs)
		for _, id := range res.Patients {
			if !slices.Contains(r.PatientIDs, id) {
				r.PatientIDs = append(r.PatientIDs, id)
			}
		}
		if len(r.PatientIDs) == 1 && r.PatientID == nil {
			r.PatientID = &r.PatientIDs[0]
		}
		if r.Description == "" {
			r.Description = describe(out)
		}
		if err := im.store.Audit(ctx, r); err != nil {
			return Result{}, err
		}
		res.Audited = true
	}
	return res, nil
}

// describe sums up an import for its audit record.
func describe(out []Outcome) string {
	var created, existed, refused int
	for _, o := range out {
		switch o.Status {
		case http.StatusCreated:
			created++
		case http.StatusOK:
			existed++
		default:
			refused++
		}
	}
	return fmt.Sprintf("%d entries created, %d found already imported, %d not imported", created, existed, refused)
}

// writePatients resolves every Patient entry to a patient: one a stored
// patient or an earlier entry of the bundle carries an identifier of
// (200), one registered before under the same key (200), or a new one
// (201). It returns the patients that were stored before this import.
func (im *Importer) writePatients(ctx context.Context, plans []*planned, out []Outcome, now time.Time) (map[uuid.UUID]bool, error) {
	var (
		entries []int
		keys    []string
	)
	for i, p := range plans {
		if p.patient != nil && p.refusal == "" {
			entries = append(entries, i)
			for _, id := range p.patient.details.Identifiers {
				keys = append(keys, patient.IdentifierKey(id.System, id.Value))
			}
		}
	}
	existing := map[uuid.UUID]bool{}
	if len(entries) == 0 {
		return existing, nil
	}
	stored := map[string]uuid.UUID{}
	if len(keys) > 0 {
		var err error
		if stored, err = im.store.FindPatients(ctx, keys); err != nil {
			return nil, err
		}
	}
	// An identifier stored names its patient; one of an earlier entry of
	// this bundle, that entry.
	earlier := map[string]int{}
	alias := map[int]int{}
	claimedBy := map[string]int{}
	var fresh []int // entries to register, in order
	for _, i := range entries {
		p := plans[i]
		found, twin := uuid.Nil, -1
		for _, id := range p.patient.details.Identifiers {
			k := patient.IdentifierKey(id.System, id.Value)
			if s, ok := stored[k]; ok {
				found = s
				break
			}
			if e, ok := earlier[k]; ok {
				twin = e
				break
			}
		}
		switch {
		case found != uuid.Nil:
			p.patientID = found
			existing[found] = true
			out[i].Status, out[i].Location = http.StatusOK, "Patient/"+found.String()
			continue
		case twin >= 0:
			alias[i] = twin
			continue
		}
		key := patientKey(p)
		if first, ok := claimedBy[key.Key]; ok {
			// An earlier entry of this bundle without identifiers, under
			// the same fullUrl.
			if plans[first].Hash != p.Hash {
				out[i].Status, out[i].Reason = http.StatusUnprocessableEntity, importedBefore(p)
			} else {
				alias[i] = first
			}
			continue
		}
		claimedBy[key.Key] = i
		for _, id := range p.patient.details.Identifiers {
			earlier[patient.IdentifierKey(id.System, id.Value)] = i
		}
		fresh = append(fresh, i)
	}
	if len(fresh) > 0 {
		mrns, err := im.store.NextMRNs(ctx, len(fresh))
		if err != nil {
			return nil, err
		}
		var (
			claims []domain.Idempotency
			ids    []uuid.UUID
			built  []patient.Patient
			which  []int
		)
		for n, i := range fresh {
			p := plans[i]
			id, err := im.newID()
			if err != nil {
				return nil, err
			}
			np, err := patient.NewPatient(id, mrns[n], p.patient.details, now)
			if err != nil {
				out[i].Status, out[i].Reason = http.StatusUnprocessableEntity, reason(err)
				continue
			}
			claims, ids = append(claims, patientKey(p)), append(ids, id)
			built, which = append(built, np), append(which, i)
		}
		firsts, err := im.store.Claim(ctx, claims, ids)
		if err != nil {
			return nil, err
		}
		var created []patient.Patient
		for n, i := range which {
			p := plans[i]
			switch first := firsts[n]; first {
			case ids[n]:
				created = append(created, built[n])
				p.patientID = first
				out[i].Status, out[i].Location = http.StatusCreated, "Patient/"+first.String()
			case uuid.Nil:
				out[i].Status, out[i].Reason = http.StatusUnprocessableEntity, importedBefore(p)
			default:
				p.patientID = first
				existing[first] = true
				out[i].Status, out[i].Location = http.StatusOK, "Patient/"+first.String()
			}
		}
		if len(created) > 0 {
			if err := im.store.InsertPatients(ctx, created); err != nil {
				return nil, err
			}
		}
	}
	for _, i := range entries {
		twin, ok := alias[i]
		if !ok {
			continue
		}
		if id := plans[twin].patientID; id != uuid.Nil {
			plans[i].patientID = id
			out[i].Status, out[i].Location = http.StatusOK, "Patient/"+id.String()
		} else {
			out[i].Status, out[i].Reason = http.StatusUnprocessableEntity, "the patient it shares an identifier with, entry["+strconv.Itoa(plans[twin].Index)+"], is not imported"
		}
	}
	return existing, nil
}

// writeObservations records the Observation entries whose patient was
// resolved: each claimed under its entry's key (a replay is 200 with the
// observation recorded first), checked against the patient's earlier
// results, and stored.
func (im *Importer) writeObservations(ctx context.Context, plans []*planned, out []Outcome, existing map[uuid.UUID]bool, by observation.Performer, now time.Time) error {
	var (
		claims []domain.Idempotency
		ids    []uuid.UUID
		built  []observation.Observation
		which  []int
	)
	claimedBy := map[string]int{}
	alias := map[int]int{}
	for i, p := range plans {
		if p.obs == nil || p.refusal != "" {
			continue
		}
		subject := plans[p.subject]
		if subject.patientID == uuid.Nil {
			out[i].Status, out[i].Reason = http.StatusUnprocessableEntity, fmt.Sprintf("its subject, entry[%d], is not imported", subject.Index)
			continue
		}
		key := observationKey(p)
		if first, ok := claimedBy[key.Key]; ok {
			if plans[first].Hash != p.Hash {
				out[i].Status, out[i].Reason = http.StatusUnprocessableEntity, importedBefore(p)
			} else {
				alias[i] = first
			}
			continue
		}
		id, err := im.newID()
		if err != nil {
			return err
		}
		in := p.obs.input
		in.PatientID = subject.patientID
		o, err := im.newObservation(id, in, subject.patient.details, by, now)
		if err != nil {
			out[i].Status, out[i].Reason = http.StatusUnprocessableEntity, reason(err)
			continue
		}
		claimedBy[key.Key] = i
		claims, ids = append(claims, key), append(ids, id)
		built, which = append(built, o), append(which, i)
	}
	if len(which) == 0 {
		return nil
	}
	firsts, err := im.store.Claim(ctx, claims, ids)
	if err != nil {
		return err
	}
	var created []observation.Observation
	for n, i := range which {
		switch first := firsts[n]; first {
		case ids[n]:
			created = append(created, built[n])
			out[i].Status, out[i].Location = http.StatusCreated, "Observation/"+first.String()
		case uuid.Nil:
			out[i].Status, out[i].Reason = http.StatusUnprocessableEntity, importedBefore(plans[i])
		default:
			out[i].Status, out[i].Location = http.StatusOK, "Observation/"+first.String()
		}
	}
	for i, first := range alias {
		if out[first].Location != "" {
			out[i].Status, out[i].Location = http.StatusOK, out[first].Location
		} else {
			out[i].Status, out[i].Reason = out[first].Status, out[first].Reason
		}
	}
	if len(created) == 0 {
		return nil
	}
	created, err = im.withDelta(ctx, created, existing)
	if err != nil {
		return err
	}
	return im.store.InsertObservations(ctx, created)
}

// withDelta applies the delta rules to new observations before they are
// stored (observation.WithDeltas): each result is compared with the
// patient's stored results of its code and with the earlier results of the
// same import, within the code's lookback. Stored results are read in one
// query, only for patients stored before the import and codes that have a
// delta rule.
func (im *Importer) withDelta(ctx context.Context, obs []observation.Observation, existing map[uuid.UUID]bool) ([]observation.Observation, error) {
	var before []observation.Observation
	ruled := false
	for _, o := range obs {
		if !o.HasDeltaRule() {
			continue
		}
		ruled = true
		if existing[o.PatientID] {
			before = append(before, o)
		}
	}
	if !ruled {
		return obs, nil
	}
	var stored map[uuid.UUID][]observation.Result
	if len(before) > 0 {
		var err error
		if stored, err = im.store.PreviousResults(ctx, before); err != nil {
			return nil, err
		}
	}
	return observation.WithDeltas(obs, stored), nil
}
