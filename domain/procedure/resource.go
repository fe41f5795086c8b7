package procedure

import (
	"errors"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/zarish-sphere/zarish/domain"
)

// Capabilities are the room capabilities a requirement may ask for.
var Capabilities = []string{"operating-theatre", "endoscopy", "cath-lab", "minor-procedures", "imaging"}

// Skills are the staff skills a requirement may ask for.
var Skills = []string{"surgeon", "anaesthetist", "scrub-nurse", "endoscopist", "radiographer",
	"interventional-cardiologist", "anaesthetic-nurse"}

// Limits of a resource as the directory keeps it.
const (
	MaxResourceNameLen  = 200
	MaxEquipmentKindLen = 64
	// MaxHours is seven weekdays of four spans each.
	MaxHours         = 7 * 4
	MaxBlocked       = 500
	MaxBlockedReason = 500
	MaxTurnover      = 8 * time.Hour
)

// NewResource validates a resource as the API receives it, naming every
// invalid field, and returns it active, with its name trimmed and its hours
// and blocked periods in time order. A resource without hours is valid but
// never open.
func NewResource(r Resource) (Resource, error) {
	var v domain.ValidationError
	if r.ID == uuid.Nil {
		v.Add("id", "required")
	}
	if !r.Kind.Valid() {
		v.Add("kind", "must be room, staff or equipment")
	}
	r.Name = strings.TrimSpace(r.Name)
	switch {
	case r.Name == "":
		v.Add("name", "required")
	case utf8.RuneCountInString(r.Name) > MaxResourceNameLen:
		v.Add("name", "must be at most "+strconv.Itoa(MaxResourceNameLen)+" characters")
	}
	validateResourceKind(&v, r)
	if r.TimeZone != "" {
		if _, err := loadZone(r.TimeZone); err != nil {
			v.Add("timeZone", "must be an IANA time zone such as Asia/Dhaka")
		}
	}
	validateHours(&v, r.Hours)
	validateBlocked(&v, r.Blocked)
	if r.Turnover < 0 || r.Turnover > MaxTurnover {
		v.Add("turnover", "must be between 0 and 8h")
	}
	if err := v.OrNil(); err != nil {
		return Resource{}, err
	}
	r.Capabilities = slices.Clone(r.Capabilities)
	r.Skills = slices.Clone(r.Skills)
	if r.PractitionerID != nil {
		id := *r.PractitionerID
		r.PractitionerID = &id
	}
	r.Hours = slices.Clone(r.Hours)
	slices.SortStableFunc(r.Hours, func(a, b Hours) int {
		if a.Weekday != b.Weekday {
			return int(a.Weekday) - int(b.Weekday)
		}
		return strings.Compare(a.From, b.From)
	})
	r.Blocked = slices.Clone(r.Blocked)
	slices.SortStableFunc(r.Blocked, func(a, b Blocked) int { return a.From.Compare(b.From) })
	r.Active = true
	return r, nil
}

// validateResourceKind checks what the resource's kind needs: a room's
// capabilities, a member of staff's skills and practitioner, a piece of
// equipment's kind; and that no other kind's attribute is set.
func validateResourceKind(v *domain.ValidationError, r Resource) {
	known := func(field string, values, list []string) {
		if len(values) == 0 {
			v.Add(field, "at least one of "+strings.Join(list, ", ")+" is required")
			return
		}
		for i, s := range values {
			switch {
			case !slices.Contains(list, s):
				v.Add(resourceField(field, i), "must be one of "+strings.Join(list, ", "))
			case slices.Index(values, s) < i:
				v.Add(resourceField(field, i), "is listed twice")
			}
		}
	}
	if r.Kind == KindRoom {
		known("capabilities", r.Capabilities, Capabilities)
	} else if len(r.Capabilities) > 0 {
		v.Add("capabilities", "only a room has capabilities")
	}
	if r.Kind == KindStaff {
		known("skills", r.Skills, Skills)
		if r.PractitionerID == nil || *r.PractitionerID == uuid.Nil {
			v.Add("practitionerId", "required for staff")
		}
	} else {
		if len(r.Skills) > 0 {
			v.Add("skills", "only staff have skills")
		}
		if r.PractitionerID != nil {
			v.Add("practitionerId", "only staff have a practitioner")
		}
	}
	switch {
	case r.Kind == KindEquipment && r.EquipmentKind == "":
		v.Add("equipmentKind", "required for equipment")
	case r.Kind == KindEquipment && len(r.EquipmentKind) > MaxEquipmentKindLen:
		v.Add("equipmentKind", "must be at most "+strconv.Itoa(MaxEquipmentKindLen)+" characters")
	case r.Kind == KindEquipment && !lowerKebab(r.EquipmentKind):
		v.Add("equipmentKind", "must be lower-case words joined by hyphens, such as c-arm")
	case r.Kind != KindEquipment && r.EquipmentKind != "":
		v.Add("equipmentKind", "only equipment has an equipment kind")
	}
}

// validateHours checks each span and that no two spans of one weekday
// overlap (they may touch).
func validateHours(v *domain.ValidationError, hours []Hours) {
	if len(hours) > MaxHours {
		v.Add("hours", "must hold at most "+strconv.Itoa(MaxHours)+" items")
		return
	}
	var days [7][]clockSpan
	var at [7][]int // each span's index in hours
	for i, h := range hours {
		field := resourceField("hours", i)
		ok := true
		if h.Weekday < time.Sunday || h.Weekday > time.Saturday {
			v.Add(field+".weekday", "must be 0 (Sunday) to 6 (Saturday)")
			ok = false
		}
		from, fromOK := parseClock(h.From, false)
		if !fromOK {
			v.Add(field+".from", `must be a time "HH:MM" from 00:00 to 23:59`)
			ok = false
		}
		to, toOK := parseClock(h.To, true)
		switch {
		case !toOK:
			v.Add(field+".to", `must be a time "HH:MM" from 00:01 to 24:00`)
			ok = false
		case fromOK && to <= from:
			v.Add(field+".to", "must be after from")
			ok = false
		}
		if ok {
			days[h.Weekday] = append(days[h.Weekday], clockSpan{from, to})
			at[h.Weekday] = append(at[h.Weekday], i)
		}
	}
	for d := range days {
		for a := range days[d] {
			for b := a + 1; b < len(days[d]); b++ {
				if days[d][a].from < days[d][b].to && days[d][b].from < days[d][a].to {
					v.Add(resourceField("hours", at[d][b]), "overlaps "+resourceField("hours", at[d][a])+" on the same weekday")
				}
			}
		}
	}
}

// validateBlocked checks each blocked period.
func validateBlocked(v *domain.ValidationError, blocked []Blocked) {
	if len(blocked) > MaxBlocked {
		v.Add("blocked", "must hold at most "+strconv.Itoa(MaxBlocked)+" items")
		return
	}
	for i, b := range blocked {
		field := resourceField("blocked", i)
		switch {
		case b.From.IsZero():
			v.Add(field+".from", "required")
		case !b.To.After(b.From):
			v.Add(field+".to", "must be after from")
		}
		switch reason := strings.TrimSpace(b.Reason); {
		case reason == "":
			v.Add(field+".reason", "required")
		case utf8.RuneCountInString(reason) > MaxBlockedReason:
			v.Add(field+".reason", "must be at most "+strconv.Itoa(MaxBlockedReason)+" characters")
		}
	}
}

// Open reports whether p lies wholly inside one of the resource's working
// spans of p's local day, in its time zone, and overlaps none of its blocked
// periods. Touching spans of one day count as one; no span crosses
// midnight. An empty period, or one in an unknown zone, is never open.
func (r Resource) Open(p Period) bool {
	if !p.To.After(p.From) {
		return false
	}
	loc, err := loadZone(r.TimeZone)
	if err != nil {
		return false
	}
	week := parseWeek(r.Hours)
	local := p.From.In(loc)
	y, m, d := local.Date()
	// The working span p starts in, continued by the next days' spans
	// that start where it ends (24:00 meeting 00:00), as the slot search
	// joins them.
	var end time.Time
	for _, c := range week[local.Weekday()] {
		if from, to := c.on(y, m, d, loc); !p.From.Before(from) && p.From.Before(to) {
			end = to
			break
		}
	}
	for i := 1; !end.IsZero() && end.Before(p.To) && i <= 7; i++ {
		next := end
		for _, c := range week[time.Date(y, m, d+i, 0, 0, 0, 0, loc).Weekday()] {
			if from, to := c.on(y, m, d+i, loc); from.Equal(end) {
				next = to
			}
		}
		if next.Equal(end) {
			break
		}
		end = next
	}
	if end.IsZero() || end.Before(p.To) {
		return false
	}
	for _, b := range r.Blocked {
		if b.Overlaps(p) {
			return false
		}
	}
	return true
}

// OpenTime is how long, within p, the resource is open: its working hours
// in its zone less its blocked periods, whether or not it is active (the
// capacity utilisation is measured against). An unknown zone is never open.
func OpenTime(r Resource, p Period) time.Duration {
	loc, err := loadZone(r.TimeZone)
	if err != nil || !p.To.After(p.From) {
		return 0
	}
	week := parseWeek(r.Hours)
	var open []Period
	y, m, d := p.From.In(loc).Date()
	for i := 0; ; i++ {
		midnight := time.Date(y, m, d+i, 0, 0, 0, 0, loc)
		if !midnight.Before(p.To) {
			break
		}
		for _, c := range week[midnight.Weekday()] {
			from, to := c.on(y, m, d+i, loc)
			if clipped := clipPeriod(Period{From: from, To: to}, p); clipped.From.Before(clipped.To) {
				open = append(open, clipped)
			}
		}
	}
	blocked := make([]Period, 0, len(r.Blocked))
	for _, b := range r.Blocked {
		blocked = append(blocked, b.Period)
	}
	slices.SortFunc(blocked, func(a, b Period) int { return a.From.Compare(b.From) })
	var total time.Duration
	for _, o := range open { // each day's spans are disjoint, and days are too
		total += o.To.Sub(o.From)
		reach := o.From // blocked time already taken off this span ends here
		for _, b := range blocked {
			if !b.From.Before(o.To) {
				break
			}
			if cut := clipPeriod(b, Period{From: reach, To: o.To}); cut.From.Before(cut.To) {
				total -= cut.To.Sub(cut.From)
				reach = cut.To
			}
		}
	}
	return total
}

// clipPeriod is the part of p inside within; From is not before To only when
// they overlap.
func clipPeriod(p, within Period) Period {
	if p.From.Before(within.From) {
		p.From = within.From
	}
	if p.To.After(within.To) {
		p.To = within.To
	}
	return p
}

// clockSpan is a span of one local day in minutes after midnight, to
// exclusive (1440 is midnight at the day's end).
type clockSpan struct{ from, to int }

// on returns the span as instants of the local day y-m-d in loc.
func (c clockSpan) on(y int, m time.Month, d int, loc *time.Location) (time.Time, time.Time) {
	return time.Date(y, m, d, c.from/60, c.from%60, 0, 0, loc), time.Date(y, m, d, c.to/60, c.to%60, 0, 0, loc)
}

// weekHours is a resource's working spans by weekday, sorted, with touching or
// overlapping spans merged.
type weekHours [7][]clockSpan

// parseWeek reads hours into weekHours, skipping any entry that does not parse
// (NewResource refuses those).
func parseWeek(hours []Hours) weekHours {
	var w weekHours
	for _, h := range hours {
		from, ok1 := parseClock(h.From, false)
		to, ok2 := parseClock(h.To, true)
		if !ok1 || !ok2 || to <= from || h.Weekday < time.Sunday || h.Weekday > time.Saturday {
			continue
		}
		w[h.Weekday] = append(w[h.Weekday], clockSpan{from, to})
	}
	for d := range w {
		spans := w[d]
		slices.SortFunc(spans, func(a, b clockSpan) int { return a.from - b.from })
		merged := spans[:0]
		for _, s := range spans {
			if n := len(merged); n > 0 && s.from <= merged[n-1].to {
				merged[n-1].to = max(merged[n-1].to, s.to)
				continue
			}
			merged = append(merged, s)
		}
		w[d] = merged
	}
	return w
}

// parseClock reads "HH:MM" as minutes after midnight; "24:00" only as the
// end of a span.
func parseClock(s string, end bool) (int, bool) {
	if len(s) != 5 || s[2] != ':' {
		return 0, false
	}
	for _, i := range []int{0, 1, 3, 4} {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
	}
	h, _ := strconv.Atoi(s[:2])
	m, _ := strconv.Atoi(s[3:])
	switch {
	case m > 59 || h > 24:
		return 0, false
	case h == 24 && (!end || m != 0):
		return 0, false
	case end && h == 0 && m == 0:
		return 0, false
	}
	return h*60 + m, true
}

// lowerKebab reports whether s is lower-case letters and digits in words joined
// by single hyphens.
func lowerKebab(s string) bool {
	if s == "" || s[0] == '-' || s[len(s)-1] == '-' || strings.Contains(s, "--") {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < 'a' || c > 'z') && (c < '0' || c > '9') && c != '-' {
			return false
		}
	}
	return true
}

// loadZone loads an IANA zone; empty is UTC, and "Local" (the machine's
// zone) is refused.
func loadZone(name string) (*time.Location, error) {
	if name == "" || name == "UTC" {
		return time.UTC, nil
	}
	if name == "Local" {
		return nil, errors.New(`the machine's zone "Local" is not a resource's zone`)
	}
	return time.LoadLocation(name)
}

func resourceField(field string, i int) string { return field + "[" + strconv.Itoa(i) + "]" }
