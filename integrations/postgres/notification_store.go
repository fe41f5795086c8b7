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
)

// Notification channels.
const (
	ChannelInApp = "inapp"
	ChannelEmail = "email"
	ChannelSMS   = "sms"
	ChannelPush  = "push"
)

// Notification statuses. Queued and failed notifications wait for an attempt
// (failed ones have had at least one); delivered and dead are final.
const (
	NotificationQueued    = "queued"
	NotificationDelivered = "delivered"
	NotificationFailed    = "failed"
	NotificationDead      = "dead"
)

// Attempt outcomes.
const (
	// AttemptDelivered: the channel took the message.
	AttemptDelivered = "delivered"
	// AttemptFailed: the attempt failed and another is scheduled.
	AttemptFailed = "failed"
	// AttemptDead: the attempt failed and no other will be made.
	AttemptDead = "dead"
	// AttemptRequeued: an operator requeued the dead notification, starting
	// a new round of attempts; it is attempt 0 of that round.
	AttemptRequeued = "requeued"
)

// inboxChannel is the PostgreSQL notification channel told about new inbox
// items; the payload is the practitioner id.
const inboxChannel = "inbox"

// DefaultClaimLease is how long a notification claimed by Due stays hidden
// from other claimers before it becomes due again (when its sender died
// before recording the attempt).
const DefaultClaimLease = 5 * time.Minute

// Notification is one message to deliver to one person over one channel.
type Notification struct {
	ID             uuid.UUID // the requesting event's notificationId
	AlertID        uuid.UUID
	PatientID      uuid.UUID
	PractitionerID string
	RecipientName  string
	Channel        string // inapp, email, sms or push
	Address        string // email address, phone number or push token; empty for inapp
	Subject        string
	Body           string
	Severity       string // info, warning, urgent or critical
	Category       string
	Level          int // escalation level
	CreatedAt      time.Time

	Status string
	// Attempts counts the attempts of the current round; Round is 0 until
	// the notification is first requeued, then one more per requeue.
	Attempts      int
	Round         int
	NextAttemptAt time.Time
	LastError     string
	Receipt       string
	DeliveredAt   *time.Time
	UpdatedAt     time.Time

	// AttemptLog lists every attempt in order; filled by Get only.
	AttemptLog []NotificationAttempt
}

// NotificationAttempt is one entry of a notification's attempt history: a
// delivery attempt, or an operator's requeue.
type NotificationAttempt struct {
	Round   int       `json:"round"`   // 0, then one more per requeue
	Attempt int       `json:"attempt"` // from 1 within its round; 0 for the requeue that began it
	At      time.Time `json:"at"`
	Outcome string    `json:"outcome"`      // AttemptDelivered, AttemptFailed, AttemptDead or AttemptRequeued
	Detail  string    `json:"detail"`       // the receipt, what went wrong, or why it was requeued
	By      string    `json:"by,omitempty"` // who requeued it
}

// AttemptResult is what one delivery attempt came to.
type AttemptResult struct {
	Outcome string // AttemptDelivered, AttemptFailed or AttemptDead
	// Detail is the receipt when delivered, else the error.
	Detail string
	// NextAttemptAt is when to try again; used when Outcome is AttemptFailed.
	NextAttemptAt time.Time
}

// NotificationStatus is a notification's delivery state, for an alert's
// timeline.
type NotificationStatus struct {
	NotificationID uuid.UUID  `json:"notificationId"`
	PractitionerID string     `json:"practitionerId"`
	Channel        string     `json:"channel"`
	Level          int        `json:"level"`
	Status         string     `json:"status"`
	Attempts       int        `json:"attempts"`
	LastError      string     `json:"lastError,omitempty"`
	DeliveredAt    *time.Time `json:"deliveredAt,omitempty"`
	CreatedAt      time.Time  `json:"createdAt"`
	UpdatedAt      time.Time  `json:"updatedAt"`
}

// InboxItem is an in-app notification in a practitioner's inbox.
type InboxItem struct {
	ID             uuid.UUID  `json:"id"`
	PractitionerID string     `json:"practitionerId"`
	NotificationID uuid.UUID  `json:"notificationId"`
	AlertID        uuid.UUID  `json:"alertId"`
	PatientID      uuid.UUID  `json:"patientId"`
	Subject        string     `json:"subject"`
	Body           string     `json:"body"`
	Severity       string     `json:"severity"`
	CreatedAt      time.Time  `json:"createdAt"`
	ReadAt         *time.Time `json:"readAt,omitempty"`
}

// InboxEvent says a practitioner's inbox has a new item.
type InboxEvent struct {
	PractitionerID string
}

// NotificationStore keeps notifications, their attempts and the in-app inbox.
type NotificationStore struct {
	pool  *pgxpool.Pool
	lease time.Duration
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
	s := &NotificationStore{pool: pool, lease: DefaultClaimLease}
	for _, o := range opts {
		o(s)
	}
	return s
}

const notificationColumns = `id, alert_id, patient_id, practitioner_id, recipient_name, channel, address,
	subject, body, severity, category, level, created_at, status, attempts, next_attempt_at,
	last_error, receipt, delivered_at, updated_at, round`

func scanNotification(row pgx.Row) (Notification, error) {
	var n Notification
	err := row.Scan(&n.ID, &n.AlertID, &n.PatientID, &n.PractitionerID, &n.RecipientName, &n.Channel,
		&n.Address, &n.Subject, &n.Body, &n.Severity, &n.Category, &n.Level, &n.CreatedAt, &n.Status,
		&n.Attempts, &n.NextAttemptAt, &n.LastError, &n.Receipt, &n.DeliveredAt, &n.UpdatedAt, &n.Round)
	return n, err
}

// Accept stores n as queued, due now, and reports whether it is new. A
// notification already stored (the same id) is left as it is, so a
// redelivered request is never delivered twice.
func (s *NotificationStore) Accept(ctx context.Context, n Notification) (bool, error) {
	if n.CreatedAt.IsZero() {
		n.CreatedAt = time.Now()
	}
	tag, err := s.pool.Exec(ctx, `
		INSERT INTO notifications (id, alert_id, patient_id, practitioner_id, recipient_name, channel,
			address, subject, body, severity, category, level, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
		ON CONFLICT (id) DO NOTHING`,
		n.ID, n.AlertID, n.PatientID, n.PractitionerID, n.RecipientName, n.Channel, n.Address,
		n.Subject, n.Body, n.Severity, n.Category, n.Level, n.CreatedAt)
	if err != nil {
		return false, fmt.Errorf("accept notification %s: %w", n.ID, err)
	}
	return tag.RowsAffected() == 1, nil
}

// Due claims up to limit notifications whose next attempt is due, oldest
// first. Claiming pushes their next attempt past the store's lease, so
// concurrent callers (other processes included) never get the same one;
// RecordAttempt or AddInboxItem then settles it.
func (s *NotificationStore) Due(ctx context.Context, limit int) ([]Notification, error) {
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
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Notification, error) { return scanNotification(r) })
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
func (s *NotificationStore) RecordAttempt(ctx context.Context, id uuid.UUID, r AttemptResult) (int, error) {
	var attempt int
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var err error
		attempt, err = recordAttempt(ctx, tx, id, r)
		return err
	})
	return attempt, err
}

func recordAttempt(ctx context.Context, tx pgx.Tx, id uuid.UUID, r AttemptResult) (int, error) {
	var status, receipt string
	next := r.NextAttemptAt
	switch r.Outcome {
	case AttemptDelivered:
		status, receipt = NotificationDelivered, r.Detail
	case AttemptFailed:
		status = NotificationFailed
		if next.IsZero() {
			next = time.Now()
		}
	case AttemptDead:
		status = NotificationDead
	default:
		return 0, fmt.Errorf("record attempt for notification %s: unknown outcome %q", id, r.Outcome)
	}
	lastError := ""
	if r.Outcome != AttemptDelivered {
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
func (s *NotificationStore) Get(ctx context.Context, id uuid.UUID) (Notification, error) {
	n, err := scanNotification(s.pool.QueryRow(ctx,
		`SELECT `+notificationColumns+` FROM notifications WHERE id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return Notification{}, fmt.Errorf("notification %s: %w", id, domain.ErrNotFound)
	}
	if err != nil {
		return Notification{}, fmt.Errorf("get notification %s: %w", id, err)
	}
	history, err := attemptHistory(ctx, s.pool, []uuid.UUID{id})
	if err != nil {
		return Notification{}, err
	}
	n.AttemptLog = history[id]
	return n, nil
}

// DeliveryStatus lists the delivery state of every notification sent for
// alertID, in the order they were requested.
func (s *NotificationStore) DeliveryStatus(ctx context.Context, alertID uuid.UUID) ([]NotificationStatus, error) {
	rows, err := s.pool.Query(ctx, `
		SELECT id, practitioner_id, channel, level, status, attempts, last_error, delivered_at,
			created_at, updated_at
		FROM notifications WHERE alert_id = $1
		ORDER BY created_at, level, id`, alertID)
	if err != nil {
		return nil, fmt.Errorf("delivery status of alert %s: %w", alertID, err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowToStructByPos[NotificationStatus])
	if err != nil {
		return nil, fmt.Errorf("delivery status of alert %s: %w", alertID, err)
	}
	return out, nil
}

// AddInboxItem delivers in-app notification id: in one transaction it puts
// the item in the practitioner's inbox, marks the notification delivered,
// records the attempt and tells inbox listeners (ListenInbox) at commit. A
// notification already delivered returns its existing item.
func (s *NotificationStore) AddInboxItem(ctx context.Context, id uuid.UUID) (InboxItem, error) {
	itemID, err := uuid.NewV7()
	if err != nil {
		return InboxItem{}, fmt.Errorf("inbox item id: %w", err)
	}
	var item InboxItem
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		n, err := scanNotification(tx.QueryRow(ctx,
			`SELECT `+notificationColumns+` FROM notifications WHERE id = $1 FOR UPDATE`, id))
		if errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("notification %s: %w", id, domain.ErrNotFound)
		}
		if err != nil {
			return fmt.Errorf("load notification %s: %w", id, err)
		}
		if n.Channel != ChannelInApp {
			return fmt.Errorf("notification %s goes by %s, not inapp: %w", id, n.Channel, domain.ErrConflict)
		}
		tag, err := tx.Exec(ctx, `
			INSERT INTO inbox_items (id, practitioner_id, notification_id, alert_id, patient_id,
				subject, body, severity)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
			ON CONFLICT (notification_id) DO NOTHING`,
			itemID, n.PractitionerID, n.ID, n.AlertID, n.PatientID, n.Subject, n.Body, n.Severity)
		if err != nil {
			return fmt.Errorf("add inbox item for notification %s: %w", id, err)
		}
		if tag.RowsAffected() == 1 {
			if _, err := recordAttempt(ctx, tx, id, AttemptResult{Outcome: AttemptDelivered, Detail: "inbox:" + itemID.String()}); err != nil {
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

const inboxColumns = `id, practitioner_id, notification_id, alert_id, patient_id, subject, body,
	severity, created_at, read_at`

func scanInboxItem(row pgx.Row) (InboxItem, error) {
	var it InboxItem
	err := row.Scan(&it.ID, &it.PractitionerID, &it.NotificationID, &it.AlertID, &it.PatientID,
		&it.Subject, &it.Body, &it.Severity, &it.CreatedAt, &it.ReadAt)
	return it, err
}

// ListInbox returns up to limit of a practitioner's inbox items, newest
// first, only unread ones when unreadOnly. cursor is empty for the first page,
// else the next cursor a previous call returned; next is empty on the last
// page.
func (s *NotificationStore) ListInbox(ctx context.Context, practitionerID string, unreadOnly bool, limit int, cursor string) (items []InboxItem, next string, err error) {
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
	items, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (InboxItem, error) { return scanInboxItem(r) })
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
func (s *NotificationStore) MarkRead(ctx context.Context, practitionerID string, itemID uuid.UUID) (InboxItem, error) {
	it, err := scanInboxItem(s.pool.QueryRow(ctx, `
		UPDATE inbox_items SET read_at = coalesce(read_at, now())
		WHERE id = $1 AND practitioner_id = $2
		RETURNING `+inboxColumns, itemID, practitionerID))
	if errors.Is(err, pgx.ErrNoRows) {
		return InboxItem{}, fmt.Errorf("inbox item %s: %w", itemID, domain.ErrNotFound)
	}
	if err != nil {
		return InboxItem{}, fmt.Errorf("mark inbox item %s read: %w", itemID, err)
	}
	return it, nil
}

// ListenInbox streams an event for each new inbox item until ctx ends, then
// closes the channel. It listens on a connection of its own, taken from the
// pool, and is listening when it returns. If that connection fails it
// reconnects; items added while it was away are not announced, so a
// consumer that must not miss any should re-read the inbox (ListInbox) when
// the stream starts and after a gap. Each call has its own connection, so a
// slow consumer holds up only itself.
func (s *NotificationStore) ListenInbox(ctx context.Context) (<-chan InboxEvent, error) {
	conn, err := s.listen(ctx)
	if err != nil {
		return nil, err
	}
	out := make(chan InboxEvent, 64)
	go func() {
		defer close(out)
		for {
			s.forward(ctx, conn, out)
			_ = conn.Close(context.Background())
			if ctx.Err() != nil {
				return
			}
			for conn = nil; conn == nil; {
				select {
				case <-ctx.Done():
					return
				case <-time.After(time.Second):
				}
				conn, _ = s.listen(ctx)
			}
		}
	}()
	return out, nil
}

// listen takes a connection out of the pool for good and listens on it.
func (s *NotificationStore) listen(ctx context.Context) (*pgx.Conn, error) {
	pc, err := s.pool.Acquire(ctx)
	if err != nil {
		return nil, fmt.Errorf("listen inbox: %w", err)
	}
	conn := pc.Hijack()
	if _, err := conn.Exec(ctx, "LISTEN "+inboxChannel); err != nil {
		_ = conn.Close(context.Background())
		return nil, fmt.Errorf("listen inbox: %w", err)
	}
	return conn, nil
}

// forward sends conn's notifications to out until ctx ends or conn fails.
func (s *NotificationStore) forward(ctx context.Context, conn *pgx.Conn, out chan<- InboxEvent) {
	for {
		n, err := conn.WaitForNotification(ctx)
		if err != nil {
			return
		}
		select {
		case out <- InboxEvent{PractitionerID: n.Payload}:
		case <-ctx.Done():
			return
		}
	}
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
