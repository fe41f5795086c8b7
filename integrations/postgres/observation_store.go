package postgres

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/zarish-sphere/zarish/domain"
	"github.com/zarish-sphere/zarish/domain/audit"
	"github.com/zarish-sphere/zarish/domain/observation"
	"github.com/zarish-sphere/zarish/domain/outbox"
)

// Audit entity types of the observation store's records.
const (
	entityObservation = "Observation"
	entityNEWS2       = "RiskAssessment"
	entitySpO2Scale   = "SpO2ScaleDecision"
)

// observationSource is the CloudEvent source of observation events.
const observationSource = "/v1/observations"

// ObservationStore keeps observations, version by version, in the
// month-partitioned observations table, with the NEWS2 scores computed from
// them and each patient's SpO2 scale decision. Every write stores its outbox
// events and its audit record in the same transaction.
type ObservationStore struct {
	pool       *pgxpool.Pool
	newEventID func() (uuid.UUID, error)
	now        func() time.Time
	months     *partitionMonths
	ranges     *rangeRegistry
}

// NewObservationStore returns a store on pool.
func NewObservationStore(pool *pgxpool.Pool) *ObservationStore {
	return &ObservationStore{pool: pool, newEventID: uuid.NewV7, now: time.Now,
		months: &partitionMonths{known: map[time.Time]bool{}}, ranges: newRangeRegistry()}
}

// RecordBatch stores new observations (version 1, as observation.New and
// NewBatch make them) all or nothing, in one transaction: the rows and their
// outbox events are written with COPY — for each patient, observation.recorded
// carrying that patient's observations (see copyRecorded), and
// observation.critical after it for each critical value — and rec, when not
// nil, once for the batch, naming its patients. The months the batch needs
// are created first (see EnsurePartitions). A patient or encounter that does
// not exist is refused with a *domain.ValidationError naming every item that
// references it (items[i].patientId, items[i].encounterId); an id already
// stored is domain.ErrConflict.
//
// idem, when not nil, guards the write: it is claimed inside the
// transaction, naming the first observation's id, before anything is
// written. A key seen before with the same body writes nothing but rec (the
// replay is audited, naming the same patients) and returns the first id that
// request stored, with replay true; with another body,
// domain.ErrIdempotencyMismatch. Otherwise first is obs[0].ID.
func (s *ObservationStore) RecordBatch(ctx context.Context, idem *domain.Idempotency, rec *audit.Record,
	obs []observation.Observation) (first uuid.UUID, replay bool, err error) {
	return s.record(ctx, idem, rec, obs, true)
}

// Record stores one new observation as RecordBatch does; a refusal names the
// body's field (patientId, encounterId) without an item index.
func (s *ObservationStore) Record(ctx context.Context, idem *domain.Idempotency, rec *audit.Record,
	o observation.Observation) (id uuid.UUID, replay bool, err error) {
	return s.record(ctx, idem, rec, []observation.Observation{o}, false)
}

func (s *ObservationStore) record(ctx context.Context, idem *domain.Idempotency, rec *audit.Record,
	obs []observation.Observation, batch bool) (uuid.UUID, bool, error) {
	if len(obs) == 0 {
		return uuid.Nil, false, errors.New("record observations: none given")
	}
	seen := make(map[uuid.UUID]bool, len(obs))
	for i, o := range obs {
		switch {
		case o.Version != 1 || o.ID == uuid.Nil || o.Status == observation.StatusEnteredInError:
			return uuid.Nil, false, fmt.Errorf("record observations: item %d is not a new observation (version %d, status %s)", i, o.Version, o.Status)
		case seen[o.ID]:
			// Two rows of one id in different months would both be current.
			return uuid.Nil, false, fmt.Errorf("record observations: item %d repeats id %s", i, o.ID)
		}
		seen[o.ID] = true
	}
	var (
		first  uuid.UUID
		replay bool
	)
	write := func(tx pgx.Tx, ranges *pendingRanges) error {
		existing, seen, err := claimIdempotency(ctx, tx, idem, obs[0].ID)
		if err != nil {
			return err
		}
		if first, replay = obs[0].ID, seen; seen {
			first = existing
			named := obs
			if len(obs) == 1 {
				named = []observation.Observation{{ID: existing, PatientID: obs[0].PatientID}}
			}
			if rec != nil {
				rec.Description = cmpOr(rec.Description, "replay of an Idempotency-Key: nothing recorded")
			}
			return auditObservations(ctx, tx, rec, named)
		}
		if err := copyObservations(ctx, tx, obs, ranges); err != nil {
			return err
		}
		if err := s.copyRecorded(ctx, tx, obs); err != nil {
			return err
		}
		if rec != nil {
			rec.Description = cmpOr(rec.Description, strconv.Itoa(len(obs))+" observations recorded")
		}
		return auditObservations(ctx, tx, rec, obs)
	}
	err := s.write(ctx, obs, write)
	if errors.Is(err, errIdempotencyRace) {
		// A concurrent request with the same key committed first: this one
		// now reads its result.
		err = s.write(ctx, obs, write)
	}
	if err != nil {
		return uuid.Nil, false, s.explainReferences(ctx, obs, batch, err)
	}
	return first, replay, nil
}

// Amend stores next, a version observation.Amend made, in place of the
// current version before it, with its observation.amended event (and
// observation.critical for a critical value). The previous version must
// still be current: otherwise observation.ErrStale, or domain.ErrNotFound
// when the observation does not exist.
func (s *ObservationStore) Amend(ctx context.Context, rec *audit.Record, next observation.Observation) error {
	if next.Status != observation.StatusAmended && next.Status != observation.StatusCorrected {
		return fmt.Errorf("amend observation %s: status %s is not an amendment", next.ID, next.Status)
	}
	return s.supersede(ctx, rec, next, observation.EventAmended)
}

// Void stores next, the version observation.Void made, in place of the
// current version before it, with its observation.entered-in-error event;
// the same checks as Amend apply.
func (s *ObservationStore) Void(ctx context.Context, rec *audit.Record, next observation.Observation) error {
	if next.Status != observation.StatusEnteredInError {
		return fmt.Errorf("void observation %s: status %s is not entered-in-error", next.ID, next.Status)
	}
	return s.supersede(ctx, rec, next, observation.EventEnteredInError)
}

// supersede clears current on version next.Version-1 of next.ID and inserts
// next, in one transaction. Clearing it takes the row lock, so of two
// concurrent writers of the same version the second finds it no longer
// current and gets ErrStale. A next without BasedOn keeps the previous
// version's: the order a result answers does not change with an amendment.
func (s *ObservationStore) supersede(ctx context.Context, rec *audit.Record, next observation.Observation, eventType string) error {
	if next.Version < 2 || next.ID == uuid.Nil {
		return fmt.Errorf("%s observation %s: version %d does not follow a stored one", eventType, next.ID, next.Version)
	}
	obs := []observation.Observation{next}
	err := s.write(ctx, obs, func(tx pgx.Tx, ranges *pendingRanges) error {
		var basedOn *uuid.UUID
		err := tx.QueryRow(ctx, `UPDATE observations SET current = false WHERE id = $1 AND version = $2 AND current RETURNING based_on`,
			pgUUID(next.ID), next.Version-1).Scan(scanNullUUID(&basedOn))
		if err != nil && !errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("supersede observation %s: %w", next.ID, err)
		}
		if err != nil {
			var latest *int
			if err := tx.QueryRow(ctx, `SELECT max(version) FROM observations WHERE id = $1`, next.ID).Scan(&latest); err != nil {
				return fmt.Errorf("supersede observation %s: %w", next.ID, err)
			}
			if latest == nil {
				return fmt.Errorf("observation %s: %w", next.ID, domain.ErrNotFound)
			}
			return fmt.Errorf("observation %s is at version %d, not %d: %w", next.ID, *latest, next.Version-1, observation.ErrStale)
		}
		if obs[0].BasedOn == nil {
			obs[0].BasedOn = basedOn
		}
		if err := copyObservations(ctx, tx, obs, ranges); err != nil {
			return err
		}
		if err := s.copyEvents(ctx, tx, obs, eventType); err != nil {
			return err
		}
		return auditObservations(ctx, tx, rec, obs)
	})
	return s.explainReferences(ctx, obs, false, err)
}

// write ensures the partitions obs need and runs fn in a transaction, then
// stores the ranges fn's rows named that are not stored yet, in the same
// transaction. A partition dropped since this store created it (an
// operator's retention job) is created again and the transaction retried,
// once.
func (s *ObservationStore) write(ctx context.Context, obs []observation.Observation, fn func(tx pgx.Tx, ranges *pendingRanges) error) error {
	months := monthsOf(obs)
	for attempt := 0; ; attempt++ {
		if err := s.months.ensure(ctx, s.pool, months, s.now()); err != nil {
			return err
		}
		ranges := s.ranges.pending()
		err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
			if err := fn(tx, ranges); err != nil {
				return err
			}
			return ranges.store(ctx, tx)
		})
		if attempt == 0 && noPartition(err) {
			s.months.forget(months)
			continue
		}
		if err == nil {
			ranges.committed()
		}
		return err
	}
}

// EnsurePartitions creates the monthly partitions (UTC months) from the one
// holding from to the one holding to, skipping those that exist. Writes
// create the months they need, so this is for operators and loaders that
// want the months in place ahead of time. Creating a partition briefly
// takes an exclusive lock on the observations table; the store waits at most
// five seconds for it.
func (s *ObservationStore) EnsurePartitions(ctx context.Context, from, to time.Time) error {
	var months []time.Time
	for m := monthStart(from); !m.After(to); m = m.AddDate(0, 1, 0) {
		months = append(months, m)
	}
	return s.months.ensure(ctx, s.pool, months, s.now())
}

// Get returns the current version of the observation with id and every
// version, oldest first; domain.ErrNotFound when there is none.
func (s *ObservationStore) Get(ctx context.Context, id uuid.UUID) (observation.Observation, []observation.Observation, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+observationColumnList+` FROM observations WHERE id = $1 ORDER BY version`, id)
	if err != nil {
		return observation.Observation{}, nil, fmt.Errorf("get observation %s: %w", id, err)
	}
	versions, currents, err := s.collect(ctx, rows)
	if err != nil {
		return observation.Observation{}, nil, fmt.Errorf("get observation %s: %w", id, err)
	}
	if len(versions) == 0 {
		return observation.Observation{}, nil, fmt.Errorf("observation %s: %w", id, domain.ErrNotFound)
	}
	current := versions[len(versions)-1]
	for i, c := range currents {
		if c {
			current = versions[i]
		}
	}
	return current, versions, nil
}

// observationCursor is the keyset position of List: the last observation returned.
type observationCursor struct {
	EffectiveAt time.Time `json:"e"`
	ID          uuid.UUID `json:"i"`
}

// List returns current versions of a patient's observations, newest
// effective time first, one page at a time (see observation.Filter); a
// *domain.ValidationError for a filter Validate refuses, ErrBadCursor for a
// cursor this store did not issue. The page merges one ordered, limited scan
// of the patient's index per code (the filter's, else the catalogue's, some
// 35): it reads about a page of rows however long the patient's history, but
// a code the patient has none of is probed in every month, so a list of every
// code with no From costs codes × months probes (~9 ms over 13 months) where
// one with codes, a category or a From costs a fraction of it.
func (s *ObservationStore) List(ctx context.Context, f observation.Filter) (observation.Page, error) {
	if err := f.Validate(); err != nil {
		return observation.Page{}, err
	}
	q := newPageQuery(f.PageSize())
	q.where("patient_id = " + q.arg(f.PatientID))
	q.where("current")
	if f.Status != "" {
		q.where("status = " + q.arg(string(f.Status)))
	} else {
		q.where("status <> '" + string(observation.StatusEnteredInError) + "'")
	}
	codes := f.Codes
	if len(codes) == 0 {
		codes = observation.Codes(f.Category)
	} else if f.Category != "" {
		q.where("category = " + q.arg(string(f.Category)))
	}
	q.within("effective_at", f.From, f.To)
	if f.Cursor != "" {
		pos, err := decodeCursor(f.Cursor, func(p observationCursor) bool { return p.ID != uuid.Nil && !p.EffectiveAt.IsZero() })
		if err != nil {
			return observation.Page{}, err
		}
		q.after("effective_at", pos.EffectiveAt, pos.ID)
	}
	shared := strings.Join(q.conds, " AND ")
	limit := q.arg(q.limit + 1)
	var scans []string
	for _, b := range branchesOf(codes) {
		scans = append(scans, `(SELECT `+observationColumnList+` FROM observations WHERE `+shared+` AND `+b.condition(q)+
			` ORDER BY effective_at DESC, id DESC LIMIT `+limit+`)`)
	}
	sql := `SELECT * FROM (` + strings.Join(scans, " UNION ALL ") + `) o ORDER BY effective_at DESC, id DESC LIMIT ` + limit
	rows, err := s.pool.Query(ctx, sql, q.args...)
	if err != nil {
		return observation.Page{}, fmt.Errorf("list observations: %w", err)
	}
	list, _, err := s.collect(ctx, rows)
	if err != nil {
		return observation.Page{}, fmt.Errorf("list observations: %w", err)
	}
	var page observation.Page
	page.Observations, page.Next = cutPage(q, list, func(last observation.Observation) string {
		return encodeCursor(observationCursor{EffectiveAt: last.EffectiveAt, ID: last.ID})
	})
	return page, nil
}

// branch selects the observations of one code; with probes, only those
// whose components hold one of the probed codes (a panel read for its
// components).
type branch struct {
	code   string
	probes []string
}

// branchesOf returns the branches that select the observations of codes:
// each code's own and, for a component code, the panels holding it — one
// branch per panel, probing every requested component — unless the panel
// itself is requested.
func branchesOf(codes []string) []branch {
	var out []branch
	for _, c := range codes {
		if !slices.ContainsFunc(out, func(b branch) bool { return b.code == c }) {
			out = append(out, branch{code: c})
		}
	}
	panels := map[string]int{}
	for _, c := range codes {
		for _, p := range observation.PanelsWith(c) {
			switch i, ok := panels[p]; {
			case slices.Contains(codes, p):
			case ok:
				if !slices.Contains(out[i].probes, c) {
					out[i].probes = append(out[i].probes, c)
				}
			default:
				panels[p] = len(out)
				out = append(out, branch{code: p, probes: []string{c}})
			}
		}
	}
	return out
}

// condition is the branch's WHERE condition, its values arguments of q.
func (b branch) condition(q *pageQuery) string {
	cond := "code = " + q.arg(b.code)
	if len(b.probes) == 0 {
		return cond
	}
	return cond + " AND component_codes && " + q.arg(b.probes) + "::text[]"
}

// Latest returns, for each code in order, the patient's newest current
// observation of it that is not entered in error; codes without one are
// skipped. For a component code (8480-6) the newest may be a panel holding
// it: read the value with QuantityOf(code). codes are checked with
// observation.CheckCodes.
func (s *ObservationStore) Latest(ctx context.Context, patientID uuid.UUID, codes []string) ([]observation.Observation, error) {
	if err := observation.CheckCodes(codes); err != nil {
		return nil, err
	}
	// Most latest values are recent: look in the last month's partitions
	// first, whose indexes are in memory, and in the whole history only for
	// the codes not found there (measured at 10M rows: 6 ms for five vital
	// signs probing every month, 2 ms this way).
	since := s.now().Add(-latestRecent)
	found, err := s.latest(ctx, patientID, codes, since, time.Time{})
	if err != nil {
		return nil, err
	}
	var older []string
	for i, o := range found {
		if o == nil {
			older = append(older, codes[i])
		}
	}
	if len(older) > 0 {
		rest, err := s.latest(ctx, patientID, older, time.Time{}, since)
		if err != nil {
			return nil, err
		}
		for i, k := 0, 0; i < len(found); i++ {
			if found[i] == nil {
				found[i], k = rest[k], k+1
			}
		}
	}
	out := []observation.Observation{}
	for _, o := range found {
		if o != nil {
			out = append(out, *o)
		}
	}
	return out, nil
}

// latestRecent is how far back Latest looks before it reads a code's whole
// history.
const latestRecent = 31 * 24 * time.Hour

// latest finds the newest current, in-force observation of each code (nil
// where none), effective in [from, to] when those are not zero, in one
// statement: an index probe per code and per panel holding it.
func (s *ObservationStore) latest(ctx context.Context, patientID uuid.UUID, codes []string, from, to time.Time) ([]*observation.Observation, error) {
	q := &pageQuery{}
	patient := q.arg(patientID)
	bounds := ""
	if !from.IsZero() {
		bounds += " AND effective_at >= " + q.arg(from)
	}
	if !to.IsZero() {
		bounds += " AND effective_at <= " + q.arg(to)
	}
	var parts []string
	for i, code := range codes {
		for _, b := range branchesOf([]string{code}) {
			parts = append(parts, `(SELECT `+strconv.Itoa(i)+` AS ord, `+observationColumnList+` FROM observations
				WHERE patient_id = `+patient+` AND `+b.condition(q)+` AND current AND status <> 'entered-in-error'`+bounds+`
				ORDER BY effective_at DESC, id DESC LIMIT 1)`)
		}
	}
	rows, err := s.pool.Query(ctx, strings.Join(parts, " UNION ALL "), q.args...)
	if err != nil {
		return nil, fmt.Errorf("latest observations: %w", err)
	}
	var (
		ords   []int
		stored []storedObservation
	)
	for rows.Next() {
		var ord int
		st, err := scanObservation(rows, &ord)
		if err != nil {
			rows.Close()
			return nil, fmt.Errorf("latest observations: %w", err)
		}
		ords, stored = append(ords, ord), append(stored, st)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("latest observations: %w", err)
	}
	found, err := s.complete(ctx, stored)
	if err != nil {
		return nil, fmt.Errorf("latest observations: %w", err)
	}
	out := make([]*observation.Observation, len(codes))
	for k := range found {
		o := &found[k]
		if cur := out[ords[k]]; cur == nil || o.EffectiveAt.After(cur.EffectiveAt) ||
			(o.EffectiveAt.Equal(cur.EffectiveAt) && slices.Compare(o.ID[:], cur.ID[:]) > 0) {
			out[ords[k]] = o
		}
	}
	return out, nil
}

// Trend returns the patient's results of code over [from, to), as points or,
// with a bucket, as buckets of that length (see observation.NewTrend), with
// the least-squares slope per hour. A component code (8480-6) includes the
// values of the panels holding it. The query is checked with
// observation.CheckTrend.
func (s *ObservationStore) Trend(ctx context.Context, patientID uuid.UUID, code string, from, to time.Time, bucket time.Duration) (observation.Trend, error) {
	if err := observation.CheckTrend(code, from, to, bucket); err != nil {
		return observation.Trend{}, err
	}
	limit := 0
	if bucket == 0 {
		limit = observation.MaxTrendPoints + 1 // one more tells NewTrend the window holds too many
	}
	points, err := s.points(ctx, patientID, code, from, to, limit)
	if err != nil {
		return observation.Trend{}, err
	}
	return observation.NewTrend(code, from, to, bucket, points)
}

// Previous returns the patient's current, in-force results of code effective
// in [before-within, before), oldest first, for the delta checks of a result
// effective at before (see observation.DeltaLookback and WithDelta).
func (s *ObservationStore) Previous(ctx context.Context, patientID uuid.UUID, code string, before time.Time, within time.Duration) ([]observation.Result, error) {
	if within <= 0 {
		return []observation.Result{}, nil
	}
	points, err := s.points(ctx, patientID, code, before.Add(-within), before, -observation.MaxTrendPoints)
	if err != nil {
		return nil, err
	}
	out := make([]observation.Result, len(points))
	for i, p := range points {
		out[i] = observation.Result{ID: p.ID, Code: code, Value: p.Value, Time: p.Time}
	}
	return out, nil
}

// points reads the canonical values of code (its own observations' and the
// components of panels holding it) effective in [from, to), oldest first:
// with a positive limit the oldest limit of them, with a negative one the
// newest -limit.
func (s *ObservationStore) points(ctx context.Context, patientID uuid.UUID, code string, from, to time.Time, limit int) ([]observation.Point, error) {
	q := &pageQuery{}
	patient, lo, hi := q.arg(patientID), q.arg(from), q.arg(to)
	inForce := ` AND current AND status <> 'entered-in-error' AND effective_at >= ` + lo + ` AND effective_at < ` + hi
	sql := `SELECT id, effective_at, value_num FROM observations WHERE patient_id = ` + patient +
		` AND code = ` + q.arg(code) + ` AND value_num IS NOT NULL` + inForce
	if panels := observation.PanelsWith(code); len(panels) > 0 {
		c := q.arg(code)
		sql += ` UNION ALL SELECT id, effective_at, component_values[array_position(component_codes, ` + c + `::text)]
			FROM observations WHERE patient_id = ` + patient + ` AND code = ANY(` + q.arg(panels) + `)
			AND ` + c + `::text = ANY(component_codes)` + inForce
	}
	switch {
	case limit > 0:
		sql += ` ORDER BY effective_at, id LIMIT ` + q.arg(limit)
	case limit < 0:
		sql += ` ORDER BY effective_at DESC, id DESC LIMIT ` + q.arg(-limit)
	default:
		sql += ` ORDER BY effective_at, id`
	}
	rows, err := s.pool.Query(ctx, sql, q.args...)
	if err != nil {
		return nil, fmt.Errorf("observation values of %s: %w", code, err)
	}
	points, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (observation.Point, error) {
		var p observation.Point
		err := row.Scan(scanUUID(&p.ID), &p.Time, &p.Value)
		p.Time = p.Time.UTC()
		return p, err
	})
	if err != nil {
		return nil, fmt.Errorf("observation values of %s: %w", code, err)
	}
	if limit < 0 {
		slices.Reverse(points)
	}
	return points, nil
}

// NEWS2Readings returns the newest current, in-force reading of each NEWS2
// code (observation.NEWS2Codes, and the systolic component of blood pressure
// panels) effective in [at-window, at], for observation.CombineNEWS2. The
// window is how far back to look: make it longer than the set window
// CombineNEWS2 applies (e.g. 24 hours against its 60 minutes), so that an
// old reading is reported stale rather than missing.
func (s *ObservationStore) NEWS2Readings(ctx context.Context, patientID uuid.UUID, at time.Time, window time.Duration) ([]observation.Reading, error) {
	if window <= 0 {
		return nil, &domain.ValidationError{Fields: []domain.FieldError{{Field: "window", Message: "must be positive"}}}
	}
	codes := observation.NEWS2Codes()
	found, err := s.latest(ctx, patientID, codes, at.Add(-window), at)
	if err != nil {
		return nil, err
	}
	out := []observation.Reading{}
	for i, o := range found {
		if o == nil {
			continue
		}
		for _, r := range o.Readings() {
			if r.Code == codes[i] {
				out = append(out, r)
			}
		}
	}
	return out, nil
}

// SaveNEWS2 stores the score of a complete combined set of the patient's
// readings with its observation.news2-scored event, and rec, when not nil, in
// the same transaction; observation.ErrIncompleteNEWS2 for a set that was
// not scored. The same readings scored on the same scale are stored once: a
// repeated save returns the stored score and publishes nothing.
func (s *ObservationStore) SaveNEWS2(ctx context.Context, rec *audit.Record, patientID uuid.UUID, c observation.CombinedNEWS2) (observation.NEWS2Score, error) {
	id, err := s.newEventID()
	if err != nil {
		return observation.NEWS2Score{}, fmt.Errorf("NEWS2 score id: %w", err)
	}
	score, err := observation.NewNEWS2Score(id, patientID, c, s.now())
	if err != nil {
		return observation.NEWS2Score{}, err
	}
	response, err := json.Marshal(score.Response)
	if err != nil {
		return observation.NEWS2Score{}, fmt.Errorf("encode NEWS2 response: %w", err)
	}
	params, err := json.Marshal(score.Parameters)
	if err != nil {
		return observation.NEWS2Score{}, fmt.Errorf("encode NEWS2 readings: %w", err)
	}
	out := score
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		sc := score.Scores
		tag, err := tx.Exec(ctx, `
			INSERT INTO news2_scores (id, patient_id, scored_at, window_start, window_end, total, risk, red_score, scale,
			    respiration_rate_score, spo2_score, air_or_oxygen_score, systolic_bp_score, pulse_score,
			    consciousness_score, temperature_score, response, parameters, source_ids)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19)
			ON CONFLICT (patient_id, scale, source_ids) DO NOTHING`,
			score.ID, score.PatientID, score.ScoredAt, score.WindowStart, score.WindowEnd, score.Total, string(score.Risk),
			score.RedScore, int(score.Scale), sc.RespiratoryRate, sc.SpO2, sc.AirOrOxygen, sc.SystolicBP, sc.Pulse,
			sc.Consciousness, sc.Temperature, response, params, score.SourceIDs())
		if err != nil {
			return translate(err, "save NEWS2 score")
		}
		if tag.RowsAffected() == 0 {
			out, err = scanNEWS2(tx.QueryRow(ctx, `SELECT `+news2Columns+` FROM news2_scores
				WHERE patient_id = $1 AND scale = $2 AND source_ids = $3`, score.PatientID, int(score.Scale), score.SourceIDs()))
			if err != nil {
				return err
			}
			return auditEntity(ctx, tx, rec, entityNEWS2, out.ID, patientID)
		}
		if err := s.appendPatientEvent(ctx, tx, observation.EventNEWS2Scored, patientID, "RiskAssessment/"+score.ID.String(),
			observationSource+"/news2/"+score.ID.String(), score.ScoredAt, score); err != nil {
			return err
		}
		return auditEntity(ctx, tx, rec, entityNEWS2, score.ID, patientID)
	})
	if err != nil {
		return observation.NEWS2Score{}, err
	}
	return out, nil
}

// LatestNEWS2 returns the patient's score of the newest set of readings
// (the latest computed among equals); domain.ErrNotFound when none is stored.
func (s *ObservationStore) LatestNEWS2(ctx context.Context, patientID uuid.UUID) (observation.NEWS2Score, error) {
	return scanNEWS2(s.pool.QueryRow(ctx, `SELECT `+news2Columns+` FROM news2_scores
		WHERE patient_id = $1 ORDER BY window_end DESC, scored_at DESC, id DESC LIMIT 1`, patientID))
}

// NEWS2History returns the patient's stored scores whose set ended in
// [from, to], oldest first, at most limit of them (the newest when there
// are more): each complete set as the observation service scored it when
// the set was completed.
func (s *ObservationStore) NEWS2History(ctx context.Context, patientID uuid.UUID, from, to time.Time, limit int) ([]observation.NEWS2Score, error) {
	rows, err := s.pool.Query(ctx, `SELECT * FROM (SELECT `+news2Columns+` FROM news2_scores
		WHERE patient_id = $1 AND window_end >= $2 AND window_end <= $3
		ORDER BY window_end DESC, scored_at DESC, id DESC LIMIT $4) newest ORDER BY window_end, scored_at, id`, patientID, from, to, limit)
	if err != nil {
		return nil, translate(err, "NEWS2 history")
	}
	defer rows.Close()
	out := []observation.NEWS2Score{}
	for rows.Next() {
		sc, err := scanNEWS2(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, sc)
	}
	return out, translate(rows.Err(), "NEWS2 history")
}

const news2Columns = `id, patient_id, scored_at, window_start, window_end, total, risk, red_score, scale,
	respiration_rate_score, spo2_score, air_or_oxygen_score, systolic_bp_score, pulse_score,
	consciousness_score, temperature_score, response, parameters`

func scanNEWS2(row pgx.Row) (observation.NEWS2Score, error) {
	var (
		sc               observation.NEWS2Score
		risk             string
		scale            int
		response, params []byte
	)
	s := &sc.Scores
	err := row.Scan(scanUUID(&sc.ID), scanUUID(&sc.PatientID), &sc.ScoredAt, &sc.WindowStart, &sc.WindowEnd, &sc.Total, &risk, &sc.RedScore, &scale,
		&s.RespiratoryRate, &s.SpO2, &s.AirOrOxygen, &s.SystolicBP, &s.Pulse, &s.Consciousness, &s.Temperature, &response, &params)
	if err != nil {
		return observation.NEWS2Score{}, translate(err, "NEWS2 score")
	}
	sc.Risk, sc.Scale = observation.NEWS2Risk(risk), observation.SpO2Scale(scale)
	sc.ScoredAt, sc.WindowStart, sc.WindowEnd = sc.ScoredAt.UTC(), sc.WindowStart.UTC(), sc.WindowEnd.UTC()
	if err := json.Unmarshal(response, &sc.Response); err != nil {
		return observation.NEWS2Score{}, fmt.Errorf("decode NEWS2 response: %w", err)
	}
	if err := json.Unmarshal(params, &sc.Parameters); err != nil {
		return observation.NEWS2Score{}, fmt.Errorf("decode NEWS2 readings: %w", err)
	}
	return sc, nil
}

// SetSpO2Scale records a clinician's decision of the patient's SpO2 scale
// (see observation.NewScaleDecision: decidedBy is the practitioner of the
// caller's token, and the reason is required), revoking the decision in
// force, with its observation.spo2-scale-decided event and rec, when not
// nil, in one transaction. A concurrent decision for the same patient makes
// one of them domain.ErrConflict.
func (s *ObservationStore) SetSpO2Scale(ctx context.Context, rec *audit.Record, patientID uuid.UUID, scale observation.SpO2Scale,
	decidedBy uuid.UUID, reason string) (observation.ScaleDecision, error) {
	id, err := s.newEventID()
	if err != nil {
		return observation.ScaleDecision{}, fmt.Errorf("scale decision id: %w", err)
	}
	d, err := observation.NewScaleDecision(id, patientID, scale, decidedBy, reason, s.now())
	if err != nil {
		return observation.ScaleDecision{}, err
	}
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `UPDATE spo2_scale_decisions SET revoked_at = $2, revoked_by = $3
			WHERE patient_id = $1 AND revoked_at IS NULL`, patientID, d.DecidedAt, decidedBy); err != nil {
			return fmt.Errorf("revoke SpO2 scale decision: %w", err)
		}
		if _, err := tx.Exec(ctx, `INSERT INTO spo2_scale_decisions (id, patient_id, scale, decided_by, decided_at, reason)
			VALUES ($1, $2, $3, $4, $5, $6)`, d.ID, d.PatientID, int(d.Scale), d.DecidedBy, d.DecidedAt, d.Reason); err != nil {
			return translate(err, "decide SpO2 scale for patient "+patientID.String())
		}
		if err := s.appendPatientEvent(ctx, tx, observation.EventSpO2ScaleDecided, patientID, entitySpO2Scale+"/"+d.ID.String(),
			"/v1/patients/"+patientID.String()+"/spo2-scale", d.DecidedAt, d); err != nil {
			return err
		}
		return auditEntity(ctx, tx, rec, entitySpO2Scale, d.ID, patientID)
	})
	if err != nil {
		return observation.ScaleDecision{}, err
	}
	return d, nil
}

// SpO2Scale returns the patient's decision in force; with none, a decision
// with the nil id and Scale 1, the scale of every patient no clinician has
// put on Scale 2.
func (s *ObservationStore) SpO2Scale(ctx context.Context, patientID uuid.UUID) (observation.ScaleDecision, error) {
	var (
		d     observation.ScaleDecision
		scale int
	)
	err := s.pool.QueryRow(ctx, `SELECT id, patient_id, scale, decided_by, decided_at, reason
		FROM spo2_scale_decisions WHERE patient_id = $1 AND revoked_at IS NULL`, patientID).
		Scan(scanUUID(&d.ID), scanUUID(&d.PatientID), &scale, scanUUID(&d.DecidedBy), &d.DecidedAt, &d.Reason)
	if errors.Is(err, pgx.ErrNoRows) {
		return observation.ScaleDecision{PatientID: patientID, Scale: observation.SpO2Scale1}, nil
	}
	if err != nil {
		return observation.ScaleDecision{}, fmt.Errorf("SpO2 scale of patient %s: %w", patientID, err)
	}
	d.Scale = observation.SpO2Scale(scale)
	return d, nil
}

// appendPatientEvent writes one clinical event about a patient with data v.
func (s *ObservationStore) appendPatientEvent(ctx context.Context, tx pgx.Tx, eventType string, patientID uuid.UUID,
	subject, link string, at time.Time, v any) error {
	return appendResourceEvent(ctx, tx, s.newEventID, resourceEvent{
		Type: eventType, PatientID: patientID, Resource: v, Time: at,
		Source: observationSource, Subject: subject, Link: link,
	})
}

// copyEvents writes the outbox events of versions that amend or withdraw
// an observation, with COPY: eventType for each, its data the version's
// EventData, followed by observation.critical with the same data for a
// critical value that was amended. Its size is bounded by the domain's
// limits, far below outbox.MaxEventBytes, so it is never cut to a reference.
func (s *ObservationStore) copyEvents(ctx context.Context, tx pgx.Tx, obs []observation.Observation, eventType string) error {
	type planned struct {
		obs  int
		kind string
	}
	plan := make([]planned, 0, len(obs)+1)
	for i, o := range obs {
		plan = append(plan, planned{i, eventType})
		if o.Critical() && eventType != observation.EventEnteredInError {
			plan = append(plan, planned{i, observation.EventCritical})
		}
	}
	last, data := -1, []byte(nil)
	return copyOutbox(ctx, tx, len(plan), func(i int) (OutboxEvent, error) {
		p := plan[i]
		o := &obs[p.obs]
		if p.obs != last {
			var err error
			if data, err = observation.AppendEventJSON(data[:0], o.Event()); err != nil {
				return OutboxEvent{}, fmt.Errorf("encode observation %s event: %w", o.ID, err)
			}
			last = p.obs
		}
		id, err := s.newEventID()
		if err != nil {
			return OutboxEvent{}, fmt.Errorf("event id: %w", err)
		}
		return OutboxEvent{ID: id, Topic: ClinicalTopic, Key: o.PatientID.String(), Type: p.kind, Source: observationSource,
			Subject: entityObservation + "/" + o.ID.String(), Time: o.RecordedAt, Data: data}, nil
	})
}

// RecordedEvent is the data of an observation.recorded event: one write's
// new observations of one patient, in the order they were sent, each as its
// EventData (with its interpretation). A write that records more of a
// patient's observations than one event carries (maxRecordedEventData)
// publishes several, in order.
type RecordedEvent struct {
	PatientID    uuid.UUID               `json:"patientId"`
	Observations []observation.EventData `json:"observations"`
}

// maxRecordedEventData bounds the data of one observation.recorded event, in
// bytes as written: a quarter of outbox.MaxEventBytes, so that however the
// relay re-encodes it (jsonb's own number forms, the envelope) no event comes
// near the cap. Some 200 vital signs fit in one.
const maxRecordedEventData = outbox.MaxEventBytes / 4

// copyRecorded writes the outbox events of new observations with COPY: for
// each patient, in the order the patient first appears in obs, an
// observation.recorded event (a RecordedEvent) of the patient's
// observations, followed by observation.critical for each critical value it
// carries, with that observation's EventData as copyEvents writes it. One
// event per patient rather than per observation: a monitor's batch of
// 10,000 readings of 1,000 patients writes some 1,000 recorded events, not
// 10,000. The data is encoded as COPY streams, so that encoding overlaps the
// server's work.
func (s *ObservationStore) copyRecorded(ctx context.Context, tx pgx.Tx, obs []observation.Observation) error {
	// The observations grouped by patient, in order of first appearance,
	// each group in item order (a counting sort).
	group := make([]int32, len(obs))
	groupOf := make(map[uuid.UUID]int32, 64)
	var sizes []int
	for i, o := range obs {
		g, ok := groupOf[o.PatientID]
		if !ok {
			g = int32(len(sizes))
			groupOf[o.PatientID] = g
			sizes = append(sizes, 0)
		}
		group[i] = g
		sizes[g]++
	}
	starts := make([]int, len(sizes)+1)
	for g, n := range sizes {
		starts[g+1] = starts[g] + n
	}
	order := make([]int, len(obs))
	fill := slices.Clone(starts[:len(sizes)])
	for i, g := range group {
		order[fill[g]] = i
		fill[g]++
	}

	type span struct{ obs, from, to int }
	var (
		next      int    // the next observation of order to write
		data      []byte // the last recorded event's data
		item      []byte
		criticals []span // the critical values of that event, in data
		event     OutboxEvent
	)
	return copyOutboxFunc(ctx, tx, func() (*OutboxEvent, error) {
		if len(criticals) == 0 && next == len(order) {
			return nil, nil
		}
		id, err := s.newEventID()
		if err != nil {
			return nil, fmt.Errorf("event id: %w", err)
		}
		if len(criticals) > 0 {
			c := criticals[0]
			criticals = criticals[1:]
			o := &obs[c.obs]
			event = OutboxEvent{ID: id, Topic: ClinicalTopic, Key: o.PatientID.String(), Type: observation.EventCritical,
				Source: observationSource, Subject: entityObservation + "/" + o.ID.String(), Time: o.RecordedAt, Data: data[c.from:c.to]}
			return &event, nil
		}
		first := &obs[order[next]]
		g := group[order[next]]
		data = append(data[:0], `{"patientId":"`...)
		data = append(data, first.PatientID.String()...)
		data = append(data, `","observations":[`...)
		for n := 0; next < starts[g+1]; n++ {
			o := &obs[order[next]]
			if item, err = observation.AppendEventJSON(item[:0], o.Event()); err != nil {
				return nil, fmt.Errorf("encode observation %s event: %w", o.ID, err)
			}
			if n > 0 {
				if len(data)+1+len(item)+len("]}") > maxRecordedEventData {
					break
				}
				data = append(data, ',')
			}
			from := len(data)
			data = append(data, item...)
			if o.Critical() {
				criticals = append(criticals, span{order[next], from, len(data)})
			}
			next++
		}
		data = append(data, "]}"...)
		patient := first.PatientID.String()
		event = OutboxEvent{ID: id, Topic: ClinicalTopic, Key: patient, Type: observation.EventRecorded, Source: observationSource,
			Subject: "Patient/" + patient, Time: first.RecordedAt, Data: data}
		return &event, nil
	})
}

// outboxColumns are the outbox columns copyOutbox fills; seq (the relay's
// order, in COPY's row order) and created_at take their defaults.
var outboxColumns = []string{"id", "topic", "key", "type", "source", "subject", "time", "data", "traceparent"}

// copyOutbox writes n events, made by event in order, inside tx with COPY,
// and wakes the relay on commit, as appendOutbox does row by row. An id
// already stored is domain.ErrConflict: COPY has no ON CONFLICT, and these
// events are new.
func copyOutbox(ctx context.Context, tx pgx.Tx, n int, event func(i int) (OutboxEvent, error)) error {
	i := 0
	var e OutboxEvent
	return copyOutboxFunc(ctx, tx, func() (*OutboxEvent, error) {
		if i == n {
			return nil, nil
		}
		var err error
		e, err = event(i)
		i++
		return &e, err
	})
}

// copyOutboxFunc is copyOutbox of the events next makes until it returns
// nil. An event's data may be reused once next is called again.
func copyOutboxFunc(ctx context.Context, tx pgx.Tx, next func() (*OutboxEvent, error)) error {
	trace := traceParent(ctx)
	row := make([]any, len(outboxColumns))
	n := 0
	_, err := tx.CopyFrom(ctx, pgx.Identifier{"outbox"}, outboxColumns, pgx.CopyFromFunc(func() ([]any, error) {
		e, err := next()
		if err != nil || e == nil {
			return nil, err
		}
		n++
		if e.TraceParent == "" {
			e.TraceParent = trace
		}
		row[0], row[1], row[2], row[3], row[4], row[5], row[6], row[7], row[8] =
			pgUUID(e.ID), e.Topic, e.Key, e.Type, e.Source, e.Subject, e.Time, []byte(e.Data), e.TraceParent
		return row, nil
	}))
	if err != nil {
		return translate(err, fmt.Sprintf("append %d outbox events", n))
	}
	if _, err := tx.Exec(ctx, `SELECT pg_notify('`+outboxChannel+`', '')`); err != nil {
		return fmt.Errorf("notify outbox: %w", err)
	}
	return nil
}

// auditObservations completes rec, when not nil, with the observations a
// write concerns — the one observation's id, the one patient, or every
// patient of a batch — and stores it in tx.
func auditObservations(ctx context.Context, tx pgx.Tx, rec *audit.Record, obs []observation.Observation) error {
	if rec == nil {
		return nil
	}
	var patients []uuid.UUID
	seen := map[uuid.UUID]bool{}
	for _, o := range obs {
		if !seen[o.PatientID] {
			seen[o.PatientID] = true
			patients = append(patients, o.PatientID)
		}
	}
	rec.EntityType = entityObservation
	if len(obs) == 1 {
		rec.EntityID = obs[0].ID.String()
	}
	if len(patients) == 1 {
		rec.PatientID, rec.PatientIDs = &patients[0], nil
	} else {
		rec.PatientID, rec.PatientIDs = nil, patients
	}
	return AppendAudit(ctx, tx, *rec)
}

// explainReferences turns a write refused for a missing patient or encounter
// into the refusal of every observation that names one: items[i].patientId
// (or patientId for a single write), items[i].encounterId for an encounter
// that does not exist, items[i].patientId for one of another patient. It
// runs only after such a refusal, so the happy path pays nothing for it.
func (s *ObservationStore) explainReferences(ctx context.Context, obs []observation.Observation, batch bool, err error) error {
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) || pgErr.Code != "23503" {
		var verr *domain.ValidationError
		if errors.As(err, &verr) || !errors.As(err, &pgErr) {
			return err
		}
		return translate(err, "write observations")
	}
	var patients, encounters []uuid.UUID
	for _, o := range obs {
		patients = append(patients, o.PatientID)
		if o.EncounterID != nil {
			encounters = append(encounters, *o.EncounterID)
		}
	}
	known := map[uuid.UUID]bool{}
	rows, qerr := s.pool.Query(ctx, `SELECT id FROM patients WHERE id = ANY($1)`, patients)
	if qerr != nil {
		return translate(err, "write observations")
	}
	ids, qerr := pgx.CollectRows(rows, func(row pgx.CollectableRow) (uuid.UUID, error) {
		var id uuid.UUID
		err := row.Scan(scanUUID(&id))
		return id, err
	})
	if qerr != nil {
		return translate(err, "write observations")
	}
	for _, id := range ids {
		known[id] = true
	}
	encounterPatient := map[uuid.UUID]uuid.UUID{}
	if len(encounters) > 0 {
		rows, qerr := s.pool.Query(ctx, `SELECT id, patient_id FROM encounters WHERE id = ANY($1)`, encounters)
		if qerr != nil {
			return translate(err, "write observations")
		}
		var id, patient uuid.UUID
		if _, qerr := pgx.ForEachRow(rows, []any{scanUUID(&id), scanUUID(&patient)}, func() error {
			encounterPatient[id] = patient
			return nil
		}); qerr != nil {
			return translate(err, "write observations")
		}
	}
	problems := &domain.ValidationError{}
	field := func(i int, name string) string {
		if batch {
			return "items[" + strconv.Itoa(i) + "]." + name
		}
		return name
	}
	for i, o := range obs {
		if !known[o.PatientID] {
			problems.Add(field(i, "patientId"), unknownPatient)
			continue
		}
		if o.EncounterID == nil {
			continue
		}
		switch p, ok := encounterPatient[*o.EncounterID]; {
		case !ok:
			problems.Add(field(i, "encounterId"), unknownEncounter)
		case p != o.PatientID:
			problems.Add(field(i, "patientId"), notEncounterPatient)
		}
	}
	if len(problems.Fields) == 0 {
		return translate(err, "write observations")
	}
	return problems
}

// noPartition reports an insert refused because no partition holds its
// effective time (SQLSTATE 23514 without a constraint: no CHECK failed).
func noPartition(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && pgErr.Code == "23514" && pgErr.ConstraintName == ""
}

// cmpOr returns s, or def when s is empty.
func cmpOr(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// observationColumns are the observations columns in the order rows are
// copied and scanned.
var observationColumns = []string{
	"id", "version", "effective_at", "current", "patient_id", "encounter_id", "category", "code", "display",
	"value_kind", "value_num", "value_unit", "sent_value", "sent_unit", "value_code", "value_display", "value_text", "value_bool",
	"components", "issued", "performer_practitioner", "performer_client", "performer_asserted", "method", "device", "status",
	"subject_sex", "subject_age_months", "flag", "range_id", "critical_id", "delta_flags", "reason", "recorded_at", "based_on",
	"component_codes", "component_values",
}

// observationColumnList is what reads select: every column but the
// component arrays, which only serve queries (the components column holds
// the components whole).
var observationColumnList = strings.Join(observationColumns[:len(observationColumns)-2], ", ")

// copyObservations writes obs with COPY as current versions, naming their
// ranges in ranges. The rows are encoded here, in COPY's binary form
// (observationRows), rather than by pgx.CopyFrom, which boxes every value in
// an interface and plans its encoding: a batch of 10,000 took ~50 ms of the
// client's time that way, ~15 ms this way, with far less garbage.
func copyObservations(ctx context.Context, tx pgx.Tx, obs []observation.Observation, ranges *pendingRanges) error {
	rows := &observationRows{obs: obs, ranges: ranges}
	_, err := tx.Conn().PgConn().CopyFrom(ctx, rows, copyObservationsSQL)
	if rows.err != nil {
		err = rows.err // what the server was told made the copy fail
	}
	if err != nil {
		return fmt.Errorf("copy %d observations: %w", len(obs), err)
	}
	return nil
}

var copyObservationsSQL = `COPY observations (` + strings.Join(observationColumns, ", ") + `) FROM STDIN (FORMAT binary)`

// observationRows reads as the binary COPY stream of obs as current
// versions (observationColumns, in order), encoding rows as it is read.
type observationRows struct {
	obs     []observation.Observation
	ranges  *pendingRanges
	next    int // the next row to encode
	buf     []byte
	off     int // what of buf has been read
	largest int // the largest row encoded so far
	ended   bool
	err     error
}

// copyHeader opens a binary COPY stream: the signature, no flags, no header
// extension.
const copyHeader = "PGCOPY\n\377\r\n\x00\x00\x00\x00\x00\x00\x00\x00\x00"

// Read encodes as many rows as fit in p, so that each read is one full
// message to the server (as pgx.CopyFrom fills its own), not a full one
// and a sliver.
func (r *observationRows) Read(p []byte) (int, error) {
	for r.off == len(r.buf) {
		if r.err != nil {
			return 0, r.err
		}
		if r.ended {
			return 0, io.EOF
		}
		if r.buf == nil {
			r.buf = append(make([]byte, 0, max(len(p), 64<<10)), copyHeader...)
		} else {
			r.buf = r.buf[:0]
		}
		r.off = 0
		for r.next < len(r.obs) && (len(r.buf) == 0 || len(r.buf)+r.largest <= len(p)) {
			start := len(r.buf)
			if r.buf, r.err = appendObservationRow(r.buf, &r.obs[r.next], true, r.ranges); r.err != nil {
				return 0, r.err
			}
			r.largest = max(r.largest, len(r.buf)-start)
			r.next++
		}
		if r.next == len(r.obs) && len(r.buf)+2 <= max(len(p), 2) {
			r.buf = binary.BigEndian.AppendUint16(r.buf, 0xffff) // the trailer: -1 fields
			r.ended = true
		}
	}
	n := copy(p, r.buf[r.off:])
	r.off += n
	return n, nil
}

// storedComponent is a panel component as the components column holds it,
// its ranges by id.
type storedComponent struct {
	Code          string     `json:"code"`
	Display       string     `json:"display"`
	Value         float64    `json:"value"`
	Unit          string     `json:"unit"`
	Canonical     float64    `json:"canonical"`
	CanonicalUnit string     `json:"canonicalUnit"`
	Flag          string     `json:"flag,omitempty"`
	Range         *uuid.UUID `json:"range,omitempty"`
	Critical      *uuid.UUID `json:"critical,omitempty"`
}

// appendObservationRow appends o as one row of observationColumns in COPY's
// binary form; TestObservationRowsAreStoredAsWritten reads every column
// back.
func appendObservationRow(b []byte, o *observation.Observation, current bool, ranges *pendingRanges) ([]byte, error) {
	var (
		kind                       = observation.KindPanel
		num, sentValue             *float64
		unit, sentUnit, code, disp *string
		text                       *string
		boolean                    *bool
		components, delta          []byte
		err                        error
	)
	if v := o.Value; v != nil {
		kind = v.Kind
		switch {
		case v.Quantity != nil:
			q := v.Quantity
			num, unit, sentValue, sentUnit = &q.Canonical.Value, &q.Canonical.Unit, &q.Value, &q.Unit
		case v.Coding != nil:
			code, disp = &v.Coding.Code, &v.Coding.Display
		case v.Boolean != nil:
			boolean = v.Boolean
		default:
			text = &v.Text
		}
	}
	if len(o.Components) > 0 {
		stored := make([]storedComponent, len(o.Components))
		for i, c := range o.Components {
			stored[i] = storedComponent{Code: c.Code, Display: c.Display, Value: c.Value.Value, Unit: c.Value.Unit,
				Canonical: c.Value.Canonical.Value, CanonicalUnit: c.Value.Canonical.Unit, Flag: string(c.Interpretation.Flag)}
			if stored[i].Range, err = ranges.id(c.Interpretation.Range); err != nil {
				return nil, err
			}
			if stored[i].Critical, err = ranges.id(c.Interpretation.Critical); err != nil {
				return nil, err
			}
		}
		if components, err = json.Marshal(stored); err != nil {
			return nil, fmt.Errorf("encode observation %s components: %w", o.ID, err)
		}
	}
	var rangeID, criticalID *uuid.UUID
	var ids [2]uuid.UUID
	if r := o.Interpretation.Range; r != nil {
		if ids[0], err = ranges.idOf(r); err != nil {
			return nil, err
		}
		rangeID = &ids[0]
	}
	if r := o.Interpretation.Critical; r != nil {
		if ids[1], err = ranges.idOf(r); err != nil {
			return nil, err
		}
		criticalID = &ids[1]
	}
	if len(o.DeltaFlags) > 0 {
		if delta, err = json.Marshal(o.DeltaFlags); err != nil {
			return nil, fmt.Errorf("encode observation %s delta flags: %w", o.ID, err)
		}
	}
	p := o.Performer
	b = binary.BigEndian.AppendUint16(b, uint16(len(observationColumns)))
	b = copyUUID(b, &o.ID)
	b = copyInt4(b, int32(o.Version))
	b = copyTime(b, o.EffectiveAt)
	b = copyBool(b, &current)
	b = copyUUID(b, &o.PatientID)
	b = copyUUID(b, o.EncounterID)
	b = copyText(b, string(o.Category))
	b = copyText(b, o.Code)
	b = copyText(b, o.Display)
	b = copyText(b, string(kind))
	b = copyFloat8(b, num)
	b = copyNullText(b, unit)
	b = copyFloat8(b, sentValue)
	b = copyNullText(b, sentUnit)
	b = copyNullText(b, code)
	b = copyNullText(b, disp)
	b = copyNullText(b, text)
	b = copyBool(b, boolean)
	b = copyJSONB(b, components)
	b = copyTime(b, o.Issued)
	b = copyUUID(b, p.PractitionerID)
	b = copyText(b, p.ClientID)
	b = copyBool(b, &p.Asserted)
	b = copyText(b, o.Method)
	b = copyText(b, o.Device)
	b = copyText(b, string(o.Status))
	b = copyText(b, string(o.Subject.Sex))
	b = copyInt4(b, int32(o.Subject.AgeMonths))
	b = copyText(b, string(o.Interpretation.Flag))
	b = copyUUID(b, rangeID)
	b = copyUUID(b, criticalID)
	b = copyJSONB(b, delta)
	b = copyText(b, o.Reason)
	b = copyTime(b, o.RecordedAt)
	b = copyUUID(b, o.BasedOn)
	if len(o.Components) == 0 {
		return copyNull(copyNull(b)), nil // component_codes, component_values
	}
	// text[] and float8[] in the array's binary form: one dimension, no
	// NULL, the element type, the length, lower bound 1, the elements.
	const textOID, float8OID = 25, 701
	codes := 0
	for _, c := range o.Components {
		codes += 4 + len(c.Code)
	}
	b = copyArrayHeader(b, textOID, len(o.Components), codes)
	for _, c := range o.Components {
		b = copyText(b, c.Code)
	}
	b = copyArrayHeader(b, float8OID, len(o.Components), 12*len(o.Components))
	for _, c := range o.Components {
		b = copyFloat8(b, &c.Value.Canonical.Value)
	}
	return b, nil
}

// The fields of a binary COPY row: each its length (-1 for NULL), then its
// bytes in the type's binary form.
func copyNull(b []byte) []byte { return binary.BigEndian.AppendUint32(b, 0xffffffff) }

func copyUUID(b []byte, id *uuid.UUID) []byte {
	if id == nil {
		return copyNull(b)
	}
	return append(binary.BigEndian.AppendUint32(b, 16), id[:]...)
}

func copyInt4(b []byte, v int32) []byte {
	return binary.BigEndian.AppendUint32(binary.BigEndian.AppendUint32(b, 4), uint32(v))
}

func copyFloat8(b []byte, v *float64) []byte {
	if v == nil {
		return copyNull(b)
	}
	return binary.BigEndian.AppendUint64(binary.BigEndian.AppendUint32(b, 8), math.Float64bits(*v))
}

func copyBool(b []byte, v *bool) []byte {
	switch {
	case v == nil:
		return copyNull(b)
	case *v:
		return append(binary.BigEndian.AppendUint32(b, 1), 1)
	}
	return append(binary.BigEndian.AppendUint32(b, 1), 0)
}

// copyTime appends a timestamptz: microseconds since 2000-01-01 UTC, as
// pgx writes a time.Time.
func copyTime(b []byte, t time.Time) []byte {
	const unixToY2K = 946_684_800 * 1_000_000
	micros := t.Unix()*1_000_000 + int64(t.Nanosecond())/1000 - unixToY2K
	return binary.BigEndian.AppendUint64(binary.BigEndian.AppendUint32(b, 8), uint64(micros))
}

func copyText(b []byte, s string) []byte {
	return append(binary.BigEndian.AppendUint32(b, uint32(len(s))), s...)
}

func copyNullText(b []byte, s *string) []byte {
	if s == nil {
		return copyNull(b)
	}
	return copyText(b, *s)
}

// copyJSONB appends a jsonb (version 1, then the text); NULL for nil.
func copyJSONB(b []byte, data []byte) []byte {
	if data == nil {
		return copyNull(b)
	}
	return append(append(binary.BigEndian.AppendUint32(b, uint32(1+len(data))), 1), data...)
}

// copyArrayHeader appends the length and header of a one-dimensional array
// of n elements of type oid whose elements take size bytes.
func copyArrayHeader(b []byte, oid uint32, n, size int) []byte {
	b = binary.BigEndian.AppendUint32(b, uint32(20+size))
	b = binary.BigEndian.AppendUint32(b, 1) // dimensions
	b = binary.BigEndian.AppendUint32(b, 0) // no NULL
	b = binary.BigEndian.AppendUint32(b, oid)
	b = binary.BigEndian.AppendUint32(b, uint32(n))
	return binary.BigEndian.AppendUint32(b, 1) // lower bound
}

// storedObservation is a scanned row whose ranges are still ids.
type storedObservation struct {
	o                   observation.Observation
	current             bool
	rangeID, criticalID *uuid.UUID
	components          []storedComponent
	// basedOn scans the based_on column into o.BasedOn, during the scan
	// only. It lives here, with the row that is allocated anyway, so a row
	// without an order costs no allocation of its own.
	basedOn nullUUIDTarget
}

// scanObservation reads one row of observationColumnList, after the columns
// in lead.
func scanObservation(row pgx.Row, lead ...any) (storedObservation, error) {
	var (
		st                          storedObservation
		category, kind, status, sex string
		flag                        string
		num, sentValue              *float64
		unit, sentUnit, code, disp  *string
		text                        *string
		boolean                     *bool
		age                         int32
		components, delta           []byte
	)
	o := &st.o
	p := &o.Performer
	st.basedOn.dst = &o.BasedOn
	dest := append(lead, scanUUID(&o.ID), &o.Version, &o.EffectiveAt, &st.current, scanUUID(&o.PatientID), scanNullUUID(&o.EncounterID),
		&category, &o.Code, &o.Display, &kind, &num, &unit, &sentValue, &sentUnit, &code, &disp, &text, &boolean,
		&components, &o.Issued, scanNullUUID(&p.PractitionerID), &p.ClientID, &p.Asserted, &o.Method, &o.Device, &status,
		&sex, &age, &flag, scanNullUUID(&st.rangeID), scanNullUUID(&st.criticalID), &delta, &o.Reason, &o.RecordedAt, &st.basedOn)
	err := row.Scan(dest...)
	st.basedOn.dst = nil // copies of st must not keep this one alive
	if err != nil {
		return st, err
	}
	o.Category, o.Status = observation.Category(category), observation.Status(status)
	o.Subject = observation.Subject{Sex: observation.Sex(sex), AgeMonths: int(age)}
	o.Interpretation.Flag = observation.Flag(flag)
	o.EffectiveAt, o.Issued, o.RecordedAt = o.EffectiveAt.UTC(), o.Issued.UTC(), o.RecordedAt.UTC()
	switch k := observation.ValueKind(kind); {
	case k == observation.KindPanel:
	case num != nil:
		o.Value = &observation.Value{Kind: k, Quantity: &observation.QuantityValue{
			Value: deref(sentValue), Unit: deref(sentUnit), Canonical: observation.Quantity{Value: *num, Unit: deref(unit)}}}
	case code != nil:
		o.Value = &observation.Value{Kind: k, Coding: &observation.Coding{Code: *code, Display: deref(disp)}}
	case boolean != nil:
		o.Value = &observation.Value{Kind: k, Boolean: boolean}
	default:
		o.Value = &observation.Value{Kind: k, Text: deref(text)}
	}
	if components != nil {
		if err := json.Unmarshal(components, &st.components); err != nil {
			return st, fmt.Errorf("decode observation %s components: %w", o.ID, err)
		}
	}
	if delta != nil {
		if err := json.Unmarshal(delta, &o.DeltaFlags); err != nil {
			return st, fmt.Errorf("decode observation %s delta flags: %w", o.ID, err)
		}
	}
	return st, nil
}

// complete resolves the ranges of scanned rows and returns the observations.
func (s *ObservationStore) complete(ctx context.Context, stored []storedObservation) ([]observation.Observation, error) {
	var ids []uuid.UUID
	add := func(id *uuid.UUID) {
		if id != nil {
			ids = append(ids, *id)
		}
	}
	for _, st := range stored {
		add(st.rangeID)
		add(st.criticalID)
		for _, c := range st.components {
			add(c.Range)
			add(c.Critical)
		}
	}
	ranges, err := s.ranges.resolve(ctx, s.pool, ids)
	if err != nil {
		return nil, err
	}
	pick := func(id *uuid.UUID) *observation.Range {
		if id == nil {
			return nil
		}
		r := ranges[*id]
		return &r
	}
	out := make([]observation.Observation, len(stored))
	for i, st := range stored {
		o := st.o
		o.Interpretation.Range, o.Interpretation.Critical = pick(st.rangeID), pick(st.criticalID)
		for _, c := range st.components {
			o.Components = append(o.Components, observation.ComponentValue{Code: c.Code, Display: c.Display,
				Value:          observation.QuantityValue{Value: c.Value, Unit: c.Unit, Canonical: observation.Quantity{Value: c.Canonical, Unit: c.CanonicalUnit}},
				Interpretation: observation.Interpretation{Flag: observation.Flag(c.Flag), Range: pick(c.Range), Critical: pick(c.Critical)}})
		}
		out[i] = o
	}
	return out, nil
}

// collect scans every row of observationColumnList, resolves their ranges,
// and reports whether each is current.
func (s *ObservationStore) collect(ctx context.Context, rows pgx.Rows) ([]observation.Observation, []bool, error) {
	var (
		stored   []storedObservation
		currents []bool
	)
	for rows.Next() {
		st, err := scanObservation(rows)
		if err != nil {
			rows.Close()
			return nil, nil, err
		}
		stored, currents = append(stored, st), append(currents, st.current)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, nil, err
	}
	out, err := s.complete(ctx, stored)
	return out, currents, err
}

// rangeNamespace names the UUIDv5 ids of observation_ranges.
var rangeNamespace = uuid.NewSHA1(uuid.NameSpaceURL, []byte("https://github.com/zarish-sphere/zarish/observation-range"))

// maxCachedRanges bounds each of the registry's maps: the catalogue's bands
// number a few hundred; the ranges laboratories report add more.
const maxCachedRanges = 10_000

// rangeKey is a range as a map key: every field of observation.Range.
type rangeKey struct {
	sex             observation.Sex
	from, to        int
	low, high       float64
	hasLow, hasHigh bool
	unit, source    string
}

func keyOf(r *observation.Range) rangeKey {
	k := rangeKey{sex: r.Sex, from: r.Age.FromMonths, to: r.Age.ToMonths, unit: r.Unit, source: r.Source}
	if r.Low != nil {
		k.low, k.hasLow = *r.Low, true
	}
	if r.High != nil {
		k.high, k.hasHigh = *r.High, true
	}
	return k
}

// rangeRegistry remembers the ranges stored in observation_ranges: by
// content, to name them when writing without encoding each row's range, and
// by id, to read them without a join. A stored range never changes, so
// neither map is ever invalidated.
type rangeRegistry struct {
	mu   sync.RWMutex
	ids  map[rangeKey]uuid.UUID
	byID map[uuid.UUID]observation.Range
}

func newRangeRegistry() *rangeRegistry {
	return &rangeRegistry{ids: map[rangeKey]uuid.UUID{}, byID: map[uuid.UUID]observation.Range{}}
}

// pendingRanges collects the ranges one write names that are not known to
// be stored.
type pendingRanges struct {
	reg  *rangeRegistry
	keys map[rangeKey]uuid.UUID
	ids  []uuid.UUID
	json []string
}

func (r *rangeRegistry) pending() *pendingRanges {
	return &pendingRanges{reg: r, keys: map[rangeKey]uuid.UUID{}}
}

// id names rng (nil for no range), adding it to the write when it may not
// be stored yet.
func (p *pendingRanges) id(rng *observation.Range) (*uuid.UUID, error) {
	if rng == nil {
		return nil, nil
	}
	id, err := p.idOf(rng)
	return &id, err
}

// idOf is id of a range that is not nil, without allocating.
func (p *pendingRanges) idOf(rng *observation.Range) (uuid.UUID, error) {
	k := keyOf(rng)
	p.reg.mu.RLock()
	id, ok := p.reg.ids[k]
	p.reg.mu.RUnlock()
	if !ok {
		id, ok = p.keys[k]
	}
	if !ok {
		b, err := json.Marshal(rng)
		if err != nil {
			return uuid.Nil, fmt.Errorf("encode observation range: %w", err)
		}
		id = uuid.NewSHA1(rangeNamespace, b)
		p.keys[k] = id
		p.ids, p.json = append(p.ids, id), append(p.json, string(b))
	}
	return id, nil
}

// store writes the write's new ranges; a range another write stored first
// is kept as it is (it is the same).
func (p *pendingRanges) store(ctx context.Context, tx pgx.Tx) error {
	if len(p.ids) == 0 {
		return nil
	}
	_, err := tx.Exec(ctx, `INSERT INTO observation_ranges (id, range)
		SELECT * FROM unnest($1::uuid[], $2::jsonb[]) ON CONFLICT (id) DO NOTHING`, p.ids, p.json)
	if err != nil {
		return fmt.Errorf("store %d observation ranges: %w", len(p.ids), err)
	}
	return nil
}

// committed remembers the write's ranges as stored, once its transaction
// has committed: a rolled-back write's ranges may not be.
func (p *pendingRanges) committed() {
	if len(p.keys) == 0 {
		return
	}
	p.reg.mu.Lock()
	defer p.reg.mu.Unlock()
	for k, id := range p.keys {
		if len(p.reg.ids) < maxCachedRanges {
			p.reg.ids[k] = id
		}
	}
}

// resolve returns the stored ranges with ids, reading those it has not seen.
func (r *rangeRegistry) resolve(ctx context.Context, q rowsQuerier, ids []uuid.UUID) (map[uuid.UUID]observation.Range, error) {
	out := make(map[uuid.UUID]observation.Range, 8)
	var missing []uuid.UUID
	r.mu.RLock()
	for _, id := range ids {
		if _, done := out[id]; done {
			continue
		}
		if rng, ok := r.byID[id]; ok {
			out[id] = rng
		} else if !slices.Contains(missing, id) {
			missing = append(missing, id)
		}
	}
	r.mu.RUnlock()
	if len(missing) == 0 {
		return out, nil
	}
	rows, err := q.Query(ctx, `SELECT id, range FROM observation_ranges WHERE id = ANY($1)`, missing)
	if err != nil {
		return nil, fmt.Errorf("read observation ranges: %w", err)
	}
	var (
		id  uuid.UUID
		raw []byte
	)
	read := map[uuid.UUID]observation.Range{}
	if _, err := pgx.ForEachRow(rows, []any{scanUUID(&id), &raw}, func() error {
		var rng observation.Range
		if err := json.Unmarshal(raw, &rng); err != nil {
			return fmt.Errorf("decode observation range %s: %w", id, err)
		}
		read[id] = rng
		return nil
	}); err != nil {
		return nil, fmt.Errorf("read observation ranges: %w", err)
	}
	if len(read) < len(missing) {
		return nil, fmt.Errorf("read observation ranges: %d of %d are not stored", len(missing)-len(read), len(missing))
	}
	r.mu.Lock()
	for id, rng := range read {
		out[id] = rng
		if len(r.byID) < maxCachedRanges {
			r.byID[id] = rng
		}
	}
	r.mu.Unlock()
	return out, nil
}

// pgUUID hands a UUID to pgx in its own type. Given a uuid.UUID, pgx takes
// the driver.Valuer path — Value() to a string, parsed back, with an error
// built and dropped on the way — which cost 40% of the client's time in a
// COPY of observations.
func pgUUID(id uuid.UUID) pgtype.UUID { return pgtype.UUID{Bytes: id, Valid: true} }

// scanUUID and scanNullUUID scan a uuid column through pgx's own UUID
// scanner: into a uuid.UUID directly, pgx takes the database/sql Scanner
// path (the value as text, parsed), a third of the client's time in a trend.
func scanUUID(dst *uuid.UUID) *uuidTarget { return &uuidTarget{dst: dst} }

func scanNullUUID(dst **uuid.UUID) *nullUUIDTarget { return &nullUUIDTarget{dst: dst} }

type uuidTarget struct{ dst *uuid.UUID }

func (t *uuidTarget) ScanUUID(v pgtype.UUID) error {
	if !v.Valid {
		return errors.New("scan NULL into a uuid")
	}
	*t.dst = v.Bytes
	return nil
}

type nullUUIDTarget struct{ dst **uuid.UUID }

func (t *nullUUIDTarget) ScanUUID(v pgtype.UUID) error {
	if !v.Valid {
		*t.dst = nil
		return nil
	}
	id := uuid.UUID(v.Bytes)
	*t.dst = &id
	return nil
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}

// partitionMonths remembers the months of observations whose partitions
// exist, so a write checks the catalogue only for a month it has not seen.
type partitionMonths struct {
	mu    sync.Mutex
	known map[time.Time]bool
}

// monthStart is the first instant of t's UTC month.
func monthStart(t time.Time) time.Time {
	t = t.UTC()
	return time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, time.UTC)
}

// monthsOf lists the distinct months of the observations' effective times.
func monthsOf(obs []observation.Observation) []time.Time {
	var months []time.Time
	var last time.Time
	for _, o := range obs {
		m := monthStart(o.EffectiveAt)
		if m.Equal(last) || slices.ContainsFunc(months, m.Equal) {
			continue
		}
		months, last = append(months, m), m
	}
	return months
}

// ensure creates the partitions of months this process has not seen yet,
// and, the first time it does so, that of the month after now's, so that
// the first write of a new month finds it ready.
func (p *partitionMonths) ensure(ctx context.Context, pool *pgxpool.Pool, months []time.Time, now time.Time) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.known) == 0 && len(months) > 0 {
		months = append(slices.Clone(months), monthStart(now).AddDate(0, 1, 0))
	}
	for _, m := range months {
		if p.known[m] {
			continue
		}
		if err := createObservationPartition(ctx, pool, m); err != nil {
			return err
		}
		p.known[m] = true
	}
	return nil
}

// forget drops months from what p knows, so the next ensure checks them again.
func (p *partitionMonths) forget(months []time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, m := range months {
		delete(p.known, m)
	}
}

// partitionLockTimeout bounds how long creating a partition waits for its
// lock on the observations table, so that a long query holding it delays
// one write rather than queueing every reader behind the DDL.
const partitionLockTimeout = "5s"

// createObservationPartition creates the partition of the month starting at
// month unless it exists, in a transaction of its own.
func createObservationPartition(ctx context.Context, pool *pgxpool.Pool, month time.Time) error {
	name := fmt.Sprintf("observations_y%04dm%02d", month.Year(), int(month.Month()))
	var exists bool
	if err := pool.QueryRow(ctx, `SELECT to_regclass($1) IS NOT NULL`, name).Scan(&exists); err != nil {
		return fmt.Errorf("observation partition %s: %w", name, err)
	}
	if exists {
		return nil
	}
	ddl := fmt.Sprintf(`CREATE TABLE IF NOT EXISTS %s PARTITION OF observations FOR VALUES FROM ('%s') TO ('%s')`,
		pgx.Identifier{name}.Sanitize(), month.Format(time.RFC3339), month.AddDate(0, 1, 0).Format(time.RFC3339))
	err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SET LOCAL lock_timeout = '`+partitionLockTimeout+`'`); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, ddl)
		return err
	})
	if err != nil {
		// Another process may have created it at the same moment.
		if qerr := pool.QueryRow(ctx, `SELECT to_regclass($1) IS NOT NULL`, name).Scan(&exists); qerr == nil && exists {
			return nil
		}
		return fmt.Errorf("create observation partition %s: %w", name, err)
	}
	return nil
}
