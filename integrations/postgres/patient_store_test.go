package postgres_test

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/zarish-sphere/zarish/domain"
	"github.com/zarish-sphere/zarish/domain/patient"
	"github.com/zarish-sphere/zarish/integrations/postgres"
	"github.com/zarish-sphere/zarish/integrations/postgres/pgtest"
)

var now = time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)

func details(given, family, birth string) patient.Details {
	return patient.Details{
		Name:      patient.Name{Given: []string{given}, Family: family},
		BirthDate: birth,
		Sex:       "female",
		Telecom:   []patient.ContactPoint{{System: "phone", Value: "+880 1711-000000"}},
		Identifiers: []patient.Identifier{
			{System: "urn:bd:nid", Value: "NID-" + given + family},
		},
	}
}

func register(t testing.TB, s *postgres.PatientStore, d patient.Details) patient.Patient {
	t.Helper()
	p, created, err := s.Register(context.Background(), nil, nil, func(mrn string) (patient.Patient, error) {
		return patient.NewPatient(uuid.Must(uuid.NewV7()), mrn, d, now)
	})
	if err != nil || !created {
		t.Fatalf("register: %v (created %v)", err, created)
	}
	return p
}

func outboxTypes(t *testing.T, pool *pgxpool.Pool, key string) []string {
	t.Helper()
	rows, err := pool.Query(context.Background(), `SELECT type FROM outbox WHERE key = $1 ORDER BY seq`, key)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var types []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			t.Fatal(err)
		}
		types = append(types, s)
	}
	return types
}

func TestRegisterAssignsCheckedMRNsAndWritesEvent(t *testing.T) {
	pool := pgtest.NewPool(t)
	s := postgres.NewPatientStore(pool)
	a := register(t, s, details("Amina", "Rahman", "1987-04-12"))
	b := register(t, s, details("Karim", "Uddin", "1979-01-30"))
	for _, p := range []patient.Patient{a, b} {
		if err := patient.ValidateMRN(p.MRN); err != nil {
			t.Fatalf("MRN %s: %v", p.MRN, err)
		}
		if got := outboxTypes(t, pool, p.ID.String()); len(got) != 1 || got[0] != postgres.EventPatientCreated {
			t.Fatalf("outbox for %s: %v", p.ID, got)
		}
	}
	if a.MRN == b.MRN {
		t.Fatal("two patients share an MRN")
	}
	got, err := s.GetByMRN(context.Background(), b.MRN)
	if err != nil || got.ID != b.ID {
		t.Fatalf("by MRN: %v %v", got.ID, err)
	}
	if _, err := s.Get(context.Background(), uuid.Must(uuid.NewV7())); !errors.Is(err, domain.ErrNotFound) {
		t.Fatalf("missing patient: %v", err)
	}
}

func TestFailedRegistrationLeavesNoTrace(t *testing.T) {
	pool := pgtest.NewPool(t)
	s := postgres.NewPatientStore(pool)
	_, _, err := s.Register(context.Background(), nil, nil, func(mrn string) (patient.Patient, error) {
		return patient.NewPatient(uuid.Must(uuid.NewV7()), mrn, patient.Details{}, now)
	})
	if err == nil {
		t.Fatal("invalid details were stored")
	}
	var n int
	_ = pool.QueryRow(context.Background(), `SELECT (SELECT count(*) FROM patients) + (SELECT count(*) FROM outbox)`).Scan(&n)
	if n != 0 {
		t.Fatalf("%d rows left behind", n)
	}
}

func TestIdempotentRegistration(t *testing.T) {
	pool := pgtest.NewPool(t)
	s := postgres.NewPatientStore(pool)
	idem := &domain.Idempotency{Scope: "client POST /v1/patients", Key: "k-1", Hash: sha256.Sum256([]byte(`{"a":1}`))}
	create := func(mrn string) (patient.Patient, error) {
		return patient.NewPatient(uuid.Must(uuid.NewV7()), mrn, details("Rafi", "Ahmed", "2001-02-03"), now)
	}
	// Concurrent retries of one request create one patient.
	var (
		wg  sync.WaitGroup
		mu  sync.Mutex
		ids = map[uuid.UUID]int{}
	)
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p, _, err := s.Register(context.Background(), idem, nil, create)
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			ids[p.ID]++
			mu.Unlock()
		}()
	}
	wg.Wait()
	if len(ids) != 1 {
		t.Fatalf("one key made %d patients", len(ids))
	}
	other := &domain.Idempotency{Scope: idem.Scope, Key: idem.Key, Hash: sha256.Sum256([]byte(`{"a":2}`))}
	if _, _, err := s.Register(context.Background(), other, nil, create); !errors.Is(err, domain.ErrIdempotencyMismatch) {
		t.Fatalf("reused key with another body: %v", err)
	}
}

func TestUpdateEventsAndAbort(t *testing.T) {
	pool := pgtest.NewPool(t)
	s := postgres.NewPatientStore(pool)
	p := register(t, s, details("Salma", "Khatun", "1990-06-01"))
	ctx := context.Background()

	_, err := s.Update(ctx, p.ID, nil, func(cur patient.Patient) (patient.Patient, error) {
		return cur, domain.ErrVersionMismatch
	})
	if !errors.Is(err, domain.ErrVersionMismatch) {
		t.Fatalf("abort: %v", err)
	}
	u, err := s.Update(ctx, p.ID, nil, func(cur patient.Patient) (patient.Patient, error) {
		return cur.Replace(details("Salma", "Khatun-Ali", "1990-06-01"), now.Add(time.Hour))
	})
	if err != nil || u.Version != 2 || u.Name.Family != "Khatun-Ali" {
		t.Fatalf("update: %+v %v", u, err)
	}
	d, err := s.Update(ctx, p.ID, nil, func(cur patient.Patient) (patient.Patient, error) {
		next, _ := cur.Deactivate(now.Add(2 * time.Hour))
		return next, nil
	})
	if err != nil || d.Active || d.Version != 3 {
		t.Fatalf("deactivate: %+v %v", d, err)
	}
	want := []string{postgres.EventPatientCreated, postgres.EventPatientUpdated, postgres.EventPatientDeactivated}
	if got := outboxTypes(t, pool, p.ID.String()); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("events %v, want %v", got, want)
	}
	got, _ := s.Get(ctx, p.ID)
	if got.Active || got.Version != 3 {
		t.Fatalf("stored: %+v", got)
	}
}

// TestConcurrentUpdatesNeverOverwrite runs many writers that each read version
// 1 and try to write: exactly one wins, the rest see the version mismatch.
func TestConcurrentUpdatesNeverOverwrite(t *testing.T) {
	pool := pgtest.NewPool(t)
	s := postgres.NewPatientStore(pool)
	p := register(t, s, details("Nadia", "Islam", "1995-03-03"))
	var (
		wg        sync.WaitGroup
		mu        sync.Mutex
		wins, est int
	)
	for i := range 6 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := s.Update(context.Background(), p.ID, nil, func(cur patient.Patient) (patient.Patient, error) {
				if cur.Version != 1 {
					return cur, domain.ErrVersionMismatch
				}
				return cur.Replace(details("Nadia", fmt.Sprintf("Islam-%d", i), "1995-03-03"), now)
			})
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				wins++
			case errors.Is(err, domain.ErrVersionMismatch):
				est++
			default:
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if wins != 1 || est != 5 {
		t.Fatalf("wins %d, refused %d", wins, est)
	}
}

func TestSearch(t *testing.T) {
	pool := pgtest.NewPool(t)
	s := postgres.NewPatientStore(pool)
	amina := register(t, s, details("Amina", "Rahmán", "1987-04-12"))
	aminul := register(t, s, details("Aminul", "Haque", "1970-09-09"))
	jose := register(t, s, details("José", "Muñoz", "1962-12-24"))
	other := register(t, s, details("Farida", "Yasmin", "1987-04-12"))
	_, _ = s.Update(context.Background(), other.ID, nil, func(cur patient.Patient) (patient.Patient, error) {
		next, _ := cur.Deactivate(now)
		return next, nil
	})
	yes, no := true, false

	cases := []struct {
		name  string
		crit  patient.Criteria
		first *patient.Patient
		want  int
	}{
		{"exact, accents ignored", patient.Criteria{Name: "amina rahman"}, &amina, -1},
		{"misspelled family", patient.Criteria{Name: "Rahmen"}, &amina, -1},
		{"transposed letters", patient.Criteria{Name: "Amnia Rahman"}, &amina, -1},
		{"prefix", patient.Criteria{Name: "Amin"}, nil, 2},
		{"upper case with accents", patient.Criteria{Name: "JOSÉ MUNOZ"}, &jose, -1},
		{"birth date", patient.Criteria{BirthDate: "1987-04-12"}, nil, 2},
		{"birth date, active only", patient.Criteria{BirthDate: "1987-04-12", Active: &yes}, &amina, 1},
		{"inactive", patient.Criteria{Active: &no}, &other, 1},
		{"mrn", patient.Criteria{MRN: aminul.MRN}, &aminul, 1},
		{"identifier", patient.Criteria{Identifier: "urn:bd:nid|NID-JoséMuñoz"}, &jose, 1},
		{"phone, formatted differently", patient.Criteria{Phone: "8801711000000"}, nil, 4},
		{"no match", patient.Criteria{Name: "Zzyzx Qwerty"}, nil, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.crit.Validate(); err != nil {
				t.Fatalf("criteria: %v", err)
			}
			got, next, err := s.Search(context.Background(), tc.crit)
			if err != nil {
				t.Fatal(err)
			}
			if next != "" {
				t.Fatalf("unexpected next page")
			}
			if tc.want >= 0 && len(got) != tc.want {
				t.Fatalf("got %d results, want %d", len(got), tc.want)
			}
			if tc.first != nil && (len(got) == 0 || got[0].ID != tc.first.ID) {
				t.Fatalf("first result %v, want %s %s", names(got), tc.first.Name.Given[0], tc.first.Name.Family)
			}
		})
	}
}

func names(ps []patient.Patient) []string {
	var out []string
	for _, p := range ps {
		out = append(out, p.Name.Given[0]+" "+p.Name.Family)
	}
	return out
}
