package observation

import "math"

// Flag is an HL7 v3 ObservationInterpretation code
// (http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation).
type Flag string

// The flags a value can be given.
const (
	FlagNormal       Flag = "N"  // Normal
	FlagLow          Flag = "L"  // Low
	FlagHigh         Flag = "H"  // High
	FlagCriticalLow  Flag = "LL" // Critical low
	FlagCriticalHigh Flag = "HH" // Critical high
	FlagAbnormal     Flag = "A"  // Abnormal (a coded value outside the normal answers)
)

// Critical reports whether f calls for urgent notification.
func (f Flag) Critical() bool { return f == FlagCriticalLow || f == FlagCriticalHigh }

// Interpretation is a value's flag and the ranges it was judged against, to
// be stored with the value: a later change of the catalogue must not change
// what a stored result was compared with.
type Interpretation struct {
	// Flag is empty when no reference range or critical limit applies to the
	// patient (e.g. a code with no paediatric range, for a child).
	Flag     Flag   `json:"flag,omitempty"`
	Range    *Range `json:"range,omitempty"`
	Critical *Range `json:"critical,omitempty"`
}

// reportedSource names a range the performing laboratory sent with its result.
const reportedSource = "Reference range reported by the performing laboratory"

// InterpretQuantity flags a canonical value of the code (see Canonical) for
// the subject: LL or HH at or beyond a critical limit, else L or H outside the
// reference range, else N. The value is first rounded half up to the
// resolution the ranges are written at (Definition.Decimals), so that 36.05 °C
// is 36.1 °C, as NEWS2 reads it.
func InterpretQuantity(code string, value float64, s Subject) (Interpretation, error) {
	d, err := checkedQuantity(code, value)
	if err != nil {
		return Interpretation{}, err
	}
	ref, hasRef := pick(d.Ranges, s, true)
	crit, hasCrit := pick(d.Critical, s, false)
	return judge(roundTo(value, d.Decimals), ref, hasRef, crit, hasCrit), nil
}

// InterpretReported flags a canonical value against the reference range the
// performing laboratory reported with it, which replaces the catalogue's; the
// catalogue's critical limits still apply. The reported range may be in any
// unit the code accepts; the interpretation holds it in the canonical unit.
func InterpretReported(code string, value float64, s Subject, reported Range) (Interpretation, error) {
	d, err := checkedQuantity(code, value)
	if err != nil {
		return Interpretation{}, err
	}
	ref := reported.clone()
	if ref.Unit != "" && ref.Unit != d.Unit {
		u, err := d.unit(ref.Unit)
		if err != nil {
			err.(*ValueError).Field = "referenceRange." + FieldUnit
			return Interpretation{}, err
		}
		// Converted limits are rounded to the catalogue's resolution, as the
		// value is, so 106 µmol/L stays at the top of a 62-106 µmol/L range.
		for _, p := range []*float64{ref.Low, ref.High} {
			if p != nil {
				*p = roundTo(*p*u.Scale+u.Offset, d.Decimals)
			}
		}
	}
	ref.Unit = d.Unit
	if ref.Source == "" {
		ref.Source = reportedSource
	}
	crit, hasCrit := pick(d.Critical, s, false)
	return judge(roundTo(value, d.Decimals), ref, true, crit, hasCrit), nil
}

// InterpretAnswer flags a coded value: N for a normal answer, A for any other
// (for ACVPU, A is normal and C, V, P and U are abnormal).
func InterpretAnswer(code, answer string) (Interpretation, error) {
	a, err := CheckAnswer(code, answer)
	if err != nil {
		return Interpretation{}, err
	}
	if a.Normal {
		return Interpretation{Flag: FlagNormal}, nil
	}
	return Interpretation{Flag: FlagAbnormal}, nil
}

// checkedQuantity finds the code and refuses a value that cannot exist.
func checkedQuantity(code string, value float64) (*Definition, error) {
	d, err := quantityDefinition(code)
	if err != nil {
		return nil, err
	}
	if math.IsNaN(value) || math.IsInf(value, 0) {
		return nil, refuse(FieldValue, ReasonNotANumber, "must be a finite number")
	}
	if !d.Possible.Contains(value) {
		return nil, refuse(FieldValue, ReasonImpossible, format(value)+" "+d.Unit+" is outside what is possible for "+d.Display+
			" ("+format(d.Possible.Min)+"–"+format(d.Possible.Max)+" "+d.Unit+")")
	}
	return d, nil
}

// judge flags a rounded value: critical limits first, then the reference range.
func judge(v float64, ref Range, hasRef bool, crit Range, hasCrit bool) Interpretation {
	var in Interpretation
	if hasRef {
		in.Range = &ref
	}
	if hasCrit {
		in.Critical = &crit
		switch {
		case crit.Low != nil && v <= *crit.Low:
			in.Flag = FlagCriticalLow
			return in
		case crit.High != nil && v >= *crit.High:
			in.Flag = FlagCriticalHigh
			return in
		}
	}
	if hasRef {
		switch {
		case ref.Low != nil && v < *ref.Low:
			in.Flag = FlagLow
		case ref.High != nil && v > *ref.High:
			in.Flag = FlagHigh
		default:
			in.Flag = FlagNormal
		}
	}
	return in
}

// pick chooses the range for the subject among rs: the one for the subject's
// sex, else the one for any sex. A subject who is neither male nor female
// (other, unknown) gets the male and female ranges combined: as a reference
// (widest) a value is normal if it is normal for either sex; as critical
// limits (not widest) it is critical if it is critical for either.
func pick(rs []Range, s Subject, widest bool) (Range, bool) {
	var anySex, male, female *Range
	for i := range rs {
		r := &rs[i]
		if !r.Age.Contains(s.AgeMonths) {
			continue
		}
		switch r.Sex {
		case SexAny:
			anySex = r
		case SexMale:
			male = r
		case SexFemale:
			female = r
		}
	}
	switch {
	case s.Sex == SexMale && male != nil:
		return male.clone(), true
	case s.Sex == SexFemale && female != nil:
		return female.clone(), true
	case anySex != nil:
		return anySex.clone(), true
	case s.Sex == SexMale || s.Sex == SexFemale:
		return Range{}, false
	case male != nil && female != nil:
		return combine(*male, *female, widest), true
	case male != nil:
		return male.clone(), true
	case female != nil:
		return female.clone(), true
	}
	return Range{}, false
}

// combine merges a male and a female range for a subject of neither sex.
func combine(m, f Range, widest bool) Range {
	r := Range{Sex: SexAny, Age: AgeBand{FromMonths: max(m.Age.FromMonths, f.Age.FromMonths)}, Unit: m.Unit,
		Source: "Male and female ranges combined for a patient of neither sex: " + m.Source + " | " + f.Source}
	switch {
	case m.Age.ToMonths == 0:
		r.Age.ToMonths = f.Age.ToMonths
	case f.Age.ToMonths == 0:
		r.Age.ToMonths = m.Age.ToMonths
	default:
		r.Age.ToMonths = min(m.Age.ToMonths, f.Age.ToMonths)
	}
	if widest {
		r.Low = both(m.Low, f.Low, math.Min)
		r.High = both(m.High, f.High, math.Max)
	} else {
		r.Low = either(m.Low, f.Low, math.Max)
		r.High = either(m.High, f.High, math.Min)
	}
	return r
}

// both is pick(a, b) when both limits exist, else no limit.
func both(a, b *float64, pick func(x, y float64) float64) *float64 {
	if a == nil || b == nil {
		return nil
	}
	return num(pick(*a, *b))
}

// either is pick(a, b) of the limits that exist.
func either(a, b *float64, pick func(x, y float64) float64) *float64 {
	switch {
	case a == nil:
		return copyLimit(b)
	case b == nil:
		return copyLimit(a)
	}
	return num(pick(*a, *b))
}
