package patient

import (
	"errors"
	"time"
)

// dateLayout is the FHIR date form birth dates use: YYYY-MM-DD.
const dateLayout = "2006-01-02"

var (
	errDateFormat  = errors.New("must be a date in YYYY-MM-DD form")
	errDateNotReal = errors.New("is not a real date")
)

// checkDate accepts exactly YYYY-MM-DD naming a day that exists on the
// calendar; it tells a malformed string from an impossible day like 2023-02-30.
func checkDate(s string) error {
	if len(s) != len(dateLayout) || s[4] != '-' || s[7] != '-' {
		return errDateFormat
	}
	for i := 0; i < len(s); i++ {
		if i == 4 || i == 7 {
			continue
		}
		if s[i] < '0' || s[i] > '9' {
			return errDateFormat
		}
	}
	if _, err := time.Parse(dateLayout, s); err != nil {
		return errDateNotReal
	}
	return nil
}
