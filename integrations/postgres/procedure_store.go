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
	"github.com/zarish-sphere/zarish/domain/audit"
	"github.com/zarish-sphere/zarish/domain/outbox"
	"github.com/zarish-sphere/zarish/domain/procedure"
)

// Entity types of procedures and of the resources they are booked on, in
// audit records and event subjects.
const (
	entityProcedure         = "Procedure"
	entityProcedureResource = "Schedule" // as the API audits the directory's reads
)

// Where procedure events come from and where a consumer reads the
// procedure.
const (
	procedureSource = "/v1/procedures"
	procedureLink   = "/v1/procedures/"
)

// ProcedureStore keeps the resource directory procedures are booked on, the
// procedures read model (one row per request at its newest version, with an
// event per timeline entry written to the outbox in the same transaction:
// procedure.<kind> on the clinical topic, keyed by patient, with the
// procedure as stored as its data), and the allocations, where PostgreSQL
// refuses any double booking (procedure_allocations.go).
type ProcedureStore struct {
	pool       *pgxpool.Pool
	newEventID func() (uuid.UUID, error)
}

// NewProcedureStore returns a store on pool.
func NewProcedureStore(pool *pgxpool.Pool) *ProcedureStore {
	return &ProcedureStore{pool: pool, newEventID: uuid.NewV7}
}

// CreateResource adds r to the directory at version 1 (r.Version is 0 or
// 1), with rec, the request's audit record (when not nil), in the same
// transaction; domain.ErrConflict if its id is taken.
func (s *ProcedureStore) CreateResource(ctx context.Context, rec *audit.Record, r procedure.Resource) error {
	if err := checkResource(r); err != nil {
		return err
	}
	if r.Version != 0 && r.Version != 1 {
		return fmt.Errorf("create procedure resource %s: a new resource is version 1, not %d", r.ID, r.Version)
	}
	r.Version = 1
	raw, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("encode procedure resource: %w", err)
	}
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO procedure_resources (id, kind, name, resource, active, version)
			VALUES ($1, $2, $3, $4, $5, $6)`, r.ID, string(r.Kind), r.Name, raw, r.Active, r.Version)
		if err != nil {
			return translate(err, "create procedure resource "+r.ID.String())
		}
		return auditWrite(ctx, tx, rec, entityProcedureResource, r.ID.String())
	})
}

// UpdateResource replaces the resource with r's id by r when it is still at
// expectedVersion, and returns it as stored, at the next version; rec, when
// not nil, is stored in the same transaction. A stale version is
// domain.ErrVersionMismatch, an unknown id domain.ErrNotFound; a resource
// keeps its kind. Allocations already made keep the turnover they were made
// with.
func (s *ProcedureStore) UpdateResource(ctx context.Context, rec *audit.Record, r procedure.Resource, expectedVersion int) (procedure.Resource, error) {
	if err := checkResource(r); err != nil {
		return procedure.Resource{}, err
	}
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var (
			version int
			kind    string
		)
		err := tx.QueryRow(ctx, `SELECT version, kind FROM procedure_resources WHERE id = $1 FOR UPDATE`, r.ID).Scan(&version, &kind)
		if err != nil {
			return translate(err, "procedure resource "+r.ID.String())
		}
		if version != expectedVersion {
			return fmt.Errorf("procedure resource %s is at version %d, not %d: %w", r.ID, version, expectedVersion, domain.ErrVersionMismatch)
		}
		if kind != string(r.Kind) {
			return fmt.Errorf("update procedure resource %s: a %s stays a %s: %w", r.ID, kind, kind, procedure.ErrInvalidArgument)
		}
		r.Version = version + 1
		raw, err := json.Marshal(r)
		if err != nil {
			return fmt.Errorf("encode procedure resource: %w", err)
		}
		_, err = tx.Exec(ctx, `UPDATE procedure_resources SET name = $2, resource = $3, active = $4, version = $5, updated_at = now()
			WHERE id = $1`, r.ID, r.Name, raw, r.Active, r.Version)
		if err != nil {
			return translate(err, "update procedure resource "+r.ID.String())
		}
		return auditWrite(ctx, tx, rec, entityProcedureResource, r.ID.String())
	})
	if err != nil {
		return procedure.Resource{}, err
	}
	return r, nil
}

// checkResource refuses a resource the directory cannot key: no id, or a
// kind that is not room, staff or equipment.
func checkResource(r procedure.Resource) error {
	if r.ID == uuid.Nil || !r.Kind.Valid() {
		return fmt.Errorf("store procedure resource %s of kind %q: %w", r.ID, r.Kind, procedure.ErrInvalidArgument)
	}
	return nil
}

// GetResource returns the resource with id, or domain.ErrNotFound.
func (s *ProcedureStore) GetResource(ctx context.Context, id uuid.UUID) (procedure.Resource, error) {
	r, err := loadResource[procedure.Resource](ctx, s.pool, "procedure_resources", id, false)
	if err != nil {
		return procedure.Resource{}, fmt.Errorf("procedure resource %s: %w", id, err)
	}
	return r, nil
}

// ListResources returns the resources of kind (every kind when empty), only
// the active ones when activeOnly, by kind and then name.
func (s *ProcedureStore) ListResources(ctx context.Context, kind procedure.ResourceKind, activeOnly bool) ([]procedure.Resource, error) {
	return listResources[procedure.Resource](ctx, s.pool, "procedure_resources", `SELECT resource FROM procedure_resources
		WHERE ($1 = '' OR kind = $1) AND (active OR NOT $2) ORDER BY kind, name, id`, string(kind), activeOnly)
}

// Create stores a new procedure (version 1: its requested entry) with its
// procedure.requested event, rec (the request's audit record, when not nil)
// and starts, the rows that start its workflow should the caller's own
// start not happen, in one transaction. With idem, a repeated
// Idempotency-Key with the same body returns the procedure the first
// request created, as it is now (replay true); another body is
// domain.ErrIdempotencyMismatch. A patient or encounter that does not exist
// is a validation error naming patientId or encounterId; an id already
// stored is domain.ErrConflict.
func (s *ProcedureStore) Create(ctx context.Context, idem *domain.Idempotency, rec *audit.Record, p procedure.Procedure,
	starts ...outbox.WorkflowStart) (stored procedure.Procedure, replay bool, err error) {
	if err := checkProcedureTimeline(p); err != nil {
		return procedure.Procedure{}, false, err
	}
	if p.Version != 1 || p.Timeline[0].Kind != procedure.EventRequested {
		return procedure.Procedure{}, false, fmt.Errorf("create procedure %s: a new procedure holds its requested entry alone", p.Request.ID)
	}
	err = withIdempotency(ctx, s.pool, func(tx pgx.Tx) error {
		existing, seen, err := claimIdempotency(ctx, tx, idem, p.Request.ID)
		if err != nil {
			return err
		}
		if replay = seen; seen {
			if stored, err = loadResource[procedure.Procedure](ctx, tx, "procedures", existing, false); err != nil {
				return err
			}
			return auditEntity(ctx, tx, rec, entityProcedure, stored.Request.ID, stored.Request.PatientID)
		}
		c, err := procedureColumnsOf(p)
		if err != nil {
			return err
		}
		q := p.Request
		_, err = tx.Exec(ctx, `
			INSERT INTO procedures (id, patient_id, encounter_id, status, priority, planned_start, planned_end, resource_ids,
				version, resource, summary, created_at, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`,
			q.ID, q.PatientID, q.EncounterID, string(p.Status), string(q.Priority), c.plannedStart, c.plannedEnd, c.resourceIDs,
			p.Version, c.resource, c.summary, q.CreatedAt, p.UpdatedAt)
		if err != nil {
			return translate(err, "insert procedure "+q.ID.String())
		}
		if err := s.appendProcedureEvents(ctx, tx, p, 0); err != nil {
			return err
		}
		if err := appendWorkflowStarts(ctx, tx, starts...); err != nil {
			return err
		}
		stored = p
		return auditEntity(ctx, tx, rec, entityProcedure, q.ID, q.PatientID)
	})
	if err != nil {
		return procedure.Procedure{}, false, err
	}
	return stored, replay, nil
}

// MarkStarted records that the caller started the procedure's workflow
// itself, so the starter leaves its start row alone.
func (s *ProcedureStore) MarkStarted(ctx context.Context, workflowID string) error {
	return MarkStartedByWorkflow(ctx, s.pool, workflowID)
}

// Record stores p, the procedure after its newest timeline entry, over the
// stored version, with an event for each entry the stored version did not
// have yet (one, unless the caller skipped a version) and rec, the audit
// record of the request that asked for the change (when not nil), in one
// transaction. An entry already stored changes nothing: a p whose version
// is not newer than the stored one writes nothing and succeeds, so a
// retried write is harmless and the stored version never goes back. A p of
// another patient is refused; domain.ErrNotFound when the procedure was
// never created.
func (s *ProcedureStore) Record(ctx context.Context, p procedure.Procedure, rec *audit.Record) error {
	if err := checkProcedureTimeline(p); err != nil {
		return err
	}
	id := p.Request.ID
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var (
			version   int
			patientID uuid.UUID
		)
		err := tx.QueryRow(ctx, `SELECT version, patient_id FROM procedures WHERE id = $1 FOR UPDATE`, id).Scan(&version, &patientID)
		if err != nil {
			return translate(err, "procedure "+id.String())
		}
		if patientID != p.Request.PatientID {
			return fmt.Errorf("record procedure %s: a change must keep its patient", id)
		}
		if p.Version <= version {
			return nil // recorded already
		}
		c, err := procedureColumnsOf(p)
		if err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `UPDATE procedures SET status = $2, priority = $3, planned_start = $4, planned_end = $5,
				resource_ids = $6, version = $7, resource = $8, summary = $9, updated_at = $10
			WHERE id = $1`, id, string(p.Status), string(p.Request.Priority), c.plannedStart, c.plannedEnd, c.resourceIDs,
			p.Version, c.resource, c.summary, p.UpdatedAt)
		if err != nil {
			return translate(err, "update procedure "+id.String())
		}
		if err := s.appendProcedureEvents(ctx, tx, p, version); err != nil {
			return err
		}
		return auditEntity(ctx, tx, rec, entityProcedure, id, patientID)
	})
}

// procedureColumns are a procedure's columns beside its id and patient.
type procedureColumns struct {
	resource, summary        []byte
	plannedStart, plannedEnd *time.Time
	resourceIDs              []uuid.UUID
}

// procedureColumnsOf encodes the procedure for its columns: the resource,
// its summary, and the slot's period and resources.
func procedureColumnsOf(p procedure.Procedure) (procedureColumns, error) {
	var c procedureColumns
	var err error
	if c.resource, err = json.Marshal(p); err != nil {
		return procedureColumns{}, fmt.Errorf("encode procedure: %w", err)
	}
	if c.summary, err = json.Marshal(p.Summary()); err != nil {
		return procedureColumns{}, fmt.Errorf("encode procedure summary: %w", err)
	}
	c.resourceIDs = []uuid.UUID{}
	if p.Slot != nil {
		from, to := p.Slot.From, p.Slot.To
		c.plannedStart, c.plannedEnd = &from, &to
		for _, ids := range p.Slot.Resources {
			c.resourceIDs = append(c.resourceIDs, ids...)
		}
	}
	return c, nil
}

// checkProcedureTimeline refuses a procedure whose version is not the
// length of its timeline: the store keys its writes by version, one per
// entry.
func checkProcedureTimeline(p procedure.Procedure) error {
	n := len(p.Timeline)
	switch {
	case p.Request.ID == uuid.Nil:
		return errors.New("store procedure: the procedure has no id")
	case p.Version < 1 || p.Version != n || p.Timeline[n-1].Seq != p.Version:
		return fmt.Errorf("store procedure %s: version %d does not match its timeline of %d entries", p.Request.ID, p.Version, n)
	}
	return nil
}

// Get returns the procedure with id, or domain.ErrNotFound.
func (s *ProcedureStore) Get(ctx context.Context, id uuid.UUID) (procedure.Procedure, error) {
	p, err := loadResource[procedure.Procedure](ctx, s.pool, "procedures", id, false)
	if err != nil {
		return procedure.Procedure{}, fmt.Errorf("procedure %s: %w", id, err)
	}
	return p, nil
}

// procedureCursor is the keyset position of List: the last procedure
// returned.
type procedureCursor struct {
	CreatedAt time.Time `json:"c"`
	ID        uuid.UUID `json:"i"`
}

// List returns procedures newest request first, one page at a time, of a
// patient, in a status, whose slot takes a resource and is planned to start
// within [From, To) when the filter names them (a procedure without a slot
// has no planned start); ErrBadCursor for a cursor this store did not
// issue.
func (s *ProcedureStore) List(ctx context.Context, f procedure.Filter) (procedure.Page, error) {
	q := newPageQuery(f.PageSize())
	if f.PatientID != uuid.Nil {
		q.where("patient_id = " + q.arg(f.PatientID))
	}
	if f.Status != "" {
		q.where("status = " + q.arg(string(f.Status)))
	}
	if f.ResourceID != uuid.Nil {
		q.where("resource_ids @> ARRAY[" + q.arg(f.ResourceID) + "::uuid]")
	}
	if f.From != nil {
		q.where("planned_start >= " + q.arg(*f.From))
	}
	if f.To != nil {
		q.where("planned_start < " + q.arg(*f.To))
	}
	if f.Cursor != "" {
		pos, err := decodeCursor(f.Cursor, func(p procedureCursor) bool { return p.ID != uuid.Nil })
		if err != nil {
			return procedure.Page{}, err
		}
		q.after("created_at", pos.CreatedAt, pos.ID)
	}
	list, err := listResources[procedure.Procedure](ctx, s.pool, "procedures",
		q.sql(`SELECT resource FROM procedures`, "created_at"), q.args...)
	if err != nil {
		return procedure.Page{}, err
	}
	var page procedure.Page
	page.Procedures, page.Next = cutPage(q, list, func(last procedure.Procedure) string {
		return encodeCursor(procedureCursor{CreatedAt: last.Request.CreatedAt, ID: last.Request.ID})
	})
	return page, nil
}

// Summaries returns the summaries the quality metrics read
// (procedure.Metrics) of the procedures of [from, to): those whose slot
// overlaps it, and those without a slot requested within it; the latest
// first, and at most 50,000. A zero from or to leaves that end open.
func (s *ProcedureStore) Summaries(ctx context.Context, from, to time.Time) ([]procedure.Summary, error) {
	q := &pageQuery{}
	slot, unscheduled := []string{"planned_start IS NOT NULL"}, []string{"planned_start IS NULL"}
	if !from.IsZero() {
		at := q.arg(from)
		slot, unscheduled = append(slot, "planned_end > "+at), append(unscheduled, "created_at >= "+at)
	}
	if !to.IsZero() {
		at := q.arg(to)
		slot, unscheduled = append(slot, "planned_start < "+at), append(unscheduled, "created_at < "+at)
	}
	sql := `SELECT summary FROM procedures WHERE (` + strings.Join(slot, " AND ") + `) OR (` + strings.Join(unscheduled, " AND ") +
		`) ORDER BY coalesce(planned_start, created_at) DESC, id DESC LIMIT ` + q.arg(maxSummaries)
	return listResources[procedure.Summary](ctx, s.pool, "procedures", sql, q.args...)
}

// appendProcedureEvents writes the event of each timeline entry of p after
// the first stored ones, in order, each with p as its data.
func (s *ProcedureStore) appendProcedureEvents(ctx context.Context, tx pgx.Tx, p procedure.Procedure, stored int) error {
	id := p.Request.ID.String()
	for _, e := range p.Timeline[stored:] {
		err := appendResourceEvent(ctx, tx, s.newEventID, resourceEvent{
			Type: "procedure." + string(e.Kind), PatientID: p.Request.PatientID, Resource: p, Time: e.At,
			Source: procedureSource, Subject: entityProcedure + "/" + id, Link: procedureLink + id,
		})
		if err != nil {
			return err
		}
	}
	// The requester and the team hear of a booking, each reminder, a move,
	// a bump, a cancellation and a no-show in the same write.
	return appendMessages(ctx, tx, messagesAbout{
		About: entityProcedure + "/" + id, PatientID: p.Request.PatientID, Category: CategoryProcedure,
		Source: procedureSource, Link: procedureLink + id, At: func(seq int) time.Time { return p.Timeline[seq-1].At },
	}, p.Deliveries(stored))
}

// CategoryProcedure is the category of the in-app notifications a
// procedure's changes ask for.
const CategoryProcedure = "procedure"
