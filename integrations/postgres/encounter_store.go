package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/zarish-sphere/zarish/domain"
	"github.com/zarish-sphere/zarish/domain/audit"
	"github.com/zarish-sphere/zarish/domain/encounter"
	"github.com/zarish-sphere/zarish/domain/outbox"
)

// EncounterStore keeps the encounters read model (with each encounter's
// timeline, locations and orders) and writes encounter events to the outbox
// in the same transaction.
type EncounterStore struct {
	pool *pgxpool.Pool
}

// NewEncounterStore returns a store on pool.
func NewEncounterStore(pool *pgxpool.Pool) *EncounterStore { return &EncounterStore{pool: pool} }

// RecordCreated adds a new encounter to the read model with its timeline so
// far, and writes encounter.created. Repeating it changes nothing.
func (s *EncounterStore) RecordCreated(ctx context.Context, st encounter.State) error {
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		_, err := insertCreated(ctx, tx, st)
		return err
	})
}

// CreateEncounter stores an encounter the API opens, before its workflow
// starts: the Idempotency-Key, the row with its created entry, the
// encounter.created event and the request's audit record rec, in one
// transaction, with starts, the rows that start its workflow should the
// caller's own start not happen. A repeated key with the same body returns
// the encounter the first request created, as it is now, with replay true;
// with another body domain.ErrIdempotencyMismatch. A patient that does not
// exist is a validation error naming patientId.
func (s *EncounterStore) CreateEncounter(ctx context.Context, idem *domain.Idempotency, rec *audit.Record, st encounter.State,
	starts ...outbox.WorkflowStart) (out encounter.Record, replay bool, err error) {
	id := st.Details.EncounterID
	err = withIdempotency(ctx, s.pool, func(tx pgx.Tx) error {
		existing, seen, err := claimIdempotency(ctx, tx, idem, id)
		if err != nil {
			return err
		}
		replay = seen
		if seen {
			id = existing
		} else {
			if _, err := insertCreated(ctx, tx, st); err != nil {
				if errors.Is(err, domain.ErrNotFound) {
					return &domain.ValidationError{Fields: []domain.FieldError{{Field: "patientId", Message: "is not a registered patient"}}}
				}
				return err
			}
			if err := appendWorkflowStarts(ctx, tx, starts...); err != nil {
				return err
			}
		}
		var patientID uuid.UUID
		if err := tx.QueryRow(ctx, `SELECT patient_id FROM encounters WHERE id = $1`, id).Scan(&patientID); err != nil {
			return translate(err, "encounter "+id.String())
		}
		return auditEntity(ctx, tx, rec, "Encounter", id, patientID)
	})
	if err != nil {
		return out, false, err
	}
	if !replay {
		return st.Record(), false, nil // what was just written
	}
	out, err = s.GetEncounter(ctx, id)
	return out, replay, err
}

// MarkStarted records that the caller started the encounter's workflow
// itself, so the starter leaves its start row alone.
func (s *EncounterStore) MarkStarted(ctx context.Context, workflowID string) error {
	return MarkStartedByWorkflow(ctx, s.pool, workflowID)
}

// insertCreated writes a new encounter's row, entries, locations and
// encounter.created event, reporting false when the row already exists.
func insertCreated(ctx context.Context, tx pgx.Tx, st encounter.State) (bool, error) {
	if len(st.Timeline) == 0 || st.Timeline[0].Kind != encounter.EventCreated {
		return false, errors.New("record created: the timeline must start with the created entry")
	}
	event, err := encounterEvent(st, st.Timeline[0])
	if err != nil {
		return false, err
	}
	d := st.Details
	tag, err := tx.Exec(ctx, `
		INSERT INTO encounters (id, patient_id, class, status, reason, location, priority, created_at, version, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 0, $8)
		ON CONFLICT (id) DO NOTHING`,
		d.EncounterID, d.PatientID, string(d.Class), string(encounter.StatusPlanned), d.Reason, d.Location, d.Priority, st.CreatedAt)
	if err != nil {
		return false, translate(err, "record encounter created")
	}
	if tag.RowsAffected() == 0 {
		return false, nil
	}
	for _, e := range st.Timeline {
		if _, err := insertEncounterEntry(ctx, tx, d.EncounterID, e); err != nil {
			return false, err
		}
	}
	if err := saveEncounter(ctx, tx, st); err != nil {
		return false, err
	}
	return true, appendOutbox(ctx, tx, event)
}

// RecordTransition records timeline entry e of the encounter and, unless a
// newer state was recorded already, the encounter as st after it; a
// transition (not an order change) also writes its encounter.<kind> event.
// The entry's seq is the transition key: repeating it changes nothing.
// rec, when not nil, is the audit record of the request that asked for the
// change, stored in the same transaction. domain.ErrNotFound when the
// encounter was never recorded.
func (s *EncounterStore) RecordTransition(ctx context.Context, st encounter.State, e encounter.Entry, rec *audit.Record) error {
	if e.Seq < 1 || e.Seq > len(st.Timeline) || st.Timeline[e.Seq-1].Kind != e.Kind {
		return fmt.Errorf("record transition: entry %d is not in the encounter's timeline", e.Seq)
	}
	id := st.Details.EncounterID
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var one int
		if err := tx.QueryRow(ctx, `SELECT 1 FROM encounters WHERE id = $1 FOR UPDATE`, id).Scan(&one); err != nil {
			return translate(err, "encounter "+id.String())
		}
		added, err := insertEncounterEntry(ctx, tx, id, e)
		if err != nil || !added {
			return err
		}
		if err := saveEncounter(ctx, tx, st); err != nil {
			return err
		}
		if err := auditEntity(ctx, tx, rec, "Encounter", id, st.Details.PatientID); err != nil {
			return err
		}
		if !e.Kind.Transition() {
			return nil
		}
		event, err := encounterEvent(st, e)
		if err != nil {
			return err
		}
		return appendOutbox(ctx, tx, event)
	})
}

// saveEncounter writes st over the row, its locations and orders, unless the
// row already holds a newer version.
func saveEncounter(ctx context.Context, tx pgx.Tx, st encounter.State) error {
	var attending *uuid.UUID
	if st.Attending != uuid.Nil {
		attending = &st.Attending
	}
	var acuity *int
	if st.Acuity.Valid() {
		a := int(st.Acuity)
		acuity = &a
	}
	version := len(st.Timeline)
	tag, err := tx.Exec(ctx, `
		UPDATE encounters SET status = $2, location = $3, acuity = $4, chief_complaint = $5, attending = $6,
			disposition = $7, arrived_at = $8, triaged_at = $9, started_at = $10, ended_at = $11,
			version = $12, updated_at = $13
		WHERE id = $1 AND version < $12`,
		st.Details.EncounterID, string(st.Status), st.Location, acuity, st.ChiefComplaint, attending,
		string(st.Disposition), st.ArrivedAt, st.TriagedAt, st.StartedAt, st.EndedAt, version, st.Last().At)
	if err != nil {
		return translate(err, "save encounter")
	}
	if tag.RowsAffected() == 0 {
		return nil
	}
	for i, l := range st.Locations {
		_, err := tx.Exec(ctx, `
			INSERT INTO encounter_locations (encounter_id, seq, location, from_at, until_at) VALUES ($1, $2, $3, $4, $5)
			ON CONFLICT (encounter_id, seq) DO UPDATE SET until_at = EXCLUDED.until_at`,
			st.Details.EncounterID, i+1, l.Location, l.From, l.Until)
		if err != nil {
			return translate(err, "save encounter location")
		}
	}
	for _, o := range st.Orders {
		_, err := tx.Exec(ctx, `
			INSERT INTO encounter_orders (encounter_id, order_id, kind, status, linked_at, closed_at) VALUES ($1, $2, $3, $4, $5, $6)
			ON CONFLICT (encounter_id, order_id) DO UPDATE SET status = EXCLUDED.status, closed_at = EXCLUDED.closed_at`,
			st.Details.EncounterID, o.ID, string(o.Kind), string(o.Status), o.LinkedAt, o.ClosedAt)
		if err != nil {
			return translate(err, "save encounter order")
		}
	}
	return nil
}

// insertEncounterEntry appends e unless its seq is recorded; it reports
// whether it was new.
func insertEncounterEntry(ctx context.Context, tx pgx.Tx, id uuid.UUID, e encounter.Entry) (bool, error) {
	var by *uuid.UUID
	if e.By != uuid.Nil {
		by = &e.By
	}
	tag, err := tx.Exec(ctx, `
		INSERT INTO encounter_timeline (encounter_id, seq, kind, at, by_id, note) VALUES ($1, $2, $3, $4, $5, $6)
		ON CONFLICT (encounter_id, seq) DO NOTHING`, id, e.Seq, string(e.Kind), e.At, by, e.Note)
	if err != nil {
		return false, translate(err, "append encounter timeline")
	}
	return tag.RowsAffected() == 1, nil
}

const encounterColumns = `id, patient_id, class, status, reason, location, priority, acuity, chief_complaint,
	attending, disposition, created_at, arrived_at, triaged_at, started_at, ended_at, version`

// ListEncounters returns encounters newest first, one page at a time;
// ErrBadCursor for a cursor this store did not issue.
func (s *EncounterStore) ListEncounters(ctx context.Context, f encounter.Filter) (encounter.Page, error) {
	q := newPageQuery(f.Limit)
	if f.PatientID != uuid.Nil {
		q.where("patient_id = " + q.arg(f.PatientID))
	}
	if f.Status != "" {
		q.where("status = " + q.arg(string(f.Status)))
	}
	if f.Open {
		q.where("status <> ALL(" + q.arg([]string{string(encounter.StatusDischarged), string(encounter.StatusCancelled)}) + ")")
	}
	if f.Class != "" {
		q.where("class = " + q.arg(string(f.Class)))
	}
	if f.Location != "" {
		q.where("location = " + q.arg(f.Location))
	}
	q.within("created_at", f.From, f.To)
	if f.Cursor != "" {
		pos, err := decodeCursor(f.Cursor, func(p encounterCursor) bool { return p.ID != uuid.Nil })
		if err != nil {
			return encounter.Page{}, err
		}
		q.after("created_at", pos.CreatedAt, pos.ID)
	}
	rows, err := s.pool.Query(ctx, q.sql(`SELECT `+encounterColumns+` FROM encounters`, "created_at"), q.args...)
	if err != nil {
		return encounter.Page{}, translate(err, "list encounters")
	}
	list, err := pgx.CollectRows(rows, scanEncounter)
	if err != nil {
		return encounter.Page{}, translate(err, "list encounters")
	}
	var page encounter.Page
	page.Encounters, page.Next = cutPage(q, list, func(last encounter.Record) string {
		return encodeCursor(encounterCursor{CreatedAt: last.CreatedAt, ID: last.ID})
	})
	return page, nil
}

// GetEncounter returns the encounter with its timeline, locations and orders
// in order, or domain.ErrNotFound.
func (s *EncounterStore) GetEncounter(ctx context.Context, id uuid.UUID) (encounter.Record, error) {
	var rec encounter.Record
	err := pgx.BeginTxFunc(ctx, s.pool, pgx.TxOptions{AccessMode: pgx.ReadOnly, IsoLevel: pgx.RepeatableRead}, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT `+encounterColumns+` FROM encounters WHERE id = $1`, id)
		if err != nil {
			return err
		}
		if rec, err = pgx.CollectExactlyOneRow(rows, scanEncounter); err != nil {
			return err
		}
		rows, err = tx.Query(ctx, `SELECT seq, kind, at, by_id, note FROM encounter_timeline WHERE encounter_id = $1 ORDER BY seq`, id)
		if err != nil {
			return err
		}
		rec.Timeline, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (encounter.Entry, error) {
			var (
				e    encounter.Entry
				kind string
				by   *uuid.UUID
			)
			err := r.Scan(&e.Seq, &kind, &e.At, &by, &e.Note)
			e.Kind = encounter.EventKind(kind)
			if by != nil {
				e.By = *by
			}
			return e, err
		})
		if err != nil {
			return err
		}
		rows, err = tx.Query(ctx, `SELECT location, from_at, until_at FROM encounter_locations WHERE encounter_id = $1 ORDER BY seq`, id)
		if err != nil {
			return err
		}
		rec.Locations, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (encounter.Stay, error) {
			var l encounter.Stay
			return l, r.Scan(&l.Location, &l.From, &l.Until)
		})
		if err != nil {
			return err
		}
		rows, err = tx.Query(ctx, `SELECT order_id, kind, status, linked_at, closed_at FROM encounter_orders
			WHERE encounter_id = $1 ORDER BY linked_at, order_id`, id)
		if err != nil {
			return err
		}
		rec.Orders, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (encounter.Order, error) {
			var (
				o            encounter.Order
				kind, status string
			)
			err := r.Scan(&o.ID, &kind, &status, &o.LinkedAt, &o.ClosedAt)
			o.Kind, o.Status = encounter.OrderKind(kind), encounter.OrderStatus(status)
			return o, err
		})
		return err
	})
	return rec, translate(err, "encounter "+id.String())
}

func scanEncounter(r pgx.CollectableRow) (encounter.Record, error) {
	var (
		e                          encounter.Record
		class, status, disposition string
		acuity                     *int
	)
	err := r.Scan(&e.ID, &e.PatientID, &class, &status, &e.Reason, &e.Location, &e.Priority, &acuity, &e.ChiefComplaint,
		&e.Attending, &disposition, &e.CreatedAt, &e.ArrivedAt, &e.TriagedAt, &e.StartedAt, &e.EndedAt, &e.Version)
	e.Class, e.Status, e.Disposition = encounter.Class(class), encounter.Status(status), encounter.Disposition(disposition)
	if acuity != nil {
		e.Acuity = encounter.Acuity(*acuity)
	}
	return e, err
}

// encounterCursor is the keyset position of ListEncounters: the last encounter returned.
type encounterCursor struct {
	CreatedAt time.Time `json:"c"`
	ID        uuid.UUID `json:"i"`
}

// CreateVisitEncounter stores a new encounter that another system's visit
// v opened, with rec (when not nil) and starts, as CreateEncounter does,
// and keeps the visit number on it. The visit is the key: when the sender
// opened an encounter for it already, that encounter is returned as it is
// now and nothing is written (replay true).
func (s *EncounterStore) CreateVisitEncounter(ctx context.Context, rec *audit.Record, st encounter.State, v encounter.Visit,
	starts ...outbox.WorkflowStart) (out encounter.Record, replay bool, err error) {
	if v.System == "" || v.Number == "" {
		return out, false, errors.New("create visit encounter: the visit needs its system and number")
	}
	id := st.Details.EncounterID
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		// One visit opens one encounter: a concurrent admission of the
		// same visit waits here, then finds the first.
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtext($1))`, "encounter visit "+v.System+"|"+v.Number); err != nil {
			return fmt.Errorf("lock visit: %w", err)
		}
		err := tx.QueryRow(ctx, `SELECT id FROM encounters WHERE visit_system = $1 AND visit_number = $2`, v.System, v.Number).Scan(&id)
		switch {
		case err == nil:
			replay = true
		case !errors.Is(err, pgx.ErrNoRows):
			return fmt.Errorf("find visit: %w", err)
		default:
			if _, err := insertCreated(ctx, tx, st); err != nil {
				if errors.Is(err, domain.ErrNotFound) {
					return &domain.ValidationError{Fields: []domain.FieldError{{Field: "patientId", Message: "is not a registered patient"}}}
				}
				return err
			}
			if _, err := tx.Exec(ctx, `UPDATE encounters SET visit_system = $2, visit_number = $3 WHERE id = $1`, id, v.System, v.Number); err != nil {
				return translate(err, "keep the visit of encounter "+id.String())
			}
			if err := appendWorkflowStarts(ctx, tx, starts...); err != nil {
				return err
			}
		}
		return auditEntity(ctx, tx, rec, "Encounter", id, st.Details.PatientID)
	})
	if err != nil {
		return out, false, err
	}
	if !replay {
		return st.Record(), false, nil
	}
	out, err = s.GetEncounter(ctx, id)
	return out, true, err
}

// EncounterByVisit is the encounter another system's visit opened;
// domain.ErrNotFound when none did.
func (s *EncounterStore) EncounterByVisit(ctx context.Context, v encounter.Visit) (encounter.Record, error) {
	var id uuid.UUID
	err := s.pool.QueryRow(ctx, `SELECT id FROM encounters WHERE visit_system = $1 AND visit_number = $2`, v.System, v.Number).Scan(&id)
	if err != nil {
		return encounter.Record{}, translate(err, "encounter of visit "+v.Number)
	}
	return s.GetEncounter(ctx, id)
}
