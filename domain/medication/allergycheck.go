package medication

import (
	"strings"

	"github.com/zarish-sphere/zarish/domain/allergy"
)

// rxnormSystem is the FHIR system of RxNorm codes.
const rxnormSystem = "http://www.nlm.nih.gov/research/umls/rxnorm"

// allergen is what an allergy record names: up to maxIngredients drugs (a
// product names its ingredients), or one group.
type allergen struct {
	group bool
	n     int
	idx   [maxIngredients]int32
}

// allergenOf finds what an allergy names: its RxNorm code, else its text as a
// drug, product or group name. The text may carry "allergy", "allergic to"
// or "allergy to" around the name.
func (kb *KB) allergenOf(a *Allergy) (allergen, bool) {
	if c := a.Substance.Code; c != nil && (c.System == rxnormSystem || c.System == "") {
		if con, ok := kb.codes[strings.TrimSpace(c.Code)]; ok {
			return kb.allergenFrom(con), true
		}
	}
	var buf [foldLen]byte
	key := fold(&buf, a.Substance.Text)
	for _, p := range []string{"allergy to ", "allergic to ", "allergy: "} {
		if hasPrefix(key, p) {
			key = key[len(p):]
		}
	}
	for _, s := range []string{" allergy", " allergies", " hypersensitivity", " intolerance"} {
		if hasSuffix(key, s) {
			key = key[:len(key)-len(s)]
		}
	}
	if g, ok := kb.allergyTerms[string(key)]; ok {
		return allergen{group: true, n: 1, idx: [maxIngredients]int32{g}}, true
	}
	if cs := kb.names[string(key)]; len(cs) == 1 {
		return kb.allergenFrom(cs[0]), true
	}
	return allergen{}, false
}

func (kb *KB) allergenFrom(c concept) allergen {
	r := kb.expand(c)
	return allergen{n: r.n, idx: r.ings}
}

// allergyAction is the worst action any rule gives for allergen al and
// ordered drug t, with the rule that gave it.
type allergyAction struct {
	action      Severity
	rule        string
	explanation string
	management  string
	sources     []string
}

var (
	sameSubstance = allergyAction{action: SeverityHold, rule: RuleAllergySame,
		explanation: "The patient is recorded as allergic to this drug.",
		management:  "Do not give. Choose an alternative, or have the allergy assessed (delabelling) first.",
		sources:     []string{srcAllergyReexposure}}
	sameClass = allergyAction{action: SeverityHold, rule: RuleAllergySameClass,
		explanation: "The patient is recorded as allergic to the class this drug belongs to.",
		management:  "Do not give. Choose a drug from another class, or have the allergy assessed first.",
		sources:     []string{srcAllergyReexposure}}
)

func (kb *KB) allergyActionFor(al *allergen, t int32, high bool) (allergyAction, bool) {
	best, found := allergyAction{}, false
	take := func(a allergyAction) {
		if !found || a.action.Rank() > best.action.Rank() {
			best, found = a, true
		}
	}
	for i := 0; i < al.n; i++ {
		if al.group && kb.drugGroups[t].has(al.idx[i]) {
			take(sameClass)
		}
		if !al.group && al.idx[i] == t {
			take(sameSubstance)
		}
	}
	if found && best.action == SeverityHold {
		return best, true
	}
	for ri := range kb.allergyRules {
		refs := &kb.allergyRefs[ri]
		if !kb.matches(refs[1], t) || !kb.allergenMatches(al, refs[0]) {
			continue
		}
		r := &kb.allergyRules[ri]
		act := r.Action
		if high && r.HighCriticality != "" {
			act = r.HighCriticality
		}
		take(allergyAction{action: act, rule: r.ID, explanation: r.Explanation, management: r.Management, sources: r.Sources})
	}
	return best, found
}

// allergenMatches reports whether a rule's allergen covers what the record
// names: the same drug, a drug of the rule's group, or a group within it.
func (kb *KB) allergenMatches(al *allergen, r ref) bool {
	for i := 0; i < al.n; i++ {
		switch {
		case al.group && r.group && kb.within[al.idx[i]].has(r.idx):
			return true
		case !al.group && kb.matches(r, al.idx[i]):
			return true
		}
	}
	return false
}

func (kb *KB) allergiesOf(out []Finding, r *resolved, allergies []Allergy) []Finding {
	for i := range allergies {
		a := &allergies[i]
		if !a.acted() {
			continue
		}
		al, ok := kb.allergenOf(a)
		if !ok {
			if a.Category == allergy.CategoryMedication || a.Category == allergy.CategoryBiologic || a.Category == "" {
				out = append(out, kb.unavailable(kb.drugs[r.ings[0]].ID, RuleUnknownAllergy, i, a.Substance.Text,
					"The allergy's substance is not in the knowledge base, so the order was not checked against it.",
					"Check the allergy against the order by hand, or record the substance by its RxNorm code."))
			}
			continue
		}
		for _, t := range r.ingredients() {
			act, ok := kb.allergyActionFor(&al, t, a.Criticality == allergy.CriticalityHigh)
			if !ok {
				continue
			}
			f := Finding{Kind: KindAllergy, Severity: act.action, Drug: kb.drugs[t].ID, Other: a.Substance.Text,
				OtherIndex: i, Rule: act.rule, Explanation: act.explanation, Management: act.management,
				Sources: act.sources, Version: kb.manifest.Version}
			unconfirmed := a.VerificationStatus == allergy.VerificationUnconfirmed || a.VerificationStatus == ""
			if a.Type == allergy.TypeIntolerance && f.Severity == SeverityHold {
				f.Severity = SeverityCaution
				f.Detail = detailIntolerance
				if unconfirmed {
					f.Detail = detailUnconfIntol
				}
			} else if unconfirmed {
				f.Detail = detailUnconfirmed
			}
			out = append(out, f)
		}
	}
	return out
}
