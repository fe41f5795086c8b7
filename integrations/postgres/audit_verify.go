package postgres

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/zarish-sphere/zarish/domain/audit"
)

// Verify checks the hash chain for the records of [from, to) (zero bounds are
// open). For each link of a record in the period, in link order, it
// recomputes the hash from the record as stored now and the link's prev_hash
// and compares it with the link's hash, and checks that prev_hash is the hash
// of the link before (the genesis hash for link 1) — links of other periods
// are read only for that. Then it counts the period's records still queued
// for sealing; a record neither sealed nor queued is a break too (its seal
// was removed). It reads one consistent snapshot and streams the links.
func (s *AuditStore) Verify(ctx context.Context, from, to time.Time) (audit.VerifyResult, error) {
	var res audit.VerifyResult
	err := pgx.BeginTxFunc(ctx, s.pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly},
		func(tx pgx.Tx) error {
			res = audit.VerifyResult{}
			var err error
			if res.BrokenAt, res.Checked, err = verifyLinks(ctx, tx, from, to); err != nil {
				return err
			}
			orphan, unsealed, err := verifyCoverage(ctx, tx, from, to)
			if err != nil {
				return err
			}
			res.Unsealed = unsealed
			if res.BrokenAt == nil {
				res.BrokenAt = orphan
			}
			return nil
		})
	if err != nil {
		return audit.VerifyResult{}, fmt.Errorf("verify audit chain: %w", err)
	}
	res.Intact = res.BrokenAt == nil
	return res, nil
}

// sealPeriod renders [from, to) on audit_seals (alias s), numbering
// arguments from $1.
func sealPeriod(from, to time.Time) (string, []any) {
	var (
		sql  = "TRUE"
		args []any
	)
	if !from.IsZero() {
		args = append(args, from)
		sql += " AND s.recorded_at >= $" + strconv.Itoa(len(args))
	}
	if !to.IsZero() {
		args = append(args, to)
		sql += " AND s.recorded_at < $" + strconv.Itoa(len(args))
	}
	return sql, args
}

// verifyLinks walks the period's links in order and returns the first broken
// one, if any, and how many it examined.
func verifyLinks(ctx context.Context, tx pgx.Tx, from, to time.Time) (*audit.BrokenLink, int, error) {
	period, args := sealPeriod(from, to)

	// A link whose record is gone cannot be joined below: find the first.
	var missing *audit.BrokenLink
	var m audit.BrokenLink
	err := tx.QueryRow(ctx, `
		SELECT s.link, s.event_id, s.recorded_at FROM audit_seals s
		WHERE `+period+` AND NOT EXISTS (
			SELECT 1 FROM audit_events e WHERE e.id = s.event_id AND e.recorded_at = s.recorded_at)
		ORDER BY s.link LIMIT 1`, args...).Scan(&m.Link, &m.EventID, &m.RecordedAt)
	switch {
	case err == nil:
		m.RecordedAt = m.RecordedAt.UTC()
		m.Reason = "the sealed record is missing"
		missing = &m
	case !errors.Is(err, pgx.ErrNoRows):
		return nil, 0, fmt.Errorf("find unsealed links: %w", err)
	}

	rows, err := tx.Query(ctx, `
		SELECT `+auditColumns+`, s.link, s.prev_hash, s.hash, p.hash
		FROM audit_seals s
		JOIN audit_events e ON e.id = s.event_id AND e.recorded_at = s.recorded_at
		LEFT JOIN audit_seals p ON p.link = s.link - 1
		WHERE `+period+`
		ORDER BY s.link`, args...)
	if err != nil {
		return nil, 0, fmt.Errorf("read links: %w", err)
	}
	defer rows.Close()
	checked := 0
	for rows.Next() {
		var (
			link                   int64
			prevHash, hash, before []byte
		)
		r, err := scanAuditRecord(rows, &link, &prevHash, &hash, &before)
		if err != nil {
			return nil, checked, fmt.Errorf("read link: %w", err)
		}
		if missing != nil && link > missing.Link {
			break
		}
		checked++
		broken := func(reason string) *audit.BrokenLink {
			return &audit.BrokenLink{Link: link, EventID: r.ID, RecordedAt: r.Time, Reason: reason}
		}
		switch {
		case link == 1 && !bytes.Equal(prevHash, audit.Genesis):
			return broken("link 1 does not start from the genesis hash"), checked, nil
		case link > 1 && before == nil:
			return broken(fmt.Sprintf("link %d before it is missing", link-1)), checked, nil
		case link > 1 && !bytes.Equal(prevHash, before):
			return broken(fmt.Sprintf("prev_hash is not the hash of link %d", link-1)), checked, nil
		case !bytes.Equal(audit.ChainHash(prevHash, r), hash):
			return broken("the record does not match its seal: it changed after it was sealed"), checked, nil
		}
	}
	if err := rows.Err(); err != nil {
		return nil, checked, fmt.Errorf("read links: %w", err)
	}
	if missing != nil {
		checked++
	}
	return missing, checked, nil
}

// verifyCoverage counts the period's records queued for sealing and returns
// the first (in seq order) that is neither sealed nor queued.
func verifyCoverage(ctx context.Context, tx pgx.Tx, from, to time.Time) (*audit.BrokenLink, int, error) {
	var w auditWhere
	w.period(from, to)
	w.add("NOT EXISTS (SELECT 1 FROM audit_seals s WHERE s.event_id = e.id AND s.recorded_at = e.recorded_at)")
	var queued, orphans int
	err := tx.QueryRow(ctx, `
		SELECT count(q.seq), count(*) - count(q.seq)
		FROM audit_events e LEFT JOIN audit_unsealed q ON q.seq = e.seq`+w.sql(), w.args...).Scan(&queued, &orphans)
	if err != nil {
		return nil, 0, fmt.Errorf("count unsealed records: %w", err)
	}
	if orphans == 0 {
		return nil, queued, nil
	}
	w.add("NOT EXISTS (SELECT 1 FROM audit_unsealed q WHERE q.seq = e.seq)")
	b := audit.BrokenLink{Reason: "the record has no seal and is not queued for sealing"}
	err = tx.QueryRow(ctx, `SELECT e.id, e.recorded_at FROM audit_events e`+w.sql()+` ORDER BY e.seq LIMIT 1`,
		w.args...).Scan(&b.EventID, &b.RecordedAt)
	if err != nil {
		return nil, queued, fmt.Errorf("find unqueued records: %w", err)
	}
	b.RecordedAt = b.RecordedAt.UTC()
	return &b, queued, nil
}
