package careplan

import (
	"errors"
	"strconv"
	"strings"
	"time"
)

// Duration is an ISO 8601 duration such as PT8H, P1D or P1W: calendar parts
// (years, months, days) are added on the calendar, the clock part as elapsed
// time, so "P1D" keeps the time of day across a daylight-saving change.
type Duration struct {
	Years, Months, Days int
	Clock               time.Duration
}

// errDuration is every malformed duration.
var errDuration = errors.New("must be an ISO 8601 duration such as PT8H, P1D or P1W")

// ParseDuration reads an ISO 8601 duration: P[nY][nM][nW][nD][T[nH][nM][nS]]
// with whole numbers (seconds may have a fraction). Negative durations are
// not accepted.
func ParseDuration(s string) (Duration, error) {
	var d Duration
	if len(s) < 3 || s[0] != 'P' {
		return d, errDuration
	}
	rest, inTime, parts := s[1:], false, 0
	for rest != "" {
		if rest[0] == 'T' {
			if inTime || len(rest) == 1 {
				return d, errDuration
			}
			inTime, rest = true, rest[1:]
			continue
		}
		i := strings.IndexFunc(rest, func(r rune) bool { return (r < '0' || r > '9') && r != '.' })
		if i <= 0 {
			return d, errDuration
		}
		num, unit := rest[:i], rest[i]
		rest = rest[i+1:]
		parts++
		if unit == 'S' && inTime {
			secs, err := strconv.ParseFloat(num, 64)
			if err != nil || secs > 1e9 {
				return d, errDuration
			}
			d.Clock += time.Duration(secs * float64(time.Second))
			continue
		}
		n, err := strconv.Atoi(num)
		if err != nil || n > 100_000 {
			return d, errDuration
		}
		switch {
		case !inTime && unit == 'Y':
			d.Years += n
		case !inTime && unit == 'M':
			d.Months += n
		case !inTime && unit == 'W':
			d.Days += 7 * n
		case !inTime && unit == 'D':
			d.Days += n
		case inTime && unit == 'H':
			d.Clock += time.Duration(n) * time.Hour
		case inTime && unit == 'M':
			d.Clock += time.Duration(n) * time.Minute
		default:
			return d, errDuration
		}
	}
	if parts == 0 {
		return d, errDuration
	}
	return d, nil
}

// AddTo returns t moved forward by d.
func (d Duration) AddTo(t time.Time) time.Time {
	return t.AddDate(d.Years, d.Months, d.Days).Add(d.Clock)
}

// Zero reports whether d moves nothing.
func (d Duration) Zero() bool { return d == Duration{} }
