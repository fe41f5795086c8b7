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
)

// DeliveryPending filters the delivery log for notifications still waiting
// for an attempt: NotificationQueued or NotificationFailed.
const DeliveryPending = "pending"

// entityCommunication is the audit entity type of a notification.
const entityCommunication = "Communication"

// Delivery is a notification as the delivery log shows it to an operator:
// who it is for, how it goes, where it stands and its attempt history. The
// message itself (subject and body) is left out.
type Delivery struct {
	ID             uuid.UUID `json:"id"`
	AlertID        uuid.UUID `json:"alertId"`
	PatientID      uuid.UUID `json:"patientId"`
	PractitionerID string    `json:"practitionerId"`
	RecipientName  string    `json:"recipientName,omitempty"`
	Channel        string    `json:"channel"`
	Address        string    `json:"address,omitempty"`
	Severity       string    `json:"severity"`
	Category       string    `json:"category,omitempty"`
	Level          int       `json:"level"`
	Status         string    `json:"status"`
	// Attempts counts the attempts of the current round; Round is how many
	// times the notification was requeued.
	Attempts int `json:"attempts"`
	Round    int `json:"round"`
	// NextAttemptAt is when the next attempt is due; set only while the
	// notification waits for one.
	NextAttemptAt *time.Time            `json:"nextAttemptAt,omitempty"`
	LastError     string                `json:"lastError,omitempty"`
	Receipt       string                `json:"receipt,omitempty"`
	DeliveredAt   *time.Time            `json:"deliveredAt,omitempty"`
	CreatedAt     time.Time             `json:"createdAt"`
	UpdatedAt     time.Time             `json:"updatedAt"`
	History       []NotificationAttempt `json:"history"`
}

// DeliveryFilter selects from the delivery log; zero fields do not filter.
type DeliveryFilter struct {
	// Status is a notification status or DeliveryPending.
	Status    string
	Channel   string
	AlertID   uuid.UUID
	PatientID uuid.UUID
	// From and To bound when the notification was requested: From ≤
	// createdAt < To.
	From, To time.Time
	Limit    int
	Cursor   string // Next of the previous page
}

// DeliveryPage is one page of the delivery log, newest first; Next is empty
// on the last page.
type DeliveryPage struct {
	Deliveries []Delivery
	Next       string
}

type deliveryCursor struct {
	CreatedAt time.Time `json:"t"`
	ID        uuid.UUID `json:"id"`
}

// DeliveryStateError refuses to requeue a notification that is not dead:
// it names the status the notification is in. It wraps domain.ErrConflict.
type DeliveryStateError struct {
	ID     uuid.UUID
	Status string
}

func (e *DeliveryStateError) Error() string {
	return fmt.Sprintf("notification %s is %s, not dead", e.ID, e.Status)
}

// Unwrap makes the error a domain.ErrConflict.
func (e *DeliveryStateError) Unwrap() error { return domain.ErrConflict }

const deliveryColumns = `id, alert_id, patient_id, practitioner_id, recipient_name, channel, address,
	severity, category, level, status, attempts, round,
	CASE WHEN status IN ('queued', 'failed') THEN next_attempt_at END,
	last_error, receipt, delivered_at, created_at, updated_at`

func scanDelivery(row pgx.Row) (Delivery, error) {
	var d Delivery
	err := row.Scan(&d.ID, &d.AlertID, &d.PatientID, &d.PractitionerID, &d.RecipientName, &d.Channel,
		&d.Address, &d.Severity, &d.Category, &d.Level, &d.Status, &d.Attempts, &d.Round,
		&d.NextAttemptAt, &d.LastError, &d.Receipt, &d.DeliveredAt, &d.CreatedAt, &d.UpdatedAt)
	return d, err
}

// ListDeliveries returns a page of the delivery log, newest first, each
// delivery with its attempt history.
func (s *NotificationStore) ListDeliveries(ctx context.Context, f DeliveryFilter) (DeliveryPage, error) {
	q := newPageQuery(f.Limit)
	switch f.Status {
	case "":
	case DeliveryPending:
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
			return DeliveryPage{}, err
		}
		q.after("created_at", pos.CreatedAt, pos.ID)
	}
	rows, err := s.pool.Query(ctx, q.sql(`SELECT `+deliveryColumns+` FROM notifications`, "created_at"), q.args...)
	if err != nil {
		return DeliveryPage{}, fmt.Errorf("list deliveries: %w", err)
	}
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Delivery, error) { return scanDelivery(r) })
	if err != nil {
		return DeliveryPage{}, fmt.Errorf("list deliveries: %w", err)
	}
	var page DeliveryPage
	page.Deliveries, page.Next = cutPage(q, list, func(last Delivery) string {
		return encodeCursor(deliveryCursor{CreatedAt: last.CreatedAt, ID: last.ID})
	})
	ids := make([]uuid.UUID, len(page.Deliveries))
	for i, d := range page.Deliveries {
		ids[i] = d.ID
	}
	history, err := attemptHistory(ctx, s.pool, ids)
	if err != nil {
		return DeliveryPage{}, err
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
func (s *NotificationStore) Requeue(ctx context.Context, id uuid.UUID, rec *audit.Record, by, reason string) (Delivery, error) {
	var d Delivery
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
		if status != NotificationDead {
			return &DeliveryStateError{ID: id, Status: status}
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
			VALUES ($1, $2, 0, $3, $4, $5)`, id, round, AttemptRequeued, reason, by)
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
		return Delivery{}, err
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
func attemptHistory(ctx context.Context, q rowsQuerier, ids []uuid.UUID) (map[uuid.UUID][]NotificationAttempt, error) {
	out := map[uuid.UUID][]NotificationAttempt{}
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
	var a NotificationAttempt
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
func withHistory(h []NotificationAttempt) []NotificationAttempt {
	if h == nil {
		return []NotificationAttempt{}
	}
	return h
}
