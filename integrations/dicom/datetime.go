package dicom

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Date is a DA value: a calendar date, with no time zone.
type Date struct {
	Year  int
	Month time.Month
	Day   int
}

var errBadDate = errors.New("not a date (YYYYMMDD)")

// ParseDate reads a DA value: "YYYYMMDD", or the "YYYY.MM.DD" of ACR-NEMA
// that readers are asked to accept. An empty value is the zero Date.
func ParseDate(s string) (Date, error) {
	if s == "" {
		return Date{}, nil
	}
	if len(s) == 10 && s[4] == '.' && s[7] == '.' {
		s = s[:4] + s[5:7] + s[8:]
	}
	if len(s) != 8 {
		return Date{}, errBadDate
	}
	y, okY := digits(s[0:4])
	m, okM := digits(s[4:6])
	d, okD := digits(s[6:8])
	if !okY || !okM || !okD || m < 1 || m > 12 || d < 1 {
		return Date{}, errBadDate
	}
	if t := time.Date(y, time.Month(m), d, 0, 0, 0, 0, time.UTC); t.Day() != d {
		return Date{}, fmt.Errorf("%w: %s has no day %d", errBadDate, time.Month(m), d)
	}
	return Date{Year: y, Month: time.Month(m), Day: d}, nil
}

// IsZero reports whether the date is absent.
func (d Date) IsZero() bool { return d == Date{} }

// String writes the date as DA: "YYYYMMDD", or "" when zero.
func (d Date) String() string {
	if d.IsZero() {
		return ""
	}
	return fmt.Sprintf("%04d%02d%02d", d.Year, d.Month, d.Day)
}

// TimePrecision is how much of a TM value was given.
type TimePrecision uint8

// The precisions of a TM value.
const (
	NoTime            TimePrecision = iota // absent
	HourPrecision                          // "HH"
	MinutePrecision                        // "HHMM"
	SecondPrecision                        // "HHMMSS"
	FractionPrecision                      // "HHMMSS.F" to "HHMMSS.FFFFFF"
)

// TimeOfDay is a TM value: a time of day to the precision it was given, so
// that "10" can match any time in that hour.
type TimeOfDay struct {
	Hour, Minute, Second int
	Nanosecond           int
	Precision            TimePrecision
	// fractionDigits is how many digits the fraction had, for String.
	fractionDigits int
}

var errBadTime = errors.New("not a time (HHMMSS.FFFFFF)")

// ParseTime reads a TM value: "HH", "HHMM", "HHMMSS" or "HHMMSS.FFFFFF",
// or the "HH:MM:SS.frac" of ACR-NEMA. An empty value is the zero TimeOfDay.
func ParseTime(s string) (TimeOfDay, error) {
	if s == "" {
		return TimeOfDay{}, nil
	}
	if strings.Contains(s, ":") {
		s = strings.ReplaceAll(s, ":", "")
	}
	whole, frac, hasFrac := strings.Cut(s, ".")
	var t TimeOfDay
	var ok bool
	switch len(whole) {
	case 6:
		if t.Second, ok = digits(whole[4:6]); !ok || t.Second > 60 {
			return TimeOfDay{}, errBadTime
		}
		t.Precision = SecondPrecision
		fallthrough
	case 4:
		if t.Minute, ok = digits(whole[2:4]); !ok || t.Minute > 59 {
			return TimeOfDay{}, errBadTime
		}
		if t.Precision == NoTime {
			t.Precision = MinutePrecision
		}
		fallthrough
	case 2:
		if t.Hour, ok = digits(whole[0:2]); !ok || t.Hour > 23 {
			return TimeOfDay{}, errBadTime
		}
		if t.Precision == NoTime {
			t.Precision = HourPrecision
		}
	default:
		return TimeOfDay{}, errBadTime
	}
	if hasFrac {
		if t.Precision != SecondPrecision || len(frac) == 0 || len(frac) > 6 {
			return TimeOfDay{}, errBadTime
		}
		f, ok := digits(frac)
		if !ok {
			return TimeOfDay{}, errBadTime
		}
		for i := len(frac); i < 9; i++ {
			f *= 10
		}
		t.Nanosecond, t.Precision, t.fractionDigits = f, FractionPrecision, len(frac)
	}
	return t, nil
}

// IsZero reports whether the time is absent.
func (t TimeOfDay) IsZero() bool { return t.Precision == NoTime }

// Duration is the time since midnight.
func (t TimeOfDay) Duration() time.Duration {
	return time.Duration(t.Hour)*time.Hour + time.Duration(t.Minute)*time.Minute +
		time.Duration(t.Second)*time.Second + time.Duration(t.Nanosecond)
}

// String writes the time as TM to the precision it was given.
func (t TimeOfDay) String() string {
	switch t.Precision {
	case HourPrecision:
		return fmt.Sprintf("%02d", t.Hour)
	case MinutePrecision:
		return fmt.Sprintf("%02d%02d", t.Hour, t.Minute)
	case SecondPrecision:
		return fmt.Sprintf("%02d%02d%02d", t.Hour, t.Minute, t.Second)
	case FractionPrecision:
		frac := fmt.Sprintf("%09d", t.Nanosecond)[:max(1, min(t.fractionDigits, 9))]
		return fmt.Sprintf("%02d%02d%02d.%s", t.Hour, t.Minute, t.Second, frac)
	}
	return ""
}

// digits parses a run of ASCII digits (no sign, no spaces).
func digits(s string) (int, bool) {
	if s == "" {
		return 0, false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
	}
	n, err := strconv.Atoi(s)
	return n, err == nil
}
