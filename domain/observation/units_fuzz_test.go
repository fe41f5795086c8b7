package observation_test

import (
	"errors"
	"strconv"
	"testing"

	"github.com/zarish-sphere/zarish/domain/observation"
)

// FuzzParseQuantity: written quantity text ("98.6 [degF]", "7.2 10*9/L")
// parses into the code's canonical unit or is refused with a ValueError,
// never a panic; a canonical quantity, written back, reads the same.
func FuzzParseQuantity(f *testing.F) {
	for _, c := range [][2]string{{"8310-5", "98.6 [degF]"}, {"8310-5", "98.6°F"}, {"8310-5", "37 Cel"}, {"8867-4", "88 /min"},
		{"2823-3", "6.8 mmol/L"}, {"6690-2", "7.2 10*9/L"}, {"8867-4", "NaN /min"}, {"8867-4", "1e999 /min"}, {"0000-0", "1 x"}, {"8310-5", ""}} {
		f.Add(c[0], c[1])
	}
	f.Fuzz(func(t *testing.T, code, text string) {
		q, err := observation.ParseQuantity(code, text)
		if err != nil {
			var refusal *observation.ValueError
			if !errors.As(err, &refusal) {
				t.Fatalf("ParseQuantity(%q, %q) refused with %T %v", code, text, err, err)
			}
			return
		}
		back := strconv.FormatFloat(q.Value, 'g', -1, 64) + " " + q.Unit
		again, err := observation.ParseQuantity(code, back)
		if err != nil || again != q {
			t.Fatalf("ParseQuantity(%q, %q) = %+v; written back as %q it reads %+v %v", code, text, q, back, again, err)
		}
	})
}
