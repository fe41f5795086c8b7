package postgres_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/zarish-sphere/zarish/domain/patient"
	"github.com/zarish-sphere/zarish/integrations/postgres"
	"github.com/zarish-sphere/zarish/integrations/postgres/pgtest"
)

var (
	givenNames  = []string{"Amina", "Karim", "Nasrin", "Rafi", "Salma", "Jamal", "Farida", "Hasan", "Rumana", "Sabbir", "Tahmina", "Arif", "Shirin", "Mahmud", "Nadia", "Imran", "Laila", "Tanvir", "Sadia", "Habib", "José", "María", "Chloé", "Zoë", "Björn", "Ayesha", "Rohan", "Priya", "Mohammed", "Fatima"}
	familyNames = []string{"Rahman", "Uddin", "Begum", "Ahmed", "Khatun", "Hossain", "Islam", "Akter", "Chowdhury", "Haque", "Sarker", "Miah", "Alam", "Karim", "Siddique", "Bhuiyan", "Talukder", "Mondal", "Sheikh", "Das", "Muñoz", "García", "Müller", "Lefèvre", "Østergaard", "Kowalski", "Nguyen", "Okafor", "Haddad", "Yilmaz"}
)

const benchPatients = 100_000

var (
	benchOnce  sync.Once
	benchPool  *pgxpool.Pool
	benchStore *postgres.PatientStore
)

// benchRegistry loads 100,000 synthetic patients once per benchmark run.
func benchRegistry(b *testing.B) *postgres.PatientStore {
	benchOnce.Do(func() {
		benchPool = pgtest.NewPool(b)
		rng := rand.New(rand.NewPCG(42, 7))
		ps := make([]patient.Patient, 0, benchPatients)
		born := time.Date(1940, 1, 1, 0, 0, 0, 0, time.UTC)
		for i := range benchPatients {
			d := patient.Details{
				Name: patient.Name{
					Given:  []string{givenNames[rng.IntN(len(givenNames))] + suffix(rng)},
					Family: familyNames[rng.IntN(len(familyNames))] + suffix(rng),
				},
				BirthDate: born.AddDate(0, 0, rng.IntN(30000)).Format(time.DateOnly),
				Sex:       []string{"female", "male"}[rng.IntN(2)],
				Telecom:   []patient.ContactPoint{{System: "phone", Value: fmt.Sprintf("+8801%09d", i)}},
			}
			p, err := patient.NewPatient(uuid.Must(uuid.NewV7()), patient.FormatMRN(int64(i+1)), d, now)
			if err != nil {
				b.Fatal(err)
			}
			ps = append(ps, p)
		}
		start := time.Now()
		for i := 0; i < len(ps); i += 10_000 {
			if err := postgres.CopyPatients(context.Background(), benchPool, ps[i:min(i+10_000, len(ps))]); err != nil {
				b.Fatal(err)
			}
		}
		b.Logf("loaded %d patients in %s", len(ps), time.Since(start).Round(time.Millisecond))
		benchStore = postgres.NewPatientStore(benchPool)
	})
	return benchStore
}

// suffix makes the names varied enough that a search is selective, the way a
// real registry of 100,000 is.
func suffix(rng *rand.Rand) string {
	const letters = "abcdefghijklmnopqrstuvwxyz"
	return string([]byte{letters[rng.IntN(26)], letters[rng.IntN(26)]})
}

// BenchmarkPatientSearch measures one page of search over 100,000 patients.
func BenchmarkPatientSearch(b *testing.B) {
	s := benchRegistry(b)
	cases := []struct {
		name string
		crit patient.Criteria
	}{
		{"name-exact", patient.Criteria{Name: "Aminaqx Rahmanzk"}},
		{"name-misspelled", patient.Criteria{Name: "Aminqax Rahmenzk"}},
		{"name-prefix", patient.Criteria{Name: "Tahminab"}},
		{"birthDate", patient.Criteria{BirthDate: "1987-04-12"}},
		{"phone", patient.Criteria{Phone: "+880 1000 012 345"}},
		{"list-all-first-page", patient.Criteria{}},
	}
	for _, tc := range cases {
		b.Run(tc.name, func(b *testing.B) {
			ctx := context.Background()
			for b.Loop() {
				if _, _, err := s.Search(ctx, tc.crit); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
