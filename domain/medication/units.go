package medication

// dimension is what a dose unit measures.
type dimension uint8

const (
	dimUnknown dimension = iota
	dimMass              // canonical mg
	dimUnits             // international units
	dimMmol              // millimoles
	dimForm              // tablets, capsules: a product's dose form
	dimVolume            // mL: needs a concentration the order does not give
)

// per is what a weight- or surface-based unit is divided by.
type per uint8

const (
	perDose per = iota
	perKg
	perM2
)

// doseUnit is a parsed unit: dimension, factor to the canonical unit of the
// dimension, and what it is per.
type doseUnit struct {
	dim    dimension
	factor float64
	per    per
}

var baseUnits = map[string]doseUnit{
	"mg": {dimMass, 1, perDose}, "milligram": {dimMass, 1, perDose}, "milligrams": {dimMass, 1, perDose},
	"g": {dimMass, 1000, perDose}, "gram": {dimMass, 1000, perDose}, "grams": {dimMass, 1000, perDose}, "gm": {dimMass, 1000, perDose},
	"mcg": {dimMass, 0.001, perDose}, "ug": {dimMass, 0.001, perDose}, "microgram": {dimMass, 0.001, perDose},
	"micrograms": {dimMass, 0.001, perDose},
	"ng":         {dimMass, 0.000001, perDose}, "nanogram": {dimMass, 0.000001, perDose}, "nanograms": {dimMass, 0.000001, perDose},
	"unit": {dimUnits, 1, perDose}, "units": {dimUnits, 1, perDose}, "u": {dimUnits, 1, perDose},
	"iu": {dimUnits, 1, perDose}, "[iu]": {dimUnits, 1, perDose}, "[u]": {dimUnits, 1, perDose},
	"mmol": {dimMmol, 1, perDose}, "meq": {dimMmol, 1, perDose},
	"tablet": {dimForm, 1, perDose}, "tablets": {dimForm, 1, perDose}, "tab": {dimForm, 1, perDose},
	"tabs": {dimForm, 1, perDose}, "capsule": {dimForm, 1, perDose}, "capsules": {dimForm, 1, perDose},
	"cap": {dimForm, 1, perDose}, "caps": {dimForm, 1, perDose}, "dose": {dimForm, 1, perDose},
	"ml": {dimVolume, 1, perDose}, "l": {dimVolume, 1000, perDose},
}

// parseUnit reads a dose unit such as "mg", "mcg/kg", "units/kg" or "mg/m2".
func parseUnit(s string) (doseUnit, bool) {
	var buf [foldLen]byte
	b := fold(&buf, s)
	p := perDose
	switch {
	case hasSuffix(b, "/kg"):
		p, b = perKg, b[:len(b)-3]
	case hasSuffix(b, "/m2"):
		p, b = perM2, b[:len(b)-3]
	}
	u, ok := baseUnits[string(b)]
	if !ok || (p != perDose && (u.dim == dimForm || u.dim == dimVolume)) {
		return doseUnit{}, false
	}
	u.per = p
	return u, true
}

// ruleUnits are the units dose rules may be written in.
var ruleUnits = map[string]doseUnit{
	"mg": {dimMass, 1, perDose}, "mcg": {dimMass, 0.001, perDose}, "g": {dimMass, 1000, perDose},
	"units": {dimUnits, 1, perDose}, "mmol": {dimMmol, 1, perDose},
}
