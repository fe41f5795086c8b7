package medication

// Source is one publication or data set the knowledge base takes facts from,
// and the terms it is used under.
type Source struct {
	ID       string `json:"id"`
	Title    string `json:"title"`
	Citation string `json:"citation"`
	URL      string `json:"url,omitempty"`
	Licence  string `json:"licence"`
	// Use says what the knowledge base takes from it and how.
	Use string `json:"use"`
}

// Drug is one ingredient: its RxNorm code and name, the names prescribers
// use for it, its ATC class and the groups the rules use.
type Drug struct {
	// ID is the knowledge base's own key, e.g. "warfarin".
	ID string `json:"id"`
	// Name is the RxNorm ingredient (TTY=IN) name.
	Name  string `json:"name"`
	RxCUI string `json:"rxcui"`
	// CUIVerified is false when the RxNorm code is from the author's
	// knowledge and was not cross-checked against a second listing.
	CUIVerified bool `json:"cuiVerified"`
	// ATC is the WHO ATC code (code only; see SOURCES.md).
	ATC      string   `json:"atc"`
	Synonyms []string `json:"synonyms,omitempty"`
	Brands   []string `json:"brands,omitempty"`
	Groups   []string `json:"groups,omitempty"`
	Sources  []string `json:"sources"`
	Note     string   `json:"note,omitempty"`
}

// Component is one ingredient of a combination product and, when the product
// names a strength, its amount in each dose unit (tablet, capsule).
type Component struct {
	Drug   string  `json:"drug"`
	Amount float64 `json:"amount,omitempty"`
	Unit   string  `json:"unit,omitempty"`
}

// Product is a combination of ingredients prescribed under one name, such as
// co-amoxiclav or co-codamol 30/500. Orders for it are checked ingredient by
// ingredient.
type Product struct {
	ID          string      `json:"id"`
	Name        string      `json:"name"`
	RxCUI       string      `json:"rxcui,omitempty"`
	CUIVerified bool        `json:"cuiVerified"`
	ATC         string      `json:"atc,omitempty"`
	Synonyms    []string    `json:"synonyms,omitempty"`
	Brands      []string    `json:"brands,omitempty"`
	Ingredients []Component `json:"ingredients"`
	Sources     []string    `json:"sources"`
}

// GroupKind says what binds a group's members.
type GroupKind string

// The kinds of group.
const (
	GroupClass      GroupKind = "class"    // a therapeutic or chemical class
	GroupEffect     GroupKind = "effect"   // a shared pharmacodynamic effect (QT, serotonin, bleeding …)
	GroupEnzyme     GroupKind = "enzyme"   // a CYP or transporter inhibitor or inducer
	GroupAllergenic GroupKind = "allergen" // a cross-reactivity family
)

// Group is a set of drugs a rule names at once.
type Group struct {
	ID          string    `json:"id"`
	Name        string    `json:"name"`
	Kind        GroupKind `json:"kind"`
	Description string    `json:"description,omitempty"`
	// Duplicate is the severity of two members ordered together as
	// duplicate therapy; empty when the class is not a duplicate.
	Duplicate Severity `json:"duplicate,omitempty"`
	// AllergyTerms are the texts an allergy record may name the whole group
	// by, e.g. "penicillins", "sulfa".
	AllergyTerms []string `json:"allergyTerms,omitempty"`
	Sources      []string `json:"sources"`
}

// Interaction is one drug–drug interaction rule. A and B name a drug
// ("drug:warfarin") or a group ("group:nsaid"); a group rule holds for every
// pair of members.
type Interaction struct {
	ID         string   `json:"id"`
	A          string   `json:"a"`
	B          string   `json:"b"`
	Severity   Severity `json:"severity"`
	Mechanism  string   `json:"mechanism"`
	Effect     string   `json:"effect"`
	Management string   `json:"management"`
	Sources    []string `json:"sources"`
	// ONC marks the interactions of the ONC high-priority list (Phansalkar
	// et al., JAMIA 2012).
	ONC bool `json:"onc,omitempty"`
}

// AllergyRule says what an allergy to a drug or group means for another drug
// or group.
type AllergyRule struct {
	ID       string `json:"id"`
	Allergen string `json:"allergen"`
	Target   string `json:"target"`
	// Action is hold or caution.
	Action Severity `json:"action"`
	// HighCriticality replaces Action when the allergy's criticality is high.
	HighCriticality Severity `json:"highCriticality,omitempty"`
	Explanation     string   `json:"explanation"`
	Management      string   `json:"management"`
	Sources         []string `json:"sources"`
}

// Basis is what a dose limit is per.
type Basis string

// The bases of dose limits.
const (
	BasisFixed Basis = "fixed" // per dose
	BasisKg    Basis = "kg"    // per kg body weight
	BasisM2    Basis = "m2"    // per m² body surface area
)

// DoseRule is the usual dose of a drug for one population, route and
// (optionally) indication. Limits are in Unit per Basis; zero is no limit.
type DoseRule struct {
	// Population names the rule, e.g. "adult", "child 1 month–12 years".
	Population  string  `json:"population"`
	MinAgeYears float64 `json:"minAgeYears,omitempty"`
	// MaxAgeYears is exclusive; zero is no upper age.
	MaxAgeYears float64 `json:"maxAgeYears,omitempty"`
	MinWeightKg float64 `json:"minWeightKg,omitempty"`
	MaxWeightKg float64 `json:"maxWeightKg,omitempty"`
	Routes      []Route `json:"routes"`
	Indication  string  `json:"indication,omitempty"`
	Basis       Basis   `json:"basis"`
	Unit        string  `json:"unit"`
	SingleMin   float64 `json:"singleMin,omitempty"`
	SingleMax   float64 `json:"singleMax,omitempty"`
	DailyMin    float64 `json:"dailyMin,omitempty"`
	DailyMax    float64 `json:"dailyMax,omitempty"`
	// SingleCap and DailyCap are absolute ceilings in Unit on a weight- or
	// surface-based rule (e.g. 15 mg/kg but never more than 1 g).
	SingleCap        float64 `json:"singleCap,omitempty"`
	DailyCap         float64 `json:"dailyCap,omitempty"`
	MinIntervalHours float64 `json:"minIntervalHours,omitempty"`
	// IntervalSeverity is the severity of an order given more often than
	// MinIntervalHours; moderate when empty (major for weekly methotrexate).
	IntervalSeverity Severity `json:"intervalSeverity,omitempty"`
	MaxDurationDays  float64  `json:"maxDurationDays,omitempty"`
	// Frequency is the usual frequency, for display.
	Frequency string `json:"frequency,omitempty"`
	Source    string `json:"source"`
}

// RenalRule adjusts a drug's dose in a band of creatinine clearance,
// AtLeast ≤ CrCl < Below (mL/min).
type RenalRule struct {
	AtLeast float64 `json:"atLeast,omitempty"`
	Below   float64 `json:"below"`
	// Routes limits the band to some routes; empty is every route.
	Routes []Route `json:"routes,omitempty"`
	// Action is avoid, reduce (MaxSingle, MaxDaily, and MinIntervalHours
	// when given), interval (MinIntervalHours) or monitor (advice only).
	Action   string   `json:"action"`
	Severity Severity `json:"severity"`
	// Basis says whether MaxSingle and MaxDaily are per dose or per kg.
	Basis            Basis   `json:"basis,omitempty"`
	MaxSingle        float64 `json:"maxSingle,omitempty"`
	MaxDaily         float64 `json:"maxDaily,omitempty"`
	MinIntervalHours float64 `json:"minIntervalHours,omitempty"`
	Advice           string  `json:"advice"`
	Source           string  `json:"source"`
}

// The renal actions.
const (
	RenalAvoid    = "avoid"
	RenalReduce   = "reduce"
	RenalInterval = "interval"
	RenalMonitor  = "monitor"
)

// AgeLimit is an age below which the drug should not be given, or only with care.
type AgeLimit struct {
	BelowYears float64  `json:"belowYears"`
	Severity   Severity `json:"severity"`
	Advice     string   `json:"advice"`
	Source     string   `json:"source"`
}

// DoseProfile is everything the knowledge base says about dosing one drug.
type DoseProfile struct {
	Drug  string     `json:"drug"`
	Rules []DoseRule `json:"rules"`
	// Renal bands apply to patients old enough for the rules; a profile
	// with bands needs renal function to be checked.
	Renal     []RenalRule `json:"renal,omitempty"`
	AgeLimits []AgeLimit  `json:"ageLimits,omitempty"`
	// Hepatic is the caution for patients with liver impairment.
	Hepatic         string   `json:"hepatic,omitempty"`
	HepaticSeverity Severity `json:"hepaticSeverity,omitempty"`
	HepaticSource   string   `json:"hepaticSource,omitempty"`
}

// Counts are the sizes of a knowledge base's tables.
type Counts struct {
	Drugs         int `json:"drugs"`
	Products      int `json:"products"`
	Groups        int `json:"groups"`
	Interactions  int `json:"interactions"`
	ONC           int `json:"oncInteractions"`
	AllergyRules  int `json:"allergyRules"`
	DoseProfiles  int `json:"doseProfiles"`
	DoseRules     int `json:"doseRules"`
	RenalRules    int `json:"renalRules"`
	UnverifiedCUI int `json:"unverifiedCuis"`
}

// Summary describes one loaded version, as the API shows it.
type Summary struct {
	Version string   `json:"version"`
	Date    string   `json:"date"`
	Title   string   `json:"title"`
	Active  bool     `json:"active"`
	Counts  Counts   `json:"counts"`
	Sources []Source `json:"sources"`
}
