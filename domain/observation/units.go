package observation

import (
	"math"
	"slices"
	"strconv"
	"strings"
	"unicode"
)

// Quantity is a number with its UCUM unit.
type Quantity struct {
	Value float64 `json:"value"`
	Unit  string  `json:"unit"`
}

// Canonical converts q to the code's canonical unit and refuses it when the
// code is unknown or not a quantity, the unit is unknown or of the wrong
// dimension, or the value cannot exist. Units are matched without regard to
// case (UCUM's case-insensitive form: "mEq/L", "mmol/l"), and µ may be written
// for UCUM's u.
func Canonical(code string, q Quantity) (Quantity, error) {
	d, err := quantityDefinition(code)
	if err != nil {
		return Quantity{}, err
	}
	u, err := d.unit(q.Unit)
	if err != nil {
		return Quantity{}, err
	}
	if math.IsNaN(q.Value) || math.IsInf(q.Value, 0) {
		return Quantity{}, refuse(FieldValue, ReasonNotANumber, "must be a finite number")
	}
	v := q.Value*u.Scale + u.Offset
	if !d.Possible.Contains(v) {
		given := ""
		if u.Code != d.Unit {
			given = " (" + format(v) + " " + d.Unit + ")"
		}
		return Quantity{}, refuse(FieldValue, ReasonImpossible, format(q.Value)+" "+u.Code+given+
			" is outside what is possible for "+d.Display+" ("+format(d.Possible.Min)+"–"+format(d.Possible.Max)+" "+d.Unit+")")
	}
	return Quantity{Value: v, Unit: d.Unit}, nil
}

// Convert expresses a canonical value of the code in another of its units.
func Convert(code string, value float64, unit string) (Quantity, error) {
	d, err := quantityDefinition(code)
	if err != nil {
		return Quantity{}, err
	}
	u, err := d.unit(unit)
	if err != nil {
		return Quantity{}, err
	}
	if math.IsNaN(value) || math.IsInf(value, 0) {
		return Quantity{}, refuse(FieldValue, ReasonNotANumber, "must be a finite number")
	}
	return Quantity{Value: (value - u.Offset) / u.Scale, Unit: u.Code}, nil
}

// ParseQuantity reads text such as "98.6 [degF]", "98.6°F" or "7.2 10*9/L"
// for the code and returns it in the canonical unit. A unit that starts with a
// digit must be separated from the number by a space.
func ParseQuantity(code, text string) (Quantity, error) {
	text = strings.TrimSpace(text)
	number, unit := text, ""
	if i := strings.IndexFunc(text, unicode.IsSpace); i >= 0 {
		number, unit = text[:i], text[i:]
	} else if i := strings.IndexFunc(text, func(r rune) bool { return !strings.ContainsRune("0123456789.+-", r) }); i >= 0 {
		number, unit = text[:i], text[i:]
	}
	v, err := strconv.ParseFloat(number, 64)
	if err != nil {
		return Quantity{}, refuse(FieldValue, ReasonNotANumber, "must start with a number, e.g. \"37.2 Cel\"")
	}
	return Canonical(code, Quantity{Value: v, Unit: strings.TrimSpace(unit)})
}

// quantityDefinition finds a code that takes quantities.
func quantityDefinition(code string) (*Definition, error) {
	d, ok := byCode[code]
	if !ok {
		return nil, refuse(FieldCode, ReasonUnknownCode, "LOINC "+code+" is not in the observation catalogue")
	}
	if d.Kind != KindQuantity {
		return nil, refuse(FieldValue, ReasonWrongKind, d.Display+" ("+code+") takes a "+string(d.Kind)+" value, not a quantity")
	}
	return d, nil
}

// unit finds the accepted unit spelt s, or says why s is refused.
func (d *Definition) unit(s string) (Unit, error) {
	s = normalUnit(s)
	for _, u := range d.Units {
		if strings.EqualFold(s, u.Code) || slices.ContainsFunc(u.Aliases, func(a string) bool { return strings.EqualFold(s, a) }) {
			return u, nil
		}
	}
	use := d.Display + " (" + d.Code + ") accepts " + d.unitList()
	if s == "" {
		return Unit{}, refuse(FieldUnit, ReasonUnknownUnit, "is required: "+use)
	}
	dim, known := knownUnits[strings.ToLower(s)]
	switch {
	case !known:
		return Unit{}, refuse(FieldUnit, ReasonUnknownUnit, "\""+s+"\" is not a unit this engine knows; "+use)
	case slices.ContainsFunc(d.Units, func(u Unit) bool { return u.Dimension == dim }):
		return Unit{}, refuse(FieldUnit, ReasonUnsupportedUnit, s+" is not accepted: "+use)
	default:
		return Unit{}, refuse(FieldUnit, ReasonWrongDimension, s+" measures "+dim+"; "+d.Display+" is a "+d.Units[0].Dimension+": use "+d.unitList())
	}
}

// unitList names the accepted UCUM codes.
func (d *Definition) unitList() string {
	codes := make([]string, len(d.Units))
	for i, u := range d.Units {
		codes[i] = u.Code
		if u.Code == "" {
			codes[i] = `""`
		}
	}
	return strings.Join(codes, ", ")
}

// normalUnit trims s and spells the micro sign as UCUM's u.
func normalUnit(s string) string {
	s = strings.TrimSpace(s)
	if strings.ContainsAny(s, "µμ") {
		s = strings.NewReplacer("µ", "u", "μ", "u").Replace(s)
	}
	return s
}

// otherUnits are units no code accepts but that the engine recognises, so a
// refusal can say the unit measures the wrong thing rather than that it is
// unknown.
var otherUnits = []Unit{
	{Code: "s", Dimension: "time"}, {Code: "min", Dimension: "time"}, {Code: "h", Dimension: "time"},
	{Code: "d", Dimension: "time"}, {Code: "wk", Dimension: "time"},
	{Code: "/h", Dimension: "rate per hour"}, {Code: "/s", Dimension: "rate per second"},
	{Code: "kPa", Dimension: dimPressure}, {Code: "Pa", Dimension: dimPressure}, {Code: "cm[H2O]", Dimension: dimPressure},
	{Code: "K", Dimension: dimTemperature},
	{Code: "mg", Dimension: dimMass}, {Code: "ug", Dimension: dimMass},
	{Code: "L", Dimension: "volume"}, {Code: "mL", Dimension: "volume"}, {Code: "dL", Dimension: "volume"},
	{Code: "m2", Dimension: "area"}, {Code: "km", Dimension: dimLength},
	{Code: "mol/L", Dimension: dimSubstance}, {Code: "umol/L", Dimension: dimSubstance},
	{Code: "nmol/L", Dimension: dimSubstance}, {Code: "pmol/L", Dimension: dimSubstance},
	{Code: "mg/L", Dimension: dimMassConc}, {Code: "g/L", Dimension: dimMassConc}, {Code: "ug/mL", Dimension: dimMassConc},
	{Code: "mm/h", Dimension: "velocity"}, {Code: "[IU]/mL", Dimension: "arbitrary concentration"},
}

// knownUnits maps every unit spelling the engine recognises, lower-cased, to
// what it measures.
var knownUnits = func() map[string]string {
	m := make(map[string]string)
	add := func(u Unit) {
		for _, s := range append([]string{u.Code}, u.Aliases...) {
			if s = strings.ToLower(normalUnit(s)); s != "" {
				if _, ok := m[s]; !ok {
					m[s] = u.Dimension
				}
			}
		}
	}
	for _, d := range catalogue {
		for _, u := range d.Units {
			add(u)
		}
	}
	for _, u := range otherUnits {
		add(u)
	}
	return m
}()

// format writes v without trailing noise from unit conversion.
func format(v float64) string {
	return strconv.FormatFloat(roundTo(v, 4), 'f', -1, 64)
}
