package medication

import (
	"errors"
	"slices"
	"strings"
)

// Result is everything the checks found for one new order.
type Result struct {
	// Version is the knowledge-base version the checks ran against.
	Version string `json:"version"`
	// Drug is what the order resolved to; nil when it did not resolve.
	Drug *Resolution `json:"drug,omitempty"`
	// Candidates are the drugs an unknown or ambiguous order may have meant.
	Candidates []Candidate `json:"candidates,omitempty"`
	// Findings are worst first; a check that could not run is one of them.
	Findings []Finding `json:"findings"`
}

// Worst is the worst severity among the findings, or SeverityNone.
func (r Result) Worst() Severity {
	w := SeverityNone
	for _, f := range r.Findings {
		if f.Severity.Rank() > w.Rank() {
			w = f.Severity
		}
	}
	return w
}

// The rule ids of the checks that are not knowledge-base entries.
const (
	RuleUnknownDrug       = "unavailable-unknown-drug"
	RuleUnknownActive     = "unavailable-unknown-active-medication"
	RuleUnknownAllergy    = "unavailable-unknown-allergen"
	RuleSameIngredient    = "duplicate-same-ingredient"
	RuleAllergySame       = "allergy-same-substance"
	RuleAllergySameClass  = "allergy-same-class"
	srcEngineDuplicate    = "engine: duplicate-therapy convention — the same ingredient twice is flagged major, two members of a duplicate class at the class's severity"
	srcEngineUnavailable  = "engine: a check that cannot run is reported, never passed silently"
	srcAllergyReexposure  = "aaaai-2022: avoid the drug, or drug class, that caused the reaction unless it has been delabelled"
	detailUnconfirmed     = "the allergy record is unconfirmed"
	detailIntolerance     = "recorded as an intolerance (not immune-mediated): hold lowered to caution"
	detailUnconfIntol     = "the allergy record is an unconfirmed intolerance: hold lowered to caution"
	explainSameIngredient = "The same ingredient is already among the patient's active medications."
)

// activeStack is how many active medications are resolved without allocating.
const activeStack = 32

// Check runs every check on a new order for the patient: interactions with
// the active medications, allergies, duplicate therapy and dose. It never
// fails: an order it cannot check gives check-unavailable findings.
func (kb *KB) Check(o Order, p Patient) Result {
	res := Result{Version: kb.manifest.Version, Findings: make([]Finding, 0, 8)}
	r, err := kb.resolve(o.Code, o.Name, true)
	if err != nil {
		var re *ResolveError
		reason := ErrUnknownDrug
		if errors.As(err, &re) {
			res.Candidates, reason = re.Candidates, re.Reason
		}
		res.Findings = append(res.Findings, kb.unavailable("", RuleUnknownDrug, -1, orderName(&o),
			"The drug could not be identified ("+reason.Error()+"), so no interaction, allergy, duplicate or dose check ran.",
			"Choose one of the candidates, or enter the drug by its RxNorm code."))
		return res
	}
	d := kb.resolution(&r)
	res.Drug = &d

	var stack [activeStack]resolved
	active := stack[:0]
	if len(p.ActiveMedications) > activeStack {
		active = make([]resolved, 0, len(p.ActiveMedications))
	}
	for j := range p.ActiveMedications {
		a := &p.ActiveMedications[j]
		ar, err := kb.resolve(a.Code, a.Name, false)
		if err != nil {
			ar = resolved{product: -1}
			res.Findings = append(res.Findings, kb.unavailable(kb.drugs[r.ings[0]].ID, RuleUnknownActive, j, orderName(a),
				"An active medication could not be identified, so interactions and duplicates with it were not checked.",
				"Record the active medication by its RxNorm code or a known name."))
		}
		active = append(active, ar)
	}
	res.Findings = kb.interactionsWith(res.Findings, &r, active)
	res.Findings = kb.duplicatesWith(res.Findings, &r, active, p.ActiveMedications)
	res.Findings = kb.allergiesOf(res.Findings, &r, p.Allergies)
	res.Findings = kb.checkDose(res.Findings, &o, &r, &p, active)
	slices.SortStableFunc(res.Findings, func(a, b Finding) int { return order(b) - order(a) })
	return res
}

// order sorts findings: do-not-give first, checks that could not run beside
// moderate findings.
func order(f Finding) int {
	if f.Kind == KindUnavailable {
		return SeverityModerate.Rank()
	}
	return f.Severity.Rank()
}

func orderName(o *Order) string {
	if o.Name != "" {
		return o.Name
	}
	return o.Code
}

func (kb *KB) unavailable(drug, rule string, other int, otherName, explanation, management string) Finding {
	return Finding{Kind: KindUnavailable, Drug: drug, Other: otherName, OtherIndex: other, Rule: rule,
		Explanation: explanation, Management: management, Sources: []string{srcEngineUnavailable},
		Version: kb.manifest.Version}
}

// interactionFinding is the finding of the worst rule for drugs a and b.
func (kb *KB) interactionFinding(a, b int32, other int) (Finding, bool) {
	at := kb.pair[int(a)*len(kb.drugs)+int(b)]
	if at < 0 {
		return Finding{}, false
	}
	rules := kb.pairRules[at]
	in := &kb.interactions[rules[0]]
	f := Finding{Kind: KindInteraction, Severity: in.Severity, Drug: kb.drugs[a].ID, Other: kb.drugs[b].Name,
		OtherIndex: other, Rule: in.ID, Explanation: kb.explain[rules[0]], Management: in.Management,
		Sources: in.Sources, Version: kb.manifest.Version}
	if len(rules) > 1 {
		f.Detail = kb.alsoMatched(rules[1:])
	}
	return f, true
}

// alsoMatched names the other rules a pair matches; it allocates, but only
// for pairs several rules cover.
func (kb *KB) alsoMatched(rules []int32) string {
	var b strings.Builder
	b.WriteString("also matches ")
	for i, r := range rules {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(kb.interactions[r].ID)
	}
	return b.String()
}

func (kb *KB) interactionsWith(out []Finding, r *resolved, active []resolved) []Finding {
	for j := range active {
		for _, b := range active[j].ingredients() {
			for _, a := range r.ingredients() {
				if f, ok := kb.interactionFinding(a, b, j); ok {
					out = append(out, f)
				}
			}
		}
	}
	return out
}

func (kb *KB) duplicatesWith(out []Finding, r *resolved, active []resolved, orders []Order) []Finding {
	for j := range active {
		for _, b := range active[j].ingredients() {
			for _, a := range r.ingredients() {
				if a == b {
					out = append(out, Finding{Kind: KindDuplicate, Severity: SeverityMajor, Drug: kb.drugs[a].ID,
						Other: orderName(&orders[j]), OtherIndex: j, Rule: RuleSameIngredient, Explanation: explainSameIngredient,
						Management: "Stop one of the two orders, or confirm the total dose is intended.",
						Sources:    []string{srcEngineDuplicate}, Version: kb.manifest.Version})
					continue
				}
				shared := kb.dupGroups[a].and(&kb.dupGroups[b])
				if shared.empty() {
					continue
				}
				g := kb.worstGroup(&shared)
				grp := &kb.groups[g]
				out = append(out, Finding{Kind: KindDuplicate, Severity: grp.Duplicate, Drug: kb.drugs[a].ID,
					Other: kb.drugs[b].Name, OtherIndex: j, Rule: kb.dupRule[g], Explanation: kb.dupExplain[g],
					Management: "Confirm both are intended (e.g. a planned switch); otherwise stop one.",
					Sources:    grp.Sources, Version: kb.manifest.Version})
			}
		}
	}
	return out
}

// worstGroup is the group of m with the worst duplicate severity.
func (kb *KB) worstGroup(m *mask) int32 {
	best := int32(-1)
	for g := range kb.groups {
		if m.has(int32(g)) && (best < 0 || kb.groups[g].Duplicate.Rank() > kb.groups[best].Duplicate.Rank()) {
			best = int32(g)
		}
	}
	return best
}

// InteractionPair is one interacting pair among a list of medications.
type InteractionPair struct {
	// A and B are the indexes of the two medications in the list.
	A int `json:"a"`
	B int `json:"b"`
	// DrugA and DrugB are the interacting ingredients.
	DrugA string `json:"drugA"`
	DrugB string `json:"drugB"`
	Finding
}

// InteractionReport is every interacting pair among a list of medications.
type InteractionReport struct {
	Version string            `json:"version"`
	Pairs   []InteractionPair `json:"pairs"`
	// Unavailable names the medications that could not be identified.
	Unavailable []Finding `json:"unavailable,omitempty"`
}

// CheckInteractions finds every interacting pair among meds, each pair once.
func (kb *KB) CheckInteractions(meds []Order) InteractionReport {
	rep := InteractionReport{Version: kb.manifest.Version, Pairs: []InteractionPair{}}
	rs := make([]resolved, len(meds))
	for i := range meds {
		r, err := kb.resolve(meds[i].Code, meds[i].Name, false)
		if err != nil {
			r = resolved{product: -1}
			rep.Unavailable = append(rep.Unavailable, kb.unavailable("", RuleUnknownActive, i, orderName(&meds[i]),
				"The medication could not be identified, so its interactions were not checked.",
				"Record it by its RxNorm code or a known name."))
		}
		rs[i] = r
	}
	for i := range rs {
		for j := i + 1; j < len(rs); j++ {
			for _, a := range rs[i].ingredients() {
				for _, b := range rs[j].ingredients() {
					if f, ok := kb.interactionFinding(a, b, j); ok {
						rep.Pairs = append(rep.Pairs, InteractionPair{A: i, B: j, DrugA: kb.drugs[a].ID,
							DrugB: kb.drugs[b].ID, Finding: f})
					}
				}
			}
		}
	}
	return rep
}

// InteractionRules lists every interaction rule that covers two drugs (by
// id), worst and most specific first; the first is the one a check reports.
func (kb *KB) InteractionRules(drugA, drugB string) []Interaction {
	a, okA := kb.drugIdx[drugA]
	b, okB := kb.drugIdx[drugB]
	if !okA || !okB {
		return nil
	}
	at := kb.pair[int(a)*len(kb.drugs)+int(b)]
	if at < 0 {
		return nil
	}
	out := make([]Interaction, len(kb.pairRules[at]))
	for i, r := range kb.pairRules[at] {
		out[i] = kb.interactions[r]
	}
	return out
}
