package observation

import "time"

// The LOINC codes of the laboratory results the catalogue holds.
const (
	CodeSodium        = "2951-2"
	CodePotassium     = "2823-3"
	CodeChloride      = "2075-0"
	CodeBicarbonate   = "1963-8"
	CodeUrea          = "22664-7" // Urea [Moles/volume], mmol/L
	CodeUreaNitrogen  = "3094-0"  // Urea nitrogen (BUN) [Mass/volume], mg/dL
	CodeCreatinine    = "2160-0"  // Creatinine [Mass/volume], mg/dL
	CodeEGFR          = "62238-1" // eGFR by CKD-EPI
	CodeEGFR2021      = "98979-8" // eGFR by CKD-EPI 2021 (race-free)
	CodeGlucose       = "2345-7"  // Glucose [Mass/volume], mg/dL
	CodeHaemoglobin   = "718-7"
	CodeLeukocytes    = "6690-2"
	CodePlatelets     = "777-3"
	CodeTroponinT     = "67151-1" // high-sensitivity cardiac troponin T
	CodeLactate       = "2524-7"
	CodeINR           = "6301-6"
	CodeBilirubin     = "1975-2" // Bilirubin.total [Mass/volume], mg/dL
	CodeALT           = "1742-6"
	CodeCRP           = "1988-5"
	CodeProcalcitonin = "33959-8"
)

// Conversion factors between mass and molar units, from each analyte's molar
// mass, as laboratories conventionally round them.
const (
	creatinineUmolPerMg = 88.42  // µmol/L per mg/dL (113.12 g/mol)
	glucoseMgPerMmol    = 18.016 // mg/dL per mmol/L (180.16 g/mol)
	ureaNMgPerMmol      = 2.8014 // mg/dL urea nitrogen per mmol/L urea (2 × 14.007 g/mol)
	ureaMgPerMmol       = 6.006  // mg/dL urea per mmol/L urea (60.06 g/mol)
	bilirubinUmolPerMg  = 17.1   // µmol/L per mg/dL (584.66 g/mol)
	lactateMgPerMmol    = 9.008  // mg/dL per mmol/L (90.08 g/mol)
	haemoglobinGPerMmol = 1.6114 // g/dL per mmol/L of haemoglobin monomer, Hb(Fe) (16 114 g/mol)
)

// Dimensions of the laboratory units, named in refusals.
const (
	dimSubstance  = "substance concentration"
	dimMassConc   = "mass concentration"
	dimNumberConc = "number concentration"
	dimCatalytic  = "catalytic concentration"
	dimRatio      = "ratio"
	dimGFR        = "volume rate per body surface area"
)

// adultLab is the age laboratory adult reference intervals apply from.
const adultLab = 18 * year

func laboratory() []Definition {
	mmol := func() []Unit {
		return []Unit{canonical("mmol/L", dimSubstance), scaled("meq/L", dimSubstance, 1)}
	}
	perMicrolitre := func() []Unit {
		return []Unit{
			canonical("10*3/uL", dimNumberConc, "10^3/uL", "x10^3/uL", "K/uL", "10*3/mm3"),
			scaled("10*9/L", dimNumberConc, 1, "10^9/L", "x10^9/L"),
			scaled("/uL", dimNumberConc, 0.001, "/mm3"),
		}
	}
	gfr := []Unit{canonical("mL/min/{1.73_m2}", dimGFR, "mL/min/1.73m2", "mL/min/1.73 m2", "mL/min/{1.73m2}", "mL/min/1.73m^2")}
	kdigoGFR := srcKDIGOCKD + ": GFR below 60 mL/min/1.73 m2 (G3a-G5) is decreased; G1-G2 without markers of damage is not CKD"
	const delta24h = 24 * time.Hour
	return []Definition{
		{
			Code: CodeSodium, Display: "Sodium [Moles/volume] in Serum or Plasma", Category: CategoryLaboratory, Kind: KindQuantity,
			Unit: "mmol/L", Units: mmol(), Decimals: 0, Possible: possible(50, 300),
			Ranges: []Range{band(SexAny, from(adultLab), num(133), num(146), srcHarmony+": sodium 133-146 mmol/L")},
			Critical: []Range{
				band(SexAny, ages(0, 16*year), num(130), num(160), srcRCPath+": sodium 130 mmol/L (under 16) and 160 mmol/L"),
				band(SexAny, from(16*year), num(120), num(160), srcRCPath+": sodium 120 mmol/L (over 16) and 160 mmol/L"),
			},
			Delta: &DeltaLimit{Window: delta24h, Absolute: 10,
				Source: srcSpasovski + ": limit the rise to 10 mmol/L in the first 24 hours; applied here to a change either way"},
		},
		{
			Code: CodePotassium, Display: "Potassium [Moles/volume] in Serum or Plasma", Category: CategoryLaboratory, Kind: KindQuantity,
			Unit: "mmol/L", Units: mmol(), Decimals: 1, Possible: possible(0.5, 30),
			Ranges:   []Range{band(SexAny, from(adultLab), num(3.5), num(5.3), srcHarmony+": potassium 3.5-5.3 mmol/L")},
			Critical: []Range{band(SexAny, allAges, num(2.5), num(6.5), srcRCPath+": potassium 2.5 and 6.5 mmol/L")},
			Delta:    &DeltaLimit{Window: delta24h, Absolute: 2.0, Source: srcDeltaConvention},
			Note:     "A haemolysed or EDTA-contaminated sample can read far above 6.5 mmol/L; the plausibility bound stays wide so the laboratory's comment, not a refusal, explains it.",
		},
		{
			Code: CodeChloride, Display: "Chloride [Moles/volume] in Serum or Plasma", Category: CategoryLaboratory, Kind: KindQuantity,
			Unit: "mmol/L", Units: mmol(), Decimals: 0, Possible: possible(40, 200),
			Ranges:   []Range{band(SexAny, from(adultLab), num(95), num(108), srcHarmony+": chloride 95-108 mmol/L")},
			Critical: []Range{band(SexAny, from(adultLab), num(75), num(126), srcKostTable+": chloride 75 and 126 mmol/L")},
			Delta:    &DeltaLimit{Window: delta24h, Absolute: 10, Source: srcDeltaConvention},
		},
		{
			Code: CodeBicarbonate, Display: "Bicarbonate [Moles/volume] in Serum or Plasma", Category: CategoryLaboratory, Kind: KindQuantity,
			Unit: "mmol/L", Units: mmol(), Decimals: 0, Possible: possible(1, 80),
			Ranges:   []Range{band(SexAny, from(adultLab), num(22), num(29), srcHarmony+": bicarbonate 22-29 mmol/L")},
			Critical: []Range{band(SexAny, from(adultLab), num(11), num(40), srcKostTable+": CO2 content 11 and 40 mmol/L")},
			Delta:    &DeltaLimit{Window: delta24h, Absolute: 10, Source: srcDeltaConvention},
			Note:     "Kost's survey lists total CO2 content, which bicarbonate makes up almost entirely.",
		},
		{
			Code: CodeUrea, Display: "Urea [Moles/volume] in Serum or Plasma", Category: CategoryLaboratory, Kind: KindQuantity,
			Unit: "mmol/L", Units: []Unit{canonical("mmol/L", dimSubstance), scaled("mg/dL", dimMassConc, 1/ureaMgPerMmol)},
			Decimals: 1, Possible: possible(0, 150),
			Ranges: []Range{band(SexAny, from(adultLab), num(2.5), num(7.8), srcHarmony+": urea 2.5-7.8 mmol/L")},
			Critical: []Range{
				band(SexAny, ages(0, 16*year), nil, num(10), srcRCPath+": urea 10 mmol/L (under 16)"),
				band(SexAny, from(16*year), nil, num(30), srcRCPath+": urea 30 mmol/L (over 16)"),
			},
			Delta: &DeltaLimit{Window: delta24h, Percent: 50, Source: srcDeltaConvention},
			Note:  "mg/dL under this code is urea itself (60.06 g/mol), not urea nitrogen: BUN has its own code, 3094-0.",
		},
		{
			Code: CodeUreaNitrogen, Display: "Urea nitrogen [Mass/volume] in Serum or Plasma", Category: CategoryLaboratory, Kind: KindQuantity,
			Unit: "mg/dL", Units: []Unit{canonical("mg/dL", dimMassConc), scaled("mmol/L", dimSubstance, ureaNMgPerMmol)},
			Decimals: 0, Possible: possible(0, 420),
			Ranges: []Range{band(SexAny, from(adultLab), num(7), num(22), srcHarmony+": urea 2.5-7.8 mmol/L, as urea nitrogen (× 2.8014)")},
			Critical: []Range{
				band(SexAny, ages(0, 16*year), nil, num(28), srcRCPath+": urea 10 mmol/L (under 16), as urea nitrogen (× 2.8014)"),
				band(SexAny, from(16*year), nil, num(84), srcRCPath+": urea 30 mmol/L (over 16), as urea nitrogen (× 2.8014)"),
			},
			Delta: &DeltaLimit{Window: delta24h, Percent: 50, Source: srcDeltaConvention},
		},
		{
			Code: CodeCreatinine, Display: "Creatinine [Mass/volume] in Serum or Plasma", Category: CategoryLaboratory, Kind: KindQuantity,
			Unit: "mg/dL", Units: []Unit{canonical("mg/dL", dimMassConc), scaled("umol/L", dimSubstance, 1/creatinineUmolPerMg)},
			Decimals: 2, Possible: possible(0.01, 40),
			Ranges: []Range{
				band(SexAny, ages(0, 1), num(0.3), num(1.0), srcHarrietLane+": creatinine, newborn 0.3-1.0 mg/dL"),
				band(SexAny, ages(1, year), num(0.2), num(0.4), srcHarrietLane+": creatinine, infant 0.2-0.4 mg/dL"),
				band(SexAny, ages(year, 12*year), num(0.3), num(0.7), srcHarrietLane+": creatinine, child 0.3-0.7 mg/dL"),
				band(SexAny, ages(12*year, adultLab), num(0.5), num(1.0), srcHarrietLane+": creatinine, adolescent 0.5-1.0 mg/dL"),
				band(SexMale, from(adultLab), num(0.6), num(1.3), srcHarrietLane+": creatinine, adult male 0.6-1.3 mg/dL"),
				band(SexFemale, from(adultLab), num(0.5), num(1.2), srcHarrietLane+": creatinine, adult female 0.5-1.2 mg/dL"),
			},
			Critical: []Range{
				band(SexAny, ages(0, 16*year), nil, num(2.26), srcRCPath+": creatinine 200 µmol/L (under 16) = 2.26 mg/dL"),
				band(SexAny, from(16*year), nil, num(4.00), srcRCPath+": creatinine 354 µmol/L (over 16) = 4.00 mg/dL"),
			},
			Note: "LOINC 2160-0 is a mass concentration, so values are stored in mg/dL; µmol/L is accepted and converted (÷ 88.42). " +
				"A laboratory reporting µmol/L would strictly use 14682-9. Harriet Lane's age bands are named, not bounded: " +
				"newborn is taken as month 0, infant to 1 year, child to 12 years, adolescent to 18. Rises are caught by the KDIGO delta check.",
		},
		{
			Code: CodeEGFR, Display: "Glomerular filtration rate/1.73 sq M.predicted [Volume Rate/Area] in Serum, Plasma or Blood by Creatinine-based formula (CKD-EPI)",
			Category: CategoryLaboratory, Kind: KindQuantity, Unit: "mL/min/{1.73_m2}", Units: gfr, Decimals: 0, Possible: possible(0, 250),
			Ranges: []Range{band(SexAny, from(adultLab), num(60), nil, kdigoGFR)},
			Note:   "No critical limit: a GFR category is a chronic finding, not a panic value.",
		},
		{
			Code: CodeEGFR2021, Display: "Glomerular filtration rate/1.73 sq M.predicted [Volume Rate/Area] in Serum, Plasma or Blood by Creatinine-based formula (CKD-EPI 2021)",
			Category: CategoryLaboratory, Kind: KindQuantity, Unit: "mL/min/{1.73_m2}", Units: gfr, Decimals: 0, Possible: possible(0, 250),
			Ranges: []Range{band(SexAny, from(adultLab), num(60), nil, kdigoGFR)},
			Note:   "No critical limit: a GFR category is a chronic finding, not a panic value.",
		},
		{
			Code: CodeGlucose, Display: "Glucose [Mass/volume] in Serum or Plasma", Category: CategoryLaboratory, Kind: KindQuantity,
			Unit: "mg/dL", Units: []Unit{
				canonical("mg/dL", dimMassConc),
				scaled("mmol/L", dimSubstance, glucoseMgPerMmol),
				scaled("g/L", dimMassConc, 100),
			},
			Decimals: 0, Possible: possible(0, 4000),
			Ranges: []Range{band(SexAny, from(adultLab), num(70), num(99),
				srcADA+": section 2, normal fasting plasma glucose below 100 mg/dL; section 6, level 1 hypoglycaemia below 70 mg/dL")},
			Critical: []Range{
				band(SexAny, ages(0, 16*year), num(45), num(270), srcRCPath+": glucose 2.5 mmol/L and 15 mmol/L (under 16), as mg/dL (× 18.016)"),
				band(SexAny, from(16*year), num(45), num(450), srcRCPath+": glucose 2.5 mmol/L and 25 mmol/L (over 16), as mg/dL (× 18.016)"),
			},
			Note: "The reference range is the fasting one; a random sample above 99 mg/dL is flagged H.",
		},
		{
			Code: CodeHaemoglobin, Display: "Hemoglobin [Mass/volume] in Blood", Category: CategoryLaboratory, Kind: KindQuantity,
			Unit: "g/dL", Units: []Unit{
				canonical("g/dL", dimMassConc),
				scaled("g/L", dimMassConc, 0.1),
				scaled("mmol/L", dimSubstance, haemoglobinGPerMmol),
			},
			Decimals: 1, Possible: possible(0.5, 30),
			Ranges: []Range{
				band(SexAny, ages(6, 5*year), num(11.0), nil, srcWHOHb+": anaemia below 110 g/L, children 6-59 months"),
				band(SexAny, ages(5*year, 12*year), num(11.5), nil, srcWHOHb+": anaemia below 115 g/L, children 5-11 years"),
				band(SexAny, ages(12*year, 15*year), num(12.0), nil, srcWHOHb+": anaemia below 120 g/L, children 12-14 years"),
				band(SexMale, from(15*year), num(13.0), num(16.5), srcWHOHb+": anaemia below 130 g/L, men 15 years and over; "+srcWHOPV+": Hb above 16.5 g/dL in men"),
				band(SexFemale, from(15*year), num(12.0), num(16.0), srcWHOHb+": anaemia below 120 g/L, non-pregnant women 15 years and over; "+srcWHOPV+": Hb above 16.0 g/dL in women"),
			},
			Critical: []Range{band(SexAny, from(adultLab), num(6.6), num(19.9), srcKost+": haemoglobin 66 and 199 g/L")},
			Note: "WHO gives no threshold under 6 months and no upper limit for children, so neither is flagged; " +
				"pregnancy (WHO: below 110 g/L) is not distinguished. mmol/L is the haemoglobin monomer, Hb(Fe).",
		},
		{
			Code: CodeLeukocytes, Display: "Leukocytes [#/volume] in Blood by Automated count", Category: CategoryLaboratory, Kind: KindQuantity,
			Unit: "10*3/uL", Units: perMicrolitre(), Decimals: 1, Possible: possible(0, 1500),
			Ranges:   []Range{band(SexAny, from(adultLab), num(4.0), num(11.0), srcHarmony+": white cell count 4.0-11.0 × 10^9/L")},
			Critical: []Range{band(SexAny, from(adultLab), num(2.0), num(37.0), srcKost+": white blood cell count 2.0 and 37.0 × 10^9/L")},
		},
		{
			Code: CodePlatelets, Display: "Platelets [#/volume] in Blood by Automated count", Category: CategoryLaboratory, Kind: KindQuantity,
			Unit: "10*3/uL", Units: perMicrolitre(), Decimals: 0, Possible: possible(0, 5000),
			Ranges:   []Range{band(SexAny, from(adultLab), num(150), num(400), srcHarmony+": platelets 150-400 × 10^9/L")},
			Critical: []Range{band(SexAny, from(adultLab), num(37), num(910), srcKost+": platelets 37 and 910 × 10^9/L")},
			Delta:    &DeltaLimit{Window: delta24h, Percent: 50, Source: srcDeltaConvention},
		},
		{
			Code: CodeTroponinT, Display: "Troponin T.cardiac [Mass/volume] in Serum or Plasma by High sensitivity method",
			Category: CategoryLaboratory, Kind: KindQuantity, Unit: "ng/L", Units: []Unit{
				canonical("ng/L", dimMassConc),
				scaled("pg/mL", dimMassConc, 1),
				scaled("ng/mL", dimMassConc, 1000),
				scaled("ug/L", dimMassConc, 1000),
			},
			Decimals: 0, Possible: possible(0, 200000),
			Ranges: []Range{band(SexAny, from(adultLab), nil, num(14),
				srcUDMI+": the 99th-percentile upper reference limit, 14 ng/L for the Elecsys hs-cTnT assay")},
			Critical: []Range{band(SexAny, from(adultLab), nil, num(52), srcESCACS+": hs-cTnT (Elecsys) 52 ng/L or more at presentation rules in NSTEMI")},
			Note:     "Cut-offs are assay-specific (Roche Elecsys hs-cTnT). Troponin I (10839-9, 89579-7) needs its own assay's limits and is not catalogued.",
		},
		{
			Code: CodeLactate, Display: "Lactate [Moles/volume] in Serum or Plasma", Category: CategoryLaboratory, Kind: KindQuantity,
			Unit: "mmol/L", Units: []Unit{canonical("mmol/L", dimSubstance), scaled("mg/dL", dimMassConc, 1/lactateMgPerMmol)},
			Decimals: 1, Possible: possible(0, 40),
			Ranges:   []Range{band(SexAny, from(adultLab), nil, num(2.0), srcSepsis3+": serum lactate above 2 mmol/L (18 mg/dL) defines hyperlactataemia")},
			Critical: []Range{band(SexAny, from(adultLab), nil, num(4.0), srcSSC+": lactate of 4 mmol/L or more calls for 30 mL/kg crystalloid")},
		},
		{
			Code: CodeINR, Display: "INR in Platelet poor plasma by Coagulation assay", Category: CategoryLaboratory, Kind: KindQuantity,
			Unit: "{INR}", Units: []Unit{canonical("{INR}", dimRatio, "", "1", "{ratio}", "ratio")}, Decimals: 1,
			Possible: possible(0.5, 50),
			Ranges:   []Range{band(SexAny, from(adultLab), num(0.8), num(1.2), srcMerck+": INR 0.8-1.2 without anticoagulation")},
			Critical: []Range{band(SexAny, allAges, nil, num(5.0), srcARUP+": INR 5.0")},
			Note:     "The reference range is for people not anticoagulated; a therapeutic warfarin INR (2-3) is flagged H.",
		},
		{
			Code: CodeBilirubin, Display: "Bilirubin.total [Mass/volume] in Serum or Plasma", Category: CategoryLaboratory, Kind: KindQuantity,
			Unit: "mg/dL", Units: []Unit{canonical("mg/dL", dimMassConc), scaled("umol/L", dimSubstance, 1/bilirubinUmolPerMg)},
			Decimals: 1, Possible: possible(0, 80),
			Ranges:   []Range{band(SexAny, from(adultLab), num(0.3), num(1.2), srcMerck+": total bilirubin 0.3-1.2 mg/dL (5.1-20.5 µmol/L)")},
			Critical: []Range{band(SexAny, from(adultLab), nil, num(15.0), srcKostTable+": bilirubin 257 µmol/L (15 mg/dL)")},
			Note:     "Neonatal jaundice thresholds depend on age in hours (NICE CG98) and are not modelled, so children have no range.",
		},
		{
			Code: CodeALT, Display: "Alanine aminotransferase [Enzymatic activity/volume] in Serum or Plasma", Category: CategoryLaboratory,
			Kind: KindQuantity, Unit: "U/L", Units: []Unit{
				canonical("U/L", dimCatalytic, "IU/L", "[IU]/L"),
				scaled("ukat/L", dimCatalytic, 60),
			},
			Decimals: 0, Possible: possible(0, 50000),
			Ranges: []Range{
				band(SexMale, from(adultLab), nil, num(33), srcACG+": healthy ALT up to 29-33 IU/L in men"),
				band(SexFemale, from(adultLab), nil, num(25), srcACG+": healthy ALT up to 19-25 IU/L in women"),
			},
			Critical: []Range{
				band(SexMale, from(adultLab), nil, num(495), srcRCPath+": ALT 15 × the upper reference limit (here ACG's 33 IU/L)"),
				band(SexFemale, from(adultLab), nil, num(375), srcRCPath+": ALT 15 × the upper reference limit (here ACG's 25 IU/L)"),
			},
		},
		{
			Code: CodeCRP, Display: "C reactive protein [Mass/volume] in Serum or Plasma", Category: CategoryLaboratory, Kind: KindQuantity,
			Unit: "mg/L", Units: []Unit{canonical("mg/L", dimMassConc), scaled("mg/dL", dimMassConc, 10)}, Decimals: 1,
			Possible: possible(0, 1000),
			Ranges:   []Range{band(SexAny, from(adultLab), nil, num(10.0), srcPepys+": 99th centile in healthy adults about 10 mg/L")},
			Critical: []Range{band(SexAny, from(16*year), nil, num(300), srcRCPath+": CRP 300 mg/L (listed for primary care)")},
		},
		{
			Code: CodeProcalcitonin, Display: "Procalcitonin [Mass/volume] in Serum or Plasma", Category: CategoryLaboratory, Kind: KindQuantity,
			Unit: "ng/mL", Units: []Unit{
				canonical("ng/mL", dimMassConc),
				scaled("ug/L", dimMassConc, 1),
				scaled("pg/mL", dimMassConc, 0.001),
			},
			Decimals: 2, Possible: possible(0, 5000),
			Ranges: []Range{band(SexAny, from(adultLab), nil, num(0.04),
				srcMeisner+": healthy individuals below 0.05 ng/mL, i.e. at most 0.04 at 0.01 ng/mL resolution")},
			Note: "No critical limit: procalcitonin thresholds (0.25, 0.5, 2 ng/mL) guide antibiotic decisions rather than call for notification.",
		},
	}
}
