package console

import (
	"cmp"
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"golang.org/x/sync/errgroup"
)

// validPatientID is a patient id as the page's URL takes it (a UUID).
var validPatientID = regexp.MustCompile(`^[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}$`)

// sectionLimit bounds the items each list of the patient page reads.
const sectionLimit = 50

// Part is one section of the patient page: its items, or why it could not
// be read.
type Part[T any] struct {
	Items   []T
	Problem string
}

// PatientPage is everything the patient page shows, each section read on
// its own with the user's token.
type PatientPage struct {
	ID           string
	Demographics Part[Demographics]
	Allergies    Part[AllergyItem]
	// Cards are the decision support's patient-view cards.
	Cards         Part[CardItem]
	Encounter     Part[EncounterItem]
	NEWS2         Part[NEWS2]
	Charts        []Chart
	Prescriptions Part[PrescriptionItem]
	Reports       Part[ReportItem]
	Procedures    Part[ProcedureItem]
	// From and To bound the charts.
	From, To time.Time
}

// Name is the patient's name, or their id when it could not be read.
func (p PatientPage) Name() string {
	if len(p.Demographics.Items) > 0 && p.Demographics.Items[0].Name != "" {
		return p.Demographics.Items[0].Name
	}
	return "Patient " + p.ID
}

// Demographics are who the patient is.
type Demographics struct {
	Name, MRN, BirthDate, Sex string
	Active                    bool
}

// CardItem is one decision-support card: a summary, its indicator (info,
// warning, critical), what it is based on and its detail.
type CardItem struct {
	Summary, Detail, Indicator, Source string
}

// AllergyItem is one active allergy or intolerance.
type AllergyItem struct {
	ID, Substance, Category, Criticality, Verification string
	Reactions                                          []string
}

// EncounterItem is the patient's open encounter and its timeline.
type EncounterItem struct {
	ID, Status, Class, Location, Reason string
	Since                               time.Time
	Timeline                            []TimelineEntry
	Workflow                            string
}

// TimelineEntry is one event of the encounter's timeline.
type TimelineEntry struct {
	Kind, Note string
	At         time.Time
}

// PrescriptionItem is one prescription and its checks' findings.
type PrescriptionItem struct {
	QueueItem
	Workflow string
}

// ReportItem is one diagnostic report.
type ReportItem struct {
	ID, Tests, Status string
	Versions          int
	Updated           time.Time
	Workflow          string
}

// ProcedureItem is one procedure request and its booking.
type ProcedureItem struct {
	ID, Name, Status string
	// Slot is when it is booked for; zero when it is not.
	Slot     time.Time
	Workflow string
}

// The API's answers, as far as the patient page reads them.
type (
	demographicsJSON struct {
		patientJSON
		BirthDate string `json:"birthDate"`
		Sex       string `json:"sex"`
		Active    bool   `json:"active"`
	}
	allergyJSON struct {
		ID        string `json:"id"`
		Substance struct {
			Text string `json:"text"`
		} `json:"substance"`
		Category           string `json:"category"`
		Criticality        string `json:"criticality"`
		ClinicalStatus     string `json:"clinicalStatus"`
		VerificationStatus string `json:"verificationStatus"`
		Reactions          []struct {
			Manifestations []string `json:"manifestations"`
		} `json:"reactions"`
	}
	encounterFullJSON struct {
		encounterJSON
		Class      string `json:"class"`
		Location   string `json:"location"`
		Reason     string `json:"reason"`
		WorkflowID string `json:"workflowId"`
		Timeline   []struct {
			Kind string    `json:"kind"`
			At   time.Time `json:"at"`
			Note string    `json:"note"`
		} `json:"timeline"`
	}
	trendJSON struct {
		Points []point `json:"points"`
	}
	patientPrescriptionJSON struct {
		prescriptionJSON
		WorkflowID string `json:"workflowId"`
	}
	reportJSON struct {
		Order struct {
			ID    string `json:"id"`
			Items []struct {
				Code    string `json:"code"`
				Display string `json:"display"`
			} `json:"items"`
		} `json:"order"`
		Status     string     `json:"status"`
		Versions   []struct{} `json:"versions"`
		UpdatedAt  time.Time  `json:"updatedAt"`
		WorkflowID string     `json:"workflowId"`
	}
	procedureJSON struct {
		Request struct {
			ID        string `json:"id"`
			Procedure struct {
				Code    string `json:"code"`
				Display string `json:"display"`
			} `json:"procedure"`
		} `json:"request"`
		Status string `json:"status"`
		Slot   *struct {
			From time.Time `json:"from"`
		} `json:"slot"`
		WorkflowID string `json:"workflowId"`
	}
)

// patient serves the patient page.
func (c *Console) patient(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if !validPatientID.MatchString(id) {
		c.errorPage(w, r, http.StatusNotFound, "There is no such patient.")
		return
	}
	s, ok := c.signedIn(w, r, true)
	if !ok {
		return
	}
	p, err := c.loadPatient(r, s, id)
	switch statusOf(err) {
	case http.StatusUnauthorized:
		c.clearSession(w, r)
		http.Redirect(w, r, "/console/login?next="+url.QueryEscape(r.URL.Path), http.StatusSeeOther)
		return
	case http.StatusNotFound:
		c.errorPage(w, r, http.StatusNotFound, "There is no such patient.")
		return
	}
	c.render(w, r, http.StatusOK, "patient", pageData{Title: p.Name(), User: s.Name, CSRF: c.seal.csrfToken(s.ID), Patient: &p})
}

// loadPatient reads the patient's page from the API with the user's token,
// every section at once. A section refused or failed says so on the page;
// the error is the engine's 401 (the session is over) or the patient's
// 404, and nil otherwise.
func (c *Console) loadPatient(r *http.Request, s session, id string) (PatientPage, error) {
	now := c.now()
	p := PatientPage{ID: id, From: now.Add(-chartWindow), To: now}
	var (
		signedOut, missing atomic.Bool
		mu                 sync.Mutex
	)
	// read gets path into v; false (and the section's problem set) when it
	// could not.
	read := func(path string, v any, problem *string) bool {
		err := c.api.get(r, path, s.Access, v)
		if err == nil {
			return true
		}
		if statusOf(err) == http.StatusUnauthorized {
			signedOut.Store(true)
		} else if statusOf(err) >= 500 || statusOf(err) == 0 {
			c.log.WarnContext(r.Context(), "patient page section not read", "path", strings.SplitN(path, "?", 2)[0], "error", err)
		}
		mu.Lock()
		*problem = sectionProblem(err)
		mu.Unlock()
		return false
	}
	esc := url.PathEscape(id)
	of := url.Values{"patientId": {id}, "limit": {strconv.Itoa(sectionLimit)}}.Encode()
	g := &errgroup.Group{}
	g.SetLimit(fanOut)
	g.Go(func() error {
		var d demographicsJSON
		if read("/v1/patients/"+esc, &d, &p.Demographics.Problem) {
			p.Demographics.Items = []Demographics{{Name: strings.TrimSpace(strings.Join(d.Name.Given, " ") + " " + d.Name.Family),
				MRN: d.MRN, BirthDate: d.BirthDate, Sex: d.Sex, Active: d.Active}}
		} else if p.Demographics.Problem == sectionProblem(&apiError{Status: http.StatusNotFound}) {
			missing.Store(true)
		}
		return nil
	})
	g.Go(func() error {
		// The patient-view hook of the engine's CDS Hooks services, as a
		// CDS client fires it when a chart opens, for the user looking.
		hook := map[string]any{"hook": "patient-view", "hookInstance": uuid.NewString(),
			"context": map[string]string{"patientId": id, "userId": practitionerRef(s.Practitioner)}}
		body, _ := json.Marshal(hook)
		var answer struct {
			Cards []struct {
				Summary   string `json:"summary"`
				Detail    string `json:"detail"`
				Indicator string `json:"indicator"`
				Source    struct {
					Label string `json:"label"`
				} `json:"source"`
			} `json:"cards"`
		}
		if err := c.api.postJSON(r, "/v1/clinical/cds-services/patient-view", s.Access, string(body), &answer); err != nil {
			if statusOf(err) == http.StatusUnauthorized {
				signedOut.Store(true)
			}
			mu.Lock()
			p.Cards.Problem = sectionProblem(err)
			mu.Unlock()
			return nil
		}
		p.Cards.Items = []CardItem{}
		for _, cd := range answer.Cards {
			p.Cards.Items = append(p.Cards.Items, CardItem{Summary: cd.Summary, Detail: cd.Detail, Indicator: cd.Indicator, Source: cd.Source.Label})
		}
		slices.SortStableFunc(p.Cards.Items, func(x, y CardItem) int { return cmp.Compare(indicatorRank(y.Indicator), indicatorRank(x.Indicator)) })
		return nil
	})
	g.Go(func() error {
		var list struct {
			Data []allergyJSON `json:"data"`
		}
		if read("/v1/patients/"+esc+"/allergies?clinicalStatus=active", &list, &p.Allergies.Problem) {
			p.Allergies.Items = []AllergyItem{}
			for _, a := range list.Data {
				it := AllergyItem{ID: a.ID, Substance: a.Substance.Text, Category: a.Category, Criticality: a.Criticality,
					Verification: a.VerificationStatus}
				for _, re := range a.Reactions {
					it.Reactions = append(it.Reactions, re.Manifestations...)
				}
				p.Allergies.Items = append(p.Allergies.Items, it)
			}
		}
		return nil
	})
	g.Go(func() error {
		var list struct {
			Data []encounterJSON `json:"data"`
		}
		if !read("/v1/clinical/encounters?"+of, &list, &p.Encounter.Problem) {
			return nil
		}
		open := slices.DeleteFunc(list.Data, func(e encounterJSON) bool { return !slices.Contains(openStatuses, e.Status) })
		p.Encounter.Items = []EncounterItem{}
		if len(open) == 0 {
			return nil
		}
		newest := slices.MaxFunc(open, func(x, y encounterJSON) int { return x.CreatedAt.Compare(y.CreatedAt) })
		var e encounterFullJSON
		if !read("/v1/clinical/encounters/"+url.PathEscape(newest.ID), &e, &p.Encounter.Problem) {
			return nil
		}
		it := EncounterItem{ID: e.ID, Status: e.Status, Class: e.Class, Location: e.Location, Reason: e.Reason, Since: e.since(),
			Workflow: c.workflowLink(e.WorkflowID)}
		for _, t := range e.Timeline {
			it.Timeline = append(it.Timeline, TimelineEntry{Kind: t.Kind, Note: t.Note, At: t.At})
		}
		p.Encounter.Items = []EncounterItem{it}
		return nil
	})
	g.Go(func() error {
		var n news2JSON
		if read("/v1/observations/news2?patientId="+url.QueryEscape(id), &n, &p.NEWS2.Problem) {
			score := NEWS2{Complete: n.Status == "complete" && n.Total != nil, Risk: n.Risk}
			if n.Total != nil {
				score.Total = *n.Total
			}
			if n.WindowEnd != nil {
				score.At = *n.WindowEnd
			}
			p.NEWS2.Items = []NEWS2{score}
		}
		return nil
	})
	p.Charts = make([]Chart, len(vitals)+1)
	// The NEWS2 trend first: the sets scored as they were completed.
	g.Go(func() error {
		q := url.Values{"patientId": {id}, "from": {p.From.UTC().Format(time.RFC3339)}, "to": {p.To.UTC().Format(time.RFC3339)}}
		var h struct {
			Data []struct {
				Total     int       `json:"total"`
				WindowEnd time.Time `json:"windowEnd"`
			} `json:"data"`
		}
		var problem string
		ok := read("/v1/observations/news2/history?"+q.Encode(), &h, &problem)
		points := make([]point, 0, len(h.Data))
		for _, s := range h.Data {
			points = append(points, point{Time: s.WindowEnd, Value: float64(s.Total)})
		}
		ch := drawChart(news2Chart, points, p.From, p.To)
		if !ok {
			ch.Problem = problem
		}
		p.Charts[0] = ch
		return nil
	})
	for i, v := range vitals {
		i := i + 1
		g.Go(func() error {
			q := url.Values{"patientId": {id}, "code": {v.Code}, "from": {p.From.UTC().Format(time.RFC3339)},
				"to": {p.To.UTC().Format(time.RFC3339)}}
			var t trendJSON
			var problem string
			ok := read("/v1/observations/trends?"+q.Encode(), &t, &problem)
			ch := drawChart(v, t.Points, p.From, p.To)
			if !ok {
				ch.Problem = problem
			}
			p.Charts[i] = ch
			return nil
		})
	}
	g.Go(func() error {
		var list struct {
			Data []patientPrescriptionJSON `json:"data"`
		}
		if read("/v1/medications/prescriptions?"+of, &list, &p.Prescriptions.Problem) {
			p.Prescriptions.Items = []PrescriptionItem{}
			for _, rx := range list.Data {
				p.Prescriptions.Items = append(p.Prescriptions.Items,
					PrescriptionItem{QueueItem: queueItem(rx.prescriptionJSON), Workflow: c.workflowLink(rx.WorkflowID)})
			}
			slices.SortStableFunc(p.Prescriptions.Items, func(x, y PrescriptionItem) int { return y.Since.Compare(x.Since) })
		}
		return nil
	})
	g.Go(func() error {
		var list struct {
			Data []reportJSON `json:"data"`
		}
		if read("/v1/diagnostics/reports?"+of, &list, &p.Reports.Problem) {
			p.Reports.Items = []ReportItem{}
			for _, rep := range list.Data {
				var tests []string
				for _, it := range rep.Order.Items {
					tests = append(tests, cmp.Or(it.Display, it.Code))
				}
				p.Reports.Items = append(p.Reports.Items, ReportItem{ID: rep.Order.ID, Tests: strings.Join(tests, ", "), Status: rep.Status,
					Versions: len(rep.Versions), Updated: rep.UpdatedAt, Workflow: c.workflowLink(rep.WorkflowID)})
			}
		}
		return nil
	})
	g.Go(func() error {
		var list struct {
			Data []procedureJSON `json:"data"`
		}
		if read("/v1/procedures?"+of, &list, &p.Procedures.Problem) {
			p.Procedures.Items = []ProcedureItem{}
			for _, pr := range list.Data {
				it := ProcedureItem{ID: pr.Request.ID, Name: cmp.Or(pr.Request.Procedure.Display, pr.Request.Procedure.Code),
					Status: pr.Status, Workflow: c.workflowLink(pr.WorkflowID)}
				if pr.Slot != nil {
					it.Slot = pr.Slot.From
				}
				p.Procedures.Items = append(p.Procedures.Items, it)
			}
		}
		return nil
	})
	_ = g.Wait()
	switch {
	case signedOut.Load():
		return p, &apiError{Status: http.StatusUnauthorized}
	case missing.Load():
		return p, &apiError{Status: http.StatusNotFound}
	}
	return p, nil
}

// sectionProblem says why a section is not shown, in the user's words.
func sectionProblem(err error) string {
	switch statusOf(err) {
	case http.StatusForbidden:
		return "Not shown: your role does not allow it."
	case http.StatusNotFound:
		return "Not found."
	}
	return "Could not be read just now."
}

// workflowLink is the workflow's page in the Temporal Web UI; empty when
// the console knows no UI or the process names no workflow.
func (c *Console) workflowLink(id string) string {
	if c.ui == "" || id == "" {
		return ""
	}
	return c.ui + "/namespaces/" + url.PathEscape(c.namespace) + "/workflows/" + url.PathEscape(id)
}

// indicatorRank orders CDS card indicators, most urgent highest.
func indicatorRank(i string) int { return slices.Index([]string{"info", "warning", "critical"}, i) }

// practitionerRef is a practitioner id as CDS Hooks' context.userId names
// it; empty for none.
func practitionerRef(id string) string {
	if id == "" {
		return ""
	}
	return "Practitioner/" + id
}
