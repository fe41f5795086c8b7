package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/zarish-sphere/zarish/domain"
	"github.com/zarish-sphere/zarish/domain/alert"
)

// RaiseAlert records a raise from outside a workflow and starts its
// escalation through engine, in one transaction, so that an alert the read
// model cannot hold is never started and a start that fails stores nothing:
//
//   - raises for the same patient, category and source take turns (a
//     transaction-scoped advisory lock), so deduplication cannot race;
//   - an open or acknowledged alert already recorded for them answers the
//     raise (not created) — provided engine says its escalation runs; one
//     whose escalation has ended does not count;
//   - the Idempotency-Key is claimed for the alert the request resolves to;
//     a key seen before with the same body answers its first alert as it is
//     now (Replayed), with another body domain.ErrIdempotencyMismatch;
//   - otherwise a new alert is stored: a UUIDv7 id, the named policy or the
//     one the routing rules pick (alert.ErrNoPolicy when none matches), its
//     row and "raised" entry, and then its escalation is started, before
//     the commit.
//
// The request's audit record (req.Audit, nil for none) is stored in the same
// transaction, naming the alert it resolved to. Data PostgreSQL cannot hold
// (a NUL byte) is a *domain.ValidationError, and nothing is started.
func (s *AlertStore) RaiseAlert(ctx context.Context, req alert.RaiseRequest, engine alert.Engine) (alert.Raised, error) {
	var out alert.Raised
	err := withIdempotency(ctx, s.pool, func(tx pgx.Tx) error {
		out = alert.Raised{}
		r := req.Raise
		dedupe := r.PatientID.String() + "\x1f" + r.Category + "\x1f" + r.Source
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtextextended('alert-raise ' || $1, 0))`, dedupe); err != nil {
			return translate(err, "lock alert raise")
		}
		open, err := findOpenAlert(ctx, tx, r.PatientID, r.Category, r.Source)
		deduplicated := err == nil
		if err != nil && !errors.Is(err, domain.ErrNotFound) {
			return err
		}
		if deduplicated {
			if deduplicated, err = engine.Running(ctx, open.ID); err != nil {
				return err
			}
		}
		id := open.ID
		if !deduplicated {
			if id, err = uuid.NewV7(); err != nil {
				return fmt.Errorf("alert id: %w", err)
			}
		}
		first, replay, err := claimIdempotency(ctx, tx, req.Idempotency, id)
		if err != nil {
			return err
		}
		switch {
		case replay:
			rec, err := loadAlert(ctx, tx, first)
			if err != nil {
				return translate(err, "alert "+first.String())
			}
			out = alert.Raised{Record: rec, Replayed: true}
			return auditEntity(ctx, tx, req.Audit, entityFlag, rec.ID, rec.PatientID)
		case deduplicated:
			rec, err := loadAlert(ctx, tx, open.ID)
			if err != nil {
				return translate(err, "alert "+open.ID.String())
			}
			out = alert.Raised{Record: rec}
			return auditEntity(ctx, tx, req.Audit, entityFlag, rec.ID, rec.PatientID)
		}
		policy, err := s.raisePolicy(ctx, r)
		if err != nil {
			return err
		}
		r.AlertID, r.PolicyID = id, policy
		if _, err := tx.Exec(ctx, `
			INSERT INTO alerts (id, patient_id, encounter_id, unit, severity, category, source, message,
				status, policy_id, raised_at, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'open', $9, $10, $10)`,
			r.AlertID, r.PatientID, r.EncounterID, r.Unit, string(r.Severity), r.Category, r.Source, r.Message,
			r.PolicyID, req.At); err != nil {
			return translate(err, "record alert raised")
		}
		if err := insertTimeline(ctx, tx, r.AlertID, "raised", alert.Event{Kind: alert.EventRaised, At: req.At, Note: r.Source}); err != nil {
			return err
		}
		if err := auditEntity(ctx, tx, req.Audit, entityFlag, r.AlertID, r.PatientID); err != nil {
			return err
		}
		rec, err := loadAlert(ctx, tx, r.AlertID)
		if err != nil {
			return translate(err, "alert "+r.AlertID.String())
		}
		// Last, so that everything the database could refuse has been
		// refused before the escalation exists.
		if err := engine.Start(ctx, r); err != nil {
			return err
		}
		out = alert.Raised{Record: rec, Created: true}
		return nil
	})
	if err != nil {
		return alert.Raised{}, err
	}
	return out, nil
}

// raisePolicy is the policy a raise escalates by: the one it names, if it
// exists, else the one the routing rules pick for its category and severity.
func (s *AlertStore) raisePolicy(ctx context.Context, r alert.Raise) (string, error) {
	if r.PolicyID != "" {
		p, err := s.GetPolicy(ctx, r.PolicyID)
		if err == nil {
			return p.ID, nil
		}
		var verr *domain.ValidationError
		if !errors.Is(err, domain.ErrNotFound) && !errors.As(err, &verr) {
			return "", err
		}
	}
	p, err := s.SelectPolicy(ctx, r.Category, r.Severity)
	if err != nil {
		return "", err
	}
	return p.ID, nil
}

// findOpenAlert is FindOpenAlert inside tx.
func findOpenAlert(ctx context.Context, tx pgx.Tx, patientID uuid.UUID, category, source string) (alert.Record, error) {
	rows, err := tx.Query(ctx, `SELECT `+alertColumns+` FROM alerts
		WHERE patient_id = $1 AND category = $2 AND source = $3 AND status IN ('open', 'acknowledged')
		ORDER BY raised_at DESC, id DESC LIMIT 1`, patientID, category, source)
	if err != nil {
		return alert.Record{}, translate(err, "find open alert")
	}
	rec, err := pgx.CollectExactlyOneRow(rows, scanAlert)
	return rec, translate(err, "open alert")
}

// CurrentLocation is where the patient's open encounter (neither discharged
// nor cancelled) has them now: encounterID's when it is given, else the
// patient's most recent open one; domain.ErrNotFound when there is none.
func (s *AlertStore) CurrentLocation(ctx context.Context, patientID uuid.UUID, encounterID *uuid.UUID) (alert.Location, error) {
	var loc alert.Location
	err := s.pool.QueryRow(ctx, `SELECT id, location FROM encounters
		WHERE patient_id = $1 AND ($2::uuid IS NULL OR id = $2)
		  AND status NOT IN ('discharged', 'cancelled') AND location <> ''
		ORDER BY created_at DESC, id DESC LIMIT 1`, patientID, encounterID).Scan(&loc.EncounterID, &loc.Unit)
	return loc, translate(err, "open encounter of patient "+patientID.String())
}
