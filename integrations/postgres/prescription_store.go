package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/zarish-sphere/zarish/domain"
	"github.com/zarish-sphere/zarish/domain/allergy"
	"github.com/zarish-sphere/zarish/domain/audit"
	"github.com/zarish-sphere/zarish/domain/medication"
	"github.com/zarish-sphere/zarish/domain/observation"
	"github.com/zarish-sphere/zarish/domain/outbox"
	"github.com/zarish-sphere/zarish/domain/prescription"
)

// entityPrescription names prescriptions in audit records and event subjects.
const entityPrescription = "MedicationRequest"

// prescriptionSource is the CloudEvent source of prescription events.
const prescriptionSource = "/v1/medications/prescriptions"

// maxHistory bounds a patient's medication history: the open prescriptions
// and the newest closed ones, 500 in all.
const maxHistory = 500

// PrescriptionStore keeps the prescriptions read model, one row per
// prescription at its newest version, and writes an event per timeline entry
// to the outbox in the same transaction: prescription.<kind> (created, held,
// activated, overridden, verified, dispensed, administered, rechecked,
// discontinued, cancelled, completed) on the clinical topic, keyed by
// patient, with the prescription as stored as its data. It also reads what
// the medication checks need to know about a patient.
type PrescriptionStore struct {
	pool       *pgxpool.Pool
	newEventID func() (uuid.UUID, error)
}

// NewPrescriptionStore returns a store on pool.
func NewPrescriptionStore(pool *pgxpool.Pool) *PrescriptionStore {
	return &PrescriptionStore{pool: pool, newEventID: uuid.NewV7}
}

// Create stores a new prescription (version 1: its created entry) with its
// prescription.created event, rec (the request's audit record, when not nil)
// and starts, the rows that start its workflow should the caller's own
// start not happen, in one transaction. With idem, a repeated
// Idempotency-Key with the same body returns the prescription the first
// request created, as it is now (replay true); another body is
// domain.ErrIdempotencyMismatch. A patient or encounter that does not exist
// is a validation error naming patientId or encounterId; an id already
// stored is domain.ErrConflict.
func (s *PrescriptionStore) Create(ctx context.Context, idem *domain.Idempotency, rec *audit.Record, p prescription.Prescription,
	starts ...outbox.WorkflowStart) (stored prescription.Prescription, replay bool, err error) {
	if err := checkTimeline(p); err != nil {
		return prescription.Prescription{}, false, err
	}
	if p.Version != 1 || p.Timeline[0].Kind != prescription.EventCreated {
		return prescription.Prescription{}, false, fmt.Errorf("create prescription %s: a new prescription holds its created entry alone", p.Details.ID)
	}
	err = withIdempotency(ctx, s.pool, func(tx pgx.Tx) error {
		existing, seen, err := claimIdempotency(ctx, tx, idem, p.Details.ID)
		if err != nil {
			return err
		}
		if replay = seen; seen {
			if stored, err = loadResource[prescription.Prescription](ctx, tx, "prescriptions", existing, false); err != nil {
				return err
			}
			return auditEntity(ctx, tx, rec, entityPrescription, stored.Details.ID, stored.Details.PatientID)
		}
		resource, err := json.Marshal(p)
		if err != nil {
			return fmt.Errorf("encode prescription: %w", err)
		}
		d := p.Details
		_, err = tx.Exec(ctx, `
			INSERT INTO prescriptions (id, patient_id, encounter_id, status, version, resource, created_at, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
			d.ID, d.PatientID, d.EncounterID, string(p.Status), p.Version, resource, d.CreatedAt, p.UpdatedAt)
		if err != nil {
			return translate(err, "insert prescription "+d.ID.String())
		}
		if err := s.appendPrescriptionEvents(ctx, tx, p, 0); err != nil {
			return err
		}
		if err := appendWorkflowStarts(ctx, tx, starts...); err != nil {
			return err
		}
		stored = p
		return auditEntity(ctx, tx, rec, entityPrescription, d.ID, d.PatientID)
	})
	if err != nil {
		return prescription.Prescription{}, false, err
	}
	return stored, replay, nil
}

// MarkStarted records that the caller started the prescription's workflow
// itself, so the starter leaves its start row alone.
func (s *PrescriptionStore) MarkStarted(ctx context.Context, workflowID string) error {
	return MarkStartedByWorkflow(ctx, s.pool, workflowID)
}

// Record stores p, the prescription after its newest timeline entry, over
// the stored version, with an event for each entry the stored version did
// not have yet (one, unless the caller skipped a version) and rec, the audit
// record of the request that asked for the change (when not nil), in one
// transaction. An entry already stored changes nothing: a p whose version is
// not newer than the stored one writes nothing and succeeds, so a retried
// write is harmless and the stored version never goes back.
// domain.ErrNotFound when the prescription was never created.
func (s *PrescriptionStore) Record(ctx context.Context, p prescription.Prescription, rec *audit.Record) error {
	if err := checkTimeline(p); err != nil {
		return err
	}
	id := p.Details.ID
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var (
			version   int
			patientID uuid.UUID
		)
		err := tx.QueryRow(ctx, `SELECT version, patient_id FROM prescriptions WHERE id = $1 FOR UPDATE`, id).Scan(&version, &patientID)
		if err != nil {
			return translate(err, "prescription "+id.String())
		}
		if patientID != p.Details.PatientID {
			return fmt.Errorf("record prescription %s: a change must keep its patient", id)
		}
		if p.Version <= version {
			return nil // recorded already
		}
		resource, err := json.Marshal(p)
		if err != nil {
			return fmt.Errorf("encode prescription: %w", err)
		}
		_, err = tx.Exec(ctx, `UPDATE prescriptions SET status = $2, version = $3, resource = $4, updated_at = $5 WHERE id = $1`,
			id, string(p.Status), p.Version, resource, p.UpdatedAt)
		if err != nil {
			return translate(err, "update prescription "+id.String())
		}
		if err := s.appendPrescriptionEvents(ctx, tx, p, version); err != nil {
			return err
		}
		return auditEntity(ctx, tx, rec, entityPrescription, id, patientID)
	})
}

// checkTimeline refuses a prescription whose version is not the length of
// its timeline: the store keys its writes by version, one per entry.
func checkTimeline(p prescription.Prescription) error {
	switch {
	case p.Details.ID == uuid.Nil:
		return errors.New("store prescription: the prescription has no id")
	case p.Version < 1 || p.Version != len(p.Timeline) || p.Last().Seq != p.Version:
		return fmt.Errorf("store prescription %s: version %d does not match its timeline of %d entries",
			p.Details.ID, p.Version, len(p.Timeline))
	}
	return nil
}

// Get returns the prescription with id, or domain.ErrNotFound.
func (s *PrescriptionStore) Get(ctx context.Context, id uuid.UUID) (prescription.Prescription, error) {
	return loadResource[prescription.Prescription](ctx, s.pool, "prescriptions", id, false)
}

// prescriptionCursor is the keyset position of List: the last prescription
// returned.
type prescriptionCursor struct {
	CreatedAt time.Time `json:"c"`
	ID        uuid.UUID `json:"i"`
}

// List returns prescriptions newest first, one page at a time, of a patient
// and in a status when the filter names them; ErrBadCursor for a cursor this
// store did not issue.
func (s *PrescriptionStore) List(ctx context.Context, f prescription.Filter) (prescription.Page, error) {
	q := newPageQuery(f.Limit)
	if f.PatientID != uuid.Nil {
		q.where("patient_id = " + q.arg(f.PatientID))
	}
	if f.Status != "" {
		q.where("status = " + q.arg(string(f.Status)))
	}
	if f.Cursor != "" {
		pos, err := decodeCursor(f.Cursor, func(p prescriptionCursor) bool { return p.ID != uuid.Nil })
		if err != nil {
			return prescription.Page{}, err
		}
		q.after("created_at", pos.CreatedAt, pos.ID)
	}
	list, err := s.query(ctx, q.sql(`SELECT resource FROM prescriptions`, "created_at"), q.args...)
	if err != nil {
		return prescription.Page{}, err
	}
	var page prescription.Page
	page.Prescriptions, page.Next = cutPage(q, list, func(last prescription.Prescription) string {
		return encodeCursor(prescriptionCursor{CreatedAt: last.Details.CreatedAt, ID: last.Details.ID})
	})
	return page, nil
}

// History returns the patient's medication history, each prescription with
// its whole timeline: the open ones first, then the closed ones, each group
// newest first. It holds every open prescription and the newest closed ones,
// 500 in all.
func (s *PrescriptionStore) History(ctx context.Context, patientID uuid.UUID) ([]prescription.Prescription, error) {
	return s.query(ctx, `SELECT resource FROM prescriptions WHERE patient_id = $1
		ORDER BY status IN `+openStatusList+` DESC, created_at DESC, id DESC LIMIT $2`, patientID, maxHistory)
}

// OpenIDs returns the ids of the patient's open prescriptions (draft, on
// hold or active), oldest first, except exclude.
func (s *PrescriptionStore) OpenIDs(ctx context.Context, patientID, exclude uuid.UUID) ([]uuid.UUID, error) {
	rows, err := s.pool.Query(ctx, `SELECT id FROM prescriptions
		WHERE patient_id = $1 AND status IN `+openStatusList+` AND id <> $2 ORDER BY created_at, id`, patientID, exclude)
	if err != nil {
		return nil, fmt.Errorf("open prescriptions: %w", err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[uuid.UUID])
	if err != nil {
		return nil, fmt.Errorf("open prescriptions: %w", err)
	}
	if ids == nil {
		ids = []uuid.UUID{}
	}
	return ids, nil
}

// openStatusList is the SQL list of the statuses prescription.Status.Open
// counts: ('draft', 'on-hold', 'active'). It is written into the statements
// as a literal, so the planner matches the partial index of open
// prescriptions (prescriptions_open), which a parameter would not.
var openStatusList = func() string {
	var open []string
	for _, st := range prescription.Statuses {
		if st.Open() {
			open = append(open, "'"+string(st)+"'")
		}
	}
	return "(" + strings.Join(open, ", ") + ")"
}()

// measure is a number the checks read from the patient's observations: the
// newest final, amended or corrected observation of code taken at or before
// the check, no older than the given years and days. An older one is left
// out, and the checks that need the number report that they could not run.
type measure struct {
	code        string
	years, days int
}

// measures are the weight (a month), the height (five years) and the serum
// creatinine (a week) the dose and renal checks read.
var measures = []measure{
	{code: observation.CodeBodyWeight, days: 30},
	{code: observation.CodeBodyHeight, years: 5},
	{code: observation.CodeCreatinine, days: 7},
}

// inForceStatuses are the observation statuses whose values the checks use.
var inForceStatuses = []string{string(observation.StatusFinal), string(observation.StatusAmended), string(observation.StatusCorrected)}

// PatientContext is what the medication checks read about the patient at
// at: age (fractional years on at's calendar, from the birth date) and sex
// from the registry; the allergies to act on; the latest weight, height and
// serum creatinine no older than the checks accept (see measures), each
// named in Context.Basis; and the open prescriptions except exclude (uuid.Nil
// for none), oldest first. It reads them in one round trip. A patient the
// registry does not know is domain.ErrNotFound.
func (s *PrescriptionStore) PatientContext(ctx context.Context, patientID, exclude uuid.UUID, at time.Time) (prescription.Context, error) {
	b := &pgx.Batch{}
	b.Queue(`SELECT birth_date, sex FROM patients WHERE id = $1`, patientID)
	// The allergies table's active column is medication's "acted on":
	// clinically active, neither refuted nor entered in error.
	b.Queue(`SELECT resource FROM allergies WHERE patient_id = $1 AND active ORDER BY created_at, id`, patientID)
	q := &pageQuery{}
	patient, statuses, until := q.arg(patientID), q.arg(inForceStatuses), q.arg(at)
	parts := make([]string, len(measures))
	for i, m := range measures {
		parts[i] = `(SELECT code, effective_at, value_num, coalesce(value_unit, '') FROM observations
			WHERE patient_id = ` + patient + ` AND code = ` + q.arg(m.code) + ` AND current AND status = ANY(` + statuses + `)
			AND value_num IS NOT NULL AND effective_at <= ` + until + ` AND effective_at >= ` + q.arg(at.AddDate(-m.years, 0, -m.days)) + `
			ORDER BY effective_at DESC, id DESC LIMIT 1)`
	}
	b.Queue(strings.Join(parts, " UNION ALL "), q.args...)
	b.Queue(`SELECT id, resource->'details'->'order' FROM prescriptions
		WHERE patient_id = $1 AND status IN `+openStatusList+` AND id <> $2 ORDER BY created_at, id`, patientID, exclude)

	br := s.pool.SendBatch(ctx, b)
	c, err := readPatientContext(br, patientID, at)
	if cerr := br.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("patient context: %w", cerr)
	}
	if err != nil {
		return prescription.Context{}, err
	}
	return c, nil
}

// readPatientContext reads the results of PatientContext's batch, in order.
func readPatientContext(br pgx.BatchResults, patientID uuid.UUID, at time.Time) (prescription.Context, error) {
	var (
		c    prescription.Context
		born time.Time
		sex  string
	)
	if err := br.QueryRow().Scan(&born, &sex); err != nil {
		return c, translate(err, "patient "+patientID.String())
	}
	c.Patient.AgeYears = ageYears(born, at)
	if s := medication.Sex(sex); s == medication.SexFemale || s == medication.SexMale {
		c.Patient.Sex = s
	}

	rows, err := br.Query()
	if err != nil {
		return c, fmt.Errorf("patient context: allergies: %w", err)
	}
	c.Patient.Allergies, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (medication.Allergy, error) {
		var raw []byte
		if err := r.Scan(&raw); err != nil {
			return medication.Allergy{}, err
		}
		a, err := decodeResource[allergy.Allergy]("allergies", raw, nil)
		return medication.AllergyOf(a), err
	})
	if err != nil {
		return c, fmt.Errorf("patient context: allergies: %w", err)
	}
	if c.Patient.Allergies == nil {
		c.Patient.Allergies = []medication.Allergy{}
	}

	rows, err = br.Query()
	if err != nil {
		return c, fmt.Errorf("patient context: observations: %w", err)
	}
	basis, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (prescription.Basis, error) {
		var b prescription.Basis
		err := r.Scan(&b.Code, &b.At, &b.Value, &b.Unit)
		b.At = b.At.UTC()
		return b, err
	})
	if err != nil {
		return c, fmt.Errorf("patient context: observations: %w", err)
	}
	for _, b := range basis {
		switch b.Code {
		case observation.CodeBodyWeight:
			c.Patient.WeightKg = b.Value
		case observation.CodeBodyHeight:
			c.Patient.HeightCm = b.Value
		case observation.CodeCreatinine:
			// Stored in the code's canonical mg/dL; the checks read µmol/L.
			umol, err := observation.Convert(observation.CodeCreatinine, b.Value, "umol/L")
			if err != nil {
				return c, fmt.Errorf("patient context: creatinine: %w", err)
			}
			c.Patient.CreatinineUmolL = umol.Value
		}
	}
	if len(basis) > 0 {
		c.Basis = basis
	}

	rows, err = br.Query()
	if err != nil {
		return c, fmt.Errorf("patient context: open prescriptions: %w", err)
	}
	orders, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (prescription.ActiveOrder, error) {
		var (
			o   prescription.ActiveOrder
			raw []byte
		)
		if err := r.Scan(&o.PrescriptionID, &raw); err != nil {
			return o, err
		}
		if err := json.Unmarshal(raw, &o.Order); err != nil {
			return o, fmt.Errorf("decode order of prescription %s: %w", o.PrescriptionID, err)
		}
		return o, nil
	})
	if err != nil {
		return c, fmt.Errorf("patient context: open prescriptions: %w", err)
	}
	c.Orders(orders)
	return c, nil
}

// ageYears is the age at at of a person born on born's calendar date,
// counted on at's calendar: the whole years since birth and the part of the
// current year of life gone by, so it reaches a whole number on each
// birthday. Zero before birth.
func ageYears(born, at time.Time) float64 {
	by, bm, bd := born.Date()
	birth := time.Date(by, bm, bd, 0, 0, 0, 0, at.Location())
	if !at.After(birth) {
		return 0
	}
	years := at.Year() - by
	last := birth.AddDate(years, 0, 0)
	if last.After(at) {
		years--
		last = birth.AddDate(years, 0, 0)
	}
	next := birth.AddDate(years+1, 0, 0)
	return float64(years) + float64(at.Sub(last))/float64(next.Sub(last))
}

func (s *PrescriptionStore) query(ctx context.Context, sql string, args ...any) ([]prescription.Prescription, error) {
	return listResources[prescription.Prescription](ctx, s.pool, "prescriptions", sql, args...)
}

// appendPrescriptionEvents writes prescription.<kind> for each timeline
// entry of p after the first stored ones, in order, each with p as its data.
func (s *PrescriptionStore) appendPrescriptionEvents(ctx context.Context, tx pgx.Tx, p prescription.Prescription, stored int) error {
	id := p.Details.ID.String()
	for _, e := range p.Timeline[stored:] {
		err := appendResourceEvent(ctx, tx, s.newEventID, resourceEvent{
			Type: "prescription." + string(e.Kind), PatientID: p.Details.PatientID, Resource: p, Time: e.At,
			Source: prescriptionSource, Subject: entityPrescription + "/" + id,
			Link: prescriptionSource + "/" + id,
		})
		if err != nil {
			return err
		}
	}
	return nil
}
