package medication

import "math"

// The published sources of the calculations.
const (
	srcCockcroftGault = "cockcroft-gault: Cockcroft DW, Gault MH. Prediction of creatinine clearance from serum creatinine. Nephron 1976;16(1):31-41"
	srcSchwartz       = "schwartz-2009: Schwartz GJ et al. New equations to estimate GFR in children with CKD. J Am Soc Nephrol 2009;20(3):629-637 (bedside equation)"
	srcMosteller      = "mosteller: Mosteller RD. Simplified calculation of body-surface area. N Engl J Med 1987;317(17):1098"
)

// creatinineUmolPerMg converts serum creatinine: µmol/L per mg/dL.
const creatinineUmolPerMg = 88.42

// adultYears is the age from which Cockcroft–Gault is used; below it the
// bedside Schwartz equation is.
const adultYears = 18

// RenalFunction is an estimate of the patient's kidney function and how it
// was made.
type RenalFunction struct {
	// CrCl is creatinine clearance (Cockcroft–Gault, mL/min) for adults, or
	// eGFR (bedside Schwartz, mL/min/1.73 m²) for children.
	CrCl   float64 `json:"crcl"`
	Method string  `json:"method"`
	Source string  `json:"source"`
}

// CockcroftGault estimates creatinine clearance in mL/min:
// (140 − age) × weight × (0.85 if female) / (0.815 × SCr µmol/L), which is
// (140 − age) × weight / (72 × SCr mg/dL). It uses actual body weight.
func CockcroftGault(ageYears, weightKg float64, sex Sex, creatinineUmolL float64) float64 {
	crcl := (140 - ageYears) * weightKg / (0.815 * creatinineUmolL)
	if sex == SexFemale {
		crcl *= 0.85
	}
	return crcl
}

// BedsideSchwartz estimates a child's GFR in mL/min/1.73 m²:
// 0.413 × height (cm) / SCr (mg/dL).
func BedsideSchwartz(heightCm, creatinineUmolL float64) float64 {
	return 0.413 * heightCm / (creatinineUmolL / creatinineUmolPerMg)
}

// BodySurfaceArea is Mosteller's body surface area in m²: √(height × weight / 3600).
func BodySurfaceArea(heightCm, weightKg float64) float64 {
	return math.Sqrt(heightCm * weightKg / 3600)
}

// renalFunction estimates the patient's kidney function, or says which
// observation it lacks.
func renalFunction(p *Patient) (RenalFunction, string) {
	switch {
	case p.CreatinineUmolL <= 0:
		return RenalFunction{}, "no serum creatinine"
	case p.AgeYears <= 0:
		return RenalFunction{}, "no age"
	case p.AgeYears < adultYears:
		if p.HeightCm <= 0 {
			return RenalFunction{}, "no height for the bedside Schwartz equation (patient under 18)"
		}
		return RenalFunction{CrCl: BedsideSchwartz(p.HeightCm, p.CreatinineUmolL), Method: "bedside Schwartz eGFR",
			Source: srcSchwartz}, ""
	case p.WeightKg <= 0:
		return RenalFunction{}, "no weight for Cockcroft–Gault"
	case p.Sex != SexFemale && p.Sex != SexMale:
		return RenalFunction{}, "no sex (male or female) for Cockcroft–Gault"
	}
	return RenalFunction{CrCl: CockcroftGault(p.AgeYears, p.WeightKg, p.Sex, p.CreatinineUmolL),
		Method: "Cockcroft–Gault creatinine clearance", Source: srcCockcroftGault}, ""
}
