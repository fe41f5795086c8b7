package postgres

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/zarish-sphere/zarish/domain"
	"github.com/zarish-sphere/zarish/domain/audit"
	"github.com/zarish-sphere/zarish/domain/subscription"
)

// entitySubscription is the audit entity type of a subscription and its
// deliveries.
const entitySubscription = "Subscription"

// SubscriptionStore keeps the outbound subscriptions and the delivery of
// each matching event to each of them (migration 00102).
type SubscriptionStore struct {
	pool  *pgxpool.Pool
	newID func() (uuid.UUID, error)
}

// NewSubscriptionStore returns a store over pool.
func NewSubscriptionStore(pool *pgxpool.Pool) *SubscriptionStore {
	return &SubscriptionStore{pool: pool, newID: uuid.NewV7}
}

const subscriptionColumns = `id, name, event_types, patient_id, COALESCE(category, ''), endpoint, secret, status,
	consecutive_failures, paused_reason, created_by, created_at, updated_at, version`

func scanSubscription(row pgx.Row) (subscription.Subscription, error) {
	var s subscription.Subscription
	err := row.Scan(&s.ID, &s.Name, &s.EventTypes, &s.PatientID, &s.Category, &s.Endpoint, &s.Secret, &s.Status,
		&s.ConsecutiveFailures, &s.PausedReason, &s.CreatedBy, &s.CreatedAt, &s.UpdatedAt, &s.Version)
	return s, err
}

func nullable(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// Create stores s (version 1) with rec, the request's audit record (when
// not nil), in one transaction.
func (s *SubscriptionStore) Create(ctx context.Context, rec *audit.Record, sub subscription.Subscription) error {
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO subscriptions (id, name, event_types, patient_id, category, endpoint, secret,
				status, paused_reason, created_by, created_at, updated_at, version)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11, 1)`,
			sub.ID, sub.Name, sub.EventTypes, sub.PatientID, nullable(sub.Category), sub.Endpoint, sub.Secret,
			sub.Status, sub.PausedReason, sub.CreatedBy, sub.CreatedAt)
		if err != nil {
			return writeError("subscription", "create", sub.ID, err)
		}
		return auditWrite(ctx, tx, rec, entitySubscription, sub.ID.String())
	})
}

// Get returns the subscription with id, or domain.ErrNotFound.
func (s *SubscriptionStore) Get(ctx context.Context, id uuid.UUID) (subscription.Subscription, error) {
	sub, err := scanSubscription(s.pool.QueryRow(ctx, `SELECT `+subscriptionColumns+` FROM subscriptions WHERE id = $1`, id))
	return sub, translate(err, "get subscription "+id.String())
}

type subscriptionCursor struct {
	CreatedAt time.Time `json:"t"`
	ID        uuid.UUID `json:"id"`
}

// List returns a page of subscriptions, newest first.
func (s *SubscriptionStore) List(ctx context.Context, f subscription.Filter) (subscription.Page, error) {
	q := newPageQuery(f.Limit)
	if f.Status != "" {
		q.where("status = " + q.arg(f.Status))
	}
	if f.Cursor != "" {
		pos, err := decodeCursor(f.Cursor, func(p subscriptionCursor) bool { return p.ID != uuid.Nil })
		if err != nil {
			return subscription.Page{}, err
		}
		q.after("created_at", pos.CreatedAt, pos.ID)
	}
	rows, err := s.pool.Query(ctx, q.sql(`SELECT `+subscriptionColumns+` FROM subscriptions`, "created_at"), q.args...)
	if err != nil {
		return subscription.Page{}, fmt.Errorf("list subscriptions: %w", err)
	}
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (subscription.Subscription, error) { return scanSubscription(r) })
	if err != nil {
		return subscription.Page{}, fmt.Errorf("list subscriptions: %w", err)
	}
	var page subscription.Page
	page.Subscriptions, page.Next = cutPage(q, list, func(last subscription.Subscription) string {
		return encodeCursor(subscriptionCursor{CreatedAt: last.CreatedAt, ID: last.ID})
	})
	return page, nil
}

// Update replaces the subscription's settings with sub's — name, event
// types, filters, endpoint, secret, status and paused reason — over
// expectedVersion, with rec in the same transaction: a stale version is
// domain.ErrVersionMismatch. Resuming (status active) clears the count of
// consecutive failures.
func (s *SubscriptionStore) Update(ctx context.Context, rec *audit.Record, sub subscription.Subscription, expectedVersion int) (subscription.Subscription, error) {
	var stored subscription.Subscription
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var version int
		err := tx.QueryRow(ctx, `SELECT version FROM subscriptions WHERE id = $1 FOR UPDATE`, sub.ID).Scan(&version)
		if err != nil {
			return translate(err, "update subscription "+sub.ID.String())
		}
		if version != expectedVersion {
			return domain.ErrVersionMismatch
		}
		stored, err = scanSubscription(tx.QueryRow(ctx, `UPDATE subscriptions SET name = $2, event_types = $3, patient_id = $4,
				category = $5, endpoint = $6, secret = $7, status = $8,
				paused_reason = CASE WHEN $8 = 'active' THEN '' ELSE $9 END,
				consecutive_failures = CASE WHEN $8 = 'active' THEN 0 ELSE consecutive_failures END,
				updated_at = $10, version = version + 1
			WHERE id = $1 RETURNING `+subscriptionColumns,
			sub.ID, sub.Name, sub.EventTypes, sub.PatientID, nullable(sub.Category), sub.Endpoint, sub.Secret,
			sub.Status, sub.PausedReason, sub.UpdatedAt))
		if err != nil {
			return writeError("subscription", "update", sub.ID, err)
		}
		return auditWrite(ctx, tx, rec, entitySubscription, sub.ID.String())
	})
	return stored, err
}

// Delete removes the subscription with id and its deliveries, with rec in
// the same transaction; an unknown id is domain.ErrNotFound.
func (s *SubscriptionStore) Delete(ctx context.Context, rec *audit.Record, id uuid.UUID) error {
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `DELETE FROM subscriptions WHERE id = $1`, id)
		if err != nil {
			return fmt.Errorf("delete subscription %s: %w", id, err)
		}
		if tag.RowsAffected() == 0 {
			return fmt.Errorf("delete subscription %s: %w", id, domain.ErrNotFound)
		}
		return auditWrite(ctx, tx, rec, entitySubscription, id.String())
	})
}

// Enqueue adds a pending delivery of ev, due at now, to every subscription
// that matches it (subscription.Matches), and returns how many it added. A
// paused subscription's deliveries are enqueued too and wait until it is
// resumed, so a receiver's outage loses no event. An event enqueued again
// (a message read twice) adds nothing: an event is delivered once per
// subscription.
func (s *SubscriptionStore) Enqueue(ctx context.Context, ev subscription.Event, now time.Time) (int, error) {
	// Every clinical event comes here: read only the subscriptions its
	// patient could match (the type's patterns are matched by Matches),
	// and write nothing, in no transaction, when none does.
	rows, err := s.pool.Query(ctx, `SELECT `+subscriptionColumns+` FROM subscriptions
		WHERE patient_id IS NULL OR patient_id = $1`, ev.PatientID)
	if err != nil {
		return 0, fmt.Errorf("enqueue event %s: %w", ev.ID, err)
	}
	subs, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (subscription.Subscription, error) { return scanSubscription(r) })
	if err != nil {
		return 0, fmt.Errorf("enqueue event %s: %w", ev.ID, err)
	}
	subs = slices.DeleteFunc(subs, func(sub subscription.Subscription) bool { return !sub.Matches(ev.Type, ev.PatientID, ev.Category) })
	if len(subs) == 0 {
		return 0, nil
	}
	added := 0
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		added = 0
		for _, sub := range subs {
			id, err := s.newID()
			if err != nil {
				return fmt.Errorf("delivery id: %w", err)
			}
			tag, err := tx.Exec(ctx, `INSERT INTO subscription_deliveries (id, subscription_id, event_id, event_type, payload,
					status, next_attempt_at, created_at, updated_at)
				VALUES ($1, $2, $3, $4, $5, 'pending', $6, $6, $6)
				ON CONFLICT (subscription_id, event_id) DO NOTHING`,
				id, sub.ID, ev.ID, ev.Type, []byte(ev.Payload), now)
			if err != nil {
				return translate(err, fmt.Sprintf("enqueue event %s for subscription %s", ev.ID, sub.ID))
			}
			added += int(tag.RowsAffected())
		}
		return nil
	})
	return added, err
}

const deliveryCols = `d.id, d.subscription_id, d.event_id, d.event_type, d.attempt, d.status, d.http_status, d.error,
	CASE WHEN d.status IN ('pending', 'failed') THEN d.next_attempt_at END, d.delivered_at, d.created_at, d.updated_at`

func scanSubscriptionDelivery(row pgx.Row, extra ...any) (subscription.Delivery, error) {
	var d subscription.Delivery
	err := row.Scan(append([]any{&d.ID, &d.SubscriptionID, &d.EventID, &d.EventType, &d.Attempt, &d.Status, &d.HTTPStatus,
		&d.Error, &d.NextAttemptAt, &d.DeliveredAt, &d.CreatedAt, &d.UpdatedAt}, extra...)...)
	return d, err
}

// Due claims up to limit deliveries of active subscriptions that are due at
// now, soonest first, and returns them with their payload, endpoint and
// secret. A claimed delivery's next attempt moves to now+lease, so no other
// deliverer claims it meanwhile (rows another is claiming are skipped, not
// waited for); RecordAttempt then sets it.
func (s *SubscriptionStore) Due(ctx context.Context, now time.Time, limit int, lease time.Duration) ([]subscription.Due, error) {
	rows, err := s.pool.Query(ctx, `WITH due AS (
			SELECT d.id FROM subscription_deliveries d JOIN subscriptions s ON s.id = d.subscription_id
			WHERE d.status IN ('pending', 'failed') AND d.next_attempt_at <= $1 AND s.status = 'active'
			ORDER BY d.next_attempt_at LIMIT $2
			FOR UPDATE OF d SKIP LOCKED)
		UPDATE subscription_deliveries d SET next_attempt_at = $3, updated_at = $1
		FROM due, subscriptions s WHERE d.id = due.id AND s.id = d.subscription_id
		RETURNING `+deliveryCols+`, d.payload, s.endpoint, s.secret`, now, limit, now.Add(lease))
	if err != nil {
		return nil, fmt.Errorf("claim due deliveries: %w", err)
	}
	due, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (subscription.Due, error) {
		var d subscription.Due
		var err error
		d.Delivery, err = scanSubscriptionDelivery(r, &d.Payload, &d.Endpoint, &d.Secret)
		return d, err
	})
	if err != nil {
		return nil, fmt.Errorf("claim due deliveries: %w", err)
	}
	return due, nil
}

// RecordAttempt stores the outcome of one attempt and keeps the
// subscription's count of consecutive failed attempts: a delivery clears
// it; a failure adds one, and the failure that brings it to pauseAfter
// pauses the subscription. paused reports that this attempt paused it.
func (s *SubscriptionStore) RecordAttempt(ctx context.Context, o subscription.Outcome, pauseAfter int) (paused bool, err error) {
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		paused = false
		var httpStatus *int
		if o.HTTPStatus != 0 {
			httpStatus = &o.HTTPStatus
		}
		next := o.At
		if o.Status == subscription.DeliveryFailed {
			next = o.NextAttemptAt
		}
		tag, err := tx.Exec(ctx, `UPDATE subscription_deliveries SET attempt = $3, status = $4, http_status = $5, error = $6,
				next_attempt_at = $7, delivered_at = CASE WHEN $4 = 'delivered' THEN $8::timestamptz END, updated_at = $8
			WHERE id = $1 AND subscription_id = $2`,
			o.DeliveryID, o.SubscriptionID, o.Attempt, o.Status, httpStatus, o.Error, next, o.At)
		if err != nil {
			return fmt.Errorf("record attempt of delivery %s: %w", o.DeliveryID, err)
		}
		if tag.RowsAffected() == 0 {
			return fmt.Errorf("record attempt of delivery %s: %w", o.DeliveryID, domain.ErrNotFound)
		}
		if o.Status == subscription.DeliveryDelivered {
			_, err := tx.Exec(ctx, `UPDATE subscriptions SET consecutive_failures = 0 WHERE id = $1 AND consecutive_failures <> 0`, o.SubscriptionID)
			if err != nil {
				return fmt.Errorf("clear failures of subscription %s: %w", o.SubscriptionID, err)
			}
			return nil
		}
		reason := strconv.Itoa(pauseAfter) + " consecutive failed deliveries; the last: " + o.Error
		err = tx.QueryRow(ctx, `UPDATE subscriptions SET consecutive_failures = consecutive_failures + 1,
				status = CASE WHEN status = 'active' AND consecutive_failures + 1 >= $2 THEN 'paused' ELSE status END,
				paused_reason = CASE WHEN status = 'active' AND consecutive_failures + 1 >= $2 THEN left($3, 500) ELSE paused_reason END,
				version = CASE WHEN status = 'active' AND consecutive_failures + 1 >= $2 THEN version + 1 ELSE version END,
				updated_at = CASE WHEN status = 'active' AND consecutive_failures + 1 >= $2 THEN $4 ELSE updated_at END
			WHERE id = $1
			RETURNING status = 'paused' AND consecutive_failures = $2`, o.SubscriptionID, pauseAfter, reason, o.At).Scan(&paused)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil // deleted meanwhile
		}
		if err != nil {
			return fmt.Errorf("count failures of subscription %s: %w", o.SubscriptionID, err)
		}
		return nil
	})
	return paused, err
}

type subscriptionDeliveryCursor struct {
	CreatedAt time.Time `json:"t"`
	ID        uuid.UUID `json:"id"`
}

// ListDeliveries returns a page of one subscription's deliveries, newest
// first, without their payloads.
func (s *SubscriptionStore) ListDeliveries(ctx context.Context, f subscription.DeliveryFilter) (subscription.DeliveryPage, error) {
	q := newPageQuery(f.Limit)
	q.where("d.subscription_id = " + q.arg(f.SubscriptionID))
	if f.Status != "" {
		q.where("d.status = " + q.arg(f.Status))
	}
	if f.Cursor != "" {
		pos, err := decodeCursor(f.Cursor, func(p subscriptionDeliveryCursor) bool { return p.ID != uuid.Nil })
		if err != nil {
			return subscription.DeliveryPage{}, err
		}
		q.after("d.created_at", pos.CreatedAt, pos.ID)
	}
	rows, err := s.pool.Query(ctx, q.sql(`SELECT `+deliveryCols+` FROM subscription_deliveries d`, "d.created_at"), q.args...)
	if err != nil {
		return subscription.DeliveryPage{}, fmt.Errorf("list deliveries of subscription %s: %w", f.SubscriptionID, err)
	}
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (subscription.Delivery, error) { return scanSubscriptionDelivery(r) })
	if err != nil {
		return subscription.DeliveryPage{}, fmt.Errorf("list deliveries of subscription %s: %w", f.SubscriptionID, err)
	}
	var page subscription.DeliveryPage
	page.Deliveries, page.Next = cutPage(q, list, func(last subscription.Delivery) string {
		return encodeCursor(subscriptionDeliveryCursor{CreatedAt: last.CreatedAt, ID: last.ID})
	})
	return page, nil
}

// Replay sets the delivery deliveryID of subscriptionID back to pending,
// due at now, with its attempts counted afresh, with rec in the same
// transaction: it is sent again (with the same event id) whatever its
// status was. An unknown pair is domain.ErrNotFound.
func (s *SubscriptionStore) Replay(ctx context.Context, rec *audit.Record, subscriptionID, deliveryID uuid.UUID, now time.Time) (subscription.Delivery, error) {
	var d subscription.Delivery
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var err error
		d, err = scanSubscriptionDelivery(tx.QueryRow(ctx, `UPDATE subscription_deliveries d SET status = 'pending', attempt = 0,
				http_status = NULL, error = '', next_attempt_at = $3, updated_at = $3
			WHERE id = $1 AND subscription_id = $2 RETURNING `+deliveryCols, deliveryID, subscriptionID, now))
		if err != nil {
			return translate(err, "replay delivery "+deliveryID.String())
		}
		if rec != nil {
			rec.Description = "replay delivery " + deliveryID.String()
		}
		return auditWrite(ctx, tx, rec, entitySubscription, subscriptionID.String())
	})
	return d, err
}
