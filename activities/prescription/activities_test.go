package prescription_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"github.com/google/uuid"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	activities "github.com/zarish-sphere/zarish/activities/prescription"
	"github.com/zarish-sphere/zarish/domain"
	"github.com/zarish-sphere/zarish/domain/audit"
	"github.com/zarish-sphere/zarish/domain/medication"
	"github.com/zarish-sphere/zarish/domain/prescription"
	"github.com/zarish-sphere/zarish/workflows/process"
)

var (
	now         = time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	rxID        = uuid.MustParse("0193e000-0000-7000-8000-0000000000d1")
	patient     = uuid.MustParse("0193e000-0000-7000-8000-0000000000aa")
	ibuprofenRx = uuid.MustParse("0193e000-0000-7000-8000-0000000000d2")
	prescriber  = uuid.MustParse("0193e000-0000-7000-8000-000000000001")
)

var (
	loadOnce sync.Once
	loaded   *medication.KB
	loadErr  error
)

// registry holds the embedded knowledge base, loaded once.
func registry(t *testing.T) *medication.Registry {
	t.Helper()
	loadOnce.Do(func() { loaded, loadErr = medication.Embedded() })
	if loadErr != nil {
		t.Fatal(loadErr)
	}
	r, err := medication.NewRegistry(loaded)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// renumbered is the embedded knowledge base under another version.
func renumbered(t *testing.T, version string) *medication.KB {
	t.Helper()
	dir := filepath.Join("..", "..", "domain", "medication", "data", medication.EmbeddedVersion)
	files := fstest.MapFS{}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		raw, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if e.Name() == "manifest.json" {
			raw = bytes.Replace(raw, []byte(`"version": "`+medication.EmbeddedVersion+`"`), []byte(`"version": "`+version+`"`), 1)
		}
		files["kb/"+e.Name()] = &fstest.MapFile{Data: raw}
	}
	kb, err := medication.Load(files, "kb")
	if err != nil {
		t.Fatal(err)
	}
	if kb.Version() != version {
		t.Fatalf("loaded version %s", kb.Version())
	}
	return kb
}

// store knows one patient, taking ibuprofen; it fails with err when set.
type store struct {
	err      error
	recorded []prescription.Prescription
	audits   []*audit.Record
	asked    [][2]uuid.UUID // patient and excluded prescription of each read
}

func (s *store) Record(_ context.Context, p prescription.Prescription, rec *audit.Record) error {
	if s.err != nil {
		return s.err
	}
	s.recorded = append(s.recorded, p)
	s.audits = append(s.audits, rec)
	return nil
}

func (s *store) PatientContext(_ context.Context, patientID, exclude uuid.UUID, _ time.Time) (prescription.Context, error) {
	s.asked = append(s.asked, [2]uuid.UUID{patientID, exclude})
	if s.err != nil {
		return prescription.Context{}, s.err
	}
	if patientID != patient {
		return prescription.Context{}, domain.ErrNotFound
	}
	c := prescription.Context{Patient: medication.Patient{AgeYears: 50, WeightKg: 75, Sex: medication.SexMale, CreatinineUmolL: 80}}
	c.Orders([]prescription.ActiveOrder{{PrescriptionID: ibuprofenRx,
		Order: medication.Order{Name: "ibuprofen", Dose: 400, DoseUnit: "mg", Route: "po", Frequency: "TDS"}}})
	return c, nil
}

func (s *store) OpenIDs(_ context.Context, patientID, exclude uuid.UUID) ([]uuid.UUID, error) {
	s.asked = append(s.asked, [2]uuid.UUID{patientID, exclude})
	if s.err != nil {
		return nil, s.err
	}
	return []uuid.UUID{ibuprofenRx}, nil
}

// resolver records what it resolves, failing when err is set.
type resolver struct {
	err   error
	calls []activities.ResolveRequest
}

func (r *resolver) ResolveAlert(_ context.Context, alertID, by uuid.UUID, note string) error {
	r.calls = append(r.calls, activities.ResolveRequest{AlertID: alertID, By: by, Note: note})
	return r.err
}

// execute runs the activity fn picks of a on its own test environment.
func execute(t *testing.T, a *activities.Activities, fn func(*activities.Activities) any, req any, result any) error {
	t.Helper()
	var suite testsuite.WorkflowTestSuite
	e := suite.NewTestActivityEnvironment()
	e.RegisterActivity(a)
	v, err := e.ExecuteActivity(fn(a), req)
	if err != nil || result == nil {
		return err
	}
	return v.Get(result)
}

func invalidInput(err error) bool {
	var app *temporal.ApplicationError
	return errors.As(err, &app) && app.NonRetryable() && app.Type() == process.TypeInvalidInput
}

// The activities, as execute picks them.
func checkPrescription(a *activities.Activities) any  { return a.CheckPrescription }
func recordPrescription(a *activities.Activities) any { return a.RecordPrescription }
func resolveAlert(a *activities.Activities) any       { return a.ResolveAlert }

var warfarin = medication.Order{Name: "warfarin", Dose: 5, DoseUnit: "mg", Route: "po", Frequency: "daily"}

func TestCheckPrescription(t *testing.T) {
	kb := registry(t)
	check := func(s *store, req activities.CheckRequest) (activities.CheckResult, error) {
		var res activities.CheckResult
		err := execute(t, activities.New(s, kb, nil), checkPrescription, req, &res)
		return res, err
	}
	req := activities.CheckRequest{PrescriptionID: rxID, PatientID: patient, Order: warfarin, At: now}

	t.Run("checks the order against the patient", func(t *testing.T) {
		s := &store{}
		res, err := check(s, req)
		if err != nil {
			t.Fatal(err)
		}
		if res.Result.Version != medication.EmbeddedVersion || len(res.Result.Findings) != 1 || len(s.asked) != 1 ||
			s.asked[0] != [2]uuid.UUID{patient, rxID} {
			t.Fatalf("result %+v, asked %v", res.Result, s.asked)
		}
		f := res.Result.Findings[0]
		if f.Kind != medication.KindInteraction || f.Severity != medication.SeverityMajor || f.Other != "ibuprofen" ||
			f.Version != medication.EmbeddedVersion {
			t.Fatalf("finding %+v", f)
		}
		// The context comes back with it, so the finding names ibuprofen's prescription.
		fs := prescription.FindingsOf(res.Result, res.Context, now)
		if len(res.Context.Active) != 1 || fs[0].OtherPrescriptionID == nil || *fs[0].OtherPrescriptionID != ibuprofenRx {
			t.Fatalf("context %+v", res.Context)
		}
	})

	t.Run("an unknown patient is a check-unavailable finding", func(t *testing.T) {
		unknown := req
		unknown.PatientID = uuid.MustParse("0193e000-0000-7000-8000-0000000000ab")
		res, err := check(&store{}, unknown)
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Result.Findings) != 1 || res.Result.Version != medication.EmbeddedVersion {
			t.Fatalf("result %+v", res.Result)
		}
		f := res.Result.Findings[0]
		if f.Kind != medication.KindUnavailable || f.Rule != activities.RulePatientUnknown || f.OtherIndex != -1 ||
			f.Explanation == "" || f.Management == "" || f.Version != medication.EmbeddedVersion || !prescription.Blocking(f) {
			t.Fatalf("finding %+v", f)
		}
	})

	t.Run("a store that fails is an error to retry", func(t *testing.T) {
		down := errors.New("connection refused")
		_, err := check(&store{err: down}, req)
		var app *temporal.ApplicationError
		if err == nil || (errors.As(err, &app) && app.NonRetryable()) {
			t.Fatalf("store down: %v", err)
		}
	})

	t.Run("the version is the active knowledge base's", func(t *testing.T) {
		r := registry(t)
		if err := r.Add(renumbered(t, "2027.1.0")); err != nil {
			t.Fatal(err)
		}
		if err := r.Activate("2027.1.0"); err != nil {
			t.Fatal(err)
		}
		var res activities.CheckResult
		if err := execute(t, activities.New(&store{}, r, nil), checkPrescription, req, &res); err != nil {
			t.Fatal(err)
		}
		if res.Result.Version != "2027.1.0" || len(res.Result.Findings) != 1 || res.Result.Findings[0].Version != "2027.1.0" {
			t.Fatalf("result %+v", res.Result)
		}
	})

	for name, bad := range map[string]func(*activities.CheckRequest){
		"no prescription": func(r *activities.CheckRequest) { r.PrescriptionID = uuid.Nil },
		"no patient":      func(r *activities.CheckRequest) { r.PatientID = uuid.Nil },
		"no time":         func(r *activities.CheckRequest) { r.At = time.Time{} },
	} {
		t.Run(name, func(t *testing.T) {
			r := req
			bad(&r)
			s := &store{}
			if _, err := check(s, r); !invalidInput(err) || len(s.asked) != 0 {
				t.Fatalf("%v, asked %v", err, s.asked)
			}
		})
	}
}

func TestUnavailable(t *testing.T) {
	res := activities.Unavailable("2026.12.1", "unavailable-x", "why")
	if res.Version != "2026.12.1" || len(res.Findings) != 1 {
		t.Fatalf("result %+v", res)
	}
	if f := res.Findings[0]; f.Kind != medication.KindUnavailable || f.Rule != "unavailable-x" || f.Explanation != "why" ||
		f.OtherIndex != -1 || len(f.Sources) == 0 || f.Version != "2026.12.1" {
		t.Fatalf("finding %+v", f)
	}
}

func TestRecordPrescription(t *testing.T) {
	kb := registry(t)
	p, err := prescription.New(prescription.Details{ID: rxID, PatientID: patient, PrescriberID: prescriber, Order: warfarin,
		Drug: medication.Resolution{ID: "warfarin", Name: "warfarin", Ingredients: []string{"warfarin"}}, CreatedAt: now})
	if err != nil {
		t.Fatal(err)
	}
	rec := &audit.Record{ID: uuid.MustParse("0193e000-0000-7000-8000-0000000000f1"), Action: audit.ActionUpdate}
	record := func(s *store, req activities.RecordRequest) error {
		return execute(t, activities.New(s, kb, nil), recordPrescription, req, nil)
	}

	s := &store{}
	if err := record(s, activities.RecordRequest{Prescription: p, Audit: rec}); err != nil {
		t.Fatal(err)
	}
	if len(s.recorded) != 1 || s.recorded[0].Version != 1 || s.audits[0] == nil || s.audits[0].ID != rec.ID {
		t.Fatalf("recorded %+v with %+v", s.recorded, s.audits)
	}

	noID := p
	noID.Details.ID = uuid.Nil
	noVersion := p
	noVersion.Version = 0
	for name, bad := range map[string]prescription.Prescription{"no id": noID, "no version": noVersion} {
		s := &store{}
		if err := record(s, activities.RecordRequest{Prescription: bad}); !invalidInput(err) || len(s.recorded) != 0 {
			t.Errorf("%s: %v", name, err)
		}
	}

	// What no retry can fix is not retried; an outage is.
	for name, tc := range map[string]struct {
		err   error
		final bool
	}{
		"not found":  {domain.ErrNotFound, true},
		"invalid":    {&domain.ValidationError{Fields: []domain.FieldError{{Field: "(body)", Message: "NUL byte"}}}, true},
		"wrapped":    {errors.Join(errors.New("record"), domain.ErrNotFound), true},
		"connection": {errors.New("connection refused"), false},
	} {
		err := record(&store{err: tc.err}, activities.RecordRequest{Prescription: p})
		if err == nil || invalidInput(err) != tc.final {
			t.Errorf("%s: %v (non-retryable %v, want %v)", name, err, invalidInput(err), tc.final)
		}
	}
}

func TestResolveAlert(t *testing.T) {
	kb := registry(t)
	alertID := uuid.MustParse("0193e000-0000-7000-8000-0000000000a1")
	req := activities.ResolveRequest{AlertID: alertID, By: prescriber, Note: "The prescription is active."}

	r := &resolver{}
	if err := execute(t, activities.New(&store{}, kb, r), resolveAlert, req, nil); err != nil {
		t.Fatal(err)
	}
	if len(r.calls) != 1 || r.calls[0] != req {
		t.Fatalf("resolved %+v", r.calls)
	}
	// A failure is returned for the retry, which resolves again harmlessly.
	flaky := &resolver{err: errors.New("temporal unavailable")}
	if err := execute(t, activities.New(&store{}, kb, flaky), resolveAlert, req, nil); err == nil || invalidInput(err) {
		t.Fatalf("failed resolve: %v", err)
	}
	none := &resolver{}
	if err := execute(t, activities.New(&store{}, kb, none), resolveAlert,
		activities.ResolveRequest{By: prescriber}, nil); !invalidInput(err) || len(none.calls) != 0 {
		t.Fatalf("no alert: %v", err)
	}
}
