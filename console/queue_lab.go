package console

import (
	"cmp"
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"
)

// labPath is the laboratory's queue.
const labPath = "/console/laboratory"

// labWindow is how far back the queue looks for final reports whose
// critical callbacks are still open.
const labWindow = 7 * 24 * time.Hour

// LabQueue is the laboratory's work: reports with every test resulted that
// wait for verification, with their delta-check flags, and critical
// results whose callback to the orderer is still open.
type LabQueue struct {
	Awaiting []LabReport
	// Callbacks are the reports with a critical result not yet read back.
	Callbacks []LabReport
	Capped    bool
	Problems  []string
	At        time.Time
}

// LabReport is one report of the queue.
type LabReport struct {
	ID, Status           string
	PatientID, Name, MRN string
	Priority             string
	Tests                []string
	ResultedAt           time.Time
	Results              []LabResult
	Flags                []LabFlag
	Callbacks            []Callback
	Problems             []string
}

// Verifiable says the page offers Verify: preliminary, every flag reviewed.
func (l LabReport) Verifiable() bool {
	return l.Status == "preliminary" && !slices.ContainsFunc(l.Flags, func(f LabFlag) bool { return !f.Reviewed })
}

// LabResult is one result in words.
type LabResult struct {
	Test, Code, Value, Flag string
}

// Critical says the result is beyond a critical limit.
func (r LabResult) Critical() bool { return r.Flag == "LL" || r.Flag == "HH" }

// LabFlag is one delta-check flag and its review.
type LabFlag struct {
	ID, Code, Message string
	// PathID is the flag's id as the review route takes it (each / as ~).
	PathID   string
	Reviewed bool
	Note     string
}

// The report as far as the queue reads it.
type labReportJSON struct {
	Order struct {
		ID        string `json:"id"`
		PatientID string `json:"patientId"`
		Priority  string `json:"priority"`
		Items     []struct {
			Code    string `json:"code"`
			Display string `json:"display"`
		} `json:"items"`
	} `json:"order"`
	Status  string `json:"status"`
	Results []struct {
		ObservationID string `json:"observationId"`
		Code          string `json:"code"`
		Display       string `json:"display"`
		Value         struct {
			Quantity *struct {
				Value float64 `json:"value"`
				Unit  string  `json:"unit"`
			} `json:"quantity"`
			Coding *struct {
				Display string `json:"display"`
				Code    string `json:"code"`
			} `json:"coding"`
			Text string `json:"text"`
		} `json:"value"`
		Flag string `json:"flag"`
	} `json:"results"`
	Flags []struct {
		ID    string `json:"id"`
		Code  string `json:"code"`
		Delta struct {
			Message string `json:"message"`
		} `json:"delta"`
		Review *struct {
			Note string `json:"note"`
		} `json:"review"`
	} `json:"flags"`
	Callbacks  []callbackJSON `json:"callbacks"`
	ResultedAt *time.Time     `json:"resultedAt"`
}

// labReport is the queue's view of j, before its patient is named.
func labReport(j labReportJSON) LabReport {
	l := LabReport{ID: j.Order.ID, Status: j.Status, PatientID: j.Order.PatientID, Priority: j.Order.Priority}
	if j.ResultedAt != nil {
		l.ResultedAt = *j.ResultedAt
	}
	tests := map[string]string{}
	for _, it := range j.Order.Items {
		l.Tests = append(l.Tests, cmp.Or(it.Display, it.Code))
	}
	for _, res := range j.Results {
		tests[res.ObservationID] = res.Display
		v := res.Value.Text
		switch {
		case res.Value.Quantity != nil:
			v = number(res.Value.Quantity.Value) + " " + res.Value.Quantity.Unit
		case res.Value.Coding != nil:
			v = cmp.Or(res.Value.Coding.Display, res.Value.Coding.Code)
		}
		l.Results = append(l.Results, LabResult{Test: cmp.Or(res.Display, res.Code), Code: res.Code, Value: v, Flag: res.Flag})
	}
	for _, f := range j.Flags {
		lf := LabFlag{ID: f.ID, PathID: strings.ReplaceAll(f.ID, "/", "~"), Code: f.Code, Message: f.Delta.Message, Reviewed: f.Review != nil}
		if f.Review != nil {
			lf.Note = f.Review.Note
		}
		l.Flags = append(l.Flags, lf)
	}
	for _, cb := range j.Callbacks {
		if cb.Outcome == "" {
			l.Callbacks = append(l.Callbacks, Callback{ObservationID: cb.ObservationID, Code: cb.Code,
				Test: tests[cb.ObservationID], RaisedAt: cb.RaisedAt, Attempts: len(cb.Attempts)})
		}
	}
	return l
}

// loadLab reads the queue from the API with the user's token: preliminary
// laboratory reports (all resulted, awaiting verification), and every
// laboratory report of the last week with an open critical callback.
func (c *Console) loadLab(r *http.Request, s session) (LabQueue, error) {
	q := LabQueue{At: c.now()}
	statuses := []string{"partial", "preliminary", "final", "amended", "corrected"}
	lists := make([][]labReportJSON, len(statuses))
	capped := make([]bool, len(statuses))
	g := &errgroup.Group{}
	for i, st := range statuses {
		g.Go(func() (err error) {
			lists[i], capped[i], err = c.listReports(r, s, st, q.At.Add(-labWindow))
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return q, err
	}
	q.Capped = slices.Contains(capped, true)
	for _, list := range lists {
		for _, j := range list {
			l := labReport(j)
			if l.Status == "preliminary" {
				q.Awaiting = append(q.Awaiting, l)
			}
			if len(l.Callbacks) > 0 {
				q.Callbacks = append(q.Callbacks, l)
			}
		}
	}
	c.nameReports(r, s, [][]LabReport{q.Awaiting, q.Callbacks})
	slices.SortStableFunc(q.Awaiting, func(x, y LabReport) int {
		return cmp.Or(cmp.Compare(priorityRank(y.Priority), priorityRank(x.Priority)), x.ResultedAt.Compare(y.ResultedAt), cmp.Compare(x.ID, y.ID))
	})
	slices.SortStableFunc(q.Callbacks, func(x, y LabReport) int {
		return cmp.Or(x.Callbacks[0].RaisedAt.Compare(y.Callbacks[0].RaisedAt), cmp.Compare(x.ID, y.ID))
	})
	return q, nil
}

// priorityRank orders order priorities, most urgent highest.
func priorityRank(p string) int {
	return slices.Index([]string{"routine", "urgent", "asap", "stat"}, p)
}

// listReports reads the laboratory reports with status, ordered since from,
// up to queuePages pages; capped says there were more.
func (c *Console) listReports(r *http.Request, s session, status string, from time.Time) ([]labReportJSON, bool, error) {
	return listAll[labReportJSON](c.api, r, s.Access, "/v1/diagnostics/reports", url.Values{"status": {status}, "category": {"laboratory"},
		"limit": {"200"}, "from": {from.UTC().Format(time.RFC3339)}, "to": {c.now().Add(time.Hour).UTC().Format(time.RFC3339)}})
}

// nameReports fills in each report's patient name and MRN, reading each
// patient once.
func (c *Console) nameReports(r *http.Request, s session, lists [][]LabReport) {
	type patient struct {
		name, mrn string
		err       error
	}
	patients := map[string]*patient{}
	for _, list := range lists {
		for _, l := range list {
			patients[l.PatientID] = &patient{}
		}
	}
	var mu sync.Mutex
	g := &errgroup.Group{}
	g.SetLimit(fanOut)
	for id, p := range patients {
		g.Go(func() error {
			var pj patientJSON
			err := c.api.get(r, "/v1/patients/"+url.PathEscape(id), s.Access, &pj)
			mu.Lock()
			defer mu.Unlock()
			p.err, p.name, p.mrn = err, strings.TrimSpace(strings.Join(pj.Name.Given, " ")+" "+pj.Name.Family), pj.MRN
			return nil
		})
	}
	_ = g.Wait()
	for _, list := range lists {
		for i := range list {
			if p := patients[list[i].PatientID]; p.err != nil {
				list[i].Problems = append(list[i].Problems, "Name and MRN "+unavailable(p.err))
			} else {
				list[i].Name, list[i].MRN = p.name, p.mrn
			}
		}
	}
}

// lab serves the laboratory's queue page.
func (c *Console) lab(w http.ResponseWriter, r *http.Request) { c.showLab(w, r, http.StatusOK, "") }

// showLab renders the queue with msg above it when an action failed.
func (c *Console) showLab(w http.ResponseWriter, r *http.Request, status int, msg string) {
	s, ok := c.signedIn(w, r, true)
	if !ok {
		return
	}
	q, err := c.loadLab(r, s)
	if statusOf(err) == http.StatusUnauthorized {
		c.clearSession(w, r)
		http.Redirect(w, r, "/console/login?next="+url.QueryEscape(labPath), http.StatusSeeOther)
		return
	}
	d := pageData{Title: "Laboratory queue", User: s.Name, CSRF: c.seal.csrfToken(s.ID), Lab: &q, Error: msg}
	if err != nil {
		d.Lab, status = nil, http.StatusBadGateway
		d.Error = strings.TrimSpace(msg + " The reports could not be read: " + unavailable(err) + ".")
	}
	c.render(w, r, status, "laboratory", d)
}

// validFlag is a flag id as the review route takes it.
var validFlag = regexp.MustCompile(`^[0-9a-fA-F-]{36}~[^/?#\s]{1,160}$`)

// reviewFlag records the user's review of a delta-check flag with a note.
func (c *Console) reviewFlag(w http.ResponseWriter, r *http.Request) {
	c.reportStep(w, r, "review", func(s session, id string) (string, string, bool) {
		flag, note := r.PathValue("flag"), strings.TrimSpace(r.PostFormValue("note"))
		if !validFlag.MatchString(flag) {
			return "", "There is no such flag.", false
		}
		if note == "" {
			return "", "Say what the review found in the note: nothing was recorded.", false
		}
		body, _ := json.Marshal(map[string]string{"note": note})
		return "/v1/diagnostics/reports/" + url.PathEscape(id) + "/flags/" + url.PathEscape(flag) + "/review|" + string(body), "", true
	})
}

// verifyReport verifies a preliminary report in the user's name: the
// engine checks they are a laboratory scientist or pathologist and that
// every flag was reviewed.
func (c *Console) verifyReport(w http.ResponseWriter, r *http.Request) {
	c.reportStep(w, r, "verification", func(s session, id string) (string, string, bool) {
		body := "{}"
		if conclusion := strings.TrimSpace(r.PostFormValue("conclusion")); conclusion != "" {
			b, _ := json.Marshal(map[string]string{"conclusion": conclusion})
			body = string(b)
		}
		return "/v1/diagnostics/reports/" + url.PathEscape(id) + "/verify|" + body, "", true
	})
}

// reportStep checks a queue form and posts the step that build names
// ("path|body"), or shows the reason build refused it.
func (c *Console) reportStep(w http.ResponseWriter, r *http.Request, what string, build func(s session, id string) (string, string, bool)) {
	s, ok := c.signedIn(w, r, true)
	if !ok {
		return
	}
	if !c.csrfOK(r, s) {
		c.showLab(w, r, http.StatusForbidden, "This form has expired or did not come from this console: no "+what+" was recorded. Try again.")
		return
	}
	id := r.PathValue("id")
	if !validID.MatchString(id) {
		c.showLab(w, r, http.StatusNotFound, "There is no such report.")
		return
	}
	step, refusal, ok := build(s, id)
	if !ok {
		c.showLab(w, r, http.StatusBadRequest, refusal)
		return
	}
	path, body, _ := strings.Cut(step, "|")
	if err := c.api.postJSON(r, path, s.Access, body, nil); err != nil {
		status, msg := http.StatusBadGateway, "The "+what+" could not be recorded just now. Try again."
		if ae, ok := err.(*apiError); ok {
			status = ae.Status
			switch ae.Status {
			case http.StatusForbidden:
				msg = "The engine refused: your role may not record this " + what + "."
			case http.StatusConflict, http.StatusUnprocessableEntity, http.StatusBadRequest:
				msg = "The engine refused the " + what + "."
			case http.StatusUnauthorized:
				c.clearSession(w, r)
				http.Redirect(w, r, "/console/login?next="+url.QueryEscape(labPath), http.StatusSeeOther)
				return
			}
			if ae.Message != "" {
				msg += " (" + ae.Message + ")"
			}
		}
		c.log.InfoContext(r.Context(), "console report step refused", "reportId", id, "step", what, "status", status)
		c.showLab(w, r, status, msg)
		return
	}
	http.Redirect(w, r, labPath, http.StatusSeeOther)
}
