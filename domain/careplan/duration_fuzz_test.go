package careplan_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/zarish-sphere/zarish/domain/careplan"
)

// FuzzParseDuration: an ISO 8601 duration (ISO 8601-1:2019 §5.5.2) parses
// or is refused with an error, never a panic; one accepted has no negative
// part, and written back in full (PnYnMnDTnHnMn.nnnnnnnnnS) reads the same,
// to the nanosecond its fractional seconds are rounded to.
func FuzzParseDuration(f *testing.F) {
	for _, s := range []string{"PT8H", "P1D", "P1W", "P1Y2M3DT4H5M6.5S", "PT", "P", "PT-1H", "P1.5D", "P100000W", "PT1e3S", "P1DT", "PTT1H", "PT0.000000001S"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := careplan.ParseDuration(s)
		if err != nil {
			return
		}
		if d.Years < 0 || d.Months < 0 || d.Days < 0 || d.Clock < 0 {
			t.Fatalf("ParseDuration(%q) = %+v: negative", s, d)
		}
		clock := d.Clock
		h := clock / time.Hour
		clock -= h * time.Hour
		m := clock / time.Minute
		clock -= m * time.Minute
		back := fmt.Sprintf("P%dY%dM%dDT%dH%dM%d.%09dS", d.Years, d.Months, d.Days, h, m, clock/time.Second, clock%time.Second)
		again, err := careplan.ParseDuration(back)
		if err != nil {
			return // a part over the 100,000 ParseDuration takes of one unit, reached by summing several
		}
		if diff := again.Clock - d.Clock; again.Years != d.Years || again.Months != d.Months || again.Days != d.Days || diff < -1 || diff > 1 {
			t.Fatalf("ParseDuration(%q) = %+v; written back as %q it reads %+v", s, d, back, again)
		}
	})
}
