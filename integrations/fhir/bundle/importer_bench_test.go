package bundle_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/zarish-sphere/zarish/domain"
	"github.com/zarish-sphere/zarish/domain/audit"
	"github.com/zarish-sphere/zarish/domain/observation"
	"github.com/zarish-sphere/zarish/domain/patient"
	"github.com/zarish-sphere/zarish/integrations/fhir/bundle"
)

// memoryStore stands in for the database: a transaction works on a copy,
// kept on commit and dropped on failure.
type memoryStore struct {
	data memoryData
	// fail, when set, is returned by the write it names.
	fail map[string]error
}

type memoryData struct {
	patients     []patient.Patient
	observations []observation.Observation
	keys         map[string]memoryKey
	audit        []audit.Record
	mrn          int64
}

type memoryKey struct {
	hash [32]byte
	id   uuid.UUID
}

func newMemoryStore() *memoryStore {
	return &memoryStore{data: memoryData{keys: map[string]memoryKey{}}}
}

type memoryTxKey struct{}

func (m *memoryStore) tx(ctx context.Context) *memoryData {
	d, ok := ctx.Value(memoryTxKey{}).(*memoryData)
	if !ok {
		panic("outside a transaction")
	}
	return d
}

func (m *memoryStore) Transaction(ctx context.Context, fn func(context.Context) error) error {
	d := m.data
	d.patients, d.observations, d.audit = append([]patient.Patient(nil), d.patients...), append([]observation.Observation(nil), d.observations...), append([]audit.Record(nil), d.audit...)
	d.keys = make(map[string]memoryKey, len(m.data.keys))
	for k, v := range m.data.keys {
		d.keys[k] = v
	}
	if err := fn(context.WithValue(ctx, memoryTxKey{}, &d)); err != nil {
		return err
	}
	m.data = d
	return nil
}

func (m *memoryStore) FindPatients(ctx context.Context, keys []string) (map[string]uuid.UUID, error) {
	out := map[string]uuid.UUID{}
	for _, p := range m.tx(ctx).patients {
		for _, id := range p.Identifiers {
			k := patient.IdentifierKey(id.System, id.Value)
			if _, ok := out[k]; !ok {
				out[k] = p.ID
			}
		}
	}
	return out, nil
}

func (m *memoryStore) Claim(ctx context.Context, keys []domain.Idempotency, ids []uuid.UUID) ([]uuid.UUID, error) {
	d := m.tx(ctx)
	out := make([]uuid.UUID, len(keys))
	for i, k := range keys {
		stored, ok := d.keys[k.Scope+" "+k.Key]
		switch {
		case !ok:
			d.keys[k.Scope+" "+k.Key] = memoryKey{hash: k.Hash, id: ids[i]}
			out[i] = ids[i]
		case stored.hash == k.Hash:
			out[i] = stored.id
		}
	}
	return out, nil
}

func (m *memoryStore) NextMRNs(ctx context.Context, n int) ([]string, error) {
	d := m.tx(ctx)
	out := make([]string, n)
	for i := range out {
		d.mrn++
		out[i] = patient.FormatMRN(d.mrn)
	}
	return out, nil
}

func (m *memoryStore) InsertPatients(ctx context.Context, ps []patient.Patient) error {
	if err := m.fail["patients"]; err != nil {
		return err
	}
	d := m.tx(ctx)
	d.patients = append(d.patients, ps...)
	return nil
}

func (m *memoryStore) PreviousResults(context.Context, []observation.Observation) (map[uuid.UUID][]observation.Result, error) {
	return nil, nil
}

func (m *memoryStore) InsertObservations(ctx context.Context, obs []observation.Observation) error {
	if err := m.fail["observations"]; err != nil {
		return err
	}
	d := m.tx(ctx)
	d.observations = append(d.observations, obs...)
	return nil
}

func (m *memoryStore) Audit(ctx context.Context, rec audit.Record) error {
	d := m.tx(ctx)
	d.audit = append(d.audit, rec)
	return nil
}

var errStoreDown = errors.New("the store is down")

// BenchmarkSyntheaImport: entries a second through the reader and the
// importer's mapping, the store in memory.
func BenchmarkSyntheaImport(b *testing.B) {
	raw, err := os.ReadFile("testdata/Clemente_Kreiger_1484a42d-0eaf-4654-9cbf-6b050a5cd73b.json")
	if err != nil {
		b.Fatal(err)
	}
	by := observation.Performer{ClientID: "bench"}
	entries := 0
	b.SetBytes(int64(len(raw)))
	for b.Loop() {
		im := bundle.New(newMemoryStore(), time.Now, uuid.NewV7)
		r, err := bundle.NewReader(bytes.NewReader(raw))
		if err != nil {
			b.Fatal(err)
		}
		res, err := im.Import(b.Context(), r, by, nil)
		if err != nil {
			b.Fatal(err)
		}
		entries += len(res.Entries)
	}
	b.ReportMetric(float64(entries)/b.Elapsed().Seconds(), "resources/s")
}
