package medication

// Frequency is how often an order is given: doses per day and the shortest
// interval between two doses.
type Frequency struct {
	PerDay        float64 `json:"perDay"`
	IntervalHours float64 `json:"intervalHours"`
	// Once is a single dose (stat) that is not repeated.
	Once bool `json:"once,omitempty"`
}

func every(hours float64) Frequency { return Frequency{PerDay: 24 / hours, IntervalHours: hours} }

func timesDaily(n float64) Frequency { return Frequency{PerDay: n, IntervalHours: 24 / n} }

// frequencyWords are the abbreviations and phrases of British and American
// prescribing.
var frequencyWords = map[string]Frequency{
	"od": timesDaily(1), "qd": timesDaily(1), "daily": timesDaily(1), "once daily": timesDaily(1),
	"once a day": timesDaily(1), "once per day": timesDaily(1), "mane": timesDaily(1), "om": timesDaily(1),
	"nocte": timesDaily(1), "on": timesDaily(1), "qhs": timesDaily(1), "hs": timesDaily(1),
	"at night": timesDaily(1), "qam": timesDaily(1), "qpm": timesDaily(1), "every morning": timesDaily(1),
	"every night": timesDaily(1), "once": {PerDay: 1, Once: true}, "stat": {PerDay: 1, Once: true},
	"bd": timesDaily(2), "bid": timesDaily(2), "b.i.d.": timesDaily(2), "twice daily": timesDaily(2),
	"twice a day": timesDaily(2),
	"tds":         timesDaily(3), "tid": timesDaily(3), "t.i.d.": timesDaily(3), "tds.": timesDaily(3),
	"three times daily": timesDaily(3), "three times a day": timesDaily(3),
	"qds": timesDaily(4), "qid": timesDaily(4), "q.i.d.": timesDaily(4), "four times daily": timesDaily(4),
	"four times a day": timesDaily(4),
	"weekly":           every(168), "once weekly": every(168), "once a week": every(168), "q1w": every(168),
	"qw": every(168), "every week": every(168),
	"alternate days": every(48), "every other day": every(48), "qod": every(48),
	"hourly": every(1),
}

// ParseFrequency reads a written frequency: the words above, qNh or qN-Mh
// (taken at its most frequent), every N hours, N times daily, Nx daily,
// N/day. False when it is not recognised.
func ParseFrequency(s string) (Frequency, bool) {
	var buf [foldLen]byte
	b := fold(&buf, s)
	if f, ok := frequencyWords[string(b)]; ok {
		return f, true
	}
	if f, ok := hoursForm(b); ok {
		return f, true
	}
	return perDayForm(b)
}

// hoursForm reads q6h, q4-6h, q6hr, q6 hourly, every 8 hours, every 8 h.
func hoursForm(b []byte) (Frequency, bool) {
	switch {
	case hasPrefix(b, "every "):
		b = b[6:]
	case hasPrefix(b, "q "):
		b = b[2:]
	case hasPrefix(b, "q"):
		b = b[1:]
	default:
		return Frequency{}, false
	}
	h, n := number(b)
	if n == 0 || h <= 0 {
		return Frequency{}, false
	}
	b = b[n:]
	if len(b) > 0 && (b[0] == '-' || b[0] == '/') { // a range: the shorter interval is the most frequent use
		_, m := number(b[1:])
		if m == 0 {
			return Frequency{}, false
		}
		b = b[1+m:]
	}
	if len(b) > 0 && b[0] == ' ' {
		b = b[1:]
	}
	switch string(b) {
	case "h", "hr", "hrs", "hour", "hours", "hourly", "hrly":
		return every(h), true
	}
	return Frequency{}, false
}

// perDayForm reads 3 times daily, 3 times a day, 3x daily, 3x/day, 3/day, x3 daily.
func perDayForm(b []byte) (Frequency, bool) {
	if hasPrefix(b, "x") {
		b = b[1:]
	}
	n, m := number(b)
	if m == 0 || n <= 0 {
		return Frequency{}, false
	}
	b = b[m:]
	if len(b) > 0 && b[0] == ' ' {
		b = b[1:]
	}
	switch string(b) {
	case "times daily", "times a day", "times per day", "x daily", "x a day", "x/day", "x per day", "/day",
		"per day", "daily", "x/d", "/d", "times/day", "doses per day", "doses daily":
		return timesDaily(n), true
	}
	return Frequency{}, false
}

// frequencyOf is the order's frequency: DosesPerDay when given, else the
// parsed Frequency.
func frequencyOf(o *Order) (Frequency, bool) {
	if o.DosesPerDay > 0 {
		return timesDaily(o.DosesPerDay), true
	}
	if o.Frequency == "" {
		return Frequency{}, false
	}
	return ParseFrequency(o.Frequency)
}
