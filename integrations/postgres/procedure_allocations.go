package postgres

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"regexp"
	"slices"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/zarish-sphere/zarish/domain"
	"github.com/zarish-sphere/zarish/domain/procedure"
)

// The allocations of procedures to resources (and to their patients), in
// procedure_allocations: the exclusion constraint of migration
// 00098_procedures.sql refuses two overlapping rows of one resource, so no
// double booking gets past PostgreSQL however writers race. The store only
// translates its refusal.

// SlotTaken and ErrHoldLapsed are the domain's refusals (domain/procedure),
// which the allocations answer with.
type SlotTaken = procedure.SlotTaken

// ErrHoldLapsed refuses to book a procedure whose hold lapsed.
var ErrHoldLapsed = procedure.ErrHoldLapsed

// Writers of one resource take turns. Left to the constraint alone, two
// transactions that insert overlapping rows at the same instant each find
// the other's uncommitted row and wait for the other to end: a deadlock,
// which PostgreSQL breaks only after deadlock_timeout (a second) by
// aborting one; under a crowd of holds for one slot that repeats until the
// retries run out. So each writer first takes a transaction-scoped advisory
// lock per resource (and patient) it writes, in one global order: the
// writers of a resource then meet the constraint one after another, and are
// refused by it as soon as the one before them commits. The constraint
// stays what guarantees no double booking; the locks only queue writers.
//
// allocationLockSpace is the first key of those locks, in the two-key space
// of advisory locks, which the one-key locks elsewhere never meet: "zp" and
// the migration's number.
const allocationLockSpace int32 = 0x7a700098

// maxAllocationAttempts bounds the retries of an allocation transaction
// that PostgreSQL aborted as a deadlock or a serialization failure anyway
// (two sweeps of one lapsed hold, say, deleting its rows in another order).
const maxAllocationAttempts = 5

// allocationColumns are the columns Allocations and its kin read.
const allocationColumns = `procedure_id, resource_id, kind, starts_at, ends_at, turnover, state, expires_at, priority`

// Busy returns every allocation overlapping span of the resources with
// resourceIDs and of the patient (kind patient, patientID; none when
// uuid.Nil): booked ones, and holds not lapsed at now. Each Busy runs from
// the allocation's start to its end plus its turnover. A resource's
// blocked periods are not repeated here: the search reads them from the
// resource itself (procedure.Resource.Open). The map has an entry, sorted
// by start, for every id asked for that is busy at all.
func (s *ProcedureStore) Busy(ctx context.Context, resourceIDs []uuid.UUID, patientID uuid.UUID, span procedure.Period,
	now time.Time) (map[uuid.UUID][]procedure.Busy, error) {
	busy := map[uuid.UUID][]procedure.Busy{}
	if len(resourceIDs) == 0 && patientID == uuid.Nil {
		return busy, nil
	}
	if resourceIDs == nil {
		resourceIDs = []uuid.UUID{}
	}
	rows, err := s.pool.Query(ctx, `
		SELECT resource_id, procedure_id, priority, state = 'held', lower(during), upper(during) FROM procedure_allocations
		WHERE (resource_id = ANY($1) AND kind <> 'patient' OR kind = 'patient' AND resource_id = $2)
			AND during && tstzrange($3, $4, '[)')
			AND (state = 'booked' OR expires_at > $5)`, resourceIDs, patientID, span.From, span.To, now)
	if err != nil {
		return nil, fmt.Errorf("busy allocations: %w", err)
	}
	for rows.Next() {
		var (
			id  uuid.UUID
			b   procedure.Busy
			pri string
		)
		if err := rows.Scan(&id, &b.ProcedureID, &pri, &b.Held, &b.From, &b.To); err != nil {
			rows.Close()
			return nil, fmt.Errorf("busy allocations: %w", err)
		}
		b.Priority = procedure.Priority(pri)
		busy[id] = append(busy[id], b)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("busy allocations: %w", err)
	}
	for _, list := range busy {
		slices.SortFunc(list, func(a, b procedure.Busy) int {
			return cmp.Or(a.From.Compare(b.From), a.To.Compare(b.To), slices.Compare(a.ProcedureID[:], b.ProcedureID[:]))
		})
	}
	return busy, nil
}

// Hold takes allocs for the procedure, held until expiresAt, in one
// transaction: it deletes the lapsed holds (expires_at at or before the
// database's now) of the resources the new rows overlap — each such hold
// whole, so a lapsed procedure never keeps half its resources — then
// inserts every row held. Holding again for the same procedure replaces its
// previous holds, so a retried hold is harmless; a procedure already booked
// is refused (it moves with Swap). Any overlap with another procedure's
// allocation rolls everything back and returns a *SlotTaken naming the
// resource. Each allocation's ProcedureID, State and ExpiresAt are the
// store's to set; a procedure never created is domain.ErrNotFound.
func (s *ProcedureStore) Hold(ctx context.Context, procedureID uuid.UUID, allocs []procedure.Allocation, expiresAt time.Time) error {
	if expiresAt.IsZero() {
		return fmt.Errorf("hold for procedure %s: no expiry: %w", procedureID, procedure.ErrInvalidArgument)
	}
	rows, err := allocationRows(procedureID, allocs, procedure.AllocationHeld, &expiresAt)
	if err != nil {
		return err
	}
	return s.allocate(ctx, procedureID, rows, func(tx pgx.Tx) error {
		var booked bool
		err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM procedure_allocations WHERE procedure_id = $1 AND state = 'booked')`,
			procedureID).Scan(&booked)
		if err != nil {
			return fmt.Errorf("hold for procedure %s: %w", procedureID, err)
		}
		if booked {
			return fmt.Errorf("hold for procedure %s: it is booked already, so it moves with a swap: %w", procedureID, domain.ErrConflict)
		}
		_, err = tx.Exec(ctx, `DELETE FROM procedure_allocations WHERE procedure_id = $1`, procedureID)
		return translate(err, "replace the holds of procedure "+procedureID.String())
	})
}

// Book turns the procedure's holds into bookings that never lapse, all of
// them in one transaction. A procedure that holds nothing, or whose hold
// lapsed at now, is ErrHoldLapsed and nothing changes. Booking a booked
// procedure again changes nothing.
func (s *ProcedureStore) Book(ctx context.Context, procedureID uuid.UUID, now time.Time) error {
	return retryDeadlock(ctx, func() error {
		return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
			// Take the turn of each resource, then lock the rows: a writer
			// sweeping the lapsed hold away either went first (and none is
			// left) or waits until this booking commits.
			if err := lockProcedureResources(ctx, tx, procedureID); err != nil {
				return err
			}
			rows, err := tx.Query(ctx, `SELECT state, expires_at FROM procedure_allocations WHERE procedure_id = $1
				ORDER BY kind, resource_id FOR UPDATE`, procedureID)
			if err != nil {
				return fmt.Errorf("book procedure %s: %w", procedureID, err)
			}
			var held, n int
			lapsed := false
			for rows.Next() {
				var (
					state   string
					expires *time.Time
				)
				if err := rows.Scan(&state, &expires); err != nil {
					rows.Close()
					return fmt.Errorf("book procedure %s: %w", procedureID, err)
				}
				n++
				if state == string(procedure.AllocationHeld) {
					held++
					lapsed = lapsed || !expires.After(now)
				}
			}
			rows.Close()
			if err := rows.Err(); err != nil {
				return fmt.Errorf("book procedure %s: %w", procedureID, err)
			}
			switch {
			case n == 0 || lapsed:
				return fmt.Errorf("book procedure %s: %w", procedureID, ErrHoldLapsed)
			case held == 0:
				return nil // booked already
			}
			_, err = tx.Exec(ctx, `UPDATE procedure_allocations SET state = 'booked', expires_at = NULL
				WHERE procedure_id = $1 AND state = 'held'`, procedureID)
			return translate(err, "book procedure "+procedureID.String())
		})
	})
}

// Release deletes every allocation of the procedure, held or booked; a
// procedure that holds nothing is left as it is.
func (s *ProcedureStore) Release(ctx context.Context, procedureID uuid.UUID) error {
	return retryDeadlock(ctx, func() error {
		return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
			if err := lockProcedureResources(ctx, tx, procedureID); err != nil {
				return err
			}
			_, err := tx.Exec(ctx, `DELETE FROM procedure_allocations WHERE procedure_id = $1`, procedureID)
			return translate(err, "release procedure "+procedureID.String())
		})
	})
}

// Swap reschedules the procedure in one transaction: it deletes its
// allocations, and the lapsed holds the new rows overlap, and inserts
// allocs booked. Any overlap with another procedure's allocation rolls the
// whole swap back, so the old booking stays (the patient never has no slot,
// nor two), and returns a *SlotTaken naming the resource.
func (s *ProcedureStore) Swap(ctx context.Context, procedureID uuid.UUID, allocs []procedure.Allocation) error {
	rows, err := allocationRows(procedureID, allocs, procedure.AllocationBooked, nil)
	if err != nil {
		return err
	}
	return s.allocate(ctx, procedureID, rows, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `DELETE FROM procedure_allocations WHERE procedure_id = $1`, procedureID)
		return translate(err, "swap the allocations of procedure "+procedureID.String())
	})
}

// Bumpable returns the procedures an emergency may bump off the resources
// with resourceIDs over span: those with an elective booking overlapping it
// (turnover included), the earliest first. Holds are not bumped: they lapse
// on their own.
func (s *ProcedureStore) Bumpable(ctx context.Context, resourceIDs []uuid.UUID, span procedure.Period) ([]uuid.UUID, error) {
	if resourceIDs == nil {
		resourceIDs = []uuid.UUID{}
	}
	rows, err := s.pool.Query(ctx, `
		SELECT procedure_id FROM procedure_allocations
		WHERE resource_id = ANY($1) AND kind <> 'patient' AND state = 'booked' AND priority = 'elective'
			AND during && tstzrange($2, $3, '[)')
		GROUP BY procedure_id ORDER BY min(starts_at), procedure_id`, resourceIDs, span.From, span.To)
	if err != nil {
		return nil, fmt.Errorf("bumpable procedures: %w", err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[uuid.UUID])
	if err != nil {
		return nil, fmt.Errorf("bumpable procedures: %w", err)
	}
	if ids == nil {
		ids = []uuid.UUID{}
	}
	return ids, nil
}

// Allocations returns the procedure's allocations by kind and resource id;
// none is an empty list.
func (s *ProcedureStore) Allocations(ctx context.Context, procedureID uuid.UUID) ([]procedure.Allocation, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+allocationColumns+` FROM procedure_allocations WHERE procedure_id = $1
		ORDER BY kind, resource_id`, procedureID)
	if err != nil {
		return nil, fmt.Errorf("allocations of procedure %s: %w", procedureID, err)
	}
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (procedure.Allocation, error) {
		var (
			a                     procedure.Allocation
			kind, state, priority string
		)
		err := r.Scan(&a.ProcedureID, &a.ResourceID, &kind, &a.Period.From, &a.Period.To, &a.Turnover, &state, &a.ExpiresAt, &priority)
		a.Kind, a.State, a.Priority = procedure.ResourceKind(kind), procedure.AllocationState(state), procedure.Priority(priority)
		return a, err
	})
	if err != nil {
		return nil, fmt.Errorf("allocations of procedure %s: %w", procedureID, err)
	}
	if list == nil {
		list = []procedure.Allocation{}
	}
	return list, nil
}

// allocationSet is the rows of one hold or swap, column by column, for one
// INSERT … SELECT FROM unnest.
type allocationSet struct {
	kinds, states, priorities []string
	ids                       []uuid.UUID
	starts, ends              []time.Time
	turnovers                 []time.Duration
	expires                   []*time.Time
}

// allocationRows checks allocs and lays them out as rows of the procedure
// in state, sorted by kind and resource id: every writer inserts (and
// locks) in that order, which keeps the deadlocks between them rare.
func allocationRows(procedureID uuid.UUID, allocs []procedure.Allocation, state procedure.AllocationState,
	expiresAt *time.Time) (allocationSet, error) {
	bad := func(why string, args ...any) (allocationSet, error) {
		return allocationSet{}, fmt.Errorf("allocate procedure %s: %s: %w", procedureID, fmt.Sprintf(why, args...), procedure.ErrInvalidArgument)
	}
	if procedureID == uuid.Nil {
		return bad("no procedure id")
	}
	if len(allocs) == 0 {
		return bad("nothing to allocate")
	}
	allocs = slices.Clone(allocs)
	slices.SortFunc(allocs, func(a, b procedure.Allocation) int {
		return cmp.Or(cmp.Compare(a.Kind, b.Kind), slices.Compare(a.ResourceID[:], b.ResourceID[:]))
	})
	var set allocationSet
	for i, a := range allocs {
		switch {
		case a.ProcedureID != uuid.Nil && a.ProcedureID != procedureID:
			return bad("an allocation of procedure %s", a.ProcedureID)
		case !a.Kind.Valid() && a.Kind != procedure.KindPatient:
			return bad("kind %q", a.Kind)
		case a.ResourceID == uuid.Nil:
			return bad("a %s without an id", a.Kind)
		case !a.Period.To.After(a.Period.From):
			return bad("%s %s: the period ends before it starts", a.Kind, a.ResourceID)
		case a.Turnover < 0:
			return bad("%s %s: a negative turnover", a.Kind, a.ResourceID)
		case !a.Priority.Valid():
			return bad("priority %q", a.Priority)
		case i > 0 && allocs[i-1].Kind == a.Kind && allocs[i-1].ResourceID == a.ResourceID:
			return bad("%s %s twice", a.Kind, a.ResourceID)
		}
		set.kinds = append(set.kinds, string(a.Kind))
		set.ids = append(set.ids, a.ResourceID)
		set.starts = append(set.starts, a.Period.From)
		set.ends = append(set.ends, a.Period.To)
		set.turnovers = append(set.turnovers, a.Turnover)
		set.states = append(set.states, string(state))
		set.expires = append(set.expires, expiresAt)
		set.priorities = append(set.priorities, string(a.Priority))
	}
	return set, nil
}

// allocate runs one hold or swap of the procedure: clear (which removes
// what the procedure had), the deletion of the lapsed holds the new rows
// overlap, and the insert, in one transaction, retried after a deadlock. An
// exclusion violation rolls it back and is returned as a *SlotTaken.
func (s *ProcedureStore) allocate(ctx context.Context, procedureID uuid.UUID, set allocationSet, clear func(pgx.Tx) error) error {
	err := retryDeadlock(ctx, func() error {
		return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
			// Take the turn of every resource the procedure gives up or
			// takes.
			if err := lockProcedureResources(ctx, tx, procedureID, set.keys()...); err != nil {
				return err
			}
			if err := clear(tx); err != nil {
				return err
			}
			// The lapsed holds overlapping a new row go, each hold whole.
			// A hold booked meanwhile is no longer lapsed when the delete
			// rechecks the row it waited for, and stays.
			_, err := tx.Exec(ctx, `
				DELETE FROM procedure_allocations
				WHERE state = 'held' AND expires_at <= now() AND procedure_id IN (
					SELECT a.procedure_id FROM procedure_allocations a
					JOIN unnest($1::text[], $2::uuid[], $3::timestamptz[], $4::timestamptz[], $5::interval[])
						AS n (kind, resource_id, starts_at, ends_at, turnover)
						ON a.kind = n.kind AND a.resource_id = n.resource_id
							AND a.during && tstzrange(n.starts_at, n.ends_at + n.turnover, '[)')
					WHERE a.state = 'held' AND a.expires_at <= now())`,
				set.kinds, set.ids, set.starts, set.ends, set.turnovers)
			if err != nil {
				return translate(err, "delete the lapsed holds before allocating procedure "+procedureID.String())
			}
			_, err = tx.Exec(ctx, `
				INSERT INTO procedure_allocations (procedure_id, kind, resource_id, starts_at, ends_at, turnover, state, expires_at,
					priority, during)
				SELECT $1, n.kind, n.resource_id, n.starts_at, n.ends_at, n.turnover, n.state, n.expires_at, n.priority,
					tstzrange(n.starts_at, n.ends_at + n.turnover, '[)')
				FROM unnest($2::text[], $3::uuid[], $4::timestamptz[], $5::timestamptz[], $6::interval[], $7::text[],
					$8::timestamptz[], $9::text[])
					AS n (kind, resource_id, starts_at, ends_at, turnover, state, expires_at, priority)`,
				procedureID, set.kinds, set.ids, set.starts, set.ends, set.turnovers, set.states, set.expires, set.priorities)
			if err != nil {
				return translate(err, "allocate procedure "+procedureID.String())
			}
			return nil
		})
	})
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) || pgErr.Code != "23P01" {
		return err
	}
	if taken, ok := parseSlotTaken(pgErr.Detail); ok {
		return taken
	}
	return s.takenBy(ctx, procedureID, set)
}

// exclusionDetail reads the resource out of the detail of a violation of
// procedure_allocations_no_overlap: Key (kind, resource_id, during)=(room,
// <uuid>, […)) conflicts with existing key (…).
var exclusionDetail = regexp.MustCompile(`^Key \(kind, resource_id, during\)=\(([a-z]+), ([0-9a-f-]{36}),`)

// parseSlotTaken names the resource of an exclusion violation's detail.
func parseSlotTaken(detail string) (*SlotTaken, bool) {
	m := exclusionDetail.FindStringSubmatch(detail)
	if m == nil {
		return nil, false
	}
	id, err := uuid.Parse(m[2])
	if err != nil {
		return nil, false
	}
	return &SlotTaken{Kind: procedure.ResourceKind(m[1]), ResourceID: id}, true
}

// takenBy names the first of set's resources another procedure's row
// overlaps, when the violation's detail did not (a server that withholds
// details); an empty *SlotTaken when the row is gone already.
func (s *ProcedureStore) takenBy(ctx context.Context, procedureID uuid.UUID, set allocationSet) error {
	var taken SlotTaken
	var kind string
	err := s.pool.QueryRow(ctx, `
		SELECT n.kind, n.resource_id
		FROM unnest($2::text[], $3::uuid[], $4::timestamptz[], $5::timestamptz[], $6::interval[])
			WITH ORDINALITY AS n (kind, resource_id, starts_at, ends_at, turnover, i)
		WHERE EXISTS (SELECT 1 FROM procedure_allocations a WHERE a.procedure_id <> $1 AND a.kind = n.kind
			AND a.resource_id = n.resource_id AND a.during && tstzrange(n.starts_at, n.ends_at + n.turnover, '[)'))
		ORDER BY n.i LIMIT 1`, procedureID, set.kinds, set.ids, set.starts, set.ends, set.turnovers).Scan(&kind, &taken.ResourceID)
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return fmt.Errorf("allocate procedure %s: find the taken resource: %w", procedureID, err)
	}
	taken.Kind = procedure.ResourceKind(kind)
	return &taken
}

// keys are the resources of the set, as "kind/id".
func (set allocationSet) keys() []string {
	out := make([]string, len(set.kinds))
	for i := range set.kinds {
		out[i] = set.kinds[i] + "/" + set.ids[i].String()
	}
	return out
}

// lockProcedureResources takes, in tx, the turn of every resource the
// procedure's allocations take and of the resources also named ("kind/id"),
// in the order of their lock keys, so two writers never wait for each other
// in a circle. Two resources whose keys collide merely share a turn.
func lockProcedureResources(ctx context.Context, tx pgx.Tx, procedureID uuid.UUID, also ...string) error {
	rows, err := tx.Query(ctx, `SELECT kind || '/' || resource_id FROM procedure_allocations WHERE procedure_id = $1`, procedureID)
	if err != nil {
		return fmt.Errorf("resources of procedure %s: %w", procedureID, err)
	}
	held, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return fmt.Errorf("resources of procedure %s: %w", procedureID, err)
	}
	keys := make([]int32, 0, len(held)+len(also))
	for _, r := range append(held, also...) {
		h := fnv.New32a()
		_, _ = h.Write([]byte(r))
		keys = append(keys, int32(h.Sum32()))
	}
	slices.Sort(keys)
	keys = slices.Compact(keys)
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1, k) FROM unnest($2::int4[]) AS k`, allocationLockSpace, keys); err != nil {
		return fmt.Errorf("take the turn of the resources of procedure %s: %w", procedureID, err)
	}
	return nil
}

// retryDeadlock runs fn again, up to maxAllocationAttempts times in all,
// while PostgreSQL aborts it as a deadlock (40P01) or a serialization
// failure (40001).
func retryDeadlock(ctx context.Context, fn func() error) error {
	var err error
	for range maxAllocationAttempts {
		err = fn()
		var pgErr *pgconn.PgError
		if !errors.As(err, &pgErr) || pgErr.Code != "40P01" && pgErr.Code != "40001" {
			return err
		}
		if ctx.Err() != nil {
			return err
		}
	}
	return err
}
