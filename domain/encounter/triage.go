package encounter

// Acuity is the Emergency Severity Index triage level, 1 (most urgent) to 5,
// as defined in the ESI Implementation Handbook, version 4 (Gilboy N, Tanabe
// P, Travers D, Rosenau AM; Agency for Healthcare Research and Quality, AHRQ
// Publication No. 12-0014, 2012 edition).
type Acuity int

// The ESI levels.
const (
	// AcuityResuscitation (ESI 1): needs an immediate life-saving intervention.
	AcuityResuscitation Acuity = 1
	// AcuityEmergent (ESI 2): a high-risk situation, new confusion, lethargy
	// or disorientation, or severe pain or distress.
	AcuityEmergent Acuity = 2
	// AcuityUrgent (ESI 3): stable, expected to need two or more resources.
	AcuityUrgent Acuity = 3
	// AcuityLessUrgent (ESI 4): expected to need one resource.
	AcuityLessUrgent Acuity = 4
	// AcuityNonUrgent (ESI 5): expected to need no resources.
	AcuityNonUrgent Acuity = 5
)

// Valid reports whether a is an ESI level, 1 to 5.
func (a Acuity) Valid() bool { return a >= AcuityResuscitation && a <= AcuityNonUrgent }
