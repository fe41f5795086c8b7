package postgres_test

import (
	"context"
	"testing"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/zarish-sphere/zarish/integrations/postgres"
)

// clinicalEvents lists the events of kind (note, allergy, careplan, …) on
// the clinical topic keyed by patient, in publishing order, as
// "type subject-id".
func clinicalEvents(t *testing.T, pool *pgxpool.Pool, patient uuid.UUID, kind string) []string {
	t.Helper()
	rows, err := pool.Query(context.Background(), `
		SELECT type || ' ' || split_part(subject, '/', 2) FROM outbox
		WHERE topic = $1 AND key = $2 AND type LIKE $3 || '.%' ORDER BY seq`,
		postgres.ClinicalTopic, patient.String(), kind)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			t.Fatal(err)
		}
		out = append(out, s)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}
