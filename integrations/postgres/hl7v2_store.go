package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/zarish-sphere/zarish/domain"
	"github.com/zarish-sphere/zarish/domain/hl7message"
)

// HL7v2Store keeps the HL7 v2 messages hospital systems send: each is
// stored before it is acknowledged, and a sender's duplicate is told apart
// by its sender and control id.
type HL7v2Store struct {
	pool  *pgxpool.Pool
	newID func() (uuid.UUID, error)
	now   func() time.Time
}

// NewHL7v2Store returns the message store over pool.
func NewHL7v2Store(pool *pgxpool.Pool) *HL7v2Store {
	return &HL7v2Store{pool: pool, newID: uuid.NewV7, now: time.Now}
}

const hl7v2Columns = `id, sender, control_id, message_type, version, charset, raw, transport, received_at, received,
	coalesce(outcome, ''), problems, applied, processed_at, replays`

// Receive stores m (its ID, ReceivedAt and Received are set here) unless
// its sender already sent its control id: then it counts the message as
// received again and returns the first one, with first false. A message
// without a control id is always stored anew. When Receive returns without
// an error the message is durable, and may be acknowledged.
func (s *HL7v2Store) Receive(ctx context.Context, m hl7message.Message) (stored hl7message.Message, first bool, err error) {
	id, err := s.newID()
	if err != nil {
		return stored, false, fmt.Errorf("message id: %w", err)
	}
	problems, applied, err := encodeOutcome(m)
	if err != nil {
		return stored, false, err
	}
	now := s.now().UTC()
	var (
		outcome   *string
		processed *time.Time
	)
	if m.Outcome != "" {
		o := string(m.Outcome)
		outcome, processed = &o, &now
	}
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		// A duplicate: counted, and the first one answered.
		if m.ControlID != "" {
			row := tx.QueryRow(ctx, `UPDATE hl7v2_messages SET received = received + 1
				WHERE sender = $1 AND control_id = $2 RETURNING `+hl7v2Columns, m.Sender, m.ControlID)
			stored, err = scanHL7v2(row)
			if err == nil {
				return nil
			}
			if !errors.Is(err, domain.ErrNotFound) {
				return err
			}
		}
		row := tx.QueryRow(ctx, `INSERT INTO hl7v2_messages (id, sender, control_id, message_type, version, charset, raw, transport,
				received_at, outcome, problems, applied, processed_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
			ON CONFLICT (sender, control_id) WHERE control_id <> '' DO UPDATE SET received = hl7v2_messages.received + 1
			RETURNING `+hl7v2Columns+`, (xmax = 0)`,
			id, m.Sender, m.ControlID, m.MessageType, m.Version, m.Charset, m.Raw, string(m.Transport), now, outcome, problems, applied, processed)
		stored, first, err = scanHL7v2Inserted(row)
		return err
	})
	if err != nil {
		return hl7message.Message{}, false, translate(err, "receive HL7 v2 message")
	}
	return stored, first, nil
}

// Processed records the outcome of applying message id: its problems and
// what it became. A replay adds to the replays it counts.
func (s *HL7v2Store) Processed(ctx context.Context, id uuid.UUID, m hl7message.Message, replay bool) (hl7message.Message, error) {
	if !m.Outcome.Valid() {
		return hl7message.Message{}, &domain.ValidationError{Fields: []domain.FieldError{{Field: "outcome", Message: "must be AA, AE or AR"}}}
	}
	problems, applied, err := encodeOutcome(m)
	if err != nil {
		return hl7message.Message{}, err
	}
	inc := 0
	if replay {
		inc = 1
	}
	row := s.pool.QueryRow(ctx, `UPDATE hl7v2_messages SET outcome = $2, problems = $3, applied = $4, processed_at = $5,
			replays = replays + $6 WHERE id = $1 RETURNING `+hl7v2Columns,
		id, string(m.Outcome), problems, applied, s.now().UTC(), inc)
	return scanHL7v2(row)
}

// Get returns message id, raw bytes included.
func (s *HL7v2Store) Get(ctx context.Context, id uuid.UUID) (hl7message.Message, error) {
	return scanHL7v2(s.pool.QueryRow(ctx, `SELECT `+hl7v2Columns+` FROM hl7v2_messages WHERE id = $1`, id))
}

// hl7v2Cursor is the position after which a page of messages starts.
type hl7v2Cursor struct {
	At time.Time `json:"at"`
	ID uuid.UUID `json:"id"`
}

// List returns the messages f selects, newest first, without their raw
// bytes, and the cursor of the next page ("" on the last).
func (s *HL7v2Store) List(ctx context.Context, f hl7message.Filter) ([]hl7message.Message, string, error) {
	q := newPageQuery(f.Limit)
	if f.Sender != "" {
		q.where("sender = " + q.arg(f.Sender))
	}
	if f.MessageType != "" {
		q.where("message_type = " + q.arg(f.MessageType))
	}
	if f.Outcome != "" {
		q.where("outcome = " + q.arg(string(f.Outcome)))
	}
	if f.ControlID != "" {
		q.where("control_id = " + q.arg(f.ControlID))
	}
	c, err := decodeCursor(f.Cursor, func(c hl7v2Cursor) bool { return c.ID != uuid.Nil })
	if err != nil {
		return nil, "", err
	}
	if c != nil {
		q.after("received_at", c.At, c.ID)
	}
	rows, err := s.pool.Query(ctx, q.sql(`SELECT `+hl7v2Columns+` FROM hl7v2_messages`, "received_at"), q.args...)
	if err != nil {
		return nil, "", translate(err, "list HL7 v2 messages")
	}
	defer rows.Close()
	var out []hl7message.Message
	for rows.Next() {
		m, err := scanHL7v2(rows)
		if err != nil {
			return nil, "", err
		}
		m.Raw = nil
		out = append(out, m)
	}
	if err := rows.Err(); err != nil {
		return nil, "", translate(err, "list HL7 v2 messages")
	}
	page, next := cutPage(q, out, func(last hl7message.Message) string {
		return encodeCursor(hl7v2Cursor{At: last.ReceivedAt, ID: last.ID})
	})
	if page == nil {
		page = []hl7message.Message{}
	}
	return page, next, nil
}

func encodeOutcome(m hl7message.Message) ([]byte, []byte, error) {
	problems, err := json.Marshal(emptyIfNil(m.Problems))
	if err != nil {
		return nil, nil, fmt.Errorf("encode problems: %w", err)
	}
	applied, err := json.Marshal(emptyIfNil(m.Applied))
	if err != nil {
		return nil, nil, fmt.Errorf("encode applied: %w", err)
	}
	return problems, applied, nil
}

// emptyIfNil turns a nil slice into an empty one, so a JSON column holds [].
func emptyIfNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

func scanHL7v2(row pgx.Row) (hl7message.Message, error) {
	m, _, err := scanHL7v2Row(row, false)
	return m, err
}

func scanHL7v2Inserted(row pgx.Row) (hl7message.Message, bool, error) {
	return scanHL7v2Row(row, true)
}

func scanHL7v2Row(row pgx.Row, withInserted bool) (hl7message.Message, bool, error) {
	var (
		m                 hl7message.Message
		transport, out    string
		problems, applied []byte
		inserted          bool
	)
	dest := []any{scanUUID(&m.ID), &m.Sender, &m.ControlID, &m.MessageType, &m.Version, &m.Charset, &m.Raw, &transport,
		&m.ReceivedAt, &m.Received, &out, &problems, &applied, &m.ProcessedAt, &m.Replays}
	if withInserted {
		dest = append(dest, &inserted)
	}
	if err := row.Scan(dest...); err != nil {
		return hl7message.Message{}, false, translate(err, "HL7 v2 message")
	}
	m.Transport, m.Outcome, m.Size = hl7message.Transport(transport), hl7message.Outcome(out), len(m.Raw)
	if err := json.Unmarshal(problems, &m.Problems); err != nil {
		return hl7message.Message{}, false, fmt.Errorf("decode problems of message %s: %w", m.ID, err)
	}
	if err := json.Unmarshal(applied, &m.Applied); err != nil {
		return hl7message.Message{}, false, fmt.Errorf("decode applied of message %s: %w", m.ID, err)
	}
	return m, inserted, nil
}
