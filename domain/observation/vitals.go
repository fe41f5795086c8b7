package observation

import "time"

// The LOINC codes of the vital signs the engine scores or charts.
const (
	CodeHeartRate          = "8867-4"
	CodeRespiratoryRate    = "9279-1"
	CodeSpO2               = "59408-5" // Oxygen saturation in Arterial blood by Pulse oximetry
	CodeSaO2               = "2708-6"  // Oxygen saturation in Arterial blood
	CodeSystolicBP         = "8480-6"
	CodeDiastolicBP        = "8462-4"
	CodeBloodPressurePanel = "85354-9"
	CodeBodyTemperature    = "8310-5"
	CodeConsciousness      = "67775-7" // Level of responsiveness, used for ACVPU
	CodeInhaledOxygen      = "3150-0"  // Inhaled oxygen concentration (FiO2)
	CodeOxygenFlow         = "3151-8"  // Inhaled oxygen flow rate
	CodeBodyWeight         = "29463-7"
	CodeBodyHeight         = "8302-2"
	CodeBMI                = "39156-5"
	CodePainScore          = "72514-3"
)

// The vital signs' plausibility bounds, shared by the catalogue and by
// ScoreNEWS2, which checks its inputs without a catalogue lookup.
const (
	maxHeartRate       = 350 // per minute; pre-excited atrial fibrillation and infant SVT exceed 300
	maxRespiratoryRate = 150 // per minute
	maxSystolicBP      = 350 // mm[Hg]
	maxDiastolicBP     = 250 // mm[Hg]
	// The lowest core temperature survived is 13.7 °C and the highest recorded
	// in a survivor 46.5 °C (case reports); 60 °C cannot be a body temperature.
	minBodyTemperature = 10.0 // Cel
	maxBodyTemperature = 47.0 // Cel
)

// Dimensions of the units, named in refusals.
const (
	dimRate        = "rate per minute"
	dimFraction    = "fraction (percent)"
	dimPressure    = "pressure"
	dimTemperature = "temperature"
	dimMass        = "mass"
	dimLength      = "length"
	dimMassPerArea = "mass per area"
	dimScore       = "score"
	dimFlow        = "volume flow rate"
)

// The NEWS2 figures vital-sign ranges use for adults. NEWS2 is for people
// aged 16 and over (RCP 2017), so its bands are the adult ranges from 16.
const (
	news2Chart1 = srcNEWS2 + ", Chart 1 (the NEWS scoring system)"
	adultVitals = 16 * year
)

// definitional is an interval fixed by what the quantity is, not by physiology.
func definitional(low, high float64, why string) Interval {
	return Interval{Min: low, Max: high, Basis: why}
}

func vitalSigns() []Definition {
	perMinute := func(aliases ...string) []Unit { return []Unit{canonical("/min", dimRate, aliases...)} }
	percent := []Unit{canonical("%", dimFraction)}
	mmHg := []Unit{canonical("mm[Hg]", dimPressure, "mmHg")}
	return []Definition{
		{
			Code: CodeHeartRate, Display: "Heart rate", Category: CategoryVitalSigns, Kind: KindQuantity,
			Unit: "/min", Units: perMinute("{beats}/min", "{beat}/min", "beats/min", "bpm"), Decimals: 0,
			Possible: possible(0, maxHeartRate),
			Ranges: []Range{
				band(SexAny, ages(0, 3), num(85), num(205), srcPALS+", normal heart rates (awake), newborn to 3 months: 85-205/min"),
				band(SexAny, ages(3, 2*year), num(100), num(190), srcPALS+", normal heart rates (awake), 3 months to 2 years: 100-190/min"),
				band(SexAny, ages(2*year, 10*year), num(60), num(140), srcPALS+", normal heart rates (awake), 2 to 10 years: 60-140/min"),
				band(SexAny, ages(10*year, adultVitals), num(60), num(100), srcPALS+", normal heart rates (awake), over 10 years: 60-100/min"),
				band(SexAny, from(adultVitals), num(51), num(90), news2Chart1+": pulse 51-90/min scores 0"),
			},
			Critical: []Range{
				band(SexAny, from(adultVitals), num(40), num(131), news2Chart1+": pulse ≤40 or ≥131/min scores 3"),
			},
			Note: "Paediatric bands end at 16, where NEWS2's adult bands begin; PALS gives no critical heart rates, so children have none.",
		},
		{
			Code: CodeRespiratoryRate, Display: "Respiratory rate", Category: CategoryVitalSigns, Kind: KindQuantity,
			Unit: "/min", Units: perMinute("{breaths}/min", "{breath}/min", "breaths/min"), Decimals: 0,
			Possible: possible(0, maxRespiratoryRate),
			Ranges: []Range{
				band(SexAny, ages(0, year), num(30), num(60), srcPALS+", normal respiratory rates, infant (under 1 year): 30-60/min"),
				band(SexAny, ages(year, 4*year), num(24), num(40), srcPALS+", normal respiratory rates, toddler (1-3 years): 24-40/min"),
				band(SexAny, ages(4*year, 6*year), num(22), num(34), srcPALS+", normal respiratory rates, preschooler (4-5 years): 22-34/min"),
				band(SexAny, ages(6*year, 13*year), num(18), num(30), srcPALS+", normal respiratory rates, school age (6-12 years): 18-30/min"),
				band(SexAny, ages(13*year, adultVitals), num(12), num(16), srcPALS+", normal respiratory rates, adolescent (13-18 years): 12-16/min"),
				band(SexAny, from(adultVitals), num(12), num(20), news2Chart1+": respiration rate 12-20/min scores 0"),
			},
			Critical: []Range{
				band(SexAny, from(adultVitals), num(8), num(25), news2Chart1+": respiration rate ≤8 or ≥25/min scores 3"),
			},
		},
		{
			Code: CodeSpO2, Display: "Oxygen saturation in Arterial blood by Pulse oximetry", Category: CategoryVitalSigns,
			Kind: KindQuantity, Unit: "%", Units: percent, Decimals: 0,
			Possible: definitional(0, 100, "definition: a saturation is a percentage of haemoglobin, at most 100"),
			Ranges: []Range{
				band(SexAny, from(adultVitals), num(96), num(100), news2Chart1+": SpO2 Scale 1 ≥96% scores 0"),
			},
			Critical: []Range{
				band(SexAny, from(adultVitals), num(91), nil, news2Chart1+": SpO2 Scale 1 ≤91% scores 3"),
			},
			Note: "Ranges follow NEWS2 Scale 1; a patient on Scale 2 (target 88-92%) is scored by ScoreNEWS2, not by these ranges.",
		},
		{
			Code: CodeSaO2, Display: "Oxygen saturation in Arterial blood", Category: CategoryVitalSigns,
			Kind: KindQuantity, Unit: "%", Units: percent, Decimals: 0,
			Possible: definitional(0, 100, "definition: a saturation is a percentage of haemoglobin, at most 100"),
			Ranges: []Range{
				band(SexAny, from(adultVitals), num(96), num(100), news2Chart1+": SpO2 Scale 1 ≥96% scores 0"),
			},
			Critical: []Range{
				band(SexAny, from(adultVitals), num(91), nil, news2Chart1+": SpO2 Scale 1 ≤91% scores 3"),
			},
			Note: "FHIR's vital-signs profile codes oximetry with both 2708-6 and 59408-5; both feed NEWS2's SpO2.",
		},
		{
			Code: CodeSystolicBP, Display: "Systolic blood pressure", Category: CategoryVitalSigns, Kind: KindQuantity,
			Unit: "mm[Hg]", Units: mmHg, Decimals: 0, Possible: possible(0, maxSystolicBP),
			Ranges: []Range{
				band(SexAny, from(adultVitals), num(111), num(139), news2Chart1+": systolic 111-219 mmHg scores 0 (low limit); "+
					srcNICEHypertension+": clinic blood pressure of 140/90 mmHg or higher is hypertension (high limit)"),
			},
			Critical: append(palsHypotension(), band(SexAny, from(adultVitals), num(90), num(220),
				news2Chart1+": systolic ≤90 or ≥220 mmHg scores 3")),
		},
		{
			Code: CodeDiastolicBP, Display: "Diastolic blood pressure", Category: CategoryVitalSigns, Kind: KindQuantity,
			Unit: "mm[Hg]", Units: mmHg, Decimals: 0, Possible: possible(0, maxDiastolicBP),
			Ranges: []Range{
				band(SexAny, from(adultVitals), nil, num(89), srcNICEHypertension+": clinic blood pressure of 140/90 mmHg or higher is hypertension"),
			},
			Critical: []Range{
				band(SexAny, from(adultVitals), nil, num(120), srcNICEHypertension+": blood pressure of 180/120 mmHg or higher prompts same-day assessment"),
			},
			Note: "No cited lower limit for diastolic pressure: low pressures are caught by systolic pressure and NEWS2.",
		},
		{
			Code: CodeBloodPressurePanel, Display: "Blood pressure panel with all children optional", Category: CategoryVitalSigns,
			Kind: KindPanel, Components: []string{CodeSystolicBP, CodeDiastolicBP},
			Note: "A panel has no value: its systolic and diastolic components are observations of their own codes.",
		},
		{
			Code: CodeBodyTemperature, Display: "Body temperature", Category: CategoryVitalSigns, Kind: KindQuantity,
			Unit: "Cel", Units: []Unit{
				canonical("Cel", dimTemperature, "°C", "degC", "℃"),
				{Code: "[degF]", Aliases: []string{"°F", "degF", "℉"}, Dimension: dimTemperature, Scale: 5.0 / 9.0, Offset: -160.0 / 9.0},
			},
			Decimals: 1,
			Possible: Interval{Min: minBodyTemperature, Max: maxBodyTemperature,
				Basis: "Lowest core temperature survived 13.7 °C and highest recorded in a survivor 46.5 °C (case reports), with a margin"},
			Ranges: []Range{
				band(SexAny, ages(0, 5*year), nil, num(37.9), srcNICEFever+": fever is a temperature of 38 °C or higher"),
				band(SexAny, from(adultVitals), num(36.1), num(38.0), news2Chart1+": temperature 36.1-38.0 °C scores 0"),
			},
			Critical: []Range{
				band(SexAny, from(adultVitals), num(35.0), nil, news2Chart1+": temperature ≤35.0 °C scores 3"),
			},
			Note: "NEWS2 scores no temperature 3 on the high side (≥39.1 °C scores 2), so adults have no critical high. Children 5-15 have no cited range.",
		},
		{
			Code: CodeConsciousness, Display: "Level of responsiveness", Category: CategoryVitalSigns, Kind: KindCoded,
			Answers: []Answer{
				{Code: "A", Display: "Alert", Normal: true},
				{Code: "C", Display: "New confusion"},
				{Code: "V", Display: "Responds to voice"},
				{Code: "P", Display: "Responds to pain"},
				{Code: "U", Display: "Unresponsive"},
			},
			Note: "67775-7 is LOINC's 'Level of responsiveness', whose LOINC answer list is AVPU; the C (new confusion) answer is NEWS2's " +
				"ACVPU addition (" + news2Chart1 + "), local to this engine until LOINC publishes an ACVPU answer list.",
		},
		{
			Code: CodeInhaledOxygen, Display: "Inhaled oxygen concentration", Category: CategoryVitalSigns, Kind: KindQuantity,
			Unit: "%", Units: percent, Decimals: 0,
			Possible: definitional(0, 100, "definition: a volume fraction of inhaled gas"),
			Note: "NEWS2's 'air or oxygen?': a concentration above 21% (room air) is supplemental oxygen. Chosen over a boolean " +
				"'on supplemental oxygen' because no LOINC code for that presence could be verified.",
		},
		{
			Code: CodeOxygenFlow, Display: "Inhaled oxygen flow rate", Category: CategoryVitalSigns, Kind: KindQuantity,
			Unit: "L/min", Units: []Unit{canonical("L/min", dimFlow), scaled("mL/min", dimFlow, 0.001)}, Decimals: 1,
			Possible: possible(0, 80),
			Note:     "NEWS2's 'air or oxygen?': any flow above 0 L/min is supplemental oxygen.",
		},
		{
			Code: CodeBodyWeight, Display: "Body weight", Category: CategoryVitalSigns, Kind: KindQuantity,
			Unit: "kg", Units: []Unit{
				canonical("kg", dimMass),
				scaled("g", dimMass, 0.001),
				scaled("[lb_av]", dimMass, 0.45359237, "lb", "lbs"),
				scaled("[oz_av]", dimMass, 0.028349523125, "oz"),
			},
			Decimals: 3, Possible: possible(0.2, 700),
			Delta: &DeltaLimit{Window: 7 * 24 * time.Hour, Percent: 10, Source: srcDeltaConvention},
			Note:  "No reference range: weight is judged against height (BMI) or growth charts.",
		},
		{
			Code: CodeBodyHeight, Display: "Body height", Category: CategoryVitalSigns, Kind: KindQuantity,
			Unit: "cm", Units: []Unit{
				canonical("cm", dimLength),
				scaled("m", dimLength, 100),
				scaled("mm", dimLength, 0.1),
				scaled("[in_i]", dimLength, 2.54, "in"),
				scaled("[ft_i]", dimLength, 30.48, "ft"),
			},
			Decimals: 1, Possible: possible(20, 280),
			Delta: &DeltaLimit{Window: 30 * 24 * time.Hour, Absolute: 5, Source: srcDeltaConvention},
			Note:  "No reference range: height is judged against growth charts.",
		},
		{
			Code: CodeBMI, Display: "Body mass index (BMI) [Ratio]", Category: CategoryVitalSigns, Kind: KindQuantity,
			Unit: "kg/m2", Units: []Unit{canonical("kg/m2", dimMassPerArea, "kg/m^2", "kg/m²")}, Decimals: 1,
			Possible: possible(5, 250),
			Ranges: []Range{
				band(SexAny, from(18*year), num(18.5), num(24.9), srcWHOBMI+": normal range 18.50-24.99 kg/m2 in adults"),
			},
			Note: "Children's BMI is read against centile charts, so children have no range here.",
		},
		{
			Code: CodePainScore, Display: "Pain severity - 0-10 verbal numeric rating [Score] - Reported", Category: CategoryVitalSigns,
			Kind: KindQuantity, Unit: "{score}", Units: []Unit{canonical("{score}", dimScore, "", "1")}, Decimals: 0,
			Possible: definitional(0, 10, "definition: the scale runs from 0 (no pain) to 10 (worst pain imaginable)"),
			Note:     "No reference range: pain is what the patient reports, acted on by local policy.",
		},
	}
}

// palsHypotension is PALS's definition of hypotension by age: systolic below
// 60 mmHg in term neonates, below 70 in infants, below 70 + 2 × age in years
// from 1 to 10 years, and below 90 after 10 years. Pressures are whole mmHg,
// so "below 60" is "at or below 59".
func palsHypotension() []Range {
	const def = srcPALS + ", hypotension by systolic blood pressure"
	rs := []Range{
		band(SexAny, ages(0, 1), num(59), nil, def+": term neonate (0-28 days) below 60 mmHg"),
		band(SexAny, ages(1, year), num(69), nil, def+": infant (1-12 months) below 70 mmHg"),
	}
	for y := 1; y < 10; y++ {
		rs = append(rs, band(SexAny, ages(y*year, (y+1)*year), num(float64(69+2*y)), nil,
			def+": child 1-10 years below 70 + 2 × age in years mmHg"))
	}
	return append(rs, band(SexAny, ages(10*year, adultVitals), num(89), nil, def+": over 10 years below 90 mmHg"))
}
