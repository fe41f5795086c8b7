package observation_test

import (
	"math"
	"strings"
	"testing"

	"github.com/zarish-sphere/zarish/domain/observation"
)

func TestCatalogueHoldsTheRequiredCodes(t *testing.T) {
	want := map[string]observation.Category{
		"8867-4": observation.CategoryVitalSigns, "9279-1": observation.CategoryVitalSigns,
		"59408-5": observation.CategoryVitalSigns, "2708-6": observation.CategoryVitalSigns,
		"8480-6": observation.CategoryVitalSigns, "8462-4": observation.CategoryVitalSigns,
		"85354-9": observation.CategoryVitalSigns, "8310-5": observation.CategoryVitalSigns,
		"67775-7": observation.CategoryVitalSigns, "3150-0": observation.CategoryVitalSigns,
		"3151-8": observation.CategoryVitalSigns, "29463-7": observation.CategoryVitalSigns,
		"8302-2": observation.CategoryVitalSigns, "39156-5": observation.CategoryVitalSigns,
		"72514-3": observation.CategoryVitalSigns,
		"2951-2":  observation.CategoryLaboratory, "2823-3": observation.CategoryLaboratory,
		"2075-0": observation.CategoryLaboratory, "1963-8": observation.CategoryLaboratory,
		"3094-0": observation.CategoryLaboratory, "22664-7": observation.CategoryLaboratory,
		"2160-0": observation.CategoryLaboratory, "62238-1": observation.CategoryLaboratory,
		"98979-8": observation.CategoryLaboratory, "2345-7": observation.CategoryLaboratory,
		"718-7": observation.CategoryLaboratory, "6690-2": observation.CategoryLaboratory,
		"777-3": observation.CategoryLaboratory, "67151-1": observation.CategoryLaboratory,
		"2524-7": observation.CategoryLaboratory, "6301-6": observation.CategoryLaboratory,
		"1975-2": observation.CategoryLaboratory, "1742-6": observation.CategoryLaboratory,
		"1988-5": observation.CategoryLaboratory, "33959-8": observation.CategoryLaboratory,
	}
	for code, cat := range want {
		d, ok := observation.Lookup(code)
		if !ok {
			t.Errorf("%s is not catalogued", code)
			continue
		}
		if d.Category != cat {
			t.Errorf("%s: category %s, want %s", code, d.Category, cat)
		}
	}
	if n := len(observation.Catalogue()); n != len(want) {
		t.Errorf("catalogue holds %d codes, the test knows %d: add the new ones here", n, len(want))
	}
}

func TestLOINCCheckDigits(t *testing.T) {
	for _, d := range observation.Catalogue() {
		if !observation.ValidLOINC(d.Code) {
			t.Errorf("%s (%s) fails LOINC's mod-10 check digit", d.Code, d.Display)
		}
	}
	for _, bad := range []string{"8867-5", "8867", "88674", "-4", "88a7-4", "8867-x", "", "12345678-9"} {
		if observation.ValidLOINC(bad) {
			t.Errorf("%q accepted as a LOINC code", bad)
		}
	}
}

// resolved reports whether v is written at the given number of decimals.
func resolved(v float64, decimals int) bool {
	x := v * math.Pow10(decimals)
	return math.Abs(x-math.Round(x)) < 1e-6
}

func TestEveryDefinitionIsComplete(t *testing.T) {
	for _, d := range observation.Catalogue() {
		if d.Display == "" {
			t.Errorf("%s has no display name", d.Code)
		}
		switch d.Kind {
		case observation.KindQuantity:
			if len(d.Units) == 0 || d.Units[0].Code != d.Unit || d.Units[0].Scale != 1 || d.Units[0].Offset != 0 {
				t.Errorf("%s: the first unit must be the canonical %q with scale 1: %+v", d.Code, d.Unit, d.Units)
			}
			if !(d.Possible.Min < d.Possible.Max) || d.Possible.Basis == "" {
				t.Errorf("%s: possible interval %+v", d.Code, d.Possible)
			}
			seen := map[string]string{}
			for _, u := range d.Units {
				if u.Scale <= 0 || u.Dimension == "" {
					t.Errorf("%s: unit %+v", d.Code, u)
				}
				for _, s := range append([]string{u.Code}, u.Aliases...) {
					if other, dup := seen[strings.ToLower(s)]; dup {
						t.Errorf("%s: %q spells both %s and %s", d.Code, s, other, u.Code)
					}
					seen[strings.ToLower(s)] = u.Code
				}
			}
		case observation.KindCoded:
			if len(d.Answers) == 0 {
				t.Errorf("%s: coded without answers", d.Code)
			}
		case observation.KindPanel:
			for _, c := range d.Components {
				if _, ok := observation.Lookup(c); !ok {
					t.Errorf("%s: component %s is not catalogued", d.Code, c)
				}
			}
		default:
			t.Errorf("%s: kind %q", d.Code, d.Kind)
		}
		for kind, rs := range map[string][]observation.Range{"range": d.Ranges, "critical": d.Critical} {
			for i, r := range rs {
				if r.Source == "" {
					t.Errorf("%s %s %d has no source", d.Code, kind, i)
				}
				if r.Unit != d.Unit {
					t.Errorf("%s %s %d: unit %q, want %q", d.Code, kind, i, r.Unit, d.Unit)
				}
				if r.Low == nil && r.High == nil {
					t.Errorf("%s %s %d has no limit", d.Code, kind, i)
				}
				for _, l := range []*float64{r.Low, r.High} {
					if l != nil && (!resolved(*l, d.Decimals) || !d.Possible.Contains(*l)) {
						t.Errorf("%s %s %d: limit %v is not at %d decimals inside %+v", d.Code, kind, i, *l, d.Decimals, d.Possible)
					}
				}
				if r.Low != nil && r.High != nil && *r.Low >= *r.High {
					t.Errorf("%s %s %d: low %v not below high %v", d.Code, kind, i, *r.Low, *r.High)
				}
				if r.Sex != observation.SexAny && r.Sex != observation.SexMale && r.Sex != observation.SexFemale {
					t.Errorf("%s %s %d: sex %q", d.Code, kind, i, r.Sex)
				}
			}
			for i := range rs {
				for j := i + 1; j < len(rs); j++ {
					if overlap(rs[i], rs[j]) {
						t.Errorf("%s: %s %d and %d overlap for %s", d.Code, kind, i, j, rs[i].Sex)
					}
				}
			}
		}
		if d.Delta != nil && (d.Delta.Source == "" || d.Delta.Window <= 0 || d.Delta.Absolute <= 0 && d.Delta.Percent <= 0) {
			t.Errorf("%s: delta limit %+v", d.Code, d.Delta)
		}
	}
}

// overlap reports whether two ranges could both apply to one patient.
func overlap(a, b observation.Range) bool {
	sexes := a.Sex == b.Sex
	if !sexes {
		return false
	}
	end := func(r observation.Range) int {
		if r.Age.ToMonths == 0 {
			return math.MaxInt
		}
		return r.Age.ToMonths
	}
	return a.Age.FromMonths < end(b) && b.Age.FromMonths < end(a)
}

func TestCriticalLimitsLieBeyondTheReferenceRange(t *testing.T) {
	subjects := []observation.Sex{observation.SexMale, observation.SexFemale, "unknown"}
	for _, d := range observation.Catalogue() {
		if d.Kind != observation.KindQuantity {
			continue
		}
		for months := 0; months <= 100*12; months++ {
			for _, sex := range subjects {
				s := observation.Subject{Sex: sex, AgeMonths: months}
				in, err := observation.InterpretQuantity(d.Code, (d.Possible.Min+d.Possible.Max)/2, s)
				if err != nil {
					t.Fatalf("%s: %v", d.Code, err)
				}
				ref, crit := in.Range, in.Critical
				if ref == nil || crit == nil {
					continue
				}
				if ref.Low != nil && crit.Low != nil && !(*crit.Low < *ref.Low) {
					t.Errorf("%s at %d months (%s): critical low %v not below reference low %v", d.Code, months, sex, *crit.Low, *ref.Low)
				}
				if ref.High != nil && crit.High != nil && !(*crit.High > *ref.High) {
					t.Errorf("%s at %d months (%s): critical high %v not above reference high %v", d.Code, months, sex, *crit.High, *ref.High)
				}
			}
		}
	}
}

func TestLookupReturnsACopy(t *testing.T) {
	d, _ := observation.Lookup(observation.CodeHeartRate)
	*d.Ranges[0].Low = -1
	d.Units[0].Aliases[0] = "changed"
	d.Ranges = nil
	again, _ := observation.Lookup(observation.CodeHeartRate)
	if *again.Ranges[0].Low != 85 || again.Units[0].Aliases[0] != "{beats}/min" {
		t.Fatalf("the catalogue changed through a looked-up copy: %+v", again.Ranges[0])
	}
	if _, ok := observation.Lookup("0000-0"); ok {
		t.Fatal("an unknown code was found")
	}
}
