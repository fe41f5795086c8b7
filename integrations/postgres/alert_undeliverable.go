package postgres

import (
	"context"
	"strconv"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/zarish-sphere/zarish/domain/alert"
)

// RecordUnreachable records, in one transaction, that the alert reached step
// and found nobody to notify there: the escalation entry when escalated is
// not nil, and the unreachable entry whose note names who was missing. The
// alert's level moves to the step, as it does when someone is notified.
// Repeating it changes nothing.
func (s *AlertStore) RecordUnreachable(ctx context.Context, alertID uuid.UUID, step alert.Step, escalated *alert.Event, unreachable alert.Event) error {
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := lockAlert(ctx, tx, alertID); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE alerts SET level = $2, round = $3, updated_at = $4
			WHERE id = $1 AND (round, level) < ($3, $2)`, alertID, step.Level+1, step.Round, unreachable.At); err != nil {
			return translate(err, "record unreachable level")
		}
		if escalated != nil {
			key := "escalated/" + strconv.Itoa(escalated.Level) + "/" + strconv.Itoa(escalated.Round)
			if err := insertTimeline(ctx, tx, alertID, key, *escalated); err != nil {
				return err
			}
		}
		key := "unreachable/" + strconv.Itoa(step.Level+1) + "/" + strconv.Itoa(step.Round)
		return insertTimeline(ctx, tx, alertID, key, unreachable)
	})
}

// RecordUndeliverable closes an open alert as undeliverable, in one
// transaction: the status, the timeline entry e, and each fallback
// notification with its notification.requested event in the outbox (the
// operator alarm, delivered like every notification). Repeating it changes
// nothing.
func (s *AlertStore) RecordUndeliverable(ctx context.Context, alertID uuid.UUID, e alert.Event, ns []alert.Notification) error {
	events := make([]OutboxEvent, 0, len(ns))
	for _, n := range ns {
		ev, err := notificationEvent(n)
		if err != nil {
			return err
		}
		events = append(events, ev)
	}
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := lockAlert(ctx, tx, alertID); err != nil {
			return err
		}
		tag, err := tx.Exec(ctx, `UPDATE alerts SET status = 'undeliverable', closed_at = $2, updated_at = $2
			WHERE id = $1 AND status = 'open'`, alertID, e.At)
		if err != nil {
			return translate(err, "record undeliverable")
		}
		if tag.RowsAffected() == 0 {
			return nil
		}
		if err := insertTimeline(ctx, tx, alertID, "undeliverable", e); err != nil {
			return err
		}
		for _, n := range alert.NotifiedEvents(ns) {
			if err := insertTimeline(ctx, tx, alertID, n.NotificationID.String(), n); err != nil {
				return err
			}
		}
		return appendOutbox(ctx, tx, events...)
	})
}
