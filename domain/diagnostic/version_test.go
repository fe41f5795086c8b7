package diagnostic_test

import (
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/zarish-sphere/zarish/domain/diagnostic"
	"github.com/zarish-sphere/zarish/domain/observation"
)

// resultObservation finds the observation the report's result of code came from.
func resultObservation(t *testing.T, code string) observation.Observation {
	t.Helper()
	for _, o := range normalResults(t) {
		if o.Code == code {
			return o
		}
	}
	t.Fatalf("no result of %s", code)
	return observation.Observation{}
}

func TestCorrectMakesACorrectedVersionWithTheChange(t *testing.T) {
	f := final(t)
	k := amended(t, resultObservation(t, observation.CodePotassium), 6.8, "mmol/L")
	c := must(t)(f.Correct(diagnostic.Correction{By: scientist, Reason: " analyser recalibrated ", Results: []observation.Observation{k}}, t0.Add(3*time.Hour)))
	if c.Status != diagnostic.StatusCorrected || len(c.Versions) != 2 || c.Last().Kind != diagnostic.EventCorrected {
		t.Fatalf("corrected %s, %d versions", c.Status, len(c.Versions))
	}
	v2, _ := c.VersionNumber(2)
	want := []diagnostic.Change{{Field: diagnostic.FieldResult, Code: observation.CodePotassium, Previous: "4.2 mmol/L", New: "6.8 mmol/L (HH)"}}
	if v2.Status != diagnostic.StatusCorrected || v2.Reason != "analyser recalibrated" || v2.By != scientist || !slices.Equal(v2.Changes, want) {
		t.Fatalf("version 2 %+v", v2)
	}
	v1, _ := c.VersionNumber(1)
	if k1, _ := resultIn(v1.Content, observation.CodePotassium); k1.Text() != "4.2 mmol/L" {
		t.Fatal("the first version lost its value")
	}
	if k2, _ := c.Result(observation.CodePotassium); k2.Text() != "6.8 mmol/L" {
		t.Fatal("the report does not show the corrected value")
	}
	// The corrected value is critical: it is telephoned.
	if open := c.OpenCallbacks(); len(open) != 1 || open[0].Value != "6.8 mmol/L" {
		t.Fatalf("callbacks %+v", c.Callbacks)
	}
	if _, ok := c.VersionNumber(3); ok {
		t.Fatal("a version that does not exist")
	}
	if _, ok := c.VersionNumber(0); ok {
		t.Fatal("version 0")
	}
	if s := c.Summary(); !s.Corrected || !s.Verified {
		t.Fatalf("summary %+v", s)
	}
}

func resultIn(c diagnostic.Content, code string) (diagnostic.Result, bool) {
	for _, r := range c.Results {
		if r.Code == code {
			return r, true
		}
	}
	return diagnostic.Result{}, false
}

func TestCorrectionRefusals(t *testing.T) {
	f := final(t)
	k := resultObservation(t, observation.CodePotassium)
	same := amended(t, k, 4.2, "mmol/L")
	crp := quantity(t, "crp", observation.CodeCRP, 12, "mg/L")
	other := amended(t, k, 5.0, "mmol/L")
	other.PatientID = stranger
	noValue := amended(t, k, 5.0, "mmol/L")
	noValue.Value = nil
	cases := []struct {
		name   string
		r      diagnostic.Report
		c      diagnostic.Correction
		want   error
		fields []string
	}{
		{"not verified", resulted(t), diagnostic.Correction{By: scientist, Reason: "x", Results: []observation.Observation{same}}, diagnostic.ErrInvalidTransition, nil},
		{"nobody", f, diagnostic.Correction{Reason: "x", Results: []observation.Observation{same}}, diagnostic.ErrInvalidArgument, nil},
		{"no reason", f, diagnostic.Correction{By: scientist, Results: []observation.Observation{same}}, diagnostic.ErrInvalidArgument, nil},
		{"nothing", f, diagnostic.Correction{By: scientist, Reason: "x"}, diagnostic.ErrInvalidArgument, []string{"results"}},
		{"every result wrong", f, diagnostic.Correction{By: scientist, Reason: "x",
			Results: []observation.Observation{same, crp, k, other, noValue}},
			diagnostic.ErrInvalidArgument, []string{"results[0]", "results[1]", "results[2]", "results[3]", "results[4]"}},
		{"long conclusion", f, diagnostic.Correction{By: scientist, Reason: "x", Results: []observation.Observation{amended(t, k, 5, "mmol/L")},
			Conclusion: ptr(strings.Repeat("x", diagnostic.MaxConclusionLen+1))}, diagnostic.ErrInvalidArgument, []string{"conclusion"}},
	}
	for _, tc := range cases {
		err := tc.r.CanCorrect(tc.c)
		if !errors.Is(err, tc.want) || !slices.Equal(fields(err), tc.fields) {
			t.Errorf("%s: err = %v (fields %v), want %v %v", tc.name, err, fields(err), tc.want, tc.fields)
		}
		if _, err := tc.r.Correct(tc.c, t0.Add(3*time.Hour)); err == nil {
			t.Errorf("%s: Correct accepted what CanCorrect refuses", tc.name)
		}
	}
	if err := f.CanCorrect(diagnostic.Correction{By: scientist, Reason: "x", Results: []observation.Observation{same}}); !strings.Contains(err.Error(), "unchanged") {
		t.Errorf("an unchanged value: %v", err)
	}
}

func TestCorrectionWithdrawsAResultAndChangesTheConclusion(t *testing.T) {
	f := final(t)
	void, err := observation.Void(resultObservation(t, observation.CodePlatelets), "clumped sample", observation.Performer{ClientID: "lis"}, t0.Add(3*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	c := must(t)(f.Correct(diagnostic.Correction{By: scientist, Reason: "platelets clumped", Results: []observation.Observation{void},
		Conclusion: ptr("Platelet count withdrawn: clumped sample; repeat requested.")}, t0.Add(3*time.Hour)))
	v2, _ := c.Latest()
	if _, ok := c.Result(observation.CodePlatelets); ok || len(v2.Changes) != 2 ||
		v2.Changes[0] != (diagnostic.Change{Field: diagnostic.FieldResult, Code: observation.CodePlatelets, Previous: "250 10*3/uL"}) ||
		v2.Changes[1].Field != diagnostic.FieldConclusion {
		t.Fatalf("changes %+v", v2.Changes)
	}
	// A replacement observation of the same code corrects it too.
	repeat := quantity(t, "plt-repeat", observation.CodePlatelets, 180, "10*3/uL")
	if err := f.CanCorrect(diagnostic.Correction{By: scientist, Reason: "repeat", Results: []observation.Observation{repeat}}); err != nil {
		t.Fatalf("a replacement observation: %v", err)
	}
}

func TestAmendAppendsOrAmends(t *testing.T) {
	f := final(t)
	// An addendum only adds: appended.
	a := must(t)(f.Amend(diagnostic.Amendment{By: scientist, Reason: "comment added", Addendum: " Repeat U&E in 48 hours. "}, t0.Add(3*time.Hour)))
	v2, _ := a.Latest()
	if a.Status != diagnostic.StatusAppended || a.Last().Kind != diagnostic.EventAppended ||
		!slices.Equal(v2.Changes, []diagnostic.Change{{Field: diagnostic.FieldAddendum, New: "Repeat U&E in 48 hours."}}) ||
		a.Addenda[0].By != scientist || len(f.Addenda) != 0 {
		t.Fatalf("appended %s %+v", a.Status, v2.Changes)
	}
	// New coded conclusions, none removed, only add: appended.
	codes := must(t)(a.Amend(diagnostic.Amendment{By: scientist, Reason: "coded", Codes: &[]diagnostic.Coding{{Code: "17621005", Display: "Normal"}}}, t0.Add(4*time.Hour)))
	if codes.Status != diagnostic.StatusAppended || codes.Codes[0].System != diagnostic.SystemSNOMED {
		t.Fatalf("codes added: %s", codes.Status)
	}
	// A changed conclusion: amended.
	am := must(t)(codes.Amend(diagnostic.Amendment{By: scientist, Reason: "clarified", Conclusion: ptr("Normal renal function; normal blood count.")}, t0.Add(5*time.Hour)))
	v4, _ := am.Latest()
	if am.Status != diagnostic.StatusAmended || am.Last().Kind != diagnostic.EventAmended || v4.Number != 4 ||
		v4.Changes[0] != (diagnostic.Change{Field: diagnostic.FieldConclusion, Previous: verification().Conclusion, New: "Normal renal function; normal blood count."}) {
		t.Fatalf("amended %s %+v", am.Status, v4.Changes)
	}
	// Removing a coded conclusion changes what the report said: amended.
	uncode := diagnostic.Amendment{By: scientist, Reason: "uncoded", Codes: &[]diagnostic.Coding{}}
	if data, _ := json.Marshal(uncode); !strings.Contains(string(data), `"codes":[]`) {
		t.Fatalf("removing every code does not survive JSON: %s", data)
	}
	removed := must(t)(am.Amend(uncode, t0.Add(6*time.Hour)))
	v5, _ := removed.Latest()
	if removed.Status != diagnostic.StatusAmended || v5.Changes[0] != (diagnostic.Change{Field: diagnostic.FieldCode, Code: "17621005", Previous: "Normal"}) {
		t.Fatalf("code removed %s %+v", removed.Status, v5.Changes)
	}
	if len(removed.Versions) != 5 {
		t.Fatalf("%d versions", len(removed.Versions))
	}
	for i, v := range removed.Versions {
		if v.Number != i+1 {
			t.Fatalf("version %d numbered %d", i+1, v.Number)
		}
	}
	// Every earlier version is kept as it was.
	if v1, _ := removed.VersionNumber(1); v1.Content.Conclusion != verification().Conclusion || len(v1.Content.Addenda) != 0 {
		t.Fatalf("version 1 changed: %+v", v1.Content)
	}
}

func TestAmendmentRefusals(t *testing.T) {
	f := final(t)
	full := f
	full.Versions = slices.Repeat(f.Versions, diagnostic.MaxVersions)
	cases := []struct {
		name string
		r    diagnostic.Report
		a    diagnostic.Amendment
		want error
	}{
		{"not verified", resulted(t), diagnostic.Amendment{By: scientist, Reason: "x", Addendum: "y"}, diagnostic.ErrInvalidTransition},
		{"nobody", f, diagnostic.Amendment{Reason: "x", Addendum: "y"}, diagnostic.ErrInvalidArgument},
		{"no reason", f, diagnostic.Amendment{By: scientist, Addendum: "y"}, diagnostic.ErrInvalidArgument},
		{"changes nothing", f, diagnostic.Amendment{By: scientist, Reason: "x", Conclusion: ptr(verification().Conclusion)}, diagnostic.ErrInvalidArgument},
		{"long addendum", f, diagnostic.Amendment{By: scientist, Reason: "x", Addendum: strings.Repeat("x", diagnostic.MaxAddendumLen+1)}, diagnostic.ErrInvalidArgument},
		{"long conclusion", f, diagnostic.Amendment{By: scientist, Reason: "x", Conclusion: ptr(strings.Repeat("x", diagnostic.MaxConclusionLen+1))}, diagnostic.ErrInvalidArgument},
		{"bad code", f, diagnostic.Amendment{By: scientist, Reason: "x", Codes: &[]diagnostic.Coding{{Code: "123"}}}, diagnostic.ErrInvalidArgument},
		{"too many versions", full, diagnostic.Amendment{By: scientist, Reason: "x", Addendum: "y"}, diagnostic.ErrInvalidTransition},
	}
	for _, tc := range cases {
		if err := tc.r.CanAmend(tc.a); !errors.Is(err, tc.want) {
			t.Errorf("%s: err = %v, want %v", tc.name, err, tc.want)
		}
		if _, err := tc.r.Amend(tc.a, t0); err == nil {
			t.Errorf("%s: Amend accepted what CanAmend refuses", tc.name)
		}
	}
	if err := f.CanAmend(diagnostic.Amendment{By: scientist, Reason: "x", Addendum: "ok"}); err != nil {
		t.Fatal(err)
	}
}

func TestDiff(t *testing.T) {
	na := diagnostic.Result{Code: "2951-2", Value: observation.Value{Kind: observation.KindQuantity, Quantity: &observation.QuantityValue{Value: 140, Unit: "mmol/L"}}, Flag: observation.FlagNormal}
	k := diagnostic.Result{Code: "2823-3", Value: observation.Value{Kind: observation.KindQuantity, Quantity: &observation.QuantityValue{Value: 3.1, Unit: "mmol/L"}}, Flag: observation.FlagLow}
	hiv := diagnostic.Result{Code: "56888-1", Value: observation.Value{Kind: observation.KindCoded, Coding: &observation.Coding{Code: "LA6576-8", Display: "Positive"}}}
	hivCode := diagnostic.Result{Code: "56888-1", Value: observation.Value{Kind: observation.KindCoded, Coding: &observation.Coding{Code: "LA6577-6"}}}
	yes, text := true, diagnostic.Result{Code: "x", Value: observation.Value{Kind: observation.KindString, Text: "see comment"}}
	boolean := diagnostic.Result{Code: "b", Value: observation.Value{Kind: observation.KindBoolean, Boolean: &yes}}
	prev := diagnostic.Content{Results: []diagnostic.Result{na, hiv, text}, Codes: []diagnostic.Coding{{Code: "17621005"}}}
	next := diagnostic.Content{Results: []diagnostic.Result{na, k, hivCode, boolean}, Conclusion: "new",
		Addenda: []diagnostic.Addendum{{Text: "first"}}}
	got := diagnostic.Diff(prev, next)
	want := []diagnostic.Change{
		{Field: diagnostic.FieldResult, Code: "2823-3", New: "3.1 mmol/L (L)"},
		{Field: diagnostic.FieldResult, Code: "56888-1", Previous: "Positive", New: "LA6577-6"},
		{Field: diagnostic.FieldResult, Code: "b", New: "true"},
		{Field: diagnostic.FieldResult, Code: "x", Previous: "see comment"},
		{Field: diagnostic.FieldConclusion, New: "new"},
		{Field: diagnostic.FieldCode, Code: "17621005", Previous: "17621005"},
		{Field: diagnostic.FieldAddendum, New: "first"},
	}
	if !slices.Equal(got, want) {
		t.Fatalf("diff\n%+v\nwant\n%+v", got, want)
	}
	if len(diagnostic.Diff(next, next)) != 0 {
		t.Fatal("a content differs from itself")
	}
}
