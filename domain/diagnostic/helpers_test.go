package diagnostic_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/zarish-sphere/zarish/domain"
	"github.com/zarish-sphere/zarish/domain/diagnostic"
	"github.com/zarish-sphere/zarish/domain/observation"
)

var (
	t0        = time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC)
	reportID  = uuid.MustParse("0193c000-0000-7000-8000-0000000000e1")
	patient   = uuid.MustParse("0193c000-0000-7000-8000-0000000000aa")
	stranger  = uuid.MustParse("0193c000-0000-7000-8000-0000000000bb")
	orderer   = uuid.MustParse("0193c000-0000-7000-8000-000000000001")
	phleb     = uuid.MustParse("0193c000-0000-7000-8000-000000000002")
	scientist = uuid.MustParse("0193c000-0000-7000-8000-000000000003")
	clinician = uuid.MustParse("0193c000-0000-7000-8000-000000000004")
	caller    = uuid.MustParse("0193c000-0000-7000-8000-000000000005")
	radiol    = uuid.MustParse("0193c000-0000-7000-8000-000000000006")
)

// catalogue is the embedded catalogue, loaded once for every test.
var catalogue = func() *diagnostic.Catalogue {
	c, err := diagnostic.Embedded()
	if err != nil {
		panic(err)
	}
	return c
}()

// obsID names an observation by a short name, stably.
func obsID(name string) uuid.UUID { return uuid.NewSHA1(uuid.NameSpaceOID, []byte("obs/"+name)) }

// must takes a change's result, failing the test on its error.
func must(t *testing.T) func(diagnostic.Report, error) diagnostic.Report {
	t.Helper()
	return func(r diagnostic.Report, err error) diagnostic.Report {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
}

// request is a routine renal panel and full blood count for the patient.
func request(tests ...string) diagnostic.Request {
	if len(tests) == 0 {
		tests = []string{"24362-6", "58410-2"}
	}
	return diagnostic.Request{ID: reportID, PatientID: patient, Tests: tests, Priority: diagnostic.PriorityRoutine,
		ClinicalInfo: "lethargy; on furosemide", OrdererID: orderer, CreatedAt: t0}
}

func newReport(t *testing.T, req diagnostic.Request) diagnostic.Report {
	t.Helper()
	return must(t)(diagnostic.New(req, catalogue))
}

// collected has every tube of r drawn at t0+10m and received at t0+20m,
// accessions A1, A2 … in the order of draw.
func collectedAndReceived(t *testing.T, r diagnostic.Report) diagnostic.Report {
	t.Helper()
	for i, c := range r.Order.Containers() {
		acc := "A" + string(rune('1'+i))
		r = must(t)(r.Collect(diagnostic.Collection{Accession: acc, Container: c, CollectedAt: t0.Add(10 * time.Minute), CollectorID: phleb}, t0.Add(10*time.Minute)))
		r = must(t)(r.Receive(acc, scientist, t0.Add(20*time.Minute)))
	}
	return r
}

// quantity is a recorded observation of code for the patient.
func quantity(t *testing.T, name, code string, value float64, unit string) observation.Observation {
	t.Helper()
	in := observation.Input{PatientID: patient, Code: code, EffectiveAt: t0.Add(10 * time.Minute),
		Value: &observation.ValueInput{Value: &value, Unit: unit}}
	o, err := observation.New(obsID(name), in, observation.Subject{Sex: observation.SexMale, AgeMonths: 50 * 12},
		observation.Performer{ClientID: "analyser"}, t0.Add(40*time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	return o
}

// amended is the next version of o with another value.
func amended(t *testing.T, o observation.Observation, value float64, unit string) observation.Observation {
	t.Helper()
	in := observation.Input{Value: &observation.ValueInput{Value: &value, Unit: unit}, EffectiveAt: o.EffectiveAt,
		Status: observation.StatusCorrected}
	next, err := observation.Amend(o, in, observation.Subject{Sex: observation.SexMale, AgeMonths: 50 * 12}, "analyser recalibrated",
		observation.Performer{ClientID: "analyser"}, t0.Add(3*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	return next
}

// renalValues are normal results of the renal panel and the blood count.
func normalResults(t *testing.T) []observation.Observation {
	return []observation.Observation{
		quantity(t, "na", observation.CodeSodium, 140, "mmol/L"),
		quantity(t, "k", observation.CodePotassium, 4.2, "mmol/L"),
		quantity(t, "urea", observation.CodeUrea, 5.0, "mmol/L"),
		quantity(t, "creat", observation.CodeCreatinine, 0.9, "mg/dL"),
		quantity(t, "egfr", observation.CodeEGFR2021, 90, "mL/min/{1.73_m2}"),
		quantity(t, "hb", observation.CodeHaemoglobin, 14.1, "g/dL"),
		quantity(t, "wbc", observation.CodeLeukocytes, 7.2, "10*3/uL"),
		quantity(t, "plt", observation.CodePlatelets, 250, "10*3/uL"),
	}
}

// resulted is the default order with every result recorded at t0+1h.
func resulted(t *testing.T) diagnostic.Report {
	t.Helper()
	r := collectedAndReceived(t, newReport(t, request()))
	for _, o := range normalResults(t) {
		r = must(t)(r.Record(o, t0.Add(time.Hour)))
	}
	return r
}

func verification() diagnostic.Verification {
	return diagnostic.Verification{By: scientist, Role: diagnostic.RoleLaboratoryScientist, At: t0.Add(90 * time.Minute),
		Conclusion: "Renal function and blood count within reference limits."}
}

// final is resulted, verified at t0+90m with a release delay of 4 hours.
func final(t *testing.T) diagnostic.Report {
	t.Helper()
	return must(t)(resulted(t).Verify(verification(), 4*time.Hour))
}

func kinds(r diagnostic.Report) string {
	var out []string
	for _, e := range r.Timeline {
		out = append(out, string(e.Kind))
	}
	return strings.Join(out, " ")
}

func fields(err error) []string {
	var v *domain.ValidationError
	if !errors.As(err, &v) {
		return nil
	}
	var out []string
	for _, f := range v.Fields {
		out = append(out, f.Field)
	}
	return out
}

func ptr[T any](v T) *T { return &v }
