package postgres

import (
	"context"
	"errors"
	"strconv"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/zarish-sphere/zarish/domain"
	"github.com/zarish-sphere/zarish/domain/alert"
	"github.com/zarish-sphere/zarish/domain/audit"
)

// entityFlag is the audit entity type of an alert (FHIR Flag).
const entityFlag = "Flag"

// RecordAlertRaised adds the alert to the read model with its "raised" entry.
// Repeating it changes nothing.
func (s *AlertStore) RecordAlertRaised(ctx context.Context, r alert.Raise, policyID string, at time.Time) error {
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `
			INSERT INTO alerts (id, patient_id, encounter_id, unit, severity, category, source, message,
				status, policy_id, raised_at, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'open', $9, $10, $10)
			ON CONFLICT (id) DO NOTHING`,
			r.AlertID, r.PatientID, r.EncounterID, r.Unit, string(r.Severity), r.Category, r.Source, r.Message, policyID, at)
		if err != nil {
			return translate(err, "record alert raised")
		}
		if tag.RowsAffected() == 0 {
			return nil
		}
		return insertTimeline(ctx, tx, r.AlertID, "raised", alert.Event{Kind: alert.EventRaised, At: at, Note: r.Source})
	})
}

// RecordNotifications records, in one transaction, that the alert reached
// step: the escalation entry when escalated is not nil, an entry per
// notification, and each notification's notification.requested event in the
// outbox. Notification ids are stable, so a retry writes nothing twice.
func (s *AlertStore) RecordNotifications(ctx context.Context, alertID uuid.UUID, step alert.Step, escalated *alert.Event, ns []alert.Notification, at time.Time) error {
	events := make([]OutboxEvent, 0, len(ns))
	for _, n := range ns {
		e, err := notificationEvent(n)
		if err != nil {
			return err
		}
		events = append(events, e)
	}
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := lockAlert(ctx, tx, alertID); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE alerts SET level = $2, round = $3, updated_at = $4
			WHERE id = $1 AND (round, level) < ($3, $2)`, alertID, step.Level+1, step.Round, at); err != nil {
			return translate(err, "record notifications")
		}
		if escalated != nil {
			key := "escalated/" + strconv.Itoa(escalated.Level) + "/" + strconv.Itoa(escalated.Round)
			if err := insertTimeline(ctx, tx, alertID, key, *escalated); err != nil {
				return err
			}
		}
		for _, e := range alert.NotifiedEvents(ns) {
			if err := insertTimeline(ctx, tx, alertID, e.NotificationID.String(), e); err != nil {
				return err
			}
		}
		return appendOutbox(ctx, tx, events...)
	})
}

// RecordAcknowledged marks an open alert acknowledged by practitioner, with
// rec, the audit record of the request that asked (nil for none), in the
// same transaction. Repeating it changes nothing and stores no second
// record; domain.ErrNotFound for an unknown alert.
func (s *AlertStore) RecordAcknowledged(ctx context.Context, alertID, practitioner uuid.UUID, name string, at time.Time, rec *audit.Record) error {
	return s.transition(ctx, rec, alertID, "acknowledged", alert.Event{Kind: alert.EventAcknowledged, At: at, PractitionerID: practitioner, Name: name},
		`UPDATE alerts SET status = 'acknowledged', acknowledged_by = $2, acknowledged_at = $3, updated_at = $3
		 WHERE id = $1 AND status = 'open'`, practitioner, at)
}

// RecordResolved closes the alert as resolved by practitioner with a note,
// storing rec as RecordAcknowledged does. Repeating it changes nothing;
// domain.ErrNotFound for an unknown alert.
func (s *AlertStore) RecordResolved(ctx context.Context, alertID, practitioner uuid.UUID, name, note string, at time.Time, rec *audit.Record) error {
	return s.transition(ctx, rec, alertID, "resolved", alert.Event{Kind: alert.EventResolved, At: at, PractitionerID: practitioner, Name: name, Note: note},
		`UPDATE alerts SET status = 'resolved', resolved_by = $2, resolved_at = $3, resolve_note = $4,
			closed_at = $3, updated_at = $3
		 WHERE id = $1 AND status IN ('open', 'acknowledged')`, practitioner, at, note)
}

// RecordExhausted closes an alert nobody acknowledged after its policy ran out.
func (s *AlertStore) RecordExhausted(ctx context.Context, alertID uuid.UUID, at time.Time) error {
	return s.transition(ctx, nil, alertID, "exhausted", alert.Event{Kind: alert.EventExhausted, At: at},
		`UPDATE alerts SET status = 'exhausted', closed_at = $2, updated_at = $2 WHERE id = $1 AND status = 'open'`, at)
}

// transition applies update (whose $1 is the alert id) and, when it changed
// the row, appends the timeline entry under key and the audit record rec.
func (s *AlertStore) transition(ctx context.Context, rec *audit.Record, alertID uuid.UUID, key string, e alert.Event, update string, args ...any) error {
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		patient, err := lockAlert(ctx, tx, alertID)
		if err != nil {
			return err
		}
		tag, err := tx.Exec(ctx, update, append([]any{alertID}, args...)...)
		if err != nil {
			return translate(err, "record "+key)
		}
		if tag.RowsAffected() > 0 {
			if err := insertTimeline(ctx, tx, alertID, key, e); err != nil {
				return err
			}
		}
		return auditOnce(ctx, tx, rec, alertID, patient)
	})
}

// auditOnce stores rec, naming the alert, unless a retry of the same write
// stored it already (the same record id): the request the record describes
// was answered, so it has its record, once.
func auditOnce(ctx context.Context, tx pgx.Tx, rec *audit.Record, alertID, patientID uuid.UUID) error {
	if rec == nil {
		return nil
	}
	sp, err := tx.Begin(ctx)
	if err != nil {
		return translate(err, "audit savepoint")
	}
	err = auditEntity(ctx, sp, rec, entityFlag, alertID, patientID)
	if errors.Is(err, domain.ErrConflict) {
		return sp.Rollback(ctx)
	}
	if err != nil {
		_ = sp.Rollback(ctx)
		return err
	}
	return sp.Commit(ctx)
}

// lockAlert locks the alert's row and returns its patient.
func lockAlert(ctx context.Context, tx pgx.Tx, id uuid.UUID) (uuid.UUID, error) {
	var patient uuid.UUID
	err := tx.QueryRow(ctx, `SELECT patient_id FROM alerts WHERE id = $1 FOR UPDATE`, id).Scan(&patient)
	return patient, translate(err, "alert "+id.String())
}

func insertTimeline(ctx context.Context, tx pgx.Tx, alertID uuid.UUID, key string, e alert.Event) error {
	var practitioner, notification *uuid.UUID
	if e.PractitionerID != uuid.Nil {
		practitioner = &e.PractitionerID
	}
	if e.NotificationID != uuid.Nil {
		notification = &e.NotificationID
	}
	_, err := tx.Exec(ctx, `
		INSERT INTO alert_timeline (alert_id, key, kind, at, level, round, practitioner_id, name, channel, notification_id, note)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
		ON CONFLICT (alert_id, key) DO NOTHING`,
		alertID, key, string(e.Kind), e.At, e.Level, e.Round, practitioner, e.Name, string(e.Channel), notification, e.Note)
	return translate(err, "append alert timeline")
}

// closedAlertStatuses are the statuses after which nothing changes.
var closedAlertStatuses = []string{string(alert.StatusResolved), string(alert.StatusExhausted), string(alert.StatusUndeliverable)}

const alertColumns = `id, patient_id, encounter_id, unit, severity, category, source, message, status, level, round,
	policy_id, raised_at, acknowledged_by, acknowledged_at, resolved_by, resolved_at, resolve_note`

// ListAlerts returns alerts newest first, one page at a time.
func (s *AlertStore) ListAlerts(ctx context.Context, f alert.Filter) (alert.Page, error) {
	q := newPageQuery(f.Limit)
	if f.Status != "" {
		q.where("status = " + q.arg(string(f.Status)))
	}
	if f.Active {
		q.where("status <> ALL(" + q.arg(closedAlertStatuses) + ")")
	}
	if f.PatientID != uuid.Nil {
		q.where("patient_id = " + q.arg(f.PatientID))
	}
	if f.Recipient != uuid.Nil {
		q.where("EXISTS (SELECT 1 FROM notifications n WHERE n.alert_id = alerts.id AND n.practitioner_id = " + q.arg(f.Recipient.String()) + ")")
	}
	if f.Cursor != "" {
		pos, err := decodeCursor(f.Cursor, func(p alertCursor) bool { return p.ID != uuid.Nil })
		if err != nil {
			return alert.Page{}, err
		}
		q.after("raised_at", pos.RaisedAt, pos.ID)
	}
	rows, err := s.pool.Query(ctx, q.sql(`SELECT `+alertColumns+` FROM alerts`, "raised_at"), q.args...)
	if err != nil {
		return alert.Page{}, translate(err, "list alerts")
	}
	list, err := pgx.CollectRows(rows, scanAlert)
	if err != nil {
		return alert.Page{}, translate(err, "list alerts")
	}
	var page alert.Page
	page.Alerts, page.Next = cutPage(q, list, func(last alert.Record) string {
		return encodeCursor(alertCursor{RaisedAt: last.RaisedAt, ID: last.ID})
	})
	return page, nil
}

// GetAlert returns the alert with its timeline in order, or domain.ErrNotFound.
func (s *AlertStore) GetAlert(ctx context.Context, id uuid.UUID) (alert.Record, error) {
	var rec alert.Record
	err := pgx.BeginTxFunc(ctx, s.pool, pgx.TxOptions{AccessMode: pgx.ReadOnly, IsoLevel: pgx.RepeatableRead}, func(tx pgx.Tx) error {
		var err error
		rec, err = loadAlert(ctx, tx, id)
		return err
	})
	return rec, translate(err, "alert "+id.String())
}

// FindOpenAlert returns the open or acknowledged alert raised for the patient
// in category by source, or domain.ErrNotFound.
func (s *AlertStore) FindOpenAlert(ctx context.Context, patientID uuid.UUID, category, source string) (alert.Record, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+alertColumns+` FROM alerts
		WHERE patient_id = $1 AND category = $2 AND source = $3 AND status IN ('open', 'acknowledged')
		ORDER BY raised_at DESC, id DESC LIMIT 1`, patientID, category, source)
	if err != nil {
		return alert.Record{}, translate(err, "find open alert")
	}
	rec, err := pgx.CollectExactlyOneRow(rows, scanAlert)
	return rec, translate(err, "open alert")
}

// CountClosedAlerts counts the closed (resolved, exhausted, undeliverable)
// alerts raised for the patient in category by source.
func (s *AlertStore) CountClosedAlerts(ctx context.Context, patientID uuid.UUID, category, source string) (int, error) {
	var n int
	err := s.pool.QueryRow(ctx, `SELECT count(*) FROM alerts
		WHERE patient_id = $1 AND category = $2 AND source = $3 AND status = ANY ($4)`,
		patientID, category, source, closedAlertStatuses).Scan(&n)
	return n, translate(err, "count closed alerts")
}

func scanAlert(r pgx.CollectableRow) (alert.Record, error) {
	var (
		a                alert.Record
		severity, status string
	)
	err := r.Scan(&a.ID, &a.PatientID, &a.EncounterID, &a.Unit, &severity, &a.Category, &a.Source, &a.Message,
		&status, &a.Level, &a.Round, &a.PolicyID, &a.RaisedAt, &a.AcknowledgedBy, &a.AcknowledgedAt,
		&a.ResolvedBy, &a.ResolvedAt, &a.ResolveNote)
	a.Severity, a.Status = alert.Severity(severity), alert.Status(status)
	return a, err
}

// alertCursor is the keyset position of ListAlerts: the last alert returned.
type alertCursor struct {
	RaisedAt time.Time `json:"r"`
	ID       uuid.UUID `json:"i"`
}

// loadAlert reads the alert with its timeline in order inside tx.
func loadAlert(ctx context.Context, tx pgx.Tx, id uuid.UUID) (alert.Record, error) {
	rows, err := tx.Query(ctx, `SELECT `+alertColumns+` FROM alerts WHERE id = $1`, id)
	if err != nil {
		return alert.Record{}, err
	}
	rec, err := pgx.CollectExactlyOneRow(rows, scanAlert)
	if err != nil {
		return alert.Record{}, err
	}
	rows, err = tx.Query(ctx, `SELECT kind, at, level, round, practitioner_id, name, channel, notification_id, note
		FROM alert_timeline WHERE alert_id = $1 ORDER BY seq`, id)
	if err != nil {
		return alert.Record{}, err
	}
	rec.Timeline, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (alert.Event, error) {
		var (
			e                          alert.Event
			kind, channel              string
			practitioner, notification *uuid.UUID
		)
		err := r.Scan(&kind, &e.At, &e.Level, &e.Round, &practitioner, &e.Name, &channel, &notification, &e.Note)
		e.Kind, e.Channel = alert.EventKind(kind), alert.Channel(channel)
		if practitioner != nil {
			e.PractitionerID = *practitioner
		}
		if notification != nil {
			e.NotificationID = *notification
		}
		return e, err
	})
	return rec, err
}
