package bundle_test

import (
	"bytes"
	"context"
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

// memoryStores stand in for the register and the observation store.
type memoryStores struct{ recorded int }

func (m *memoryStores) Register(_ context.Context, _ *domain.Idempotency, _ *audit.Record, create func(string) (patient.Patient, error)) (patient.Patient, bool, error) {
	p, err := create("1000009")
	return p, err == nil, err
}

func (m *memoryStores) Search(context.Context, patient.Criteria) ([]patient.Patient, string, error) {
	return nil, "", nil
}

func (m *memoryStores) Record(_ context.Context, _ *domain.Idempotency, _ *audit.Record, o observation.Observation) (uuid.UUID, bool, error) {
	m.recorded++
	return o.ID, false, nil
}

func (m *memoryStores) PreviousResults(context.Context, []observation.Observation) (map[uuid.UUID][]observation.Result, error) {
	return nil, nil
}

// BenchmarkSyntheaImport: entries a second through the reader and the
// importer's mapping, the stores in memory.
func BenchmarkSyntheaImport(b *testing.B) {
	raw, err := os.ReadFile("testdata/Clemente_Kreiger_1484a42d-0eaf-4654-9cbf-6b050a5cd73b.json")
	if err != nil {
		b.Fatal(err)
	}
	stores := &memoryStores{}
	im := bundle.NewImporter(stores, stores, time.Now, uuid.NewV7)
	by := observation.Performer{ClientID: "bench"}
	entries := 0
	b.SetBytes(int64(len(raw)))
	for b.Loop() {
		r, err := bundle.NewReader(bytes.NewReader(raw))
		if err != nil {
			b.Fatal(err)
		}
		res, err := im.Import(b.Context(), r, by)
		if err != nil {
			b.Fatal(err)
		}
		entries += len(res.Entries)
	}
	b.ReportMetric(float64(entries)/b.Elapsed().Seconds(), "resources/s")
}
