package observation

import (
	"slices"
	"time"
)

// Definition is what the engine knows about one LOINC code: its name, what
// its values look like, the units it accepts, the values that cannot exist,
// and the cited ranges its values are interpreted against.
type Definition struct {
	// Code is the LOINC code, e.g. "8867-4".
	Code string `json:"code"`
	// Display is the LOINC long common name.
	Display  string    `json:"display"`
	Category Category  `json:"category"`
	Kind     ValueKind `json:"kind"`
	// Unit is the canonical UCUM unit values are stored in (quantities only).
	Unit string `json:"unit,omitempty"`
	// Units are the accepted units, the canonical one first.
	Units []Unit `json:"units,omitempty"`
	// Decimals is the resolution the ranges are written at: a value is
	// rounded half up to it before it is compared with a range's limits.
	Decimals int `json:"decimals"`
	// Possible holds the values that can exist; outside them a value is refused.
	Possible Interval `json:"possible"`
	// Answers is the answer list of a coded value.
	Answers []Answer `json:"answers,omitempty"`
	// Components are the codes a panel groups.
	Components []string `json:"components,omitempty"`
	// Ranges are the reference ranges, by sex and age.
	Ranges []Range `json:"ranges,omitempty"`
	// Critical are the critical (panic) limits, by sex and age.
	Critical []Range `json:"critical,omitempty"`
	// Delta is the implausible-change limit against the previous result.
	Delta *DeltaLimit `json:"delta,omitempty"`
	// Note records a choice or a doubt about the code.
	Note string `json:"note,omitempty"`
}

// Unit is one UCUM unit a code accepts and its exact conversion to the code's
// canonical unit: canonical = value × Scale + Offset.
type Unit struct {
	// Code is the UCUM code, e.g. "[degF]".
	Code string `json:"code"`
	// Aliases are other spellings accepted for the unit (e.g. "°F", "mmHg").
	Aliases []string `json:"aliases,omitempty"`
	// Dimension names what the unit measures, for refusals.
	Dimension string  `json:"dimension"`
	Scale     float64 `json:"scale"`
	Offset    float64 `json:"offset,omitempty"`
}

// Answer is one code of a coded value's answer list.
type Answer struct {
	Code    string `json:"code"`
	Display string `json:"display"`
	// Normal is false for answers interpreted as abnormal (A).
	Normal bool `json:"normal"`
}

// Interval is the span of canonical values that can exist, and why it is drawn there.
type Interval struct {
	Min   float64 `json:"min"`
	Max   float64 `json:"max"`
	Basis string  `json:"basis"`
}

// Contains reports whether v lies in the interval; NaN never does.
func (i Interval) Contains(v float64) bool { return v >= i.Min && v <= i.Max }

// Range is a cited pair of limits for one sex and age band, in the code's
// canonical unit. As a reference range, a value between Low and High
// (inclusive) is normal. As a critical range, a value at or below Low, or at
// or above High, is critical. A nil limit is absent.
type Range struct {
	Sex    Sex      `json:"sex"`
	Age    AgeBand  `json:"age"`
	Low    *float64 `json:"low,omitempty"`
	High   *float64 `json:"high,omitempty"`
	Unit   string   `json:"unit,omitempty"`
	Source string   `json:"source"`
}

// DeltaLimit is a code's implausible change: a change from the previous
// result within Window of at least Absolute (canonical units) or of at least
// Percent of the previous value. A zero limit is not checked.
type DeltaLimit struct {
	Window   time.Duration `json:"window"`
	Absolute float64       `json:"absolute,omitempty"`
	Percent  float64       `json:"percent,omitempty"`
	Source   string        `json:"source"`
}

// Lookup returns the definition of a LOINC code; false when the catalogue
// does not hold it. The definition is a copy the caller may change.
func Lookup(code string) (Definition, bool) {
	d, ok := byCode[code]
	if !ok {
		return Definition{}, false
	}
	return d.clone(), true
}

// Catalogue returns every definition, vital signs first, as copies.
func Catalogue() []Definition {
	out := make([]Definition, len(catalogue))
	for i := range catalogue {
		out[i] = catalogue[i].clone()
	}
	return out
}

// ValidLOINC reports whether code is a well-formed LOINC code: digits, a
// hyphen and the mod-10 (Luhn) check digit LOINC assigns.
func ValidLOINC(code string) bool {
	n := len(code)
	if n < 3 || n > 8 || code[n-2] != '-' {
		return false
	}
	sum := 0
	for i, pos := n-3, 1; i >= 0; i, pos = i-1, pos+1 {
		c := code[i]
		if c < '0' || c > '9' {
			return false
		}
		d := int(c - '0')
		if pos%2 == 1 {
			if d *= 2; d > 9 {
				d -= 9
			}
		}
		sum += d
	}
	check := code[n-1]
	return check >= '0' && check <= '9' && int(check-'0') == (10-sum%10)%10
}

// catalogue is every definition in the order Catalogue lists them.
var catalogue = index(append(vitalSigns(), laboratory()...))

// byCode finds a definition by its code.
var byCode = func() map[string]*Definition {
	m := make(map[string]*Definition, len(catalogue))
	for i := range catalogue {
		m[catalogue[i].Code] = &catalogue[i]
	}
	return m
}()

// index completes the definitions: every range carries its code's unit.
func index(defs []Definition) []Definition {
	for i := range defs {
		for j := range defs[i].Ranges {
			defs[i].Ranges[j].Unit = defs[i].Unit
		}
		for j := range defs[i].Critical {
			defs[i].Critical[j].Unit = defs[i].Unit
		}
	}
	return defs
}

// clone copies d deeply enough that changing the copy cannot change the catalogue.
func (d *Definition) clone() Definition {
	c := *d
	c.Units = make([]Unit, len(d.Units))
	for i, u := range d.Units {
		u.Aliases = slices.Clone(u.Aliases)
		c.Units[i] = u
	}
	c.Answers = slices.Clone(d.Answers)
	c.Components = slices.Clone(d.Components)
	c.Ranges = cloneRanges(d.Ranges)
	c.Critical = cloneRanges(d.Critical)
	if d.Delta != nil {
		delta := *d.Delta
		c.Delta = &delta
	}
	return c
}

func cloneRanges(rs []Range) []Range {
	if rs == nil {
		return nil
	}
	out := make([]Range, len(rs))
	for i, r := range rs {
		out[i] = r.clone()
	}
	return out
}

// clone copies r with its own limits.
func (r Range) clone() Range {
	r.Low = copyLimit(r.Low)
	r.High = copyLimit(r.High)
	return r
}

func copyLimit(p *float64) *float64 {
	if p == nil {
		return nil
	}
	v := *p
	return &v
}

// The helpers the catalogue's data is written with.

// num is a present limit.
func num(v float64) *float64 { return &v }

// band is a range for one sex and age band.
func band(sex Sex, age AgeBand, low, high *float64, source string) Range {
	return Range{Sex: sex, Age: age, Low: low, High: high, Source: source}
}

// canonical is a code's canonical unit.
func canonical(code, dimension string, aliases ...string) Unit {
	return Unit{Code: code, Aliases: aliases, Dimension: dimension, Scale: 1}
}

// scaled is a unit converted to the canonical one by multiplying by scale.
func scaled(code, dimension string, scale float64, aliases ...string) Unit {
	return Unit{Code: code, Aliases: aliases, Dimension: dimension, Scale: scale}
}

// possible is a physiological interval drawn by this engine's convention.
func possible(low, high float64) Interval { return Interval{Min: low, Max: high, Basis: srcPossible} }
