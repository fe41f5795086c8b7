package diagnostic

import (
	"cmp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/zarish-sphere/zarish/domain"
)

// Priority is how soon the order is needed: FHIR request-priority codes,
// the three the laboratory and radiology services work to.
type Priority string

// The priorities.
const (
	PriorityRoutine Priority = "routine"
	PriorityUrgent  Priority = "urgent"
	PriorityStat    Priority = "stat"
)

// Priorities lists every priority, least urgent first.
var Priorities = []Priority{PriorityRoutine, PriorityUrgent, PriorityStat}

// Valid reports whether p is a known priority.
func (p Priority) Valid() bool { return slices.Contains(Priorities, p) }

// AlertOnMiss reports whether a missed turnaround target raises an alert:
// for STAT orders, whose delay harms the patient; other orders count in the
// overdue metrics.
func (p Priority) AlertOnMiss() bool { return p == PriorityStat }

// Request is an order as the orderer places it. The API fills OrdererID from
// the signed-in user and CreatedAt from its clock.
type Request struct {
	ID          uuid.UUID  `json:"id"`
	PatientID   uuid.UUID  `json:"patientId"`
	EncounterID *uuid.UUID `json:"encounterId,omitempty"`
	// Tests are catalogue codes: LOINC tests and panels, or imaging procedures.
	Tests    []string `json:"tests"`
	Priority Priority `json:"priority,omitempty"` // routine when omitted
	// ClinicalInfo is the question the order asks and what the performer
	// needs to know; required for imaging.
	ClinicalInfo string `json:"clinicalInfo,omitempty"`
	// SpecimenNotes are the orderer's specimen requirements (fasting, timed
	// after a dose, from a line).
	SpecimenNotes string    `json:"specimenNotes,omitempty"`
	OrdererID     uuid.UUID `json:"ordererId"`
	CreatedAt     time.Time `json:"createdAt"`
	// Placer is the number the placing system gave an order it sent us
	// (HL7 v2); nil for an order placed here.
	Placer *Placer `json:"placer,omitempty"`
}

// Placer is the placer order number (HL7 v2 ORC-2/OBR-2, an EI) of an
// order another system placed, with the system that sent it: its results
// find the order by it, and the order sent again is placed once.
type Placer struct {
	// Sender is the sending application and facility (MSH-3|MSH-4).
	Sender string `json:"sender"`
	// Number is the entity identifier (EI-1).
	Number string `json:"number"`
	// Namespace is the assigning application (EI-2), when named.
	Namespace string `json:"namespace,omitempty"`
}

// MaxPlacerLen bounds each part of a placer order number, in characters.
const MaxPlacerLen = 200

// Item is one ordered test, panel or procedure as the catalogue resolved it
// when the order was placed: a later catalogue version does not change it.
type Item struct {
	Code    string `json:"code"`
	System  string `json:"system"`
	Kind    Kind   `json:"kind"`
	Display string `json:"display"`
	// ResultCodes are the LOINC codes whose observations result it (a
	// panel's members); none for imaging.
	ResultCodes []string `json:"resultCodes,omitempty"`
	Specimen    string   `json:"specimen,omitempty"`
	Container   string   `json:"container,omitempty"`
	DrawOrder   int      `json:"drawOrder,omitempty"`
	Modalities  []string `json:"modalities,omitempty"`
	BodySite    *Coding  `json:"bodySite,omitempty"`
	Sensitive   bool     `json:"sensitive,omitempty"`
	// Targets are the catalogue's turnaround targets for the order's priority.
	Targets   []Target `json:"targets"`
	PanelCode string   `json:"panelCode,omitempty"`
}

// Order is what the orderer asked for, resolved against the catalogue: set
// at creation, never changed.
type Order struct {
	ID            uuid.UUID  `json:"id"`
	PatientID     uuid.UUID  `json:"patientId"`
	EncounterID   *uuid.UUID `json:"encounterId,omitempty"`
	Priority      Priority   `json:"priority"`
	ClinicalInfo  string     `json:"clinicalInfo,omitempty"`
	SpecimenNotes string     `json:"specimenNotes,omitempty"`
	OrdererID     uuid.UUID  `json:"ordererId"`
	CreatedAt     time.Time  `json:"createdAt"`
	// Placer is the placing system's order number (an order sent over HL7 v2).
	Placer *Placer `json:"placer,omitempty"`
	Items  []Item  `json:"items"`
	// CatalogueVersion is the catalogue the items were resolved in.
	CatalogueVersion string `json:"catalogueVersion"`
}

// NewOrder resolves and checks a request, reporting every invalid field at
// once: an unknown code is refused on its item ("tests[2]"), a panel
// expands to its members, and a test ordered twice (or alone beside the
// panel that holds it) is refused. An order is laboratory or imaging, not
// both: each goes to its own service and report.
func NewOrder(req Request, cat *Catalogue) (Order, error) {
	var v domain.ValidationError
	if req.ID == uuid.Nil {
		v.Add("id", "required")
	}
	if req.PatientID == uuid.Nil {
		v.Add("patientId", "required")
	}
	if req.EncounterID != nil && *req.EncounterID == uuid.Nil {
		v.Add("encounterId", "must be an encounter id")
	}
	if req.OrdererID == uuid.Nil {
		v.Add("ordererId", "required")
	}
	if req.CreatedAt.IsZero() {
		v.Add("createdAt", "required")
	}
	priority := req.Priority
	if priority == "" {
		priority = PriorityRoutine
	}
	if !priority.Valid() {
		v.Add("priority", "must be one of routine, urgent, stat")
	}
	items := resolveTests(req.Tests, cat, priority, &v)
	lab := slices.ContainsFunc(items, func(i Item) bool { return i.Kind.Laboratory() })
	imaging := slices.ContainsFunc(items, func(i Item) bool { return i.Kind == KindImaging })
	if lab && imaging {
		v.Add("tests", "an order is laboratory tests or imaging procedures, not both: place two orders")
	}
	info, why := text(req.ClinicalInfo, MaxClinicalInfoLen, imaging)
	if why != "" {
		// IR(ME)R 2017 requires the referrer to give the clinical
		// information a practitioner justifies an exposure on; the engine
		// asks it of every imaging order, ionising or not.
		v.Add("clinicalInfo", why)
	}
	notes, why := text(req.SpecimenNotes, MaxSpecimenNoteLen, false)
	if why != "" {
		v.Add("specimenNotes", why)
	}
	placer := checkPlacer(req.Placer, &v)
	if err := v.OrNil(); err != nil {
		return Order{}, err
	}
	return Order{ID: req.ID, PatientID: req.PatientID, EncounterID: req.EncounterID, Priority: priority,
		ClinicalInfo: info, SpecimenNotes: notes, OrdererID: req.OrdererID, CreatedAt: req.CreatedAt,
		Placer: placer, Items: items, CatalogueVersion: cat.Version}, nil
}

// checkPlacer is p trimmed, naming placer.sender or placer.number when
// missing or too long; nil without one.
func checkPlacer(p *Placer, v *domain.ValidationError) *Placer {
	if p == nil {
		return nil
	}
	out := Placer{Sender: strings.TrimSpace(p.Sender), Number: strings.TrimSpace(p.Number), Namespace: strings.TrimSpace(p.Namespace)}
	for _, f := range []struct{ name, value string }{{"placer.sender", out.Sender}, {"placer.number", out.Number}, {"placer.namespace", out.Namespace}} {
		switch {
		case f.value == "" && f.name != "placer.namespace":
			v.Add(f.name, "required")
		case utf8.RuneCountInString(f.value) > MaxPlacerLen:
			v.Add(f.name, "must be at most "+strconv.Itoa(MaxPlacerLen)+" characters")
		}
	}
	return &out
}

// resolveTests finds each ordered code in the catalogue, naming the item of
// every problem.
func resolveTests(codes []string, cat *Catalogue, p Priority, v *domain.ValidationError) []Item {
	switch {
	case len(codes) == 0:
		v.Add("tests", "at least one test, panel or imaging procedure is required")
		return nil
	case len(codes) > MaxTests:
		v.Add("tests", "at most "+strconv.Itoa(MaxTests)+" per order")
		return nil
	}
	var items []Item
	at := map[string]int{}
	for i, code := range codes {
		field := "tests[" + strconv.Itoa(i) + "]"
		code = strings.TrimSpace(code)
		o, ok := cat.Lookup(code)
		switch {
		case code == "":
			v.Add(field, "required")
			continue
		case !ok:
			v.Add(field, code+" is not a test, panel or imaging procedure of catalogue "+cat.Version)
			continue
		}
		if j, twice := at[o.Code]; twice {
			v.Add(field, code+" is ordered twice (tests["+strconv.Itoa(j)+"])")
			continue
		}
		at[o.Code] = i
		items = append(items, itemOf(o, cat, p))
	}
	// A test ordered alone beside a panel that holds it.
	for _, it := range items {
		if it.Kind != KindTest {
			continue
		}
		for _, panel := range items {
			if panel.Kind == KindPanel && slices.Contains(panel.ResultCodes, it.Code) {
				v.Add("tests["+strconv.Itoa(at[it.Code])+"]", it.Code+" is already ordered in "+panel.Code+" (tests["+strconv.Itoa(at[panel.Code])+"])")
				break
			}
		}
	}
	return items
}

func itemOf(o Orderable, cat *Catalogue, p Priority) Item {
	it := Item{Code: o.Code, System: o.System, Kind: o.Kind, Display: o.Display, ResultCodes: o.ResultCodes(),
		Specimen: o.Specimen, Container: o.Container, Modalities: o.Modalities, BodySite: o.BodySite,
		Sensitive: o.Sensitive, Targets: o.TargetsFor(p), PanelCode: o.PanelCode}
	if k, ok := cat.Container(o.Container); ok {
		it.DrawOrder = k.DrawOrder
	}
	return it
}

// Imaging reports whether the order is for imaging procedures.
func (o Order) Imaging() bool {
	return len(o.Items) > 0 && o.Items[0].Kind == KindImaging
}

// Sensitive reports whether any ordered test is sensitive, which holds the
// report from the patient until a clinician releases it.
func (o Order) Sensitive() bool {
	return slices.ContainsFunc(o.Items, func(i Item) bool { return i.Sensitive })
}

// ResultCodes lists every LOINC code the order expects a result for, once,
// in the order of the items.
func (o Order) ResultCodes() []string {
	var out []string
	for _, it := range o.Items {
		for _, c := range it.ResultCodes {
			if !slices.Contains(out, c) {
				out = append(out, c)
			}
		}
	}
	return out
}

// Containers lists the tubes the order needs, once each, in the CLSI GP41
// order of draw.
func (o Order) Containers() []string {
	var items []Item
	for _, it := range o.Items {
		if it.Container != "" && !slices.ContainsFunc(items, func(x Item) bool { return x.Container == it.Container }) {
			items = append(items, it)
		}
	}
	slices.SortStableFunc(items, func(a, b Item) int { return cmp.Compare(a.DrawOrder, b.DrawOrder) })
	out := make([]string, len(items))
	for i, it := range items {
		out[i] = it.Container
	}
	return out
}

// ContainerOf returns the container the result code is collected in.
func (o Order) ContainerOf(code string) (string, bool) {
	for _, it := range o.Items {
		if slices.Contains(it.ResultCodes, code) {
			return it.Container, true
		}
	}
	return "", false
}

// Procedure returns the ordered imaging procedure with the code.
func (o Order) Procedure(code string) (Item, bool) {
	for _, it := range o.Items {
		if it.Kind == KindImaging && it.Code == code {
			return it, true
		}
	}
	return Item{}, false
}

// Targets are the order's turnaround targets: for each stage span, the
// strictest of its items', in the order the spans start.
func (o Order) Targets() []Target {
	var out []Target
	for _, it := range o.Items {
		for _, t := range it.Targets {
			i := slices.IndexFunc(out, func(x Target) bool { return x.From == t.From && x.To == t.To })
			switch {
			case i < 0:
				out = append(out, t)
			case t.Minutes < out[i].Minutes:
				out[i] = t
			}
		}
	}
	slices.SortStableFunc(out, func(a, b Target) int {
		return cmp.Or(cmp.Compare(a.From.index(), b.From.index()), cmp.Compare(a.To.index(), b.To.index()))
	})
	return out
}
