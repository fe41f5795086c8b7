package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/zarish-sphere/zarish/domain"
	"github.com/zarish-sphere/zarish/domain/audit"
	"github.com/zarish-sphere/zarish/domain/patient"
)

// Patient event types published on the clinical topic.
const (
	EventPatientCreated     = "patient.created"
	EventPatientUpdated     = "patient.updated"
	EventPatientDeactivated = "patient.deactivated"
)

// ClinicalTopic is where patient events are published.
const ClinicalTopic = "zarish.clinical.v1"

// PatientStore keeps patients in PostgreSQL and writes their events to the
// outbox in the same transaction.
type PatientStore struct {
	pool *pgxpool.Pool
	// newEventID makes outbox event ids; UUIDv7 by default.
	newEventID func() (uuid.UUID, error)
}

// NewPatientStore returns a store on pool.
func NewPatientStore(pool *pgxpool.Pool) *PatientStore {
	return &PatientStore{pool: pool, newEventID: uuid.NewV7}
}

// Register allocates an MRN, builds the patient with create and stores it,
// as its version 1, with its patient.created event. With a non-nil idem, a
// repeated key returns the patient the first request created and
// created=false.
//
// rec, when not nil, is the request's audit record: it is completed with the
// patient's id and stored in the same transaction, replay or not; its actor
// is the new version's.
func (s *PatientStore) Register(ctx context.Context, idem *domain.Idempotency, rec *audit.Record, create func(mrn string) (patient.Patient, error)) (p patient.Patient, created bool, err error) {
	err = withIdempotency(ctx, s.pool, func(tx pgx.Tx) error {
		p, created = patient.Patient{}, false
		var seq int64
		if err := tx.QueryRow(ctx, `SELECT nextval('patient_mrn_seq')`).Scan(&seq); err != nil {
			return fmt.Errorf("next mrn: %w", err)
		}
		np, err := create(patient.FormatMRN(seq))
		if err != nil {
			return err
		}
		existing, replay, err := claimIdempotency(ctx, tx, idem, np.ID)
		if err != nil {
			return err
		}
		if replay {
			if p, err = loadResource[patient.Patient](ctx, tx, "patients", existing, false); err != nil {
				return err
			}
			return auditEntity(ctx, tx, rec, "Patient", p.ID, p.ID)
		}
		if err := insertPatient(ctx, tx, np, rec); err != nil {
			return err
		}
		if err := s.appendPatientEvent(ctx, tx, EventPatientCreated, np); err != nil {
			return err
		}
		p, created = np, true
		return auditEntity(ctx, tx, rec, "Patient", np.ID, np.ID)
	})
	return p, created, err
}

// Get returns the patient with id, or domain.ErrNotFound.
func (s *PatientStore) Get(ctx context.Context, id uuid.UUID) (patient.Patient, error) {
	return loadResource[patient.Patient](ctx, s.pool, "patients", id, false)
}

// Versions returns every stored version of the patient with id, oldest
// first, or domain.ErrNotFound.
func (s *PatientStore) Versions(ctx context.Context, id uuid.UUID) ([]patient.Patient, error) {
	return listVersions[patient.Patient](ctx, s.pool, patientVersions, id)
}

// GetByMRN returns the patient with the MRN, or domain.ErrNotFound.
func (s *PatientStore) GetByMRN(ctx context.Context, mrn string) (patient.Patient, error) {
	var raw []byte
	err := s.pool.QueryRow(ctx, `SELECT resource FROM patients WHERE mrn = $1`, mrn).Scan(&raw)
	return decodeResource[patient.Patient]("patients", raw, err)
}

// Update loads the patient under a row lock, applies change and stores the
// result, and the new version in patient_versions, with its event:
// patient.deactivated when change deactivated the patient, patient.updated
// otherwise. An error from change aborts the write. rec, when not nil, is
// the request's audit record, stored in the same transaction; its actor is
// the version's.
func (s *PatientStore) Update(ctx context.Context, id uuid.UUID, rec *audit.Record, change func(patient.Patient) (patient.Patient, error)) (patient.Patient, error) {
	k := resourceKind[patient.Patient]{
		table: "patients", entity: "Patient",
		id:      func(p patient.Patient) uuid.UUID { return p.ID },
		patient: func(p patient.Patient) uuid.UUID { return p.ID },
		version: func(p patient.Patient) int { return p.Version },
		keeps: func(current, next patient.Patient) string {
			switch {
			case next.ID != current.ID:
				return "id"
			case next.MRN != current.MRN:
				return "MRN"
			}
			return ""
		},
		save: func(ctx context.Context, tx pgx.Tx, current, next patient.Patient) error {
			if err := savePatient(ctx, tx, next, rec); err != nil {
				return err
			}
			event := EventPatientUpdated
			if current.Active && !next.Active {
				event = EventPatientDeactivated
			}
			return s.appendPatientEvent(ctx, tx, event, next)
		},
	}
	return updateResource(ctx, s.pool, k, id, rec, change)
}

// patientColumns are the searchable columns derived from a patient.
func patientColumns(p patient.Patient) (resource []byte, phones, identifiers []string, err error) {
	resource, err = json.Marshal(p)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("encode patient: %w", err)
	}
	phones = []string{}
	for _, t := range p.Telecom {
		if t.System == "phone" {
			phones = append(phones, patient.PhoneDigits(t.Value))
		}
	}
	for _, c := range p.EmergencyContacts {
		phones = append(phones, patient.PhoneDigits(c.Phone))
	}
	identifiers = []string{}
	for _, id := range p.Identifiers {
		identifiers = append(identifiers, patient.IdentifierKey(id.System, id.Value))
	}
	return resource, phones, identifiers, nil
}

func insertPatient(ctx context.Context, tx pgx.Tx, p patient.Patient, rec *audit.Record) error {
	resource, phones, identifiers, err := patientColumns(p)
	if err != nil {
		return err
	}
	_, err = tx.Exec(ctx, `
		INSERT INTO patients (id, mrn, version, active, family, given, name_search, birth_date, sex,
		                      phones, identifier_keys, resource, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)`,
		p.ID, p.MRN, p.Version, p.Active, p.Name.Family, p.Name.Given, patient.NameKey(p.Name),
		p.BirthDate, p.Sex, phones, identifiers, resource, p.CreatedAt, p.UpdatedAt)
	if err != nil {
		return writeError("patient", "insert", p.ID, err)
	}
	return appendVersion(ctx, tx, patientVersions, p.ID, p.Version, resource, p.UpdatedAt, rec)
}

func savePatient(ctx context.Context, tx pgx.Tx, p patient.Patient, rec *audit.Record) error {
	resource, phones, identifiers, err := patientColumns(p)
	if err != nil {
		return err
	}
	_, err = tx.Exec(ctx, `
		UPDATE patients SET version = $2, active = $3, family = $4, given = $5, name_search = $6,
		       birth_date = $7, sex = $8, phones = $9, identifier_keys = $10, resource = $11, updated_at = $12
		WHERE id = $1`,
		p.ID, p.Version, p.Active, p.Name.Family, p.Name.Given, patient.NameKey(p.Name),
		p.BirthDate, p.Sex, phones, identifiers, resource, p.UpdatedAt)
	if err != nil {
		return fmt.Errorf("update patient: %w", err)
	}
	return appendVersion(ctx, tx, patientVersions, p.ID, p.Version, resource, p.UpdatedAt, rec)
}

// The version tables (constants of this package): every version of a
// resource, one row each, written in the transaction that writes the
// current row; the database refuses to change or remove one.
const (
	patientVersions = "patient_versions"
	allergyVersions = "allergy_versions"
)

// appendVersion stores version of the resource with id in table, a version
// table: resource as the current row holds it, made at at by the actor of
// the write's audit record rec (none recorded when rec is nil).
func appendVersion(ctx context.Context, tx pgx.Tx, table string, id uuid.UUID, version int, resource []byte, at time.Time, rec *audit.Record) error {
	var changedBy []byte
	if rec != nil {
		var err error
		if changedBy, err = json.Marshal(rec.Actor); err != nil {
			return fmt.Errorf("encode the actor of %s %s: %w", table, id, err)
		}
	}
	_, err := tx.Exec(ctx, `INSERT INTO `+table+` (id, version, resource, changed_at, changed_by) VALUES ($1, $2, $3, $4, $5)`,
		id, version, resource, at, changedBy)
	return translate(err, fmt.Sprintf("insert version %d of %s into %s", version, id, table))
}

// listVersions returns every version of the resource with id in table, a
// version table, oldest first; domain.ErrNotFound when there is none.
func listVersions[T any](ctx context.Context, q rowsQuerier, table string, id uuid.UUID) ([]T, error) {
	versions, err := listResources[T](ctx, q, table, `SELECT resource FROM `+table+` WHERE id = $1 ORDER BY version`, id)
	if err != nil {
		return nil, err
	}
	if len(versions) == 0 {
		return nil, fmt.Errorf("%s of %s: %w", table, id, domain.ErrNotFound)
	}
	return versions, nil
}

func (s *PatientStore) appendPatientEvent(ctx context.Context, tx pgx.Tx, eventType string, p patient.Patient) error {
	return appendResourceEvent(ctx, tx, s.newEventID, resourceEvent{
		Type: eventType, PatientID: p.ID, Resource: p, Time: p.UpdatedAt,
		Source: "/v1/patients", Subject: "Patient/" + p.ID.String(),
	})
}

// Search returns one page of patients matching c and the cursor of the next
// page ("" on the last). With a name, results are ranked by how well the name
// matches (best first); without, they are in registration order.
func (s *PatientStore) Search(ctx context.Context, c patient.Criteria) ([]patient.Patient, string, error) {
	limit := c.PageSize()
	cur, err := decodeCursor(c.Cursor, func(p cursor) bool { return p.ID != uuid.Nil })
	if err != nil {
		return nil, "", err
	}
	var (
		filters, outer []string
		args           []any
	)
	arg := func(v any) string {
		args = append(args, v)
		return "$" + strconv.Itoa(len(args))
	}
	if c.BirthDate != "" {
		filters = append(filters, "birth_date = "+arg(c.BirthDate)+"::date")
	}
	if c.MRN != "" {
		filters = append(filters, "mrn = "+arg(c.MRN))
	}
	if c.Identifier != "" {
		system, value, _ := strings.Cut(c.Identifier, "|")
		filters = append(filters, "identifier_keys @> ARRAY["+arg(patient.IdentifierKey(system, value))+"]")
	}
	if c.Phone != "" {
		filters = append(filters, "phones @> ARRAY["+arg(patient.PhoneDigits(c.Phone))+"]")
	}
	if c.Active != nil {
		filters = append(filters, "active = "+arg(*c.Active))
	}
	from := "patients"
	if (c.Phone != "" || c.Identifier != "") && len(filters) > 0 {
		// The planner cannot estimate array containment and would rather walk
		// the primary key in id order than use the GIN index; fence the
		// selective filters so they run first.
		from = "(WITH m AS MATERIALIZED (SELECT * FROM patients WHERE " + strings.Join(filters, " AND ") + ") SELECT * FROM m) AS p"
		filters = nil
	}
	score := "1::real"
	order := "id"
	if q := patient.NormalizeQuery(c.Name); q != "" {
		// word_similarity finds the query inside the name: whole names, the
		// start of one ("amin" → "amina"), or a near miss ("rahmen"). The GIN
		// trigram index answers the <% operator.
		p := arg(q)
		score = "word_similarity(" + p + ", name_search)"
		outer = append(outer, p+" <% name_search")
		order = "score DESC, id"
	}
	if cur != nil {
		if order == "id" {
			outer = append(outer, "id > "+arg(cur.ID))
		} else {
			sc, id := arg(cur.Score), arg(cur.ID)
			outer = append(outer, "("+score+" < "+sc+" OR ("+score+" = "+sc+" AND id > "+id+"))")
		}
	}
	where := append(filters, outer...)
	sql := "SELECT resource, " + score + " AS score FROM " + from
	if len(where) > 0 {
		sql += " WHERE " + strings.Join(where, " AND ")
	}
	sql += " ORDER BY " + order + " LIMIT " + strconv.Itoa(limit+1)

	var (
		page   []patient.Patient
		scores []float32
	)
	rows, err := s.pool.Query(ctx, sql, args...)
	if err != nil {
		return nil, "", fmt.Errorf("search patients: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			raw []byte
			sc  float32
		)
		if err := rows.Scan(&raw, &sc); err != nil {
			return nil, "", fmt.Errorf("search patients: %w", err)
		}
		p, err := decodeResource[patient.Patient]("patients", raw, nil)
		if err != nil {
			return nil, "", err
		}
		page = append(page, p)
		scores = append(scores, sc)
	}
	if err := rows.Err(); err != nil {
		return nil, "", fmt.Errorf("search patients: %w", err)
	}
	next := ""
	if len(page) > limit {
		page, scores = page[:limit], scores[:limit]
		last := len(page) - 1
		next = encodeCursor(cursor{Score: scores[last], ID: page[last].ID})
	}
	return page, next, nil
}

// cursor is the keyset position after the last row of a page.
type cursor struct {
	Score float32   `json:"s"`
	ID    uuid.UUID `json:"i"`
}
