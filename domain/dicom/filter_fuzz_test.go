package dicom

import (
	"errors"
	"testing"

	"github.com/zarish-sphere/zarish/domain"
)

// FuzzParseDateRange: a QIDO-RS date match (PS3.18 §8.3.4.1, PS3.4
// C.2.2.2.5) parses or is refused with a validation error naming
// StudyDate; a range accepted never ends before it begins, and written
// back as YYYYMMDD-YYYYMMDD reads the same.
func FuzzParseDateRange(f *testing.F) {
	for _, s := range []string{"20260301", "20260301-20260331", "-20260301", "20260301-", "-", "20260230", "20260331-20260301", "2026-03-01", "20260301-20260301-"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := ParseDateRange(s)
		if err != nil {
			var verr *domain.ValidationError
			if !errors.As(err, &verr) || len(verr.Fields) == 0 || verr.Fields[0].Field != "StudyDate" || !r.IsZero() {
				t.Fatalf("ParseDateRange(%q) refused with %T %v, %+v", s, err, err, r)
			}
			return
		}
		if !r.From.IsZero() && !r.To.IsZero() && r.To.Before(r.From) {
			t.Fatalf("ParseDateRange(%q) = %+v: ends before it begins", s, r)
		}
		if r.IsZero() {
			return
		}
		back := "-"
		if !r.From.IsZero() {
			back = r.From.Format("20060102") + back
		}
		if !r.To.IsZero() {
			back += r.To.Format("20060102")
		}
		if again, err := ParseDateRange(back); err != nil || !again.From.Equal(r.From) || !again.To.Equal(r.To) {
			t.Fatalf("ParseDateRange(%q) = %+v; written back as %q it reads %+v %v", s, r, back, again, err)
		}
	})
}
