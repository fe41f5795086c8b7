package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"github.com/zarish-sphere/zarish/domain"
	"github.com/zarish-sphere/zarish/domain/audit"
	"github.com/zarish-sphere/zarish/domain/cds"
	"github.com/zarish-sphere/zarish/domain/medication"
	"github.com/zarish-sphere/zarish/domain/prescription"
)

// The CDS Hooks order hooks; each service answers the hook of the same name.
const (
	hookOrderSelect = "order-select"
	hookOrderSign   = "order-sign"
)

// The limits of an order hook's request; the OpenAPI document states the same ones.
const (
	maxDraftOrders = 100
	maxSelections  = 100
)

// rxnormSystem is the FHIR system of RxNorm codes.
const rxnormSystem = "http://www.nlm.nih.gov/research/umls/rxnorm"

// orderServices are the medication order services as discovery lists them.
// They are offered only when a medication knowledge base is loaded.
func orderServices() []cds.Service {
	return []cds.Service{
		{Hook: hookOrderSelect, ID: hookOrderSelect, Title: "Medication checks of the selected orders",
			Description: "Interactions, allergies and cross-reactivity, duplicate therapy and dose of the selected draft medication orders, " +
				"against the patient's active prescriptions and the other draft orders."},
		{Hook: hookOrderSign, ID: hookOrderSign, Title: "Medication checks before signing",
			Description: "Interactions, allergies and cross-reactivity, duplicate therapy and dose of every draft medication order, " +
				"against the patient's active prescriptions and each other."},
	}
}

// orderRoutes are the order hooks' services. Their cards are built from the
// patient's record, so besides MedicationRequest the caller must read the
// patient (as patient-view needs); allergies and observations are read only
// when the caller may read them, and a card says which checks that left out.
func (s *cdsRoutes) orderRoutes() []Route {
	const scope = "system/MedicationRequest.read"
	return []Route{
		{http.MethodPost, "/v1/clinical/cds-services/" + hookOrderSelect, scope, entityGuidance, s.orderSelect},
		{http.MethodPost, "/v1/clinical/cds-services/" + hookOrderSign, scope, entityGuidance, s.orderSign},
	}
}

// orderHookRequest is a CDS Hooks order-select or order-sign request.
// Prefetch and fhirAuthorization are accepted and ignored: the checks read
// the engine's own stores.
type orderHookRequest struct {
	Hook              string           `json:"hook"`
	HookInstance      string           `json:"hookInstance"`
	FHIRServer        string           `json:"fhirServer,omitempty"`
	FHIRAuthorization map[string]any   `json:"fhirAuthorization,omitempty"`
	Context           orderHookContext `json:"context"`
	Prefetch          map[string]any   `json:"prefetch,omitempty"`
}

// orderHookContext is an order hook's context. draftOrders is a FHIR R4
// Bundle, read leniently (FHIR resources carry many fields the checks do not
// need); selections name the orders order-select is about.
type orderHookContext struct {
	PatientID   string          `json:"patientId"`
	EncounterID string          `json:"encounterId,omitempty"`
	UserID      string          `json:"userId,omitempty"`
	Selections  []string        `json:"selections,omitempty"`
	DraftOrders json.RawMessage `json:"draftOrders"`
}

// orderSelect serves POST /v1/clinical/cds-services/order-select: the
// selected draft orders are checked, the other draft orders counting as the
// patient's medications.
func (s *cdsRoutes) orderSelect(c *gin.Context) { s.orderHook(c, hookOrderSelect) }

// orderSign serves POST /v1/clinical/cds-services/order-sign: every draft
// order is checked, against the patient's medications and each other.
func (s *cdsRoutes) orderSign(c *gin.Context) { s.orderHook(c, hookOrderSign) }

// orderHook checks the request, reads what the checks know about the patient
// and answers a card per finding, most urgent first. A draft whose drug
// cannot be identified, or a patient record that cannot be read, is a card
// of its own: the answer never passes an order it did not check.
func (s *cdsRoutes) orderHook(c *gin.Context, hook string) {
	audited := auditOf(c)
	audited.about(audit.ActionRead, entityGuidance, "", nil)
	if s.medications == nil {
		abort(c, http.StatusNotFound, CodeNotFound, "No such CDS service; GET /v1/clinical/cds-services lists them.")
		return
	}
	var req orderHookRequest
	if readJSON(c, &req) == nil {
		return
	}
	sub, drafts, targets, err := req.validate(hook)
	if err != nil {
		s.fail(c, err)
		return
	}
	audited.about(audit.ActionRead, entityGuidance, sub.HookInstance.String(), &sub.PatientID)
	if launch, ok := launchPatient(c); ok && launch != sub.PatientID {
		refusePatientContext(c, "context.patientId", "This token reaches only the patient it was launched for.")
		return
	}
	may := readable(c)
	if !may("Patient") {
		const need = "system/Patient.read"
		c.Header("WWW-Authenticate", `Bearer realm="zarish", error="insufficient_scope", scope="`+need+`"`)
		abort(c, http.StatusForbidden, CodeForbidden, "The medication checks read the patient's record: the access token lacks the scope "+need+".")
		return
	}
	kb := s.medications.Active()
	ctx := c.Request.Context()
	check := orderCheck{kb: kb, hookInstance: sub.HookInstance, drafts: drafts, targets: targets}
	err = errNoMedicationContext
	if s.medicationContext != nil {
		check.context, err = s.medicationContext.PatientContext(ctx, sub.PatientID, uuid.Nil, s.now())
	}
	switch {
	case errors.Is(err, domain.ErrNotFound):
		abort(c, http.StatusNotFound, CodeNotFound, "No such patient.")
		return
	case err != nil && ctx.Err() != nil:
		s.fail(c, err)
		return
	case err != nil:
		s.log.WarnContext(ctx, "medication checks could not read the patient's record", "requestId", requestID(c),
			"patientId", sub.PatientID, "error", err)
		c.JSON(http.StatusOK, cds.Response{Cards: []cds.Card{check.contextUnavailableCard()}})
		return
	}
	c.JSON(http.StatusOK, cds.Response{Cards: check.cards(may)})
}

// errNoMedicationContext is the error of a server built without a source of
// patients' medication context.
var errNoMedicationContext = errors.New("no medication context is configured")

// validate checks the request for hook and reports every invalid field at
// once: the CDS Hooks fields as cds.Request.Validate does, the draft orders,
// and order-select's selections. It returns the draft medication orders and
// the indexes of those to check.
func (r orderHookRequest) validate(hook string) (cds.Subject, []draftOrder, []int, error) {
	problems := &domain.ValidationError{}
	sub, err := cds.Request{Hook: r.Hook, HookInstance: r.HookInstance, FHIRServer: r.FHIRServer,
		Context: cds.Context{PatientID: r.Context.PatientID, EncounterID: r.Context.EncounterID, UserID: r.Context.UserID},
	}.Validate(cds.Service{Hook: hook, ID: hook})
	var verr *domain.ValidationError
	switch {
	case errors.As(err, &verr):
		problems.Fields = append(problems.Fields, verr.Fields...)
	case err != nil:
		return cds.Subject{}, nil, nil, err
	}
	drafts, refs := parseDraftOrders(problems, r.Context.DraftOrders)
	var targets []int
	switch {
	case hook != hookOrderSelect:
		if len(r.Context.Selections) > 0 {
			problems.Add("context.selections", "is a field of order-select only")
		}
		for i := range drafts {
			targets = append(targets, i)
		}
	case r.Context.Selections == nil:
		problems.Add("context.selections", "is required: the orders just selected, e.g. MedicationRequest/<id>")
	case len(r.Context.Selections) > maxSelections:
		problems.Add("context.selections", fmt.Sprintf("must hold at most %d items", maxSelections))
	default:
		for i, sel := range r.Context.Selections {
			sel = strings.TrimSpace(sel)
			j := slices.IndexFunc(drafts, func(d draftOrder) bool { return slices.Contains(d.names, sel) })
			switch {
			case j >= 0:
				if !slices.Contains(targets, j) {
					targets = append(targets, j)
				}
			case sel == "" || !refs[sel]:
				problems.Add(fmt.Sprintf("context.selections[%d]", i), "is not an order of context.draftOrders")
			}
		}
	}
	if err := problems.OrNil(); err != nil {
		return cds.Subject{}, nil, nil, err
	}
	return sub, drafts, targets, nil
}

// draftOrder is one draft MedicationRequest of the request.
type draftOrder struct {
	// ref names it in card text: MedicationRequest/<id>, its fullUrl or its entry.
	ref string
	// names are what a selection may name it by.
	names []string
	order medication.Order
	// resource is the MedicationRequest as sent, for the suggestions that change it.
	resource map[string]any
}

// draftBundle is the part of the draftOrders Bundle the checks read.
type draftBundle struct {
	ResourceType string `json:"resourceType"`
	Entry        []struct {
		FullURL  string          `json:"fullUrl"`
		Resource json.RawMessage `json:"resource"`
	} `json:"entry"`
}

// The parts of FHIR R4 data types and of MedicationRequest the checks read.
type (
	fhirCoding struct {
		System  string `json:"system"`
		Code    string `json:"code"`
		Display string `json:"display"`
	}
	fhirConcept struct {
		Text   string       `json:"text"`
		Coding []fhirCoding `json:"coding"`
	}
	fhirQuantity struct {
		Value *float64 `json:"value"`
		Unit  string   `json:"unit"`
		Code  string   `json:"code"`
	}
	fhirTiming struct {
		Code   *fhirConcept `json:"code"`
		Repeat *struct {
			Frequency  *float64 `json:"frequency"`
			Period     *float64 `json:"period"`
			PeriodUnit string   `json:"periodUnit"`
		} `json:"repeat"`
	}
	fhirDosage struct {
		Timing          *fhirTiming  `json:"timing"`
		AsNeededBoolean *bool        `json:"asNeededBoolean"`
		Route           *fhirConcept `json:"route"`
		DoseAndRate     []struct {
			DoseQuantity *fhirQuantity `json:"doseQuantity"`
		} `json:"doseAndRate"`
	}
	fhirMedicationRequest struct {
		ResourceType              string       `json:"resourceType"`
		ID                        string       `json:"id"`
		MedicationCodeableConcept *fhirConcept `json:"medicationCodeableConcept"`
		MedicationReference       *struct {
			Display string `json:"display"`
		} `json:"medicationReference"`
		ReasonCode        []fhirConcept `json:"reasonCode"`
		DosageInstruction []fhirDosage  `json:"dosageInstruction"`
		DispenseRequest   *struct {
			ExpectedSupplyDuration *fhirQuantity `json:"expectedSupplyDuration"`
		} `json:"dispenseRequest"`
	}
)

// parseDraftOrders reads the draftOrders Bundle: its MedicationRequests as
// draft orders, and the names of every entry (of any resource type) a
// selection may give. Problems are named by their path in the request.
func parseDraftOrders(problems *domain.ValidationError, raw json.RawMessage) ([]draftOrder, map[string]bool) {
	const field = "context.draftOrders"
	refs := map[string]bool{}
	if len(raw) == 0 || string(raw) == "null" {
		problems.Add(field, "is required: a FHIR Bundle of the draft orders")
		return nil, refs
	}
	var b draftBundle
	if err := json.Unmarshal(raw, &b); err != nil {
		fhirProblem(problems, field, err, "must be a FHIR Bundle of the draft orders")
		return nil, refs
	}
	if b.ResourceType != "Bundle" {
		problems.Add(field+".resourceType", "must be Bundle")
	}
	if len(b.Entry) > maxDraftOrders {
		problems.Add(field+".entry", fmt.Sprintf("must hold at most %d items", maxDraftOrders))
		return nil, refs
	}
	var drafts []draftOrder
	for i, e := range b.Entry {
		at := field + ".entry[" + strconv.Itoa(i) + "].resource"
		if len(e.Resource) == 0 || string(e.Resource) == "null" {
			problems.Add(at, "is required")
			continue
		}
		var mr fhirMedicationRequest
		if err := json.Unmarshal(e.Resource, &mr); err != nil {
			fhirProblem(problems, at, err, "must be a FHIR resource")
			continue
		}
		names := []string{}
		if mr.ID != "" {
			names = append(names, mr.ResourceType+"/"+mr.ID, mr.ID)
		}
		if e.FullURL != "" {
			names = append(names, e.FullURL)
		}
		for _, n := range names {
			refs[n] = true
		}
		if mr.ResourceType != "MedicationRequest" {
			continue // not a medication order: nothing for these checks
		}
		d := draftOrder{ref: "entry[" + strconv.Itoa(i) + "]", names: names}
		if len(names) > 0 {
			d.ref = names[0]
		}
		var ok bool
		if d.order, ok = mr.order(problems, at); !ok {
			continue
		}
		_ = json.Unmarshal(e.Resource, &d.resource)
		drafts = append(drafts, d)
	}
	return drafts, refs
}

// fhirProblem names the field a FHIR value of the wrong kind is at, or the
// whole value.
func fhirProblem(problems *domain.ValidationError, at string, err error, message string) {
	var typeErr *json.UnmarshalTypeError
	if errors.As(err, &typeErr) && typeErr.Field != "" {
		problems.Add(at+"."+typeErr.Field, "must be "+kindPhrase(typeErr.Type))
		return
	}
	problems.Add(at, message)
}

// order is the medication order the draft asks for: the drug by its RxNorm
// coding (or its text), the first dosage instruction's dose, route and
// timing, whether it is as needed, and the expected supply as its duration.
func (mr *fhirMedicationRequest) order(problems *domain.ValidationError, at string) (medication.Order, bool) {
	var o medication.Order
	ok := true
	if c := mr.MedicationCodeableConcept; c != nil {
		o.Name = strings.TrimSpace(c.Text)
		for _, cd := range c.Coding {
			if cd.System == rxnormSystem && o.Code == "" {
				o.Code = strings.TrimSpace(cd.Code)
				if o.Name == "" {
					o.Name = strings.TrimSpace(cd.Display)
				}
			}
		}
		for _, cd := range c.Coding {
			if o.Name == "" {
				o.Name = strings.TrimSpace(cd.Display)
			}
		}
	}
	if o.Name == "" && mr.MedicationReference != nil {
		o.Name = strings.TrimSpace(mr.MedicationReference.Display)
	}
	if len(mr.ReasonCode) > 0 {
		o.Indication = conceptText(&mr.ReasonCode[0])
	}
	if len(mr.DosageInstruction) > 0 {
		d := &mr.DosageInstruction[0]
		if len(d.DoseAndRate) > 0 && d.DoseAndRate[0].DoseQuantity != nil {
			q := d.DoseAndRate[0].DoseQuantity
			if q.Value != nil {
				if *q.Value <= 0 {
					problems.Add(at+".dosageInstruction[0].doseAndRate[0].doseQuantity.value", "must be more than 0")
					ok = false
				}
				o.Dose = *q.Value
			}
			o.DoseUnit = strings.TrimSpace(q.Unit)
			if o.DoseUnit == "" {
				o.DoseUnit = strings.TrimSpace(q.Code)
			}
		}
		o.Route = routeOf(d.Route)
		o.Frequency, o.DosesPerDay = timingOf(d.Timing)
		o.PRN = d.AsNeededBoolean != nil && *d.AsNeededBoolean
	}
	if dr := mr.DispenseRequest; dr != nil && dr.ExpectedSupplyDuration != nil {
		o.DurationDays = durationDays(dr.ExpectedSupplyDuration)
	}
	return o, ok
}

// conceptText is a concept's text, or its first coding's display.
func conceptText(c *fhirConcept) string {
	if t := strings.TrimSpace(c.Text); t != "" {
		return t
	}
	for _, cd := range c.Coding {
		if d := strings.TrimSpace(cd.Display); d != "" {
			return d
		}
	}
	return ""
}

// snomedRoutes are the SNOMED CT route-of-administration codes the checks
// understand when neither text nor display is one they read.
var snomedRoutes = map[string]medication.Route{
	"26643006": medication.RouteOral, "47625008": medication.RouteIV, "78421000": medication.RouteIM,
	"34206005": medication.RouteSC, "37161004": medication.RouteRectal, "37839007": medication.RouteSublingual,
	"54471007": medication.RouteBuccal, "447694001": medication.RouteInhaled, "46713006": medication.RouteNasal,
	"6064005": medication.RouteTopical, "45890007": medication.RouteTransdermal,
}

// routeOf is the route as the checks read it: the text or a coding's display
// ("Oral route" read as oral), else a known SNOMED CT code; a route none of
// them names is passed on as written, and the dose check says it is not
// understood.
func routeOf(c *fhirConcept) string {
	if c == nil {
		return ""
	}
	written := []string{c.Text}
	for _, cd := range c.Coding {
		written = append(written, cd.Display)
	}
	for _, w := range written {
		w = strings.TrimSpace(w)
		if len(w) > len(" route") && strings.EqualFold(w[len(w)-len(" route"):], " route") {
			w = w[:len(w)-len(" route")]
		}
		if _, ok := medication.ParseRoute(w); ok {
			return w
		}
	}
	for _, cd := range c.Coding {
		if r, ok := snomedRoutes[strings.TrimSpace(cd.Code)]; ok {
			return string(r)
		}
	}
	return conceptText(c)
}

// perDayOf is how many of each FHIR period unit (UCUM) fit in a day.
var perDayOf = map[string]float64{"s": 86400, "min": 1440, "h": 24, "d": 1, "wk": 1.0 / 7, "mo": 1.0 / 30, "a": 1.0 / 365}

// timingOf reads a timing: its repeat as doses a day, and its code (BID,
// Q6H …) as the written frequency.
func timingOf(t *fhirTiming) (frequency string, perDay float64) {
	if t == nil {
		return "", 0
	}
	if t.Code != nil {
		frequency = strings.TrimSpace(t.Code.Text)
		for _, cd := range t.Code.Coding {
			if frequency == "" {
				frequency = strings.TrimSpace(cd.Code)
			}
		}
	}
	if r := t.Repeat; r != nil && r.Frequency != nil && r.Period != nil && *r.Frequency > 0 && *r.Period > 0 {
		if unit, ok := perDayOf[r.PeriodUnit]; ok {
			perDay = *r.Frequency * unit / *r.Period
		}
	}
	return frequency, perDay
}

// durationDays is an expected supply duration in days; 0 (open-ended) when
// its unit is not one of time.
func durationDays(q *fhirQuantity) float64 {
	if q.Value == nil || *q.Value <= 0 {
		return 0
	}
	unit := strings.ToLower(strings.TrimSpace(q.Code))
	if unit == "" {
		unit = strings.ToLower(strings.TrimSpace(q.Unit))
	}
	switch unit {
	case "d", "day", "days":
		return *q.Value
	case "wk", "week", "weeks":
		return *q.Value * 7
	case "h", "hour", "hours":
		return *q.Value / 24
	case "mo", "month", "months":
		return *q.Value * 30
	}
	return 0
}

// orderCheck is one hook call's checks: the knowledge base, what it knows
// about the patient, the draft orders and which of them to check.
type orderCheck struct {
	kb           *medication.KB
	hookInstance uuid.UUID
	context      prescription.Context
	drafts       []draftOrder
	targets      []int
}

// The labels of the sources order cards name.
const sourceMedicationKB = "ZARISH SPHERE medication knowledge base"

// cards checks each target draft against the patient's active medications
// and the other drafts, and answers a card per finding, most urgent first.
// A problem between two drafts, or with an active medication that cannot be
// identified, is one card however many drafts it concerns. may says which
// parts of the record the caller may read; the checks leave out the others
// and say so.
func (oc *orderCheck) cards(may func(resource string) bool) []cds.Card {
	var cards []cds.Card
	p := oc.context.Patient
	if !may("AllergyIntolerance") {
		p.Allergies = nil
		cards = append(cards, oc.noticeCard("unread/allergies",
			"Allergy checks did not run: this user may not read the patient's allergies",
			"The draft orders were not checked against the patient's allergies: the access token does not cover AllergyIntolerance. Check the allergy list before the order goes ahead."))
	}
	if !may("Observation") {
		p.WeightKg, p.HeightCm, p.CreatinineUmolL = 0, 0, 0
		cards = append(cards, oc.noticeCard("unread/observations",
			"Dose checks ran without weight, height or creatinine: this user may not read observations",
			"The access token does not cover Observation, so weight-based doses and renal adjustment were checked as if the patient's weight, height and serum creatinine were unknown."))
	}
	active := p.ActiveMedications
	targeted := map[int]bool{}
	for _, i := range oc.targets {
		targeted[i] = true
	}
	seen := map[string]bool{}
	for _, i := range oc.targets {
		d := &oc.drafts[i]
		others := make([]int, 0, len(oc.drafts))
		meds := slices.Clip(slices.Clone(active))
		for j := range oc.drafts {
			if j != i {
				others = append(others, j)
				meds = append(meds, oc.drafts[j].order)
			}
		}
		q := p
		q.ActiveMedications = meds
		res := oc.kb.Check(d.order, q)
		for _, f := range res.Findings {
			fc := findingContext{draft: d, finding: f, result: &res, patient: &q}
			key := oc.about(&fc, i, len(active), others, targeted)
			if key == "" || seen[key] {
				continue
			}
			seen[key] = true
			cards = append(cards, oc.findingCard(&fc, key))
		}
	}
	slices.SortStableFunc(cards, func(a, b cds.Card) int { return b.Indicator.Rank() - a.Indicator.Rank() })
	if cards == nil {
		cards = []cds.Card{}
	}
	return cards
}

// findingContext is one finding of one draft's check and what it concerns.
type findingContext struct {
	draft   *draftOrder
	finding medication.Finding
	result  *medication.Result
	patient *medication.Patient
	// with says what the finding conflicts with: an active prescription, another draft order.
	with string
	// otherDraft is the other draft order it concerns, if any.
	otherDraft *draftOrder
}

// about says what a finding of draft i concerns and returns the key its
// card is known by, or "" when the card is another draft's to give. The
// patient's medications were the nActive active ones followed by the drafts
// others.
func (oc *orderCheck) about(fc *findingContext, i, nActive int, others []int, targeted map[int]bool) string {
	f := &fc.finding
	own := fc.draft.ref + "|" + string(f.Kind) + "|" + f.Rule + "|" + f.Drug
	medicationIndex := f.Kind == medication.KindInteraction || f.Kind == medication.KindDuplicate ||
		(f.Kind == medication.KindUnavailable && f.Rule == medication.RuleUnknownActive)
	switch {
	case f.Kind == medication.KindAllergy:
		return own + "|allergy/" + strconv.Itoa(f.OtherIndex)
	case f.Kind == medication.KindDose && f.Rule == medication.RuleDoseTotal:
		// The same total, whichever draft of the ingredient it was found for.
		return "total|" + f.Drug
	case !medicationIndex || f.OtherIndex < 0:
		return own
	case f.OtherIndex < nActive:
		if f.OtherIndex < len(oc.context.Active) {
			fc.with = f.Other + " (active prescription " + oc.context.Active[f.OtherIndex].String() + ")"
		} else {
			fc.with = f.Other + " (an active medication)"
		}
		if f.Kind == medication.KindUnavailable {
			return "unknown|active/" + strconv.Itoa(f.OtherIndex)
		}
		return own + "|active/" + strconv.Itoa(f.OtherIndex)
	case f.OtherIndex-nActive < len(others):
		j := others[f.OtherIndex-nActive]
		other := &oc.drafts[j]
		fc.otherDraft = other
		fc.with = f.Other + " (draft order " + other.ref + ")"
		if f.Kind == medication.KindUnavailable {
			if targeted[j] {
				return "" // its own check says it could not be identified
			}
			f.Explanation = "The draft order " + other.ref + " could not be identified, so its interactions and duplicates with the checked orders were not checked."
			f.Management = "Choose the drug of that order from the candidates, or enter it by its RxNorm code."
			return "unknown|draft/" + other.ref
		}
		a, b := fc.draft.ref, other.ref
		if b < a {
			a, b = b, a
		}
		return string(f.Kind) + "|" + f.Rule + "|" + a + "|" + b
	}
	return own
}

// indicatorOf is how urgent a finding is: critical for a drug that must not
// be given (contraindicated, allergy hold), warning for major findings,
// allergy cautions and checks that could not run, info otherwise.
func indicatorOf(f medication.Finding) cds.Indicator {
	switch {
	case f.Kind == medication.KindUnavailable:
		return cds.IndicatorWarning
	case f.Severity == medication.SeverityContraindicated || f.Severity == medication.SeverityHold:
		return cds.IndicatorCritical
	case f.Severity == medication.SeverityMajor || f.Severity == medication.SeverityCaution:
		return cds.IndicatorWarning
	}
	return cds.IndicatorInfo
}

// findingCard is the card of one finding: what was found, what to do, and
// the knowledge-base version and sources it rests on, with the suggestions
// that fit it.
func (oc *orderCheck) findingCard(fc *findingContext, key string) cds.Card {
	f := fc.finding
	card := cds.Card{
		UUID:      uuid.NewSHA1(oc.hookInstance, []byte(key)),
		Summary:   cardSummary(oc.summaryOf(fc)),
		Indicator: indicatorOf(f),
		Source:    cds.Source{Label: sourceLabel(f.Version, f.Sources)},
	}
	var extra string
	switch {
	case f.Kind == medication.KindUnavailable && f.Rule == medication.RuleUnknownDrug:
		card.Suggestions = oc.drugSuggestions(fc.draft, key, fc.result.Candidates)
	case f.Kind == medication.KindUnavailable && fc.otherDraft != nil:
		if _, err := oc.kb.Resolve(fc.otherDraft.order.Code, fc.otherDraft.order.Name); err != nil {
			var re *medication.ResolveError
			if errors.As(err, &re) {
				card.Suggestions = oc.drugSuggestions(fc.otherDraft, key, re.Candidates)
			}
		}
	case f.Kind == medication.KindDose && fc.result.Drug != nil && !fc.result.Drug.Product:
		p := fc.patient
		adv, err := oc.kb.CalculateDose(fc.result.Drug.ID, fc.draft.order.Indication, p.WeightKg, p.HeightCm, p.AgeYears, p.Sex, p.CreatinineUmolL)
		if err == nil {
			extra = adviceText(&adv, fc.draft.order.Route)
			if f.Rule == medication.RuleDoseSingleMax {
				card.Suggestions = oc.doseSuggestions(fc.draft, key, &adv)
			}
		}
	}
	if len(card.Suggestions) > 0 {
		card.SelectionBehavior = "at-most-one"
	}
	card.Detail = oc.detailOf(fc, extra)
	return card
}

// drugName is the knowledge base's name of a finding's drug, else what the order says.
func (oc *orderCheck) drugName(fc *findingContext) string {
	if d, ok := oc.kb.Drug(fc.finding.Drug); ok {
		return d.Name
	}
	return orderLabel(&fc.draft.order)
}

func (oc *orderCheck) summaryOf(fc *findingContext) string {
	f := fc.finding
	name := oc.drugName(fc)
	switch f.Kind {
	case medication.KindInteraction:
		return capitalize(string(f.Severity)) + " interaction: " + name + " with " + f.Other
	case medication.KindAllergy:
		if f.Severity == medication.SeverityHold {
			return "Allergy: do not give " + name + ", the patient is recorded allergic to " + f.Other
		}
		return "Allergy caution: " + name + " may cross-react with the recorded allergy to " + f.Other
	case medication.KindDuplicate:
		return "Duplicate therapy: " + name + " with " + f.Other
	case medication.KindDose:
		return "Dose: " + f.Explanation
	}
	switch {
	case f.Rule == medication.RuleUnknownDrug && len(fc.result.Candidates) > 0:
		return "Not checked: " + strconv.Quote(orderLabel(&fc.draft.order)) + " could not be identified; choose the drug meant"
	case f.Rule == medication.RuleUnknownDrug:
		return "Not checked: " + strconv.Quote(orderLabel(&fc.draft.order)) + " is not a drug the knowledge base knows"
	case fc.otherDraft != nil:
		return "Not checked: the draft order " + strconv.Quote(orderLabel(&fc.otherDraft.order)) + " could not be identified"
	}
	if why, ok := strings.CutPrefix(f.Explanation, "The dose was not checked: "); ok {
		return "Dose not checked for " + name + ": " + why
	}
	return "Not fully checked: " + name + " — " + f.Explanation
}

// detailOf is a card's markdown: the order, what it conflicts with, the
// explanation and management, any advice, and the sources.
func (oc *orderCheck) detailOf(fc *findingContext, extra string) string {
	f := fc.finding
	var b strings.Builder
	b.WriteString("**Order:** " + describeOrder(&fc.draft.order) + " (" + fc.draft.ref + ")")
	if fc.with != "" {
		b.WriteString("\n\n**With:** " + fc.with)
	}
	b.WriteString("\n\n" + f.Explanation)
	if f.Detail != "" {
		b.WriteString(" (" + f.Detail + ")")
	}
	if f.Management != "" {
		b.WriteString("\n\n**Management:** " + f.Management)
	}
	if extra != "" {
		b.WriteString("\n\n" + extra)
	}
	b.WriteString("\n\n**Sources** (knowledge base " + f.Version + ", rule `" + f.Rule + "`):")
	for _, s := range f.Sources {
		b.WriteString("\n- " + s)
	}
	return b.String()
}

// sourceLabel cites the knowledge-base version and the ids of the sources a
// finding rests on ("fda-label: warfarin §7 …" is cited as fda-label).
func sourceLabel(version string, sources []string) string {
	var ids []string
	for _, s := range sources {
		id, _, _ := strings.Cut(s, ":")
		if id = strings.TrimSpace(id); id != "" && !slices.Contains(ids, id) {
			ids = append(ids, id)
		}
	}
	label := sourceMedicationKB + " " + version
	if len(ids) > 0 {
		label += " (" + strings.Join(ids, ", ") + ")"
	}
	return label
}

// noticeCard is a warning that part of the checks did not run.
func (oc *orderCheck) noticeCard(key, summary, detail string) cds.Card {
	return cds.Card{UUID: uuid.NewSHA1(oc.hookInstance, []byte(key)), Summary: cardSummary(summary), Detail: detail,
		Indicator: cds.IndicatorWarning, Source: cds.Source{Label: sourceMedicationKB + " " + oc.kb.Version()}}
}

// contextUnavailableCard says the checks could not run because the patient's
// record could not be read, naming the orders left unchecked.
func (oc *orderCheck) contextUnavailableCard() cds.Card {
	var b strings.Builder
	b.WriteString("The patient's allergies, active prescriptions, weight and renal function could not be read, so no interaction, allergy, duplicate or dose check ran on:")
	for _, i := range oc.targets {
		b.WriteString("\n- " + describeOrder(&oc.drafts[i].order) + " (" + oc.drafts[i].ref + ")")
	}
	if len(oc.targets) == 0 {
		b.WriteString("\n- (no draft medication order)")
	}
	b.WriteString("\n\nCheck the orders by hand, or try again shortly.")
	return oc.noticeCard("unread/context", "Medication checks could not run: the patient's record could not be read", b.String())
}

// drugSuggestions offer each candidate drug in place of a draft's
// unidentified one: the draft with its medication replaced.
func (oc *orderCheck) drugSuggestions(d *draftOrder, key string, candidates []medication.Candidate) []cds.Suggestion {
	if d.resource == nil {
		return nil
	}
	m := matcher{kb: oc.kb}
	var out []cds.Suggestion
	for _, cand := range candidates {
		rxcui := m.rxcui(cand.ID, cand.Product)
		concept := map[string]any{"text": cand.Name}
		label := "Order " + cand.Name
		if rxcui != "" {
			concept["coding"] = []any{map[string]any{"system": rxnormSystem, "code": rxcui, "display": cand.Name}}
			label += " (RxNorm " + rxcui + ")"
		}
		resource := copyResource(d.resource)
		resource["medicationCodeableConcept"] = concept
		out = append(out, cds.Suggestion{Label: label, UUID: uuid.NewSHA1(oc.hookInstance, []byte(key+"|suggest/"+cand.ID)),
			Actions: []cds.Action{{Type: cds.ActionUpdate, Description: "Order " + cand.Name + " in place of " +
				strconv.Quote(orderLabel(&d.order)) + ".", Resource: resource}}})
	}
	return out
}

// doseSuggestions offer the most per dose for this patient by the order's
// route, when the order is written in the rule's unit.
func (oc *orderCheck) doseSuggestions(d *draftOrder, key string, adv *medication.DoseAdvice) []cds.Suggestion {
	route, ok := medication.ParseRoute(d.order.Route)
	if !ok || d.resource == nil {
		return nil
	}
	for _, r := range adv.Ranges {
		if r.SingleMax <= 0 || !slices.Contains(r.Rule.Routes, route) || !strings.EqualFold(r.Unit, d.order.DoseUnit) {
			continue
		}
		resource := copyResource(d.resource)
		quantity := doseQuantityOf(resource)
		if quantity == nil {
			return nil
		}
		quantity["value"] = r.SingleMax
		amount := formatAmount(r.SingleMax) + " " + r.Unit
		return []cds.Suggestion{{Label: "Change the dose to " + amount, UUID: uuid.NewSHA1(oc.hookInstance, []byte(key+"|suggest/dose")),
			Actions: []cds.Action{{Type: cds.ActionUpdate, Description: "Give " + amount + " per dose, the most for this patient (" +
				r.Rule.Population + ").", Resource: resource}}}}
	}
	return nil
}

// copyResource is a deep copy of a resource as sent.
func copyResource(r map[string]any) map[string]any {
	raw, err := json.Marshal(r)
	if err != nil {
		return map[string]any{}
	}
	var out map[string]any
	_ = json.Unmarshal(raw, &out)
	return out
}

// doseQuantityOf is the first dosage instruction's dose quantity of a
// MedicationRequest, or nil.
func doseQuantityOf(r map[string]any) map[string]any {
	first := func(v any) map[string]any {
		list, _ := v.([]any)
		if len(list) == 0 {
			return nil
		}
		m, _ := list[0].(map[string]any)
		return m
	}
	dosage := first(r["dosageInstruction"])
	if dosage == nil {
		return nil
	}
	rate := first(dosage["doseAndRate"])
	if rate == nil {
		return nil
	}
	q, _ := rate["doseQuantity"].(map[string]any)
	return q
}

// adviceText is the dose advice for the patient, as markdown: the ranges for
// the order's route (every route when it is not understood), the renal
// band, and the age limits.
func adviceText(adv *medication.DoseAdvice, written string) string {
	route, known := medication.ParseRoute(written)
	var b strings.Builder
	b.WriteString("**Recommended for this patient** (knowledge base " + adv.Version + "):")
	n := 0
	for _, r := range adv.Ranges {
		if known && !slices.Contains(r.Rule.Routes, route) {
			continue
		}
		n++
		routes := make([]string, len(r.Rule.Routes))
		for i, rt := range r.Rule.Routes {
			routes[i] = string(rt)
		}
		b.WriteString("\n- " + r.Rule.Population + ", " + strings.Join(routes, "/") + ": " + rangeText(r))
		if r.Rule.Source != "" {
			b.WriteString(" — " + r.Rule.Source)
		}
	}
	if n == 0 {
		b.WriteString("\n- no dose rule of the knowledge base applies to this patient by this route")
	}
	if adv.Renal != nil {
		b.WriteString("\n- **Renal function:** " + formatNumber(adv.Renal.CrCl) + " mL/min (" + adv.Renal.Method + ")")
		for _, band := range adv.Renal.Bands {
			b.WriteString("; " + band.Rule.Advice + " — " + band.Rule.Source)
		}
	}
	for _, a := range adv.AgeLimits {
		b.WriteString("\n- **Age:** " + a.Advice + " — " + a.Source)
	}
	return b.String()
}

// rangeText is one range's limits for the patient.
func rangeText(r medication.DoseRange) string {
	var parts []string
	switch {
	case r.SingleMin > 0 && r.SingleMax > 0:
		parts = append(parts, formatAmount(r.SingleMin)+"–"+formatAmount(r.SingleMax)+" "+r.Unit+" per dose")
	case r.SingleMax > 0:
		parts = append(parts, "up to "+formatAmount(r.SingleMax)+" "+r.Unit+" per dose")
	}
	if r.DailyMax > 0 {
		parts = append(parts, "at most "+formatAmount(r.DailyMax)+" "+r.Unit+" a day")
	}
	if r.Rule.MinIntervalHours > 0 {
		parts = append(parts, "no more often than every "+formatNumber(r.Rule.MinIntervalHours)+" h")
	}
	if r.Rule.Frequency != "" {
		parts = append(parts, r.Rule.Frequency)
	}
	if len(parts) == 0 {
		return "limits not worked out (see what could not be checked)"
	}
	return strings.Join(parts, ", ")
}

// orderLabel names an order's drug as written.
func orderLabel(o *medication.Order) string {
	switch {
	case o.Name != "":
		return o.Name
	case o.Code != "":
		return "RxNorm " + o.Code
	}
	return "an order without a drug"
}

// describeOrder is an order in one line: drug, dose, route, frequency.
func describeOrder(o *medication.Order) string {
	parts := []string{orderLabel(o)}
	if o.Dose > 0 {
		parts = append(parts, formatAmount(o.Dose)+" "+o.DoseUnit)
	}
	if o.Route != "" {
		parts = append(parts, o.Route)
	}
	switch {
	case o.DosesPerDay == 1:
		parts = append(parts, "once a day")
	case o.DosesPerDay == 2:
		parts = append(parts, "twice a day")
	case o.DosesPerDay > 0 && o.DosesPerDay < 1:
		parts = append(parts, "every "+formatNumber(1/o.DosesPerDay)+" days")
	case o.DosesPerDay > 0:
		parts = append(parts, formatAmount(o.DosesPerDay)+" times a day")
	case o.Frequency != "":
		parts = append(parts, o.Frequency)
	}
	if o.PRN {
		parts = append(parts, "as needed")
	}
	return strings.Join(parts, " ")
}

// formatAmount writes a dose as card texts show it: at most three decimals.
func formatAmount(v float64) string {
	return strconv.FormatFloat(math.Round(v*1000)/1000, 'f', -1, 64)
}

// cardSummary fits s into a card summary: one line of at most
// cds.MaxSummaryLen characters, an overlong one ending in an ellipsis.
func cardSummary(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if utf8.RuneCountInString(s) <= cds.MaxSummaryLen {
		return s
	}
	r := []rune(s)
	return strings.TrimSpace(string(r[:cds.MaxSummaryLen-1])) + "…"
}

func capitalize(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}
