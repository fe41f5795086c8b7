package medication

import (
	"github.com/zarish-sphere/zarish/domain/allergy"
)

// Order is a medication order, new or active: which drug, how much, by which
// route and how often.
type Order struct {
	// Code is an RxNorm CUI of the ingredient or of a combination product;
	// when it is empty or unknown, Name is resolved instead.
	Code string `json:"code,omitempty"`
	// Name is the drug's name, a synonym (e.g. paracetamol) or a brand.
	Name string `json:"name,omitempty"`
	// Dose is the amount given each time, in DoseUnit: mg, g, mcg, units,
	// mmol, a weight-based unit (mg/kg, mcg/kg, units/kg), mg/m2, or a dose
	// form (tablet, capsule) for products whose strength the knowledge base
	// holds.
	Dose     float64 `json:"dose,omitempty"`
	DoseUnit string  `json:"doseUnit,omitempty"`
	// Route is how it is given: oral (po), iv, im, sc, rectal (pr), inhaled …
	Route string `json:"route,omitempty"`
	// Frequency is how often: q6h, every 8 hours, BD/TDS/QDS, daily, nocte,
	// weekly, 3 times daily, stat.
	Frequency string `json:"frequency,omitempty"`
	// DosesPerDay overrides Frequency when positive.
	DosesPerDay float64 `json:"dosesPerDay,omitempty"`
	// DurationDays is how long the order runs; zero when open-ended.
	DurationDays float64 `json:"durationDays,omitempty"`
	// PRN orders are checked at their most frequent allowed use.
	PRN        bool   `json:"prn,omitempty"`
	Indication string `json:"indication,omitempty"`
}

// Sex is the patient's administrative sex, as Cockcroft–Gault needs it.
type Sex string

// The sexes the calculations distinguish; anything else is unknown.
const (
	SexFemale Sex = "female"
	SexMale   Sex = "male"
)

// Allergy is an allergy or intolerance as the checks read it: the fields of
// domain/allergy that matter to prescribing.
type Allergy struct {
	Substance          allergy.Substance          `json:"substance"`
	Category           allergy.Category           `json:"category"`
	Criticality        allergy.Criticality        `json:"criticality"`
	Type               allergy.Type               `json:"type,omitempty"`
	ClinicalStatus     allergy.ClinicalStatus     `json:"clinicalStatus,omitempty"`
	VerificationStatus allergy.VerificationStatus `json:"verificationStatus"`
}

// AllergyOf takes the fields the checks read from a stored allergy record.
func AllergyOf(a allergy.Allergy) Allergy {
	return Allergy{Substance: a.Substance, Category: a.Category, Criticality: a.Criticality, Type: a.Type,
		ClinicalStatus: a.ClinicalStatus, VerificationStatus: a.VerificationStatus}
}

// acted reports whether the record should be acted on: an empty clinical
// status counts as active; refuted and entered-in-error records never do.
func (a Allergy) acted() bool {
	if a.ClinicalStatus != "" && a.ClinicalStatus != allergy.ClinicalActive {
		return false
	}
	return a.VerificationStatus != allergy.VerificationRefuted && a.VerificationStatus != allergy.VerificationEnteredInError
}

// Patient is what the checks know about the patient the order is for. A zero
// number is unknown; the checks that need it report that they could not run.
type Patient struct {
	ActiveMedications []Order   `json:"activeMedications"`
	Allergies         []Allergy `json:"allergies"`
	// WeightKg and HeightCm are the latest observations.
	WeightKg float64 `json:"weightKg,omitempty"`
	HeightCm float64 `json:"heightCm,omitempty"`
	// AgeYears is the age in years, fractional for infants.
	AgeYears float64 `json:"ageYears"`
	Sex      Sex     `json:"sex,omitempty"`
	// CreatinineUmolL is the latest serum creatinine, µmol/L.
	CreatinineUmolL float64 `json:"creatinineUmolL,omitempty"`
	// HepaticImpairment is true when the patient is known to have liver
	// disease that affects drug handling.
	HepaticImpairment bool `json:"hepaticImpairment,omitempty"`
}
