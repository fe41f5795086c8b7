// Package medication holds the engine's medication knowledge base and the
// checks every new order goes through: drug–drug interactions, allergies and
// their cross-reactivity, duplicate therapy, and dose (adult and paediatric
// ranges, age limits, renal adjustment by creatinine clearance, hepatic
// cautions).
//
// The knowledge base is versioned data, every entry cited (see SOURCES.md):
// it is loaded once into an in-memory index (Load, Embedded), and a Registry
// can hold several versions beside each other with one of them active. Every
// check result names the version that produced it.
//
// A check that cannot run is a finding of its own (KindUnavailable): an
// unknown drug, a mg/kg dose without a weight, renal function needed but
// absent. The package is pure: it reads no clock and does no I/O beyond the
// file system it is given.
package medication

// Kind is what a finding is about.
type Kind string

// The kinds of finding.
const (
	KindInteraction Kind = "interaction"
	KindAllergy     Kind = "allergy"
	KindDuplicate   Kind = "duplicate"
	KindDose        Kind = "dose"
	// KindUnavailable is a check that could not run, and why.
	KindUnavailable Kind = "check-unavailable"
)

// Severity is how much a finding matters. Interactions, duplicates and dose
// findings use contraindicated, major, moderate and minor; allergy findings
// use hold and caution. A check-unavailable finding has no severity.
type Severity string

// The severities.
const (
	SeverityContraindicated Severity = "contraindicated"
	SeverityMajor           Severity = "major"
	SeverityModerate        Severity = "moderate"
	SeverityMinor           Severity = "minor"
	// SeverityHold means do not give: the allergy applies to this drug.
	SeverityHold Severity = "hold"
	// SeverityCaution means cross-reactivity is possible: give only after
	// weighing it, and watch.
	SeverityCaution Severity = "caution"
	// SeverityNone is the severity of a check-unavailable finding.
	SeverityNone Severity = ""
)

// InteractionSeverities lists the severities an interaction may have, worst first.
var InteractionSeverities = []Severity{SeverityContraindicated, SeverityMajor, SeverityModerate, SeverityMinor}

// Rank orders severities for sorting: do-not-give first, unknown last.
func (s Severity) Rank() int {
	switch s {
	case SeverityContraindicated, SeverityHold:
		return 6
	case SeverityMajor:
		return 5
	case SeverityCaution:
		return 4
	case SeverityModerate:
		return 3
	case SeverityMinor:
		return 2
	}
	return 0
}

func (s Severity) interaction() bool {
	return s == SeverityContraindicated || s == SeverityMajor || s == SeverityModerate || s == SeverityMinor
}

// Finding is one problem a check found with a new order, or one check that
// could not run.
type Finding struct {
	Kind     Kind     `json:"kind"`
	Severity Severity `json:"severity,omitempty"`
	// Drug is the knowledge-base id of the ordered ingredient the finding
	// concerns; empty when the drug itself is unknown.
	Drug string `json:"drug,omitempty"`
	// Other names what the order conflicts with: the other drug's name, or
	// the allergy's substance text.
	Other string `json:"other,omitempty"`
	// OtherIndex is the index of that medication in the patient's active
	// medications, or of that allergy in the patient's allergies; -1 when
	// the finding concerns the order alone.
	OtherIndex int `json:"otherIndex"`
	// Rule is the id of the knowledge-base rule that fired.
	Rule        string `json:"rule"`
	Explanation string `json:"explanation"`
	Management  string `json:"management,omitempty"`
	// Detail qualifies the finding, e.g. that the allergy record is unconfirmed.
	Detail  string   `json:"detail,omitempty"`
	Sources []string `json:"sources"`
	// Version is the knowledge-base version that produced the finding.
	Version string `json:"version"`
}
