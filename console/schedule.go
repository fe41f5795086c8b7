package console

import (
	"cmp"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"golang.org/x/sync/errgroup"
)

// schedulePath is the scheduler's day view.
const schedulePath = "/console/schedule"

// The day view's timeline, in SVG user units: one hour is hourWidth wide.
const (
	hourWidth     = 40
	timelineLeft  = 4
	timelineTop   = 18
	timelineBarH  = 22
	timelineWidth = timelineLeft*2 + 24*hourWidth
)

// DayView is one day of the procedure resources: for each room, member of
// staff and piece of equipment, its working hours, blocked periods and the
// procedures held or booked on it.
type DayView struct {
	// Day is the day shown, midnight UTC; Prev and Next name its
	// neighbours as the page's links take them.
	Day        time.Time
	Prev, Next string
	Resources  []DayResource
	Capped     bool
	Problems   []string
	At         time.Time
	Width      int
}

// DayResource is one resource's day.
type DayResource struct {
	ID, Kind, Name string
	// Hours are its working hours that day, in words, in its time zone.
	Hours string
	Items []DayItem
}

// DayItem is one block on a resource's timeline: a procedure, or a
// blocked period.
type DayItem struct {
	From, To time.Time
	// Kind is held, booked, checked-in, in-progress, completed or blocked.
	Kind        string
	ProcedureID string
	What        string
	PatientID   string
	// X and W place the block on the timeline.
	X, W int
}

// Label is the block's kind in words.
func (d DayItem) Label() string {
	switch d.Kind {
	case "held":
		return "Held"
	case "booked":
		return "Booked"
	case "checked-in":
		return "Checked in"
	case "in-progress":
		return "In progress"
	case "completed":
		return "Completed"
	case "blocked":
		return "Blocked"
	}
	return d.Kind
}

// The API's answers, as far as the day view reads them.
type (
	resourceJSON struct {
		ID       string `json:"id"`
		Kind     string `json:"kind"`
		Name     string `json:"name"`
		TimeZone string `json:"timeZone"`
		Hours    []struct {
			Weekday time.Weekday `json:"weekday"`
			From    string       `json:"from"`
			To      string       `json:"to"`
		} `json:"hours"`
		Blocked []struct {
			From   time.Time `json:"from"`
			To     time.Time `json:"to"`
			Reason string    `json:"reason"`
		} `json:"blocked"`
		Active bool `json:"active"`
	}
	slotProcedureJSON struct {
		Request struct {
			ID        string `json:"id"`
			PatientID string `json:"patientId"`
			Procedure struct {
				Code    string `json:"code"`
				Display string `json:"display"`
			} `json:"procedure"`
		} `json:"request"`
		Status string `json:"status"`
		Slot   *struct {
			From      time.Time  `json:"from"`
			To        time.Time  `json:"to"`
			Resources [][]string `json:"resources"`
		} `json:"slot"`
	}
)

// loadDay reads day's view from the API with the user's token: the active
// resources, and the procedures planned to start that day.
func (c *Console) loadDay(r *http.Request, s session, day time.Time) (DayView, error) {
	v := DayView{Day: day, At: c.now(), Width: timelineWidth,
		Prev: day.AddDate(0, 0, -1).Format(time.DateOnly), Next: day.AddDate(0, 0, 1).Format(time.DateOnly)}
	end := day.Add(24 * time.Hour)
	var (
		resources []resourceJSON
		procs     []slotProcedureJSON
	)
	g := &errgroup.Group{}
	g.Go(func() error {
		var page struct {
			Data []resourceJSON `json:"data"`
		}
		if err := c.api.get(r, "/v1/procedures/resources?active=true", s.Access, &page); err != nil {
			return err
		}
		resources = page.Data
		return nil
	})
	g.Go(func() (err error) {
		procs, v.Capped, err = listAll[slotProcedureJSON](c.api, r, s.Access, "/v1/procedures",
			url.Values{"from": {day.Format(time.RFC3339)}, "to": {end.Format(time.RFC3339)}, "limit": {"200"}})
		return err
	})
	if err := g.Wait(); err != nil {
		return v, err
	}
	byResource := map[string][]DayItem{}
	for _, p := range procs {
		if p.Slot == nil || !dayBlock(p.Status) {
			continue
		}
		it := DayItem{From: p.Slot.From, To: p.Slot.To, Kind: p.Status, ProcedureID: p.Request.ID,
			What: cmp.Or(p.Request.Procedure.Display, p.Request.Procedure.Code), PatientID: p.Request.PatientID}
		seen := map[string]bool{}
		for _, group := range p.Slot.Resources {
			for _, id := range group {
				if !seen[id] {
					seen[id] = true
					byResource[id] = append(byResource[id], it)
				}
			}
		}
	}
	for _, res := range resources {
		dr := DayResource{ID: res.ID, Kind: res.Kind, Name: res.Name, Hours: hoursOn(res, day)}
		for _, b := range res.Blocked {
			if b.From.Before(end) && day.Before(b.To) {
				dr.Items = append(dr.Items, DayItem{From: b.From, To: b.To, Kind: "blocked", What: b.Reason})
			}
		}
		dr.Items = append(dr.Items, byResource[res.ID]...)
		for i := range dr.Items {
			dr.Items[i].X, dr.Items[i].W = place(dr.Items[i], day)
		}
		slices.SortFunc(dr.Items, func(x, y DayItem) int {
			return cmp.Or(x.From.Compare(y.From), cmp.Compare(x.ProcedureID, y.ProcedureID))
		})
		v.Resources = append(v.Resources, dr)
	}
	slices.SortStableFunc(v.Resources, func(x, y DayResource) int {
		return cmp.Or(cmp.Compare(kindRank(x.Kind), kindRank(y.Kind)), cmp.Compare(x.Name, y.Name))
	})
	return v, nil
}

// dayBlock says a procedure in status occupies its slot on the day view.
func dayBlock(status string) bool {
	return slices.Contains([]string{"held", "booked", "checked-in", "in-progress", "completed"}, status)
}

// kindRank orders the resources as a theatre list reads: rooms, staff,
// equipment.
func kindRank(k string) int { return slices.Index([]string{"room", "staff", "equipment"}, k) }

// place is the block's x and width on the day's timeline, clipped to it.
func place(it DayItem, day time.Time) (int, int) {
	from, to := max(it.From.Sub(day), 0), min(it.To.Sub(day), 24*time.Hour)
	x := timelineLeft + int(from.Minutes()*hourWidth/60)
	w := max(int((to-from).Minutes()*hourWidth/60), 2)
	return x, w
}

// hoursOn are res's working hours on day, in words in its time zone.
func hoursOn(res resourceJSON, day time.Time) string {
	loc := time.UTC
	if res.TimeZone != "" {
		if l, err := time.LoadLocation(res.TimeZone); err == nil {
			loc = l
		}
	}
	wd := day.In(loc).Add(12 * time.Hour).Weekday()
	var parts []string
	for _, h := range res.Hours {
		if h.Weekday == wd {
			parts = append(parts, h.From+"–"+h.To)
		}
	}
	if len(parts) == 0 {
		return "Not working"
	}
	zone := "UTC"
	if loc != time.UTC {
		zone = loc.String()
	}
	return strings.Join(parts, ", ") + " " + zone
}

// HourTicks are the timeline's hour marks.
func (v DayView) HourTicks() []Tick {
	var out []Tick
	for h := 0; h <= 24; h += 2 {
		out = append(out, Tick{X: float64(timelineLeft + h*hourWidth), Label: fmt.Sprintf("%02d", h)})
	}
	return out
}

// schedule serves the day view: ?date=YYYY-MM-DD, today (UTC) without.
func (c *Console) schedule(w http.ResponseWriter, r *http.Request) {
	s, ok := c.signedIn(w, r, true)
	if !ok {
		return
	}
	day := c.now().UTC().Truncate(24 * time.Hour)
	if q := r.URL.Query().Get("date"); q != "" {
		d, err := time.Parse(time.DateOnly, q)
		if err != nil {
			c.errorPage(w, r, http.StatusBadRequest, "A day is written as year-month-day, such as 2026-12-01.")
			return
		}
		day = d
	}
	v, err := c.loadDay(r, s, day)
	if statusOf(err) == http.StatusUnauthorized {
		c.clearSession(w, r)
		http.Redirect(w, r, "/console/login?next="+url.QueryEscape(schedulePath), http.StatusSeeOther)
		return
	}
	status := http.StatusOK
	d := pageData{Title: "Procedure schedule", User: s.Name, CSRF: c.seal.csrfToken(s.ID), Schedule: &v}
	if err != nil {
		d.Schedule, status, d.Error = nil, http.StatusBadGateway, "The schedule could not be read: "+unavailable(err)+"."
	}
	c.render(w, r, status, "schedule", d)
}
