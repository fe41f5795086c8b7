package postgres

import (
	"context"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/zarish-sphere/zarish/domain/patient"
)

// CopyPatients bulk-loads patients with COPY (no events), for benchmarks that
// need a large registry quickly.
func CopyPatients(ctx context.Context, pool *pgxpool.Pool, ps []patient.Patient) error {
	rows := make([][]any, 0, len(ps))
	for _, p := range ps {
		resource, phones, identifiers, err := patientColumns(p)
		if err != nil {
			return err
		}
		rows = append(rows, []any{p.ID, p.MRN, p.Version, p.Active, p.Name.Family, p.Name.Given,
			patient.NameKey(p.Name), p.BirthDate, p.Sex, phones, identifiers, resource, p.CreatedAt, p.UpdatedAt})
	}
	_, err := pool.CopyFrom(ctx, pgx.Identifier{"patients"},
		[]string{"id", "mrn", "version", "active", "family", "given", "name_search", "birth_date", "sex",
			"phones", "identifier_keys", "resource", "created_at", "updated_at"},
		pgx.CopyFromRows(rows))
	if err != nil {
		return err
	}
	_, err = pool.Exec(ctx, `VACUUM ANALYZE patients`)
	return err
}
