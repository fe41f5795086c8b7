package postgres_test

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/zarish-sphere/zarish/domain"
	"github.com/zarish-sphere/zarish/domain/allergy"
	"github.com/zarish-sphere/zarish/integrations/postgres"
	"github.com/zarish-sphere/zarish/integrations/postgres/pgtest"
)

var allergyNow = time.Date(2026, 11, 25, 8, 0, 0, 0, time.UTC)

func allergyDetails(text, code string, criticality allergy.Criticality) allergy.Details {
	d := allergy.Details{
		Substance:   allergy.Substance{Text: text},
		Category:    allergy.CategoryMedication,
		Criticality: criticality,
		Reactions:   []allergy.Reaction{{Manifestations: []string{"hives"}, Severity: allergy.SeverityModerate}},
		RecordedBy:  uuid.MustParse("0190f3c4-0000-7000-8000-0000000000a1"),
	}
	if code != "" {
		d.Substance.Code = &allergy.Code{System: "http://snomed.info/sct", Code: code}
	}
	return d
}

func newAllergy(t *testing.T, patient uuid.UUID, d allergy.Details) allergy.Allergy {
	t.Helper()
	a, err := allergy.New(uuid.Must(uuid.NewV7()), patient, d, allergyNow)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func TestAllergyLifecycle(t *testing.T) {
	ctx := context.Background()
	pool := pgtest.NewPool(t)
	s := postgres.NewAllergyStore(pool)
	patient := pgtest.Patient(t, pool)

	rec := auditRecord(allergyNow, nil)
	pen, err := s.Create(ctx, &rec, newAllergy(t, patient, allergyDetails("Penicillin", "764146007", allergy.CriticalityHigh)))
	if err != nil {
		t.Fatal(err)
	}
	var entity string
	var auditPatient uuid.UUID
	if err := pool.QueryRow(ctx, `SELECT entity_type || '/' || entity_id, patient_id FROM audit_events WHERE id = $1`, rec.ID).
		Scan(&entity, &auditPatient); err != nil {
		t.Fatalf("audit record of the create: %v", err)
	}
	if entity != "AllergyIntolerance/"+pen.ID.String() || auditPatient != patient {
		t.Fatalf("audit names %s of %s", entity, auditPatient)
	}
	got, err := s.Get(ctx, pen.ID)
	if err != nil || got.Substance.CodeKey() != "http://snomed.info/sct|764146007" || got.Version != 1 {
		t.Fatalf("get: %+v, %v", got, err)
	}
	if _, err := s.Get(ctx, uuid.New()); !errors.Is(err, domain.ErrNotFound) {
		t.Fatalf("unknown id: %v", err)
	}

	// The same code under another name, and the same name in other case, are duplicates.
	for _, d := range []allergy.Details{
		allergyDetails("Penicillin G", "764146007", allergy.CriticalityLow),
		allergyDetails("PENICILLIN", "", allergy.CriticalityLow),
	} {
		var dup *allergy.DuplicateError
		if _, err := s.Create(ctx, nil, newAllergy(t, patient, d)); !errors.As(err, &dup) || dup.ExistingID != pen.ID {
			t.Fatalf("duplicate of %q: %v", d.Substance.Text, err)
		}
	}
	// Another patient may have the same allergy.
	if _, err := s.Create(ctx, nil, newAllergy(t, pgtest.Patient(t, pool), allergyDetails("Penicillin", "764146007", allergy.CriticalityHigh))); err != nil {
		t.Fatalf("other patient: %v", err)
	}
	latex, err := s.Create(ctx, nil, newAllergy(t, patient, allergyDetails("Latex", "", allergy.CriticalityLow)))
	if err != nil {
		t.Fatal(err)
	}

	resolved, err := s.Update(ctx, latex.ID, nil, func(a allergy.Allergy) (allergy.Allergy, error) {
		d := a.Details
		d.ClinicalStatus = allergy.ClinicalResolved
		return a.Revise(d, allergyNow.Add(time.Hour))
	})
	if err != nil || resolved.Version != 2 || resolved.Active() {
		t.Fatalf("resolve: %+v, %v", resolved, err)
	}
	// Renaming latex to penicillin while active again would duplicate.
	var dup *allergy.DuplicateError
	if _, err := s.Update(ctx, latex.ID, nil, func(a allergy.Allergy) (allergy.Allergy, error) {
		d := allergyDetails("penicillin", "", allergy.CriticalityLow)
		return a.Revise(d, allergyNow.Add(2*time.Hour))
	}); !errors.As(err, &dup) || dup.ExistingID != pen.ID {
		t.Fatalf("update into a duplicate: %v", err)
	}
	if _, err := s.Update(ctx, latex.ID, nil, func(a allergy.Allergy) (allergy.Allergy, error) {
		return a, domain.ErrVersionMismatch
	}); !errors.Is(err, domain.ErrVersionMismatch) {
		t.Fatalf("refused change: %v", err)
	}
	// A resolved record does not block a new active one of the same substance.
	latex2, err := s.Create(ctx, nil, newAllergy(t, patient, allergyDetails("latex", "", allergy.CriticalityHigh)))
	if err != nil {
		t.Fatalf("re-record after resolution: %v", err)
	}

	all, err := s.ListForPatient(ctx, patient, false)
	if err != nil {
		t.Fatal(err)
	}
	ids := func(list []allergy.Allergy) []uuid.UUID {
		var out []uuid.UUID
		for _, a := range list {
			out = append(out, a.ID)
		}
		return out
	}
	if !slices.Equal(ids(all), []uuid.UUID{pen.ID, latex.ID, latex2.ID}) {
		t.Fatalf("all: %v", ids(all))
	}
	active, err := s.ListForPatient(ctx, patient, true)
	if err != nil || !slices.Equal(ids(active), []uuid.UUID{pen.ID, latex2.ID}) {
		t.Fatalf("active: %v, %v", ids(active), err)
	}
	if none, err := s.ListForPatient(ctx, uuid.New(), false); err != nil || none == nil || len(none) != 0 {
		t.Fatalf("unknown patient: %v, %v", none, err)
	}

	want := []string{
		"allergy.recorded " + pen.ID.String(),
		"allergy.recorded " + latex.ID.String(),
		"allergy.updated " + latex.ID.String(),
		"allergy.recorded " + latex2.ID.String(),
	}
	if got := clinicalEvents(t, pool, patient, "allergy"); !slices.Equal(got, want) {
		t.Fatalf("events:\n got %v\nwant %v", got, want)
	}
}

// TestAllergyConcurrentDuplicates: of many concurrent records of one
// substance, exactly one is stored; the others name it.
func TestAllergyConcurrentDuplicates(t *testing.T) {
	ctx := context.Background()
	pool := pgtest.NewPool(t)
	s := postgres.NewAllergyStore(pool)
	patient := pgtest.Patient(t, pool)
	const n = 8
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		stored  []uuid.UUID
		named   []uuid.UUID
		failure error
	)
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			a, err := s.Create(ctx, nil, newAllergy(t, patient, allergyDetails("Peanut", "", allergy.CriticalityHigh)))
			mu.Lock()
			defer mu.Unlock()
			var dup *allergy.DuplicateError
			switch {
			case err == nil:
				stored = append(stored, a.ID)
			case errors.As(err, &dup):
				named = append(named, dup.ExistingID)
			default:
				failure = err
			}
		}()
	}
	wg.Wait()
	if failure != nil {
		t.Fatal(failure)
	}
	if len(stored) != 1 || len(named) != n-1 {
		t.Fatalf("stored %d, refused %d", len(stored), len(named))
	}
	for _, id := range named {
		if id != stored[0] {
			t.Fatalf("a refusal names %s, not the stored %s", id, stored[0])
		}
	}
}
