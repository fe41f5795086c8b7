package medication

// DoseRange is one dose rule worked out for a patient: the rule as written
// and its limits for this patient's weight or surface area (zero: no limit,
// or the limit could not be worked out; see DoseAdvice.Unavailable).
type DoseRange struct {
	Rule      DoseRule `json:"rule"`
	Unit      string   `json:"unit"`
	SingleMin float64  `json:"singleMin,omitempty"`
	SingleMax float64  `json:"singleMax,omitempty"`
	DailyMin  float64  `json:"dailyMin,omitempty"`
	DailyMax  float64  `json:"dailyMax,omitempty"`
}

// RenalAdjustment is the renal band a patient's kidney function falls in.
type RenalAdjustment struct {
	RenalFunction
	// Bands are the adjustments that apply, one per route they are written
	// for; empty when none is needed.
	Bands []RenalBand `json:"bands"`
}

// RenalBand is one renal adjustment worked out for a patient.
type RenalBand struct {
	Rule RenalRule `json:"rule"`
	// MaxSingle and MaxDaily are the band's limits for this patient, in Unit.
	MaxSingle float64 `json:"maxSingle,omitempty"`
	MaxDaily  float64 `json:"maxDaily,omitempty"`
	Unit      string  `json:"unit"`
}

// DoseAdvice is what the knowledge base recommends for a drug and a patient.
type DoseAdvice struct {
	Version string     `json:"version"`
	Drug    Resolution `json:"drug"`
	// Ranges are the rules that apply to the patient, for every route.
	Ranges []DoseRange `json:"ranges"`
	// MaxDaily is the lowest daily maximum among the ranges, in MaxDailyUnit.
	MaxDaily     float64          `json:"maxDaily,omitempty"`
	MaxDailyUnit string           `json:"maxDailyUnit,omitempty"`
	Renal        *RenalAdjustment `json:"renal,omitempty"`
	// AgeLimits are the limits the patient's age falls under.
	AgeLimits []AgeLimit `json:"ageLimits,omitempty"`
	Hepatic   string     `json:"hepatic,omitempty"`
	// Unavailable are the parts of the advice that could not be worked out.
	Unavailable []Finding `json:"unavailable,omitempty"`
}

// CalculateDose works out the recommended dose ranges, the maximum daily
// dose and any renal adjustment of a drug for a patient. The drug is an
// RxNorm code or a name; an unknown or ambiguous one fails with a
// *ResolveError. Zero weight, height or creatinine is unknown.
func (kb *KB) CalculateDose(drug, indication string, weightKg, heightCm, ageYears float64, sex Sex,
	creatinineUmolL float64) (DoseAdvice, error) {
	r, err := kb.resolve(drug, drug, true)
	if err != nil {
		return DoseAdvice{}, err
	}
	adv := DoseAdvice{Version: kb.manifest.Version, Drug: kb.resolution(&r), Ranges: []DoseRange{}}
	p := Patient{WeightKg: weightKg, HeightCm: heightCm, AgeYears: ageYears, Sex: sex, CreatinineUmolL: creatinineUmolL}
	if r.product >= 0 {
		adv.Unavailable = append(adv.Unavailable, kb.unavailable("", RuleDoseNoRule, -1, adv.Drug.Name,
			"Dose advice is given per ingredient; ask for each ingredient of the combination.", ""))
		return adv, nil
	}
	t := r.ings[0]
	pi := kb.dose[t]
	if pi < 0 {
		adv.Unavailable = append(adv.Unavailable, kb.doseUnavailable(t, RuleDoseNoRule,
			"the knowledge base has no dose rule for "+kb.drugs[t].Name))
		return adv, nil
	}
	prof := &kb.doses[pi]
	if ageYears <= 0 {
		adv.Unavailable = append(adv.Unavailable, kb.doseUnavailable(t, RuleDoseNoInput, "the patient's age is unknown"))
		return adv, nil
	}
	rules, why := selectRules(prof, "", indication, &p, nil)
	if why != "" {
		adv.Unavailable = append(adv.Unavailable, kb.doseUnavailable(t, RuleDoseNoRule, why))
	}
	for _, ri := range rules {
		rule := prof.Rules[ri]
		dr := DoseRange{Rule: rule, Unit: rule.Unit}
		scale, missing := patientScale(rule.Basis, &p)
		if missing != "" {
			adv.Unavailable = append(adv.Unavailable, kb.doseUnavailable(t, RuleDoseNoInput,
				missing+" ("+rule.Population+" rule)"))
		} else {
			dr.SingleMin, dr.SingleMax = scaled(rule.SingleMin, scale, rule.SingleCap), scaled(rule.SingleMax, scale, rule.SingleCap)
			dr.DailyMin, dr.DailyMax = scaled(rule.DailyMin, scale, rule.DailyCap), scaled(rule.DailyMax, scale, rule.DailyCap)
			if dr.DailyMax > 0 && (adv.MaxDaily == 0 || dr.DailyMax < adv.MaxDaily) {
				adv.MaxDaily, adv.MaxDailyUnit = dr.DailyMax, dr.Unit
			}
		}
		adv.Ranges = append(adv.Ranges, dr)
	}
	for _, a := range prof.AgeLimits {
		if ageYears < a.BelowYears {
			adv.AgeLimits = append(adv.AgeLimits, a)
		}
	}
	adv.Hepatic = prof.Hepatic
	if len(prof.Renal) > 0 {
		rf, missing := renalFunction(&p)
		if missing != "" {
			adv.Unavailable = append(adv.Unavailable, kb.doseUnavailable(t, RuleDoseNoRenal,
				"renal function could not be estimated: "+missing))
			return adv, nil
		}
		ra := &RenalAdjustment{RenalFunction: rf, Bands: []RenalBand{}}
		for _, b := range prof.Renal {
			if rf.CrCl < b.AtLeast || rf.CrCl >= b.Below {
				continue
			}
			scale := 1.0
			if b.Basis == BasisKg {
				scale = weightKg
			}
			ra.Bands = append(ra.Bands, RenalBand{Rule: b, MaxSingle: b.MaxSingle * scale, MaxDaily: b.MaxDaily * scale,
				Unit: prof.Rules[0].Unit})
		}
		adv.Renal = ra
	}
	return adv, nil
}
