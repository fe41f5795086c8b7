package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/zarish-sphere/zarish/domain"
	"github.com/zarish-sphere/zarish/domain/audit"
	"github.com/zarish-sphere/zarish/domain/careplan"
	"github.com/zarish-sphere/zarish/domain/outbox"
)

// Care plan event types published on the clinical topic, keyed by patient.
const (
	EventCarePlanCreated = "careplan.created"
	EventCarePlanUpdated = "careplan.updated"
	// EventCarePlanActivityUpdated is published when an activity's status
	// change was recorded; the data is the plan after it.
	EventCarePlanActivityUpdated = "careplan.activity-updated"
)

// entityCarePlan names care plans in audit records.
const entityCarePlan = "CarePlan"

// CarePlanStore keeps care plans in PostgreSQL and writes their events to
// the outbox in the same transaction.
type CarePlanStore struct {
	pool       *pgxpool.Pool
	newEventID func() (uuid.UUID, error)
}

// NewCarePlanStore returns a store on pool.
func NewCarePlanStore(pool *pgxpool.Pool) *CarePlanStore {
	return &CarePlanStore{pool: pool, newEventID: uuid.NewV7}
}

// Create stores a new plan with its careplan.created event. rec, when not
// nil, is the request's audit record, and starts the workflows to start once
// the plan is stored (its reminders), all stored in the same transaction: the
// workflows start if and only if the plan commits, whether or not Temporal
// is up at the time. With idem, a repeated Idempotency-Key with the same
// body returns the plan the first request created, as it is now (replay
// true); another body is domain.ErrIdempotencyMismatch.
func (s *CarePlanStore) Create(ctx context.Context, idem *domain.Idempotency, rec *audit.Record, p careplan.CarePlan,
	starts ...outbox.WorkflowStart) (out careplan.CarePlan, replay bool, err error) {
	err = withIdempotency(ctx, s.pool, func(tx pgx.Tx) error {
		existing, seen, err := claimIdempotency(ctx, tx, idem, p.ID)
		if err != nil {
			return err
		}
		if replay = seen; seen {
			if out, err = loadResource[careplan.CarePlan](ctx, tx, "care_plans", existing, false); err != nil {
				return err
			}
			return auditEntity(ctx, tx, rec, entityCarePlan, out.ID, out.PatientID)
		}
		resource, err := json.Marshal(p)
		if err != nil {
			return fmt.Errorf("encode care plan: %w", err)
		}
		_, err = tx.Exec(ctx, `
			INSERT INTO care_plans (id, patient_id, encounter_id, status, version, resource, next_due_at, created_at, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
			p.ID, p.PatientID, p.EncounterID, string(p.Status), p.Version, resource, nextDueColumn(p), p.CreatedAt, p.UpdatedAt)
		if err != nil {
			return translate(err, "insert care plan "+p.ID.String())
		}
		if err := s.appendCarePlanEvent(ctx, tx, EventCarePlanCreated, p); err != nil {
			return err
		}
		if err := appendWorkflowStarts(ctx, tx, starts...); err != nil {
			return err
		}
		out = p
		return auditEntity(ctx, tx, rec, entityCarePlan, p.ID, p.PatientID)
	})
	if err != nil {
		return careplan.CarePlan{}, false, err
	}
	return out, replay, nil
}

// Get returns the plan with id, or domain.ErrNotFound.
func (s *CarePlanStore) Get(ctx context.Context, id uuid.UUID) (careplan.CarePlan, error) {
	return loadResource[careplan.CarePlan](ctx, s.pool, "care_plans", id, false)
}

// Update loads the plan under a row lock, applies change (a revision or an
// activity's status change) and stores the result with its event:
// careplan.activity-updated when change recorded an activity's status
// change, careplan.updated otherwise. A change that keeps the version writes
// nothing. An error from change aborts the write. rec, when not nil, is the
// request's audit record, stored in the same transaction.
func (s *CarePlanStore) Update(ctx context.Context, id uuid.UUID, rec *audit.Record, change func(careplan.CarePlan) (careplan.CarePlan, error)) (careplan.CarePlan, error) {
	return updateResource(ctx, s.pool, s.kind(), id, rec, change)
}

// kind is how updateResource updates a care plan: careplan.activity-updated
// when the change recorded an activity's status change, careplan.updated
// otherwise.
func (s *CarePlanStore) kind() resourceKind[careplan.CarePlan] {
	return resourceKind[careplan.CarePlan]{
		table: "care_plans", entity: entityCarePlan,
		id:      func(p careplan.CarePlan) uuid.UUID { return p.ID },
		patient: func(p careplan.CarePlan) uuid.UUID { return p.PatientID },
		version: func(p careplan.CarePlan) int { return p.Version },
		keeps: func(current, next careplan.CarePlan) string {
			switch {
			case next.ID != current.ID:
				return "id"
			case next.PatientID != current.PatientID:
				return "patient"
			}
			return ""
		},
		save: func(ctx context.Context, tx pgx.Tx, current, next careplan.CarePlan) error {
			resource, err := json.Marshal(next)
			if err != nil {
				return fmt.Errorf("encode care plan: %w", err)
			}
			_, err = tx.Exec(ctx, `
				UPDATE care_plans SET status = $2, version = $3, resource = $4, next_due_at = $5, updated_at = $6
				WHERE id = $1`,
				next.ID, string(next.Status), next.Version, resource, nextDueColumn(next), next.UpdatedAt)
			if err != nil {
				return translate(err, "update care plan "+next.ID.String())
			}
			event := EventCarePlanUpdated
			if recordedActivityChange(current, next) {
				event = EventCarePlanActivityUpdated
			}
			return s.appendCarePlanEvent(ctx, tx, event, next)
		},
	}
}

// recordedActivityChange reports whether next adds an activity status change
// to current's history.
func recordedActivityChange(current, next careplan.CarePlan) bool {
	for _, a := range next.Activities {
		before, ok := current.Activity(a.ID)
		if ok && len(a.History) > len(before.History) {
			return true
		}
	}
	return false
}

// nextDueColumn is the earliest due time of an open activity of an active
// plan, or NULL.
func nextDueColumn(p careplan.CarePlan) *time.Time {
	if due, ok := careplan.EarliestDue(p); ok {
		return &due
	}
	return nil
}

// carePlanCursor is the keyset position of List: the last plan returned.
type carePlanCursor struct {
	CreatedAt time.Time `json:"c"`
	ID        uuid.UUID `json:"i"`
}

// List returns plans newest first, one page at a time; ErrBadCursor for a
// cursor this store did not issue.
func (s *CarePlanStore) List(ctx context.Context, f careplan.Filter) (careplan.Page, error) {
	q := newPageQuery(f.Limit)
	if f.PatientID != uuid.Nil {
		q.where("patient_id = " + q.arg(f.PatientID))
	}
	if f.Status != "" {
		q.where("status = " + q.arg(string(f.Status)))
	}
	if f.Overdue {
		q.where("next_due_at <= " + q.arg(f.Now))
	}
	if f.Cursor != "" {
		pos, err := decodeCursor(f.Cursor, func(p carePlanCursor) bool { return p.ID != uuid.Nil })
		if err != nil {
			return careplan.Page{}, err
		}
		q.after("created_at", pos.CreatedAt, pos.ID)
	}
	list, err := s.query(ctx, q.sql(`SELECT resource FROM care_plans`, "created_at"), q.args...)
	if err != nil {
		return careplan.Page{}, err
	}
	var page careplan.Page
	page.CarePlans, page.Next = cutPage(q, list, func(last careplan.CarePlan) string {
		return encodeCursor(carePlanCursor{CreatedAt: last.CreatedAt, ID: last.ID})
	})
	return page, nil
}

// OverdueActivities lists the patient's overdue activity occurrences across
// active plans as of now: open activities due at or before now, earliest
// first.
func (s *CarePlanStore) OverdueActivities(ctx context.Context, patientID uuid.UUID, now time.Time) ([]careplan.OverdueActivity, error) {
	plans, err := s.query(ctx, `SELECT resource FROM care_plans
		WHERE patient_id = $1 AND status = 'active' AND next_due_at <= $2 ORDER BY next_due_at, id`, patientID, now)
	if err != nil {
		return nil, err
	}
	out := []careplan.OverdueActivity{}
	for _, p := range plans {
		out = append(out, careplan.Overdue(p, now)...)
	}
	slices.SortStableFunc(out, func(a, b careplan.OverdueActivity) int { return a.DueAt.Compare(b.DueAt) })
	return out, nil
}

func (s *CarePlanStore) query(ctx context.Context, sql string, args ...any) ([]careplan.CarePlan, error) {
	return listResources[careplan.CarePlan](ctx, s.pool, "care_plans", sql, args...)
}

func (s *CarePlanStore) appendCarePlanEvent(ctx context.Context, tx pgx.Tx, eventType string, p careplan.CarePlan) error {
	return appendResourceEvent(ctx, tx, s.newEventID, resourceEvent{
		Type: eventType, PatientID: p.PatientID, Resource: p, Time: p.UpdatedAt,
		Source: "/v1/clinical/care-plans", Subject: "CarePlan/" + p.ID.String(),
		Link: "/v1/clinical/care-plans/" + p.ID.String(),
	})
}
