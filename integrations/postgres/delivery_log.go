package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/zarish-sphere/zarish/domain"
	"github.com/zarish-sphere/zarish/domain/audit"
	"github.com/zarish-sphere/zarish/domain/notification"
)

// entityCommunication is the audit entity type of a notification.
const entityCommunication = "Communication"

type deliveryCursor struct {
	CreatedAt time.Time `json:"t"`
	ID        uuid.UUID `json:"id"`
}

const deliveryColumns = `id, alert_id, patient_id, practitioner_id, recipient_name, channel, address,
	severity, category, level, status, attempts, round,
	CASE WHEN status IN ('queued', 'failed') THEN next_attempt_at END,
	last_error, receipt, delivered_at, created_at, updated_at`

func scanDelivery(row pgx.Row) (notification.Delivery, error) {
	var d notification.Delivery
	err := row.Scan(&d.ID, &d.AlertID, &d.PatientID, &d.PractitionerID, &d.RecipientName, &d.Channel,
		&d.Address, &d.Severity, &d.Category, &d.Level, &d.Status, &d.Attempts, &d.Round,
		&d.NextAttemptAt, &d.LastError, &d.Receipt, &d.DeliveredAt, &d.CreatedAt, &d.UpdatedAt)
	return d, err
}

// ListDeliveries returns a page of the delivery log, newest first, each
// delivery with its attempt history.
func (s *NotificationStore) ListDeliveries(ctx context.Context, f notification.Filter) (notification.Page, error) {
	q := newPageQuery(f.Limit)
	switch f.Status {
	case "":
	case notification.Pending:
		q.where("status IN ('queued', 'failed')")
	default:
		q.where("status = " + q.arg(f.Status))
	}
	if f.Channel != "" {
		q.where("channel = " + q.arg(f.Channel))
	}
	if f.AlertID != uuid.Nil {
		q.where("alert_id = " + q.arg(f.AlertID))
	}
	if f.PatientID != uuid.Nil {
		q.where("patient_id = " + q.arg(f.PatientID))
	}
	q.within("created_at", f.From, f.To)
	if f.Cursor != "" {
		pos, err := decodeCursor(f.Cursor, func(p deliveryCursor) bool { return p.ID != uuid.Nil })
		if err != nil {
			return notification.Page{}, err
		}
		q.after("created_at", pos.CreatedAt, pos.ID)
	}
	rows, err := s.pool.Query(ctx, q.sql(`SELECT `+deliveryColumns+` FROM notifications`, "created_at"), q.args...)
	if err != nil {
		return notification.Page{}, fmt.Errorf("list deliveries: %w", err)
	}
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (notification.Delivery, error) { return scanDelivery(r) })
	if err != nil {
		return notification.Page{}, fmt.Errorf("list deliveries: %w", err)
	}
	var page notification.Page
	page.Deliveries, page.Next = cutPage(q, list, func(last notification.Delivery) string {
		return encodeCursor(deliveryCursor{CreatedAt: last.CreatedAt, ID: last.ID})
	})
	ids := make([]uuid.UUID, len(page.Deliveries))
	for i, d := range page.Deliveries {
		ids[i] = d.ID
	}
	history, err := attemptHistory(ctx, s.pool, ids)
	if err != nil {
		return notification.Page{}, err
	}
	for i := range page.Deliveries {
		page.Deliveries[i].History = withHistory(history[page.Deliveries[i].ID])
	}
	return page, nil
}

// Requeue gives dead notification id another round of attempts: in one
// transaction it makes the notification queued and due now with no attempts
// in the new round, adds the requeue (by whom, why) to its attempt history,
// and stores rec, the request's audit record, when not nil. Delivery
// dispatchers find it by polling for due notifications, as they find a
// retry. A notification that is not dead is left as it is and refused with
// a *DeliveryStateError; an unknown one is domain.ErrNotFound.
func (s *NotificationStore) Requeue(ctx context.Context, id uuid.UUID, rec *audit.Record, by, reason string) (notification.Delivery, error) {
	var d notification.Delivery
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var status string
		var patientID uuid.UUID
		err := tx.QueryRow(ctx, `SELECT status, patient_id FROM notifications WHERE id = $1 FOR UPDATE`, id).
			Scan(&status, &patientID)
		if errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("notification %s: %w", id, domain.ErrNotFound)
		}
		if err != nil {
			return fmt.Errorf("requeue notification %s: %w", id, err)
		}
		if status != notification.StatusDead {
			return &notification.StateError{ID: id, Status: status}
		}
		var round int
		err = tx.QueryRow(ctx, `
			UPDATE notifications SET
				status = 'queued', attempts = 0, round = round + 1, next_attempt_at = now(),
				last_error = '', updated_at = now()
			WHERE id = $1
			RETURNING round`, id).Scan(&round)
		if err != nil {
			return fmt.Errorf("requeue notification %s: %w", id, err)
		}
		_, err = tx.Exec(ctx, `
			INSERT INTO notification_attempts (notification_id, round, attempt, outcome, detail, actor)
			VALUES ($1, $2, 0, $3, $4, $5)`, id, round, notification.AttemptRequeued, reason, by)
		if err != nil {
			return fmt.Errorf("record requeue of notification %s: %w", id, err)
		}
		if err := auditEntity(ctx, tx, rec, entityCommunication, id, patientID); err != nil {
			return err
		}
		if d, err = scanDelivery(tx.QueryRow(ctx, `SELECT `+deliveryColumns+` FROM notifications WHERE id = $1`, id)); err != nil {
			return fmt.Errorf("read requeued notification %s: %w", id, err)
		}
		history, err := attemptHistory(ctx, tx, []uuid.UUID{id})
		if err != nil {
			return err
		}
		d.History = withHistory(history[id])
		return nil
	})
	if err != nil {
		return notification.Delivery{}, err
	}
	return d, nil
}

// DeadLetters counts the dead notifications waiting for an operator, by
// channel.
func (s *NotificationStore) DeadLetters(ctx context.Context) (map[string]int64, error) {
	rows, err := s.pool.Query(ctx, `SELECT channel, count(*) FROM notifications WHERE status = 'dead' GROUP BY channel`)
	if err != nil {
		return nil, fmt.Errorf("count dead notifications: %w", err)
	}
	out := map[string]int64{}
	var channel string
	var n int64
	_, err = pgx.ForEachRow(rows, []any{&channel, &n}, func() error {
		out[channel] = n
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("count dead notifications: %w", err)
	}
	return out, nil
}

// attemptHistory reads the attempt histories of notifications ids, each in
// order.
func attemptHistory(ctx context.Context, q rowsQuerier, ids []uuid.UUID) (map[uuid.UUID][]notification.Attempt, error) {
	out := map[uuid.UUID][]notification.Attempt{}
	if len(ids) == 0 {
		return out, nil
	}
	rows, err := q.Query(ctx, `
		SELECT notification_id, round, attempt, at, outcome, detail, actor FROM notification_attempts
		WHERE notification_id = ANY($1) ORDER BY notification_id, round, attempt`, ids)
	if err != nil {
		return nil, fmt.Errorf("read attempt history: %w", err)
	}
	var id uuid.UUID
	var a notification.Attempt
	_, err = pgx.ForEachRow(rows, []any{&id, &a.Round, &a.Attempt, &a.At, &a.Outcome, &a.Detail, &a.By}, func() error {
		out[id] = append(out[id], a)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read attempt history: %w", err)
	}
	return out, nil
}

// withHistory is h, or an empty list when there is none.
func withHistory(h []notification.Attempt) []notification.Attempt {
	if h == nil {
		return []notification.Attempt{}
	}
	return h
}
