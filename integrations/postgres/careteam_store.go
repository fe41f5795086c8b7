package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"github.com/zarish-sphere/zarish/domain/audit"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/zarish-sphere/zarish/domain"
	"github.com/zarish-sphere/zarish/domain/careteam"
)

// CareTeamStore keeps the care-team directory and the on-call schedule.
type CareTeamStore struct {
	pool *pgxpool.Pool
}

// NewCareTeamStore returns a store on pool.
func NewCareTeamStore(pool *pgxpool.Pool) *CareTeamStore {
	return &CareTeamStore{pool: pool}
}

const practitionerColumns = `id, name, roles, units, contacts, active`

// CreatePractitioner adds p to the directory; domain.ErrConflict if its id
// is taken. rec, when not nil, is the request's audit record, stored in the
// same transaction.
func (s *CareTeamStore) CreatePractitioner(ctx context.Context, rec *audit.Record, p careteam.Practitioner) error {
	contacts, err := json.Marshal(p.Contacts)
	if err != nil {
		return fmt.Errorf("encode contacts: %w", err)
	}
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO practitioners (`+practitionerColumns+`) VALUES ($1, $2, $3, $4, $5, $6)`,
			p.ID, p.Name, rolesText(p.Roles), nonNil(p.Units), contacts, p.Active)
		if err != nil {
			return translate(err, "create practitioner")
		}
		return auditWrite(ctx, tx, rec, "Practitioner", p.ID.String())
	})
}

// GetPractitioner returns the practitioner with id, or domain.ErrNotFound.
func (s *CareTeamStore) GetPractitioner(ctx context.Context, id uuid.UUID) (careteam.Practitioner, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+practitionerColumns+` FROM practitioners WHERE id = $1`, id)
	if err != nil {
		return careteam.Practitioner{}, translate(err, "get practitioner")
	}
	ps, err := scanPractitioners(rows)
	if err != nil {
		return careteam.Practitioner{}, err
	}
	if len(ps) == 0 {
		return careteam.Practitioner{}, fmt.Errorf("practitioner %s: %w", id, domain.ErrNotFound)
	}
	return ps[0], nil
}

// ListPractitioners returns the practitioners working on unit (all when unit
// is empty), ordered by name.
func (s *CareTeamStore) ListPractitioners(ctx context.Context, unit string) ([]careteam.Practitioner, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+practitionerColumns+` FROM practitioners
		WHERE $1 = '' OR $1 = ANY (units) ORDER BY name, id`, unit)
	if err != nil {
		return nil, translate(err, "list practitioners")
	}
	return scanPractitioners(rows)
}

// SetOnCall stores a shift, replacing the shift with the same id, with the
// request's audit record rec (when not nil) in the same transaction.
func (s *CareTeamStore) SetOnCall(ctx context.Context, rec *audit.Record, o careteam.OnCall) error {
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `
			INSERT INTO on_call_shifts (id, practitioner_id, role, unit, starts_at, ends_at)
			VALUES ($1, $2, $3, $4, $5, $6)
			ON CONFLICT (id) DO UPDATE SET practitioner_id = EXCLUDED.practitioner_id, role = EXCLUDED.role,
				unit = EXCLUDED.unit, starts_at = EXCLUDED.starts_at, ends_at = EXCLUDED.ends_at`,
			o.ID, o.PractitionerID, string(o.Role), o.Unit, o.From, o.To)
		if err != nil {
			return translate(err, "set on-call")
		}
		return auditWrite(ctx, tx, rec, "PractitionerRole", o.ID.String())
	})
}

// ListOnCall returns the shifts running at the instant at.
func (s *CareTeamStore) ListOnCall(ctx context.Context, at time.Time) ([]careteam.OnCall, error) {
	return listOnCall(ctx, s.pool, at)
}

func listOnCall(ctx context.Context, q rowsQuerier, at time.Time) ([]careteam.OnCall, error) {
	rows, err := q.Query(ctx, `SELECT id, practitioner_id, role, unit, starts_at, ends_at FROM on_call_shifts
		WHERE starts_at <= $1 AND ends_at > $1 ORDER BY role, unit, starts_at, id`, at)
	if err != nil {
		return nil, translate(err, "list on-call")
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (careteam.OnCall, error) {
		var (
			o    careteam.OnCall
			role string
		)
		err := r.Scan(&o.ID, &o.PractitionerID, &role, &o.Unit, &o.From, &o.To)
		o.Role = careteam.Role(role)
		return o, err
	})
}

// rowsQuerier is what both a pool and a transaction offer for reads.
type rowsQuerier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

func scanPractitioners(rows pgx.Rows) ([]careteam.Practitioner, error) {
	ps, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (careteam.Practitioner, error) {
		var (
			p        careteam.Practitioner
			roles    []string
			contacts []byte
		)
		if err := r.Scan(&p.ID, &p.Name, &roles, &p.Units, &contacts, &p.Active); err != nil {
			return p, err
		}
		for _, role := range roles {
			p.Roles = append(p.Roles, careteam.Role(role))
		}
		return p, json.Unmarshal(contacts, &p.Contacts)
	})
	if err != nil {
		return nil, fmt.Errorf("read practitioners: %w", err)
	}
	return ps, nil
}

func rolesText(rs []careteam.Role) []string {
	out := make([]string, 0, len(rs))
	for _, r := range rs {
		out = append(out, string(r))
	}
	return out
}
