package postgres

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/zarish-sphere/zarish/domain"
	"github.com/zarish-sphere/zarish/domain/notification"
)

// inboxChannel is the PostgreSQL notification channel told about new inbox
// items; the payload is the practitioner id.
const inboxChannel = "inbox"

// DefaultClaimLease is how long a notification claimed by Due stays hidden
// from other claimers before it becomes due again (when its sender died
// before recording the attempt).
const DefaultClaimLease = 5 * time.Minute

// NotificationStore keeps notifications, their attempts and the in-app inbox.
type NotificationStore struct {
	pool  *pgxpool.Pool
	lease time.Duration
	// hub shares one LISTEN connection among every inbox listener of
	// this store.
	hub *inboxHub
}

// NotificationStoreOption configures NewNotificationStore.
type NotificationStoreOption func(*NotificationStore)

// WithClaimLease sets how long a claimed notification stays hidden from other
// claimers (DefaultClaimLease by default). It must outlast a send.
func WithClaimLease(d time.Duration) NotificationStoreOption {
	return func(s *NotificationStore) {
		if d > 0 {
			s.lease = d
		}
	}
}

// NewNotificationStore returns a store on pool.
func NewNotificationStore(pool *pgxpool.Pool, opts ...NotificationStoreOption) *NotificationStore {
	s := &NotificationStore{pool: pool, lease: DefaultClaimLease, hub: newInboxHub(pool)}
	for _, o := range opts {
		o(s)
	}
	return s
}

const notificationColumns = `id, alert_id, about, patient_id, practitioner_id, recipient_name, channel, address,
	subject, body, severity, category, level, created_at, status, attempts, next_attempt_at,
	last_error, receipt, delivered_at, updated_at, round`

func scanNotification(row pgx.Row) (notification.Notification, error) {
	var n notification.Notification
	err := row.Scan(&n.ID, &n.AlertID, &n.About, &n.PatientID, &n.PractitionerID, &n.RecipientName, &n.Channel,
		&n.Address, &n.Subject, &n.Body, &n.Severity, &n.Category, &n.Level, &n.CreatedAt, &n.Status,
		&n.Attempts, &n.NextAttemptAt, &n.LastError, &n.Receipt, &n.DeliveredAt, &n.UpdatedAt, &n.Round)
	return n, err
}

// Accept stores n as queued, due now, and reports whether it is new. A
// notification already stored (the same id) is left as it is, so a
// redelivered request is never delivered twice.
func (s *NotificationStore) Accept(ctx context.Context, n notification.Notification) (bool, error) {
	if n.CreatedAt.IsZero() {
		n.CreatedAt = time.Now()
	}
	tag, err := s.pool.Exec(ctx, `
		INSERT INTO notifications (id, alert_id, patient_id, practitioner_id, recipient_name, channel,
			address, subject, body, severity, category, level, created_at, about)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)
		ON CONFLICT (id) DO NOTHING`,
		n.ID, n.AlertID, n.PatientID, n.PractitionerID, n.RecipientName, n.Channel, n.Address,
		n.Subject, n.Body, n.Severity, n.Category, n.Level, n.CreatedAt, n.About)
	if err != nil {
		return false, fmt.Errorf("accept notification %s: %w", n.ID, err)
	}
	return tag.RowsAffected() == 1, nil
}

// Due claims up to limit notifications whose next attempt is due, oldest
// first. Claiming pushes their next attempt past the store's lease, so
// concurrent callers (other processes included) never get the same one;
// RecordAttempt or AddInboxItem then settles it.
func (s *NotificationStore) Due(ctx context.Context, limit int) ([]notification.Notification, error) {
	if limit <= 0 {
		limit = 100
	}
	rows, err := s.pool.Query(ctx, `
		WITH due AS (
			SELECT id FROM notifications
			WHERE status IN ('queued', 'failed') AND next_attempt_at <= now()
			ORDER BY next_attempt_at
			LIMIT $1
			FOR UPDATE SKIP LOCKED
		)
		UPDATE notifications n
		SET next_attempt_at = now() + $2::interval
		FROM due WHERE n.id = due.id
		RETURNING `+prefixColumns("n.", notificationColumns),
		limit, s.lease)
	if err != nil {
		return nil, fmt.Errorf("claim due notifications: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (notification.Notification, error) { return scanNotification(r) })
	if err != nil {
		return nil, fmt.Errorf("claim due notifications: %w", err)
	}
	return out, nil
}

// NextDue returns when the earliest waiting notification is due; ok is false
// when none waits.
func (s *NotificationStore) NextDue(ctx context.Context) (at time.Time, ok bool, err error) {
	var next *time.Time
	err = s.pool.QueryRow(ctx, `
		SELECT min(next_attempt_at) FROM notifications WHERE status IN ('queued', 'failed')`).Scan(&next)
	if err != nil {
		return time.Time{}, false, fmt.Errorf("next due notification: %w", err)
	}
	if next == nil {
		return time.Time{}, false, nil
	}
	return *next, true, nil
}

// QueueDepth counts notifications waiting to be delivered.
func (s *NotificationStore) QueueDepth(ctx context.Context) (int64, error) {
	var n int64
	err := s.pool.QueryRow(ctx, `
		SELECT count(*) FROM notifications WHERE status IN ('queued', 'failed')`).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("notification queue depth: %w", err)
	}
	return n, nil
}

// RecordAttempt records an attempt to deliver notification id and moves it
// on: delivered (Detail is the receipt), failed with another attempt at
// NextAttemptAt, or dead. It returns the attempt's number within its round.
// A notification
// that is already delivered or dead is not changed: the result is
// domain.ErrConflict, or domain.ErrNotFound when there is no such
// notification.
func (s *NotificationStore) RecordAttempt(ctx context.Context, id uuid.UUID, r notification.AttemptResult) (int, error) {
	var attempt int
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var err error
		attempt, err = recordAttempt(ctx, tx, id, r)
		return err
	})
	return attempt, err
}

func recordAttempt(ctx context.Context, tx pgx.Tx, id uuid.UUID, r notification.AttemptResult) (int, error) {
	var status, receipt string
	next := r.NextAttemptAt
	switch r.Outcome {
	case notification.AttemptDelivered:
		status, receipt = notification.StatusDelivered, r.Detail
	case notification.AttemptFailed:
		status = notification.StatusFailed
		if next.IsZero() {
			next = time.Now()
		}
	case notification.AttemptDead:
		status = notification.StatusDead
	default:
		return 0, fmt.Errorf("record attempt for notification %s: unknown outcome %q", id, r.Outcome)
	}
	lastError := ""
	if r.Outcome != notification.AttemptDelivered {
		lastError = r.Detail
	}
	var attempt, round int
	err := tx.QueryRow(ctx, `
		UPDATE notifications SET
			status = $2,
			attempts = attempts + 1,
			next_attempt_at = CASE WHEN $2 = 'failed' THEN $3::timestamptz ELSE next_attempt_at END,
			last_error = $4,
			receipt = $5,
			delivered_at = CASE WHEN $2 = 'delivered' THEN now() ELSE delivered_at END,
			updated_at = now()
		WHERE id = $1 AND status IN ('queued', 'failed')
		RETURNING attempts, round`,
		id, status, next, lastError, receipt).Scan(&attempt, &round)
	if errors.Is(err, pgx.ErrNoRows) {
		var current string
		err := tx.QueryRow(ctx, `SELECT status FROM notifications WHERE id = $1`, id).Scan(&current)
		if errors.Is(err, pgx.ErrNoRows) {
			return 0, fmt.Errorf("notification %s: %w", id, domain.ErrNotFound)
		}
		if err != nil {
			return 0, fmt.Errorf("record attempt for notification %s: %w", id, err)
		}
		return 0, fmt.Errorf("notification %s is already %s: %w", id, current, domain.ErrConflict)
	}
	if err != nil {
		return 0, fmt.Errorf("record attempt for notification %s: %w", id, err)
	}
	_, err = tx.Exec(ctx, `
		INSERT INTO notification_attempts (notification_id, round, attempt, outcome, detail)
		VALUES ($1, $2, $3, $4, $5)`, id, round, attempt, r.Outcome, r.Detail)
	if err != nil {
		return 0, fmt.Errorf("record attempt %d for notification %s: %w", attempt, id, err)
	}
	return attempt, nil
}

// Get returns notification id with its attempt history (every attempt and
// requeue, in order), or domain.ErrNotFound.
func (s *NotificationStore) Get(ctx context.Context, id uuid.UUID) (notification.Notification, error) {
	n, err := scanNotification(s.pool.QueryRow(ctx,
		`SELECT `+notificationColumns+` FROM notifications WHERE id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return notification.Notification{}, fmt.Errorf("notification %s: %w", id, domain.ErrNotFound)
	}
	if err != nil {
		return notification.Notification{}, fmt.Errorf("get notification %s: %w", id, err)
	}
	history, err := attemptHistory(ctx, s.pool, []uuid.UUID{id})
	if err != nil {
		return notification.Notification{}, err
	}
	n.AttemptLog = history[id]
	return n, nil
}

// DeliveryStatus lists the delivery state of every notification sent for
// alertID, in the order they were requested.
func (s *NotificationStore) DeliveryStatus(ctx context.Context, alertID uuid.UUID) ([]notification.Status, error) {
	rows, err := s.pool.Query(ctx, `
		SELECT id, practitioner_id, channel, level, status, attempts, last_error, delivered_at,
			created_at, updated_at
		FROM notifications WHERE alert_id = $1
		ORDER BY created_at, level, id`, alertID)
	if err != nil {
		return nil, fmt.Errorf("delivery status of alert %s: %w", alertID, err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowToStructByPos[notification.Status])
	if err != nil {
		return nil, fmt.Errorf("delivery status of alert %s: %w", alertID, err)
	}
	return out, nil
}

// AddInboxItem delivers in-app notification id: in one transaction it puts
// the item in the practitioner's inbox, marks the notification delivered,
// records the attempt and tells inbox listeners (ListenInbox) at commit. A
// notification already delivered returns its existing item.
func (s *NotificationStore) AddInboxItem(ctx context.Context, id uuid.UUID) (notification.InboxItem, error) {
	itemID, err := uuid.NewV7()
	if err != nil {
		return notification.InboxItem{}, fmt.Errorf("inbox item id: %w", err)
	}
	var item notification.InboxItem
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		n, err := scanNotification(tx.QueryRow(ctx,
			`SELECT `+notificationColumns+` FROM notifications WHERE id = $1 FOR UPDATE`, id))
		if errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("notification %s: %w", id, domain.ErrNotFound)
		}
		if err != nil {
			return fmt.Errorf("load notification %s: %w", id, err)
		}
		if n.Channel != notification.ChannelInApp {
			return fmt.Errorf("notification %s goes by %s, not inapp: %w", id, n.Channel, domain.ErrConflict)
		}
		tag, err := tx.Exec(ctx, `
			INSERT INTO inbox_items (id, practitioner_id, notification_id, alert_id, patient_id,
				subject, body, severity, about)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
			ON CONFLICT (notification_id) DO NOTHING`,
			itemID, n.PractitionerID, n.ID, n.AlertID, n.PatientID, n.Subject, n.Body, n.Severity, n.About)
		if err != nil {
			return fmt.Errorf("add inbox item for notification %s: %w", id, err)
		}
		if tag.RowsAffected() == 1 {
			if _, err := recordAttempt(ctx, tx, id, notification.AttemptResult{Outcome: notification.AttemptDelivered, Detail: "inbox:" + itemID.String()}); err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, `SELECT pg_notify($1, $2)`, inboxChannel, n.PractitionerID); err != nil {
				return fmt.Errorf("notify inbox: %w", err)
			}
		}
		item, err = scanInboxItem(tx.QueryRow(ctx,
			`SELECT `+inboxColumns+` FROM inbox_items WHERE notification_id = $1`, id))
		if err != nil {
			return fmt.Errorf("read inbox item for notification %s: %w", id, err)
		}
		return nil
	})
	return item, err
}

const inboxColumns = `id, practitioner_id, notification_id, alert_id, about, patient_id, subject, body,
	severity, created_at, read_at`

func scanInboxItem(row pgx.Row) (notification.InboxItem, error) {
	var it notification.InboxItem
	err := row.Scan(&it.ID, &it.PractitionerID, &it.NotificationID, &it.AlertID, &it.About, &it.PatientID,
		&it.Subject, &it.Body, &it.Severity, &it.CreatedAt, &it.ReadAt)
	return it, err
}

// ListInbox returns up to limit of a practitioner's inbox items, newest
// first, only unread ones when unreadOnly. cursor is empty for the first page,
// else the next cursor a previous call returned; next is empty on the last
// page.
func (s *NotificationStore) ListInbox(ctx context.Context, practitionerID string, unreadOnly bool, limit int, cursor string) (items []notification.InboxItem, next string, err error) {
	if limit <= 0 || limit > 500 {
		limit = 50
	}
	var after *uuid.UUID
	if cursor != "" {
		c, err := uuid.Parse(cursor)
		if err != nil {
			return nil, "", &domain.ValidationError{Fields: []domain.FieldError{{Field: "cursor", Message: "invalid cursor"}}}
		}
		after = &c
	}
	rows, err := s.pool.Query(ctx, `
		SELECT `+inboxColumns+` FROM inbox_items
		WHERE practitioner_id = $1
			AND ($2::bool IS FALSE OR read_at IS NULL)
			AND ($3::uuid IS NULL OR id < $3)
		ORDER BY id DESC
		LIMIT $4`, practitionerID, unreadOnly, after, limit+1)
	if err != nil {
		return nil, "", fmt.Errorf("list inbox: %w", err)
	}
	items, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (notification.InboxItem, error) { return scanInboxItem(r) })
	if err != nil {
		return nil, "", fmt.Errorf("list inbox: %w", err)
	}
	if len(items) > limit {
		items = items[:limit]
		next = items[limit-1].ID.String()
	}
	return items, next, nil
}

// MarkRead marks a practitioner's inbox item read (keeping the first read
// time) and returns it; another practitioner's item is domain.ErrNotFound.
func (s *NotificationStore) MarkRead(ctx context.Context, practitionerID string, itemID uuid.UUID) (notification.InboxItem, error) {
	it, err := scanInboxItem(s.pool.QueryRow(ctx, `
		UPDATE inbox_items SET read_at = coalesce(read_at, now())
		WHERE id = $1 AND practitioner_id = $2
		RETURNING `+inboxColumns, itemID, practitionerID))
	if errors.Is(err, pgx.ErrNoRows) {
		return notification.InboxItem{}, fmt.Errorf("inbox item %s: %w", itemID, domain.ErrNotFound)
	}
	if err != nil {
		return notification.InboxItem{}, fmt.Errorf("mark inbox item %s read: %w", itemID, err)
	}
	return it, nil
}

// ListenInbox streams an event for each new inbox item, of every
// practitioner, until ctx ends, then closes the channel; it is listening
// when it returns. All listeners of the store share one connection (see
// SubscribeInbox). The channel holds up to 64 events: a consumer further
// behind misses announcements, and so does one while the connection is
// being replaced after a failure, so a consumer that must not miss any
// should re-read the inbox (ListInbox) when the stream starts and after a
// gap.
func (s *NotificationStore) ListenInbox(ctx context.Context) (<-chan notification.InboxEvent, error) {
	return s.hub.subscribe(ctx, "")
}

// SubscribeInbox wakes the caller whenever practitionerID's inbox gets a new
// item, until ctx ends, then closes the channel; it is listening when it
// returns. Every subscriber of the store, however many live streams there
// are, shares one PostgreSQL connection, opened for the first and closed
// after the last. Wake-ups coalesce (the channel holds one), and one is sent
// after the connection was replaced following a failure: on each, re-read
// the inbox.
func (s *NotificationStore) SubscribeInbox(ctx context.Context, practitionerID string) (<-chan notification.InboxEvent, error) {
	if practitionerID == "" {
		return nil, fmt.Errorf("subscribe to inbox: %w", &domain.ValidationError{Fields: []domain.FieldError{{Field: "practitionerId", Message: "is required"}}})
	}
	return s.hub.subscribe(ctx, practitionerID)
}

func prefixColumns(prefix, cols string) string {
	parts := strings.Split(cols, ",")
	for i, p := range parts {
		parts[i] = prefix + strings.TrimSpace(p)
	}
	return strings.Join(parts, ", ")
}

// Release hands a claimed notification back without recording an attempt
// (its sender stopped before trying), so it is due again at once.
func (s *NotificationStore) Release(ctx context.Context, id uuid.UUID) error {
	_, err := s.pool.Exec(ctx, `
		UPDATE notifications SET next_attempt_at = now()
		WHERE id = $1 AND status IN ('queued', 'failed')`, id)
	if err != nil {
		return fmt.Errorf("release notification %s: %w", id, err)
	}
	return nil
}
