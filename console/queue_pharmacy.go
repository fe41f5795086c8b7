package console

import (
	"cmp"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"
)

// queuePages bounds how many pages of each status the queue reads (200
// prescriptions a page); past it the page says the queue is longer.
const queuePages = 5

// Queue is the pharmacist's work: prescriptions the checks hold, and
// prescriptions that are active but not yet verified.
type Queue struct {
	// Held are on hold: a finding stands until someone overrides it.
	Held []QueueItem
	// Unverified are active and wait for a pharmacist's verification.
	Unverified []QueueItem
	// Capped says there were more prescriptions than the queue reads.
	Capped bool
	// Problems name what could not be read for the whole queue.
	Problems []string
	At       time.Time
}

// QueueItem is one prescription of the queue.
type QueueItem struct {
	ID, Status           string
	PatientID, Name, MRN string
	Drug                 string
	// Dose is the order in words: dose, route, frequency and duration.
	Dose       string
	Quantity   string
	Indication string
	Unit       string
	// Prescriber names who ordered it: their name when the user may read
	// the directory, else their practitioner id.
	Prescriber string
	// Since is when the current hold began, or when it was ordered.
	Since    time.Time
	Findings []Finding
	// Problems name what could not be read for this prescription.
	Problems []string
	// Typed are the reasons the user typed before a refusal, by finding
	// id, so the form keeps them.
	Typed map[string]string
}

// Standing lists the findings that hold the prescription.
func (q QueueItem) Standing() []Finding {
	var out []Finding
	for _, f := range q.Findings {
		if f.Standing() {
			out = append(out, f)
		}
	}
	return out
}

// Verifiable says the page offers Verify: active, and no finding stands.
func (q QueueItem) Verifiable() bool { return q.Status == "active" && len(q.Standing()) == 0 }

// Finding is one finding of a prescription's checks.
type Finding struct {
	ID, Kind, Severity string
	// Other is what the order conflicts with: the other drug, or the
	// allergy.
	Other                           string
	Explanation, Management, Detail string
	Blocking                        bool
	Override                        *Override
}

// Standing says the finding holds the order: blocking and not overridden.
func (f Finding) Standing() bool { return f.Blocking && f.Override == nil }

// KindLabel is the finding's kind in words.
func (f Finding) KindLabel() string {
	switch f.Kind {
	case "interaction":
		return "Interaction"
	case "allergy":
		return "Allergy"
	case "duplicate":
		return "Duplicate therapy"
	case "dose":
		return "Dose"
	case "check-unavailable":
		return "Check could not run"
	}
	return f.Kind
}

// Override is a person's reason to let a finding pass.
type Override struct {
	// By names who overrode it, as Prescriber does.
	By, Role, Reason string
	At               time.Time
}

// The API's answers, as far as the queue reads them.
type (
	prescriptionJSON struct {
		Details struct {
			ID        string `json:"id"`
			PatientID string `json:"patientId"`
			Unit      string `json:"unit"`
			Order     struct {
				Name         string  `json:"name"`
				Dose         float64 `json:"dose"`
				DoseUnit     string  `json:"doseUnit"`
				Route        string  `json:"route"`
				Frequency    string  `json:"frequency"`
				DosesPerDay  float64 `json:"dosesPerDay"`
				DurationDays float64 `json:"durationDays"`
				PRN          bool    `json:"prn"`
				Indication   string  `json:"indication"`
			} `json:"order"`
			Drug struct {
				Name string `json:"name"`
			} `json:"drug"`
			Quantity struct {
				Value float64 `json:"value"`
				Unit  string  `json:"unit"`
			} `json:"quantity"`
			PrescriberID string    `json:"prescriberId"`
			CreatedAt    time.Time `json:"createdAt"`
		} `json:"details"`
		Status     string        `json:"status"`
		Findings   []findingJSON `json:"findings"`
		VerifiedBy *string       `json:"verifiedBy"`
		HeldAt     *time.Time    `json:"heldAt"`
	}
	findingJSON struct {
		ID          string `json:"id"`
		Kind        string `json:"kind"`
		Severity    string `json:"severity"`
		Other       string `json:"other"`
		Explanation string `json:"explanation"`
		Management  string `json:"management"`
		Detail      string `json:"detail"`
		Blocking    bool   `json:"blocking"`
		Override    *struct {
			By     string    `json:"by"`
			Role   string    `json:"role"`
			Reason string    `json:"reason"`
			At     time.Time `json:"at"`
		} `json:"override"`
	}
	practitionerJSON struct {
		Name string `json:"name"`
	}
)

// loadQueue reads the queue from the API with the user's token: the
// prescriptions on hold and the active ones not yet verified, oldest first,
// each with its patient's name and MRN and its prescriber's name. A refused
// or failed read of a patient or prescriber is named on the prescription;
// only the prescription lists are essential.
func (c *Console) loadQueue(r *http.Request, s session) (Queue, error) {
	q := Queue{At: c.now()}
	var (
		held, active             []prescriptionJSON
		heldCapped, activeCapped bool
	)
	g := &errgroup.Group{}
	g.Go(func() (err error) {
		held, heldCapped, err = c.listPrescriptions(r, s, "on-hold")
		return err
	})
	g.Go(func() (err error) {
		active, activeCapped, err = c.listPrescriptions(r, s, "active")
		return err
	})
	if err := g.Wait(); err != nil {
		return q, err
	}
	q.Capped = heldCapped || activeCapped
	for _, p := range held {
		q.Held = append(q.Held, queueItem(p))
	}
	for _, p := range active {
		if p.VerifiedBy == nil {
			q.Unverified = append(q.Unverified, queueItem(p))
		}
	}
	c.name(r, s, &q)
	for _, items := range [][]QueueItem{q.Held, q.Unverified} {
		slices.SortStableFunc(items, func(x, y QueueItem) int { return cmp.Or(x.Since.Compare(y.Since), cmp.Compare(x.ID, y.ID)) })
	}
	return q, nil
}

// listPrescriptions reads every prescription with status, up to queuePages
// pages; capped says there were more.
func (c *Console) listPrescriptions(r *http.Request, s session, status string) ([]prescriptionJSON, bool, error) {
	return listAll[prescriptionJSON](c.api, r, s.Access, "/v1/medications/prescriptions", url.Values{"status": {status}, "limit": {"200"}})
}

// queueItem is the queue's view of p, before its names are read.
func queueItem(p prescriptionJSON) QueueItem {
	d := p.Details
	it := QueueItem{ID: d.ID, Status: p.Status, PatientID: d.PatientID, Drug: cmp.Or(d.Drug.Name, d.Order.Name),
		Dose: doseText(p), Indication: d.Order.Indication, Unit: d.Unit, Prescriber: d.PrescriberID, Since: d.CreatedAt}
	if d.Quantity.Value > 0 {
		it.Quantity = number(d.Quantity.Value) + " " + d.Quantity.Unit
	}
	if p.HeldAt != nil {
		it.Since = *p.HeldAt
	}
	for _, f := range p.Findings {
		nf := Finding{ID: f.ID, Kind: f.Kind, Severity: f.Severity, Other: f.Other, Explanation: f.Explanation,
			Management: f.Management, Detail: f.Detail, Blocking: f.Blocking}
		if f.Override != nil {
			nf.Override = &Override{By: f.Override.By, Role: f.Override.Role, Reason: f.Override.Reason, At: f.Override.At}
		}
		it.Findings = append(it.Findings, nf)
	}
	// Standing findings first, then by how grave they are.
	slices.SortStableFunc(it.Findings, func(x, y Finding) int {
		return cmp.Or(boolRank(y.Standing())-boolRank(x.Standing()), boolRank(y.Blocking)-boolRank(x.Blocking))
	})
	return it
}

func boolRank(b bool) int {
	if b {
		return 1
	}
	return 0
}

// doseText is the order in words: "400 mg oral tds for 5 days".
func doseText(p prescriptionJSON) string {
	o := p.Details.Order
	var parts []string
	if o.Dose > 0 {
		parts = append(parts, number(o.Dose)+" "+o.DoseUnit)
	}
	parts = append(parts, o.Route)
	switch {
	case o.DosesPerDay > 0:
		parts = append(parts, number(o.DosesPerDay)+" doses a day")
	case o.Frequency != "":
		parts = append(parts, o.Frequency)
	}
	if o.PRN {
		parts = append(parts, "as needed")
	}
	if o.DurationDays > 0 {
		parts = append(parts, "for "+number(o.DurationDays)+" days")
	}
	return strings.Join(slices.DeleteFunc(parts, func(s string) bool { return strings.TrimSpace(s) == "" }), " ")
}

func number(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }

// name fills in each prescription's patient (name and MRN) and the names
// of its prescriber and of whoever overrode its findings. The directory is
// read once per practitioner; a user whose role may not read it (a
// pharmacist) is told so once, and sees the practitioner ids.
func (c *Console) name(r *http.Request, s session, q *Queue) {
	items := make([]*QueueItem, 0, len(q.Held)+len(q.Unverified))
	for i := range q.Held {
		items = append(items, &q.Held[i])
	}
	for i := range q.Unverified {
		items = append(items, &q.Unverified[i])
	}
	type patient struct {
		name, mrn string
		err       error
	}
	var (
		mu       sync.Mutex
		patients = map[string]*patient{}
		people   = map[string]string{}
	)
	if s.Practitioner != "" {
		people[s.Practitioner] = s.Name
	}
	for _, it := range items {
		patients[it.PatientID] = &patient{}
		ids := []string{it.Prescriber}
		for _, f := range it.Findings {
			if f.Override != nil {
				ids = append(ids, f.Override.By)
			}
		}
		for _, id := range ids {
			if _, known := people[id]; !known {
				people[id] = ""
			}
		}
	}
	g := &errgroup.Group{}
	g.SetLimit(fanOut)
	for id, p := range patients {
		g.Go(func() error {
			var pj patientJSON
			err := c.api.get(r, "/v1/patients/"+url.PathEscape(id), s.Access, &pj)
			mu.Lock()
			defer mu.Unlock()
			p.err = err
			p.name, p.mrn = strings.TrimSpace(strings.Join(pj.Name.Given, " ")+" "+pj.Name.Family), pj.MRN
			return nil
		})
	}
	directory := true
	for id, name := range people {
		if name != "" || id == "" || !directory {
			continue
		}
		var pj practitionerJSON
		switch err := c.api.get(r, "/v1/clinical/practitioners/"+url.PathEscape(id), s.Access, &pj); {
		case statusOf(err) == http.StatusForbidden:
			directory = false // the same for everyone: ask no more
		case err == nil:
			people[id] = pj.Name
		}
	}
	_ = g.Wait()
	for _, it := range items {
		if p := patients[it.PatientID]; p.err != nil {
			it.Problems = append(it.Problems, "Name and MRN "+unavailable(p.err))
		} else {
			it.Name, it.MRN = p.name, p.mrn
		}
		it.Prescriber = practitionerName(people, it.Prescriber)
		for i, f := range it.Findings {
			if f.Override != nil {
				it.Findings[i].Override.By = practitionerName(people, f.Override.By)
			}
		}
	}
	if !directory {
		q.Problems = append(q.Problems, "Prescribers are shown by their practitioner id: your role does not allow reading the care-team directory.")
	}
}

// practitionerName is the name people know for id, else the id itself.
func practitionerName(people map[string]string, id string) string {
	if n := people[id]; n != "" {
		return n
	}
	if id == "" {
		return "unknown"
	}
	return "Practitioner " + id
}

// pharmacy serves the pharmacist's queue page.
func (c *Console) pharmacy(w http.ResponseWriter, r *http.Request) {
	c.showQueue(w, r, http.StatusOK, "", "", nil)
}

// showQueue renders the queue with msg above it when an action failed;
// typed keeps the reasons typed into prescription rx's form.
func (c *Console) showQueue(w http.ResponseWriter, r *http.Request, status int, msg, rx string, typed map[string]string) {
	s, ok := c.signedIn(w, r, true)
	if !ok {
		return
	}
	q, err := c.loadQueue(r, s)
	if statusOf(err) == http.StatusUnauthorized {
		c.clearSession(w, r)
		http.Redirect(w, r, "/console/login?next="+url.QueryEscape(pharmacyPath), http.StatusSeeOther)
		return
	}
	for i := range q.Held {
		if q.Held[i].ID == rx {
			q.Held[i].Typed = typed
		}
	}
	d := pageData{Title: "Pharmacy queue", User: s.Name, CSRF: c.seal.csrfToken(s.ID), Queue: &q, Error: msg}
	if err != nil {
		d.Queue, status = nil, http.StatusBadGateway
		d.Error = strings.TrimSpace(msg + " The prescriptions could not be read: " + unavailable(err) + ".")
	}
	c.render(w, r, status, "pharmacy", d)
}

// QueueSection is one part of the queue page under its own heading.
type QueueSection struct {
	ID, Title string
	// Empty says what an empty section means.
	Empty string
	Items []QueueItem
}

// Sections are the queue's parts in the order the page shows them.
func (q Queue) Sections() []QueueSection {
	return []QueueSection{
		{ID: "held", Title: "On hold: a finding stands", Empty: "No prescription is on hold.", Items: q.Held},
		{ID: "unverified", Title: "Active: waiting for verification", Empty: "Every active prescription is verified.", Items: q.Unverified},
	}
}
