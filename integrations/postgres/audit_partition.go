package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// ErrAuditPartitionBlocked means a month's audit partition could not be
// created because audit_events_default already holds records of that month.
// Inserts still succeed (into the default partition); the table owner moves
// the rows as the 00004_audit migration describes.
var ErrAuditPartitionBlocked = errors.New("audit partition blocked by records in the default partition")

// EnsureAuditPartitions creates the monthly audit_events partitions (UTC
// months) from the one holding now through monthsAhead months after it,
// skipping those that exist. Partitions must exist before their month begins:
// once the default partition holds a record of a month, that month's
// partition can no longer be created (ErrAuditPartitionBlocked), so the
// sealer calls this hourly with months to spare. Creating a partition briefly
// locks audit_events; checking one that exists does not.
func EnsureAuditPartitions(ctx context.Context, pool *pgxpool.Pool, now time.Time, monthsAhead int) error {
	now = now.UTC()
	first := time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, time.UTC)
	var errs []error
	for i := 0; i <= monthsAhead; i++ {
		month := first.AddDate(0, i, 0)
		var name string
		err := pool.QueryRow(ctx, `SELECT audit_ensure_partition($1)`, month).Scan(&name)
		var pgErr *pgconn.PgError
		switch {
		case errors.As(err, &pgErr) && pgErr.Code == "23514":
			errs = append(errs, fmt.Errorf("audit partition for %s: %w", month.Format("2006-01"), ErrAuditPartitionBlocked))
		case err != nil:
			errs = append(errs, fmt.Errorf("audit partition for %s: %w", month.Format("2006-01"), err))
		}
	}
	return errors.Join(errs...)
}
