package console

import (
	"cmp"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"
)

// openStatuses are the encounter statuses of a patient still on the unit.
var openStatuses = []string{"planned", "arrived", "triaged", "in-progress"}

// validUnit is a unit name as the board's URL takes it.
var validUnit = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)

// fanOut bounds the API calls one board makes at once.
const fanOut = 8

// Board is one unit's patients as the ward board shows them.
type Board struct {
	Unit string
	Rows []Row
	At   time.Time
}

// Row is one patient with an open encounter on the unit.
type Row struct {
	PatientID, Name, MRN string
	EncounterID          string
	EncounterStatus      string
	// Since is when the encounter entered its status.
	Since time.Time
	NEWS2 NEWS2
	// Alerts are the patient's open and acknowledged alerts.
	Alerts []Alert
	// Held are the patient's prescriptions on hold, by drug.
	Held []string
	// Overdue are the open care-plan activities past their due time.
	Overdue []OverdueActivity
	// Problems name what could not be read for this row.
	Problems []string
}

// NEWS2 is the patient's latest NEWS2.
type NEWS2 struct {
	Complete bool
	Total    int
	Risk     string
	At       time.Time
	// DueAt is when the next set is due by the guideline's frequency of
	// monitoring (zero when monitoring is continuous); Overdue says it has
	// passed.
	DueAt   time.Time
	Overdue bool
	// Continuous says the score calls for continuous monitoring.
	Continuous bool
}

// Band is the NEWS2's colour and words.
func (n NEWS2) Band() band {
	if !n.Complete {
		return news2Band("")
	}
	return news2Band(n.Risk)
}

// Alert is one alert of a patient.
type Alert struct {
	ID, Severity, Category, Message, Status string
	Level                                   int
	Source                                  string
	RaisedAt                                time.Time
	AcknowledgedAt                          *time.Time
	// AckedByMe says the signed-in user acknowledged it.
	AckedByMe bool
	// Mine says the signed-in user is one of its recipients: only they
	// get the Acknowledge button.
	Mine bool
}

// Acknowledgeable says the board offers the Acknowledge button.
func (a Alert) Acknowledgeable() bool { return a.Mine && a.Status == "open" }

// Resolvable says the board offers Resolve with a note: the user is a
// recipient, or acknowledged it.
func (a Alert) Resolvable() bool {
	return (a.Mine || a.AckedByMe) && (a.Status == "open" || a.Status == "acknowledged")
}

// ReadBack says acknowledging means reading the critical value back first.
func (a Alert) ReadBack() bool { return a.Category == criticalResult }

// AwaitingReadBack counts the row's critical results not yet read back.
func (r Row) AwaitingReadBack() int {
	n := 0
	for _, a := range r.Alerts {
		if a.ReadBack() {
			n++
		}
	}
	return n
}

// OverdueActivity is one care-plan activity past its due time.
type OverdueActivity struct {
	PlanID, Title string
	DueAt         time.Time
}

// criticalResult is the category of the alert a critical laboratory value
// raises to its orderer: it closes with the value read back.
const criticalResult = "critical-result"

// The API's answers, as far as the board reads them.
type (
	encounterJSON struct {
		ID        string     `json:"id"`
		PatientID string     `json:"patientId"`
		Status    string     `json:"status"`
		CreatedAt time.Time  `json:"createdAt"`
		ArrivedAt *time.Time `json:"arrivedAt"`
		TriagedAt *time.Time `json:"triagedAt"`
		StartedAt *time.Time `json:"startedAt"`
	}
	patientJSON struct {
		MRN  string `json:"mrn"`
		Name struct {
			Given  []string `json:"given"`
			Family string   `json:"family"`
		} `json:"name"`
	}
	news2JSON struct {
		Status    string     `json:"status"`
		Total     *int       `json:"total"`
		Risk      string     `json:"risk"`
		WindowEnd *time.Time `json:"windowEnd"`
		NextDueAt *time.Time `json:"nextDueAt"`
		Overdue   *bool      `json:"overdue"`
		Response  *struct {
			Continuous bool `json:"continuous"`
		} `json:"response"`
	}
	carePlanJSON struct {
		ID         string `json:"id"`
		PatientID  string `json:"patientId"`
		Title      string `json:"title"`
		Status     string `json:"status"`
		Activities []struct {
			Title    string `json:"title"`
			Status   string `json:"status"`
			Schedule struct {
				DueAt *time.Time `json:"dueAt"`
			} `json:"schedule"`
		} `json:"activities"`
	}
	alertJSON struct {
		ID             string     `json:"id"`
		Severity       string     `json:"severity"`
		Category       string     `json:"category"`
		Message        string     `json:"message"`
		Status         string     `json:"status"`
		Source         string     `json:"source"`
		Level          int        `json:"level"`
		RaisedAt       time.Time  `json:"raisedAt"`
		AcknowledgedBy string     `json:"acknowledgedBy"`
		AcknowledgedAt *time.Time `json:"acknowledgedAt"`
	}
)

// since is when the encounter entered its status.
func (e encounterJSON) since() time.Time {
	for _, t := range []struct {
		status string
		at     *time.Time
	}{{"in-progress", e.StartedAt}, {"triaged", e.TriagedAt}, {"arrived", e.ArrivedAt}} {
		if e.Status == t.status && t.at != nil {
			return *t.at
		}
	}
	return e.CreatedAt
}

// loadBoard reads the unit's board from the API with the user's token: the
// open encounters on the unit, then for each patient their name and MRN,
// latest NEWS2 and active alerts. A refused or failed read of one patient's
// part is named on their row; only the encounter list is essential.
func (c *Console) loadBoard(r *http.Request, s session, unit string) (Board, error) {
	b := Board{Unit: unit, At: c.now()}
	var (
		mu  sync.Mutex
		ens []encounterJSON
	)
	g := &errgroup.Group{}
	for _, st := range openStatuses {
		g.Go(func() error {
			var page struct {
				Data []encounterJSON `json:"data"`
			}
			q := url.Values{"location": {unit}, "status": {st}, "limit": {"200"}}
			if err := c.api.get(r, "/v1/clinical/encounters?"+q.Encode(), s.Access, &page); err != nil {
				return err
			}
			mu.Lock()
			ens = append(ens, page.Data...)
			mu.Unlock()
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return b, err
	}
	seen := map[string]bool{}
	for _, e := range ens {
		if seen[e.PatientID] {
			continue
		}
		seen[e.PatientID] = true
		b.Rows = append(b.Rows, Row{PatientID: e.PatientID, EncounterID: e.ID, EncounterStatus: e.Status, Since: e.since()})
	}
	// The prescriptions on hold and the overdue care plans are few across
	// the hospital: each is read once for the whole board, not per patient.
	var (
		held              map[string][]string
		overdue           map[string][]OverdueActivity
		heldErr, plansErr error
	)
	side := &errgroup.Group{}
	side.Go(func() error {
		var list []prescriptionJSON
		list, _, heldErr = c.listPrescriptions(r, s, "on-hold")
		held = map[string][]string{}
		for _, p := range list {
			held[p.Details.PatientID] = append(held[p.Details.PatientID], cmp.Or(p.Details.Drug.Name, p.Details.Order.Name))
		}
		return nil
	})
	side.Go(func() error {
		overdue, plansErr = c.overduePlans(r, s, b.At)
		return nil
	})
	// The alerts notified to the signed-in person: theirs to acknowledge.
	mine := map[string]bool{}
	if s.Practitioner != "" {
		side.Go(func() error {
			ids, err := c.alertsNotifiedTo(r, s)
			if err == nil {
				mine = ids
			}
			return nil
		})
	}
	g = &errgroup.Group{}
	g.SetLimit(fanOut)
	for i := range b.Rows {
		row := &b.Rows[i]
		var rowMu sync.Mutex
		problem := func(what string, err error) {
			rowMu.Lock()
			defer rowMu.Unlock()
			row.Problems = append(row.Problems, what+" "+unavailable(err))
		}
		g.Go(func() error {
			var p patientJSON
			if err := c.api.get(r, "/v1/patients/"+url.PathEscape(row.PatientID), s.Access, &p); err != nil {
				problem("Name and MRN", err)
				return nil
			}
			rowMu.Lock()
			row.Name, row.MRN = strings.TrimSpace(strings.Join(p.Name.Given, " ")+" "+p.Name.Family), p.MRN
			rowMu.Unlock()
			return nil
		})
		g.Go(func() error {
			var n news2JSON
			if err := c.api.get(r, "/v1/observations/news2?patientId="+url.QueryEscape(row.PatientID), s.Access, &n); err != nil {
				problem("NEWS2", err)
				return nil
			}
			rowMu.Lock()
			row.NEWS2 = NEWS2{Complete: n.Status == "complete" && n.Total != nil, Risk: n.Risk}
			if n.Total != nil {
				row.NEWS2.Total = *n.Total
			}
			if n.WindowEnd != nil {
				row.NEWS2.At = *n.WindowEnd
			}
			if n.NextDueAt != nil {
				row.NEWS2.DueAt = *n.NextDueAt
			}
			row.NEWS2.Overdue = n.Overdue != nil && *n.Overdue
			row.NEWS2.Continuous = n.Response != nil && n.Response.Continuous
			rowMu.Unlock()
			return nil
		})
		// The alerts the board shows: open ones, and those acknowledged but
		// not yet resolved, in one query.
		g.Go(func() error {
			var page struct {
				Data []alertJSON `json:"data"`
			}
			q := url.Values{"patientId": {row.PatientID}, "active": {"true"}, "limit": {"50"}}
			if err := c.api.get(r, "/v1/notifications/alerts?"+q.Encode(), s.Access, &page); err != nil {
				problem("Alerts", err)
				return nil
			}
			for _, a := range page.Data {
				al := Alert{ID: a.ID, Severity: a.Severity, Category: a.Category, Message: a.Message, Status: a.Status,
					Source: a.Source, Level: a.Level, RaisedAt: a.RaisedAt, AcknowledgedAt: a.AcknowledgedAt,
					AckedByMe: s.Practitioner != "" && a.AcknowledgedBy == s.Practitioner}
				rowMu.Lock()
				row.Alerts = append(row.Alerts, al)
				rowMu.Unlock()
			}
			return nil
		})
	}
	_ = g.Wait()
	_ = side.Wait()
	for i := range b.Rows {
		row := &b.Rows[i]
		if heldErr != nil {
			row.Problems = append(row.Problems, "Prescriptions on hold "+unavailable(heldErr))
		}
		if plansErr != nil {
			row.Problems = append(row.Problems, "Care-plan activities "+unavailable(plansErr))
		}
		row.Held, row.Overdue = held[row.PatientID], overdue[row.PatientID]
		for j := range row.Alerts {
			row.Alerts[j].Mine = mine[row.Alerts[j].ID]
		}
		slices.Sort(b.Rows[i].Held)
		slices.SortFunc(b.Rows[i].Overdue, func(x, y OverdueActivity) int {
			return cmp.Or(x.DueAt.Compare(y.DueAt), cmp.Compare(x.Title, y.Title))
		})
		slices.SortFunc(b.Rows[i].Alerts, func(x, y Alert) int {
			return cmp.Or(cmp.Compare(severityRank(y.Severity), severityRank(x.Severity)), y.RaisedAt.Compare(x.RaisedAt))
		})
		slices.Sort(b.Rows[i].Problems)
	}
	slices.SortStableFunc(b.Rows, func(x, y Row) int {
		return cmp.Or(cmp.Compare(y.NEWS2.Band().Rank, x.NEWS2.Band().Rank), cmp.Compare(x.Name, y.Name), cmp.Compare(x.PatientID, y.PatientID))
	})
	return b, nil
}

// severityRank orders alert severities, most urgent highest.
func severityRank(s string) int {
	return slices.Index([]string{"info", "warning", "urgent", "critical"}, s)
}

// unavailable says why a part of a row is missing, in the user's words.
func unavailable(err error) string {
	switch statusOf(err) {
	case http.StatusForbidden:
		return "not shown: your role does not allow it"
	case http.StatusNotFound:
		return "not found"
	}
	return "could not be read just now"
}

// alertsNotifiedTo are the ids of the active alerts notified to the
// signed-in practitioner (up to queuePages pages).
func (c *Console) alertsNotifiedTo(r *http.Request, s session) (map[string]bool, error) {
	list, _, err := listAll[alertJSON](c.api, r, s.Access, "/v1/notifications/alerts",
		url.Values{"active": {"true"}, "recipient": {s.Practitioner}, "limit": {"200"}})
	if err != nil {
		return nil, err
	}
	ids := map[string]bool{}
	for _, a := range list {
		ids[a.ID] = true
	}
	return ids, nil
}

// overduePlans reads the active care plans with an activity due (up to
// queuePages pages) and returns their overdue activities by patient.
func (c *Console) overduePlans(r *http.Request, s session, now time.Time) (map[string][]OverdueActivity, error) {
	plans, _, err := listAll[carePlanJSON](c.api, r, s.Access, "/v1/clinical/care-plans", url.Values{"overdue": {"true"}, "limit": {"200"}})
	if err != nil {
		return nil, err
	}
	out := map[string][]OverdueActivity{}
	for _, p := range plans {
		out[p.PatientID] = append(out[p.PatientID], overdueActivities([]carePlanJSON{p}, now)...)
	}
	return out, nil
}

// overdueActivities are the open activities of the plans past their due
// time at now: not started, scheduled or in progress, as the care-plan
// service counts them.
func overdueActivities(plans []carePlanJSON, now time.Time) []OverdueActivity {
	var out []OverdueActivity
	for _, p := range plans {
		if p.Status != "active" {
			continue
		}
		for _, a := range p.Activities {
			open := a.Status == "not-started" || a.Status == "scheduled" || a.Status == "in-progress"
			if open && a.Schedule.DueAt != nil && !a.Schedule.DueAt.After(now) {
				out = append(out, OverdueActivity{PlanID: p.ID, Title: a.Title, DueAt: *a.Schedule.DueAt})
			}
		}
	}
	return out
}
