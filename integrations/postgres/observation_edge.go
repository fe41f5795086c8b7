package postgres

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/zarish-sphere/zarish/domain"
	"github.com/zarish-sphere/zarish/domain/observation"
)

// This file holds what the observation routes (api/observations.go) need of
// the store beyond observation_store.go, each in one statement however many
// observations a batch holds: the demographics of a batch's patients, their
// earlier results for the delta checks, observations read back by id (a
// replayed batch's answer), and the delta-flagged results of a trend's
// window.

// Demographics returns the administrative sex and birth date of each
// registered patient among ids, by id; an id of no patient is absent.
func (s *ObservationStore) Demographics(ctx context.Context, ids []uuid.UUID) (map[uuid.UUID]observation.Demographics, error) {
	out := make(map[uuid.UUID]observation.Demographics, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	rows, err := s.pool.Query(ctx, `SELECT id, sex, birth_date FROM patients WHERE id = ANY($1)`, pgUUIDs(ids))
	if err != nil {
		return nil, fmt.Errorf("patient demographics: %w", err)
	}
	var (
		id   uuid.UUID
		sex  string
		born time.Time
	)
	if _, err := pgx.ForEachRow(rows, []any{&id, &sex, &born}, func() error {
		out[id] = observation.Demographics{Sex: sex, BirthDate: born.Format(time.DateOnly)}
		return nil
	}); err != nil {
		return nil, fmt.Errorf("patient demographics: %w", err)
	}
	return out, nil
}

// PreviousResults returns, by patient, the stored current, in-force results
// the delta checks of obs compare with (see observation.DeltaLookback and
// WithDelta): for each patient and each code its observations carry that
// has a delta rule, the results of that code — its own observations' and the
// components of panels holding it — effective from the lookback before the
// earliest of them up to the latest. The versions in obs are not yet stored;
// an amendment's own earlier version may be among the results (Delta skips a
// result of the same id). Codes without a delta rule are not read.
func (s *ObservationStore) PreviousResults(ctx context.Context, obs []observation.Observation) (map[uuid.UUID][]observation.Result, error) {
	type key struct {
		patient uuid.UUID
		code    string
	}
	type window struct{ lo, hi time.Time }
	windows := map[key]window{}
	var order []key
	for _, o := range obs {
		for _, r := range o.Results() {
			lookback := observation.DeltaLookback(r.Code)
			if lookback <= 0 {
				continue
			}
			k := key{o.PatientID, r.Code}
			lo := r.Time.Add(-lookback)
			w, seen := windows[k]
			switch {
			case !seen:
				order = append(order, k)
				w = window{lo, r.Time}
			default:
				if lo.Before(w.lo) {
					w.lo = lo
				}
				if r.Time.After(w.hi) {
					w.hi = r.Time
				}
			}
			windows[k] = w
		}
	}
	out := map[uuid.UUID][]observation.Result{}
	if len(order) == 0 {
		return out, nil
	}
	// One row per (patient, source, code): source is the code itself or a
	// panel holding it, whose component of the code is read.
	var (
		patients       []pgtype.UUID
		sources, codes []string
		los, his       []time.Time
	)
	for _, k := range order {
		w := windows[k]
		for _, src := range append([]string{k.code}, observation.PanelsWith(k.code)...) {
			patients, sources, codes = append(patients, pgUUID(k.patient)), append(sources, src), append(codes, k.code)
			los, his = append(los, w.lo), append(his, w.hi)
		}
	}
	rows, err := s.pool.Query(ctx, `
		SELECT r.patient_id, r.code, o.id, o.effective_at, o.value
		FROM unnest($1::uuid[], $2::text[], $3::text[], $4::timestamptz[], $5::timestamptz[]) AS r(patient_id, source, code, lo, hi)
		CROSS JOIN LATERAL (
			SELECT id, effective_at,
				CASE WHEN r.source = r.code THEN value_num
				     ELSE jsonb_path_query_first(components, '$[*] ? (@.code == $c).canonical', jsonb_build_object('c', r.code))::float8
				END AS value
			FROM observations
			WHERE patient_id = r.patient_id AND code = r.source AND current AND status <> 'entered-in-error'
			  AND effective_at >= r.lo AND effective_at < r.hi
			  AND (r.source = r.code AND value_num IS NOT NULL
			       OR r.source <> r.code AND components @> jsonb_build_array(jsonb_build_object('code', r.code)))
		) o
		WHERE o.value IS NOT NULL`, patients, sources, codes, los, his)
	if err != nil {
		return nil, fmt.Errorf("previous results: %w", err)
	}
	var (
		patient uuid.UUID
		res     observation.Result
	)
	if _, err := pgx.ForEachRow(rows, []any{&patient, &res.Code, &res.ID, &res.Time, &res.Value}, func() error {
		res.Time = res.Time.UTC()
		out[patient] = append(out[patient], res)
		return nil
	}); err != nil {
		return nil, fmt.Errorf("previous results: %w", err)
	}
	return out, nil
}

// Observations returns the current versions of the observations with ids,
// in the order of ids; domain.ErrNotFound when one of them does not exist.
func (s *ObservationStore) Observations(ctx context.Context, ids []uuid.UUID) ([]observation.Observation, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+observationColumnList+` FROM observations WHERE id = ANY($1) AND current`, pgUUIDs(ids))
	if err != nil {
		return nil, fmt.Errorf("read observations: %w", err)
	}
	found, _, err := s.collect(ctx, rows)
	if err != nil {
		return nil, fmt.Errorf("read observations: %w", err)
	}
	at := make(map[uuid.UUID]int, len(found))
	for i, o := range found {
		at[o.ID] = i
	}
	out := make([]observation.Observation, len(ids))
	for i, id := range ids {
		k, ok := at[id]
		if !ok {
			return nil, fmt.Errorf("observation %s: %w", id, domain.ErrNotFound)
		}
		out[i] = found[k]
	}
	return out, nil
}

// MaxDeltaFlagged bounds the delta-flagged observations DeltaFlagged returns.
const MaxDeltaFlagged = 1000

// DeltaFlagged returns the patient's current, in-force observations of code
// — and of the panels holding it — effective in [from, to) that met a delta
// rule, oldest first, at most MaxDeltaFlagged of them. A code without a
// delta rule reads nothing.
func (s *ObservationStore) DeltaFlagged(ctx context.Context, patientID uuid.UUID, code string, from, to time.Time) ([]observation.Observation, error) {
	if observation.DeltaLookback(code) <= 0 {
		return []observation.Observation{}, nil
	}
	codes := append([]string{code}, observation.PanelsWith(code)...)
	rows, err := s.pool.Query(ctx, `SELECT `+observationColumnList+` FROM observations
		WHERE patient_id = $1 AND code = ANY($2) AND current AND status <> 'entered-in-error'
		  AND effective_at >= $3 AND effective_at < $4 AND delta_flags IS NOT NULL
		ORDER BY effective_at, id LIMIT $5`, pgUUID(patientID), codes, from, to, MaxDeltaFlagged)
	if err != nil {
		return nil, fmt.Errorf("delta-flagged observations of %s: %w", code, err)
	}
	found, _, err := s.collect(ctx, rows)
	if err != nil {
		return nil, fmt.Errorf("delta-flagged observations of %s: %w", code, err)
	}
	return slices.DeleteFunc(found, func(o observation.Observation) bool {
		return !slices.ContainsFunc(o.DeltaFlags, func(f observation.DeltaFlag) bool { return f.Previous.Code == code })
	}), nil
}

// pgUUIDs hands ids to pgx as a uuid[] in pgx's own type (see pgUUID).
func pgUUIDs(ids []uuid.UUID) []pgtype.UUID {
	out := make([]pgtype.UUID, len(ids))
	for i, id := range ids {
		out[i] = pgUUID(id)
	}
	return out
}
