package medication_test

import (
	"math"
	"strings"
	"testing"

	"github.com/zarish-sphere/zarish/domain/medication"
)

// maxFrequencyLen is the longest frequency a prescription takes (the
// OpenAPI document's maxLength).
const maxFrequencyLen = 60

// FuzzParseFrequency: a written frequency is recognised or not, never a
// panic; one recognised gives a finite, positive number of doses a day and
// an interval that agrees with it, whatever the letters' case.
func FuzzParseFrequency(f *testing.F) {
	for _, s := range []string{"bd", "TDS", "q6h", "q4-6h", "every 8 hours", "3 times daily", "2x daily", "4/day", "stat", "q0h", "q-1h", "every 0.0001 hours", "1e308 times daily", "q1e-300h",
		"q" + strings.Repeat("9", 58) + "h", "every 0." + strings.Repeat("0", 45) + "1 hours", "0." + strings.Repeat("0", 45) + "1 times daily"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if len(s) > maxFrequencyLen {
			return
		}
		fr, ok := medication.ParseFrequency(s)
		if !ok {
			if fr != (medication.Frequency{}) {
				t.Fatalf("ParseFrequency(%q) not recognised, with %+v", s, fr)
			}
			return
		}
		finite := func(x float64) bool { return !math.IsNaN(x) && !math.IsInf(x, 0) }
		if !finite(fr.PerDay) || fr.PerDay <= 0 || !finite(fr.IntervalHours) || fr.IntervalHours < 0 {
			t.Fatalf("ParseFrequency(%q) = %+v", s, fr)
		}
		if !fr.Once && math.Abs(fr.PerDay*fr.IntervalHours-24) > 1e-9*24 {
			t.Fatalf("ParseFrequency(%q) = %+v: %v doses a day are not one every %v hours", s, fr, fr.PerDay, fr.IntervalHours)
		}
		if again, ok := medication.ParseFrequency(strings.ToUpper(s)); !ok || again != fr {
			t.Fatalf("ParseFrequency(%q) = %+v, of %q %+v %v", s, fr, strings.ToUpper(s), again, ok)
		}
	})
}
