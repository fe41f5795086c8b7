package api

import (
	"errors"
	"fmt"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/gin-gonic/gin"

	"github.com/zarish-sphere/zarish/domain"
	"github.com/zarish-sphere/zarish/domain/audit"
	"github.com/zarish-sphere/zarish/domain/medication"
)

// Audit entity types of the medication check routes.
const (
	entityMedicationKnowledge = "MedicationKnowledge"
	entityDetectedIssue       = "DetectedIssue"
)

// CodeUnknownMedication: the medication a request names is one the knowledge
// base does not know, or a name that matches more than one drug; the answer
// lists the candidates (ErrorBody.Candidates).
const CodeUnknownMedication = "UNKNOWN_MEDICATION"

// The limits of the medication check routes' input; the OpenAPI document
// states the same ones.
const (
	maxDrugQueryLen      = 100
	maxDrugMatches       = 10
	minCheckMedications  = 2
	maxCheckMedications  = 50
	maxMedicationNameLen = 200
	maxRxCUILen          = 12
	maxIndicationLen     = 200
)

// The plausible ranges of a dose calculation's patient numbers.
const (
	maxWeightKg        = 500
	minHeightCm        = 20
	maxHeightCm        = 280
	maxAgeYears        = 130
	minCreatinineUmolL = 5
	maxCreatinineUmolL = 3000
)

// medicationRoutes serve /v1/medications: the knowledge base's versions, the
// drug search an order screen types into, and the checks and calculations
// that read nothing about a patient and store nothing.
type medicationRoutes struct {
	*edge
	// registry is nil when no knowledge base is loaded; the routes then
	// answer 503 rather than a check that did not run.
	registry *medication.Registry
}

func (s *medicationRoutes) routes() []Route {
	const scope = "system/MedicationRequest.read"
	return []Route{
		{http.MethodGet, "/v1/medications/knowledge-base", scope, entityMedicationKnowledge, s.knowledgeBase},
		{http.MethodGet, "/v1/medications/drugs", scope, entityMedicationKnowledge, s.searchDrugs},
		{http.MethodPost, "/v1/medications/interactions/check", scope, entityDetectedIssue, s.checkInteractions},
		{http.MethodPost, "/v1/medications/dosage/calculate", scope, entityMedicationKnowledge, s.calculateDose},
	}
}

// active is the knowledge-base version checks use; without one it answers 503.
func (s *medicationRoutes) active(c *gin.Context) (*medication.KB, bool) {
	if s.registry == nil {
		abort(c, http.StatusServiceUnavailable, CodeUnavailable, "The medication knowledge base is not loaded; no check can run.")
		return nil, false
	}
	return s.registry.Active(), true
}

// KnowledgeBaseAnswer is every loaded knowledge-base version, which one the
// checks use, and what each holds and cites.
type KnowledgeBaseAnswer struct {
	Active   string               `json:"active"`
	Versions []medication.Summary `json:"versions"`
}

// knowledgeBase serves GET /v1/medications/knowledge-base.
func (s *medicationRoutes) knowledgeBase(c *gin.Context) {
	auditOf(c).about(audit.ActionRead, entityMedicationKnowledge, "", nil)
	kb, ok := s.active(c)
	if !ok {
		return
	}
	c.JSON(http.StatusOK, KnowledgeBaseAnswer{Active: kb.Version(), Versions: s.registry.Summaries()})
}

// DrugMatch is one drug or combination product a search found.
type DrugMatch struct {
	ID      string `json:"id"`
	Name    string `json:"name"`
	RxCUI   string `json:"rxcui,omitempty"`
	Product bool   `json:"product,omitempty"`
	// Ingredients are the ids of the drugs an order for it is checked as.
	Ingredients []string `json:"ingredients"`
	// Groups are the classes and effect groups the rules name it by; a
	// product's are its ingredients'.
	Groups []string `json:"groups"`
	// Matched is the name, synonym, brand or code the query matched.
	Matched string `json:"matched"`
}

// The ways a drug search can match.
const (
	matchExact     = "exact"     // the query names one drug or product
	matchAmbiguous = "ambiguous" // the query names several; data are all of them
	matchNear      = "near"      // no drug has the name; data begin like it or are spelt close to it
	matchNone      = "none"
)

// DrugSearchAnswer is the answer to a drug search.
type DrugSearchAnswer struct {
	Version string      `json:"version"`
	Query   string      `json:"query"`
	Match   string      `json:"match"`
	Data    []DrugMatch `json:"data"`
}

// searchDrugs serves GET /v1/medications/drugs?q=&limit=: the drug an
// RxNorm code, name, synonym or brand names, or the drugs the text may have
// meant as it is typed (from three characters on), closest first.
func (s *medicationRoutes) searchDrugs(c *gin.Context) {
	verr := &domain.ValidationError{}
	onlyParams(c, verr, "q", "limit")
	q := strings.TrimSpace(c.Query("q"))
	switch {
	case q == "":
		verr.Add("q", "is required: a drug's name, synonym, brand or RxNorm code")
	case utf8.RuneCountInString(q) > maxDrugQueryLen:
		verr.Add("q", fmt.Sprintf("must be at most %d characters", maxDrugQueryLen))
	}
	limit := limitParam(c, verr, maxDrugMatches, maxDrugMatches)
	if err := verr.OrNil(); err != nil {
		s.fail(c, err)
		return
	}
	auditOf(c).about(audit.ActionSearch, entityMedicationKnowledge, "", nil)
	kb, ok := s.active(c)
	if !ok {
		return
	}
	answer := DrugSearchAnswer{Version: kb.Version(), Query: q, Match: matchNone, Data: []DrugMatch{}}
	m := matcher{kb: kb}
	r, err := kb.Resolve(q, q)
	var re *medication.ResolveError
	switch {
	case err == nil:
		answer.Match = matchExact
		answer.Data = append(answer.Data, m.match(r.ID, r.Product, q))
	case errors.As(err, &re):
		if len(re.Candidates) > 0 {
			answer.Match = matchNear
			if errors.Is(err, medication.ErrAmbiguousDrug) {
				answer.Match = matchAmbiguous
			}
		}
		for _, cand := range re.Candidates {
			if len(answer.Data) == limit {
				break
			}
			answer.Data = append(answer.Data, m.match(cand.ID, cand.Product, cand.Matched))
		}
	default:
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, answer)
}

// matcher describes drugs and products of one knowledge-base version; it
// reads the product table only when a product is asked for.
type matcher struct {
	kb       *medication.KB
	products []medication.Product
}

func (m *matcher) match(id string, product bool, matched string) DrugMatch {
	if !product {
		d, _ := m.kb.Drug(id)
		return DrugMatch{ID: d.ID, Name: d.Name, RxCUI: d.RxCUI, Ingredients: []string{d.ID},
			Groups: nonNil(d.Groups), Matched: matched}
	}
	if m.products == nil {
		m.products = m.kb.Products()
	}
	out := DrugMatch{ID: id, Product: true, Ingredients: []string{}, Groups: []string{}, Matched: matched}
	if i := slices.IndexFunc(m.products, func(p medication.Product) bool { return p.ID == id }); i >= 0 {
		p := m.products[i]
		out.Name, out.RxCUI = p.Name, p.RxCUI
		for _, ing := range p.Ingredients {
			out.Ingredients = append(out.Ingredients, ing.Drug)
			d, _ := m.kb.Drug(ing.Drug)
			for _, g := range d.Groups {
				if !slices.Contains(out.Groups, g) {
					out.Groups = append(out.Groups, g)
				}
			}
		}
	}
	return out
}

// rxcui is the RxNorm code of a drug or product, "" when it has none.
func (m *matcher) rxcui(id string, product bool) string {
	return m.match(id, product, "").RxCUI
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// medicationRef names one medication by its RxNorm code or its name.
type medicationRef struct {
	Code string `json:"code"`
	Name string `json:"name"`
}

// interactionsBody is POST /v1/medications/interactions/check.
type interactionsBody struct {
	Medications []medicationRef `json:"medications"`
}

// InteractionCheck is every interacting pair among a list of medications.
// Complete is false when a medication could not be identified: its
// interactions were not checked, and Unidentified says which it is and what
// it may have meant.
type InteractionCheck struct {
	Version      string                   `json:"version"`
	Complete     bool                     `json:"complete"`
	Medications  []CheckedMedication      `json:"medications"`
	Pairs        []InteractionPairView    `json:"pairs"`
	Unidentified []UnidentifiedMedication `json:"unidentified"`
}

// CheckedMedication is one medication of the list and what it resolved to
// (nil when it did not).
type CheckedMedication struct {
	Index int                    `json:"index"`
	Code  string                 `json:"code,omitempty"`
	Name  string                 `json:"name,omitempty"`
	Drug  *medication.Resolution `json:"drug"`
}

// InteractionPairView is one interacting pair: the medications' indexes, the
// interacting ingredients, the finding, and the rule's mechanism and effect.
type InteractionPairView struct {
	medication.InteractionPair
	Mechanism string `json:"mechanism,omitempty"`
	Effect    string `json:"effect,omitempty"`
	// ONC marks an interaction of the ONC high-priority list.
	ONC bool `json:"onc,omitempty"`
}

// UnidentifiedMedication is a medication of the list the knowledge base
// could not identify, why, and the drugs it may have meant.
type UnidentifiedMedication struct {
	Index int    `json:"index"`
	Code  string `json:"code,omitempty"`
	Name  string `json:"name,omitempty"`
	// Reason is unknown (no drug has the name or code) or ambiguous (the
	// name matches several).
	Reason     string                 `json:"reason"`
	Candidates []medication.Candidate `json:"candidates"`
	Finding    medication.Finding     `json:"finding"`
}

// The reasons a medication is unidentified.
const (
	reasonUnknown   = "unknown"
	reasonAmbiguous = "ambiguous"
)

// checkInteractions serves POST /v1/medications/interactions/check: every
// interacting pair among 2 to 50 medications, each pair once, by the active
// knowledge-base version. A medication it cannot identify is reported with
// its candidates, and the check is then not complete.
func (s *medicationRoutes) checkInteractions(c *gin.Context) {
	var b interactionsBody
	if readJSON(c, &b) == nil {
		return
	}
	verr := &domain.ValidationError{}
	switch n := len(b.Medications); {
	case b.Medications == nil:
		verr.Add("medications", "is required: the medications to check, by code or name")
	case n < minCheckMedications || n > maxCheckMedications:
		verr.Add("medications", fmt.Sprintf("must list from %d to %d medications", minCheckMedications, maxCheckMedications))
	}
	meds := make([]medication.Order, 0, len(b.Medications))
	for i, m := range b.Medications {
		o, ok := checkedRef(verr, "medications["+strconv.Itoa(i)+"]", m)
		if ok {
			meds = append(meds, o)
		}
	}
	if err := verr.OrNil(); err != nil {
		s.fail(c, err)
		return
	}
	auditOf(c).about(audit.ActionRead, entityDetectedIssue, "", nil)
	kb, ok := s.active(c)
	if !ok {
		return
	}
	rep := kb.CheckInteractions(meds)
	answer := InteractionCheck{Version: rep.Version, Complete: len(rep.Unavailable) == 0,
		Medications: make([]CheckedMedication, len(meds)), Pairs: make([]InteractionPairView, 0, len(rep.Pairs)),
		Unidentified: make([]UnidentifiedMedication, 0, len(rep.Unavailable))}
	unavailable := map[int]medication.Finding{}
	for _, f := range rep.Unavailable {
		unavailable[f.OtherIndex] = f
	}
	for i, m := range meds {
		answer.Medications[i] = CheckedMedication{Index: i, Code: m.Code, Name: m.Name}
		r, err := kb.Resolve(m.Code, m.Name)
		if err == nil {
			answer.Medications[i].Drug = &r
			continue
		}
		f, found := unavailable[i]
		if !found {
			continue
		}
		u := UnidentifiedMedication{Index: i, Code: m.Code, Name: m.Name, Reason: reasonUnknown,
			Candidates: []medication.Candidate{}, Finding: f}
		var re *medication.ResolveError
		if errors.As(err, &re) {
			u.Candidates = nonNil(re.Candidates)
		}
		if errors.Is(err, medication.ErrAmbiguousDrug) {
			u.Reason = reasonAmbiguous
		}
		answer.Unidentified = append(answer.Unidentified, u)
	}
	for _, p := range rep.Pairs {
		v := InteractionPairView{InteractionPair: p}
		if rules := kb.InteractionRules(p.DrugA, p.DrugB); len(rules) > 0 && rules[0].ID == p.Rule {
			v.Mechanism, v.Effect, v.ONC = rules[0].Mechanism, rules[0].Effect, rules[0].ONC
		}
		answer.Pairs = append(answer.Pairs, v)
	}
	c.JSON(http.StatusOK, answer)
}

// checkedRef validates one medication of a list, reporting its fields
// under field (medications[i]).
func checkedRef(verr *domain.ValidationError, field string, m medicationRef) (medication.Order, bool) {
	code, name := strings.TrimSpace(m.Code), strings.TrimSpace(m.Name)
	ok := true
	switch {
	case code == "" && name == "":
		verr.Add(field, "needs a code (RxNorm) or a name")
		return medication.Order{}, false
	case code != "" && !isRxCUI(code):
		verr.Add(field+".code", fmt.Sprintf("must be an RxNorm code: digits only, at most %d", maxRxCUILen))
		ok = false
	}
	if utf8.RuneCountInString(name) > maxMedicationNameLen {
		verr.Add(field+".name", fmt.Sprintf("must be at most %d characters", maxMedicationNameLen))
		ok = false
	}
	return medication.Order{Code: code, Name: name}, ok
}

// isRxCUI reports whether s has the form of an RxNorm concept id.
func isRxCUI(s string) bool {
	if s == "" || len(s) > maxRxCUILen {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// dosageBody is POST /v1/medications/dosage/calculate: the drug and the
// patient's numbers. heightCm (for surface-area rules and a child's renal
// function) and creatinineMicromolL (for renal adjustment) may be left out.
type dosageBody struct {
	Medication          string   `json:"medication"`
	Indication          string   `json:"indication"`
	WeightKg            *float64 `json:"weightKg"`
	HeightCm            *float64 `json:"heightCm"`
	AgeYears            *float64 `json:"ageYears"`
	Sex                 string   `json:"sex"`
	CreatinineMicromolL *float64 `json:"creatinineMicromolL"`
}

// The sexes a dose calculation accepts; Cockcroft–Gault needs female or male.
var dosageSexes = []string{"female", "male", "other", "unknown"}

// calculateDose serves POST /v1/medications/dosage/calculate: the dose
// ranges that apply to the patient for every route, the lowest daily
// maximum, the renal band the creatinine clearance falls in, age limits and
// hepatic cautions, each with the rule's source; nothing is stored. What
// could not be worked out is listed in unavailable.
func (s *medicationRoutes) calculateDose(c *gin.Context) {
	var b dosageBody
	if readJSON(c, &b) == nil {
		return
	}
	verr := &domain.ValidationError{}
	drug := strings.TrimSpace(b.Medication)
	switch {
	case drug == "":
		verr.Add("medication", "is required: the drug's name, synonym, brand or RxNorm code")
	case utf8.RuneCountInString(drug) > maxMedicationNameLen:
		verr.Add("medication", fmt.Sprintf("must be at most %d characters", maxMedicationNameLen))
	}
	indication := strings.TrimSpace(b.Indication)
	if utf8.RuneCountInString(indication) > maxIndicationLen {
		verr.Add("indication", fmt.Sprintf("must be at most %d characters", maxIndicationLen))
	}
	weight := patientNumber(verr, "weightKg", b.WeightKg, true, 0, false, maxWeightKg, "kg")
	height := patientNumber(verr, "heightCm", b.HeightCm, false, minHeightCm, true, maxHeightCm, "cm")
	age := patientNumber(verr, "ageYears", b.AgeYears, true, 0, false, maxAgeYears, "years")
	sex := strings.TrimSpace(b.Sex)
	switch {
	case sex == "":
		verr.Add("sex", "is required: "+strings.Join(dosageSexes, ", "))
	case !slices.Contains(dosageSexes, sex):
		verr.Add("sex", "must be one of "+strings.Join(dosageSexes, ", "))
	}
	creatinine := patientNumber(verr, "creatinineMicromolL", b.CreatinineMicromolL, false, minCreatinineUmolL, true, maxCreatinineUmolL, "µmol/L")
	if err := verr.OrNil(); err != nil {
		s.fail(c, err)
		return
	}
	auditOf(c).about(audit.ActionRead, entityMedicationKnowledge, "", nil)
	kb, ok := s.active(c)
	if !ok {
		return
	}
	adv, err := kb.CalculateDose(drug, indication, weight, height, age, medication.Sex(sex), creatinine)
	var re *medication.ResolveError
	switch {
	case errors.As(err, &re):
		msg := "is not a drug the knowledge base knows"
		if errors.Is(err, medication.ErrAmbiguousDrug) {
			msg = "matches more than one drug; name one of the candidates"
		}
		c.AbortWithStatusJSON(http.StatusUnprocessableEntity, ErrorBody{Error: CodeUnknownMedication, RequestID: requestID(c),
			Message:    "The medication could not be identified, so no dose was calculated.",
			Details:    []domain.FieldError{{Field: "medication", Message: msg}},
			Candidates: re.Candidates})
		return
	case err != nil:
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, adv)
}

// patientNumber reads one of a calculation's numbers: required or not, above
// low (or at least low when inclusive) and at most high. An absent optional
// number is 0, which the calculations read as unknown.
func patientNumber(verr *domain.ValidationError, field string, v *float64, required bool, low float64, inclusive bool, high float64, unit string) float64 {
	if v == nil {
		if required {
			verr.Add(field, "is required, in "+unit)
		}
		return 0
	}
	above := *v > low
	bound := "more than"
	if inclusive {
		above, bound = *v >= low, "at least"
	}
	if !above || *v > high {
		verr.Add(field, fmt.Sprintf("must be %s %s and at most %s %s", bound, formatNumber(low), formatNumber(high), unit))
		return 0
	}
	return *v
}

// formatNumber writes a number as the card and message texts show it: at
// most one decimal.
func formatNumber(v float64) string {
	return strconv.FormatFloat(math.Round(v*10)/10, 'f', -1, 64)
}
