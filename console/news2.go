package console

// The NEWS2 clinical risks the engine answers (RCP NEWS2 2017, Chart 2).
const (
	riskLow       = "low"
	riskLowMedium = "low-medium"
	riskMedium    = "medium"
	riskHigh      = "high"
)

// band is how the board shows a NEWS2 risk: a CSS class for its colour and
// the words that say the same without it.
type band struct {
	Class, Label string
	// Rank orders the board: highest risk first.
	Rank int
}

// news2Band is the band of a risk; a patient with no complete set of
// readings ("") has a neutral one that says so.
func news2Band(risk string) band {
	switch risk {
	case riskHigh:
		return band{"news2-high", "High risk", 4}
	case riskMedium:
		return band{"news2-medium", "Medium risk", 3}
	case riskLowMedium:
		return band{"news2-low-medium", "Low–medium risk (a 3 in one parameter)", 2}
	case riskLow:
		return band{"news2-low", "Low risk", 1}
	}
	return band{"news2-none", "No complete set", 0}
}
