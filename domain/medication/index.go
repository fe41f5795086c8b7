package medication

import (
	"slices"
	"strings"
)

// maskWords is the size of the group-membership bitsets, in 64-bit words.
const maskWords = 4

// maxIngredients is the most ingredients one product may have.
const maxIngredients = 4

// mask is a set of groups.
type mask [maskWords]uint64

func (m *mask) set(i int32)      { m[i/64] |= 1 << (uint(i) % 64) }
func (m *mask) has(i int32) bool { return m[i/64]&(1<<(uint(i)%64)) != 0 }
func (m *mask) and(o *mask) mask { return mask{m[0] & o[0], m[1] & o[1], m[2] & o[2], m[3] & o[3]} }
func (m *mask) empty() bool      { return m[0]|m[1]|m[2]|m[3] == 0 }

// conceptKind says what a name or code resolves to.
type conceptKind uint8

const (
	conceptDrug conceptKind = iota
	conceptProduct
	conceptGroup
)

// concept is a drug, product or group by index.
type concept struct {
	kind conceptKind
	idx  int32
}

// ref is a rule's drug or group, by index.
type ref struct {
	group bool
	idx   int32
}

// KB is one loaded, indexed version of the knowledge base. It is read-only
// and safe for concurrent use.
type KB struct {
	manifest     manifest
	drugs        []Drug
	products     []Product
	groups       []Group
	interactions []Interaction
	allergyRules []AllergyRule
	doses        []DoseProfile

	drugIdx    map[string]int32
	groupIdx   map[string]int32
	productIdx map[string]int32
	// names maps every folded name, synonym and brand to what it names.
	names map[string][]concept
	// codes maps RxNorm CUIs to drugs and products.
	codes map[string]concept
	// allergyTerms maps the folded texts that name a whole group.
	allergyTerms map[string]int32
	// keys are the folded names, for suggesting candidates.
	keys []string

	drugGroups []mask    // the groups of each drug
	dupGroups  []mask    // the duplicate-therapy groups of each drug
	groupDrugs [][]int32 // the members of each group
	// within[g] holds the groups whose members include all of g's.
	within []mask

	// pair[a*n+b] indexes pairRules for drugs a and b, or is -1.
	pair      []int32
	pairRules [][]int32
	explain   []string // per interaction: effect and mechanism
	dose      []int32  // per drug: index in doses, or -1
	doseSrc   []profileSources

	dupRule    []string // per group: the rule id of its duplicate finding
	dupExplain []string // per group: the explanation of its duplicate finding

	allergyRefs [][2]ref // per allergy rule: allergen, target
	counts      Counts
}

// build indexes validated tables.
func build(t *tables) *KB {
	kb := &KB{manifest: t.manifest, drugs: t.drugs, products: t.products, groups: t.groups,
		interactions: t.interactions, allergyRules: t.allergyRules, doses: t.doses,
		drugIdx: map[string]int32{}, groupIdx: map[string]int32{}, productIdx: map[string]int32{},
		names: map[string][]concept{}, codes: map[string]concept{}, allergyTerms: map[string]int32{}}
	kb.dupRule = make([]string, len(kb.groups))
	kb.dupExplain = make([]string, len(kb.groups))
	for i, g := range kb.groups {
		kb.groupIdx[g.ID] = int32(i)
		kb.dupRule[i] = "duplicate-" + g.ID
		kb.dupExplain[i] = "Both drugs are " + g.Name + ": duplicate therapy."
		for _, term := range g.AllergyTerms {
			kb.allergyTerms[foldString(term)] = int32(i)
		}
	}
	n := len(kb.drugs)
	kb.drugGroups = make([]mask, n)
	kb.dupGroups = make([]mask, n)
	kb.groupDrugs = make([][]int32, len(kb.groups))
	for i := range kb.drugs {
		d := &kb.drugs[i]
		kb.drugIdx[d.ID] = int32(i)
		kb.codes[d.RxCUI] = concept{conceptDrug, int32(i)}
		for _, g := range d.Groups {
			gi := kb.groupIdx[g]
			kb.drugGroups[i].set(gi)
			if kb.groups[gi].Duplicate != "" {
				kb.dupGroups[i].set(gi)
			}
			kb.groupDrugs[gi] = append(kb.groupDrugs[gi], int32(i))
		}
		c := concept{conceptDrug, int32(i)}
		kb.addName(d.ID, c)
		kb.addName(d.Name, c)
		for _, s := range d.Synonyms {
			kb.addName(s, c)
		}
		for _, s := range d.Brands {
			kb.addName(s, c)
		}
	}
	for i := range kb.products {
		p := &kb.products[i]
		kb.productIdx[p.ID] = int32(i)
		c := concept{conceptProduct, int32(i)}
		if p.RxCUI != "" {
			kb.codes[p.RxCUI] = c
		}
		kb.addName(p.ID, c)
		kb.addName(p.Name, c)
		for _, s := range p.Synonyms {
			kb.addName(s, c)
		}
		for _, s := range p.Brands {
			kb.addName(s, c)
		}
	}
	for k := range kb.names {
		kb.keys = append(kb.keys, k)
	}
	slices.Sort(kb.keys)

	kb.within = make([]mask, len(kb.groups))
	for g := range kb.groups {
		for h := range kb.groups {
			if subset(kb.groupDrugs[g], kb.drugGroups, int32(h)) {
				kb.within[g].set(int32(h))
			}
		}
	}

	kb.indexInteractions(n)
	kb.allergyRefs = make([][2]ref, len(kb.allergyRules))
	for i, r := range kb.allergyRules {
		kb.allergyRefs[i] = [2]ref{kb.ref(r.Allergen), kb.ref(r.Target)}
	}
	kb.dose = make([]int32, n)
	for i := range kb.dose {
		kb.dose[i] = -1
	}
	kb.doseSrc = make([]profileSources, len(kb.doses))
	for i, d := range kb.doses {
		kb.dose[kb.drugIdx[d.Drug]] = int32(i)
		kb.doseSrc[i] = sourcesOf(&d)
	}
	kb.counts = kb.count()
	return kb
}

// subset reports whether every member has group h.
func subset(members []int32, groups []mask, h int32) bool {
	for _, d := range members {
		if !groups[d].has(h) {
			return false
		}
	}
	return true
}

// addName indexes a folded name, once per concept.
func (kb *KB) addName(name string, c concept) {
	k := foldString(name)
	if k == "" || slices.Contains(kb.names[k], c) {
		return
	}
	kb.names[k] = append(kb.names[k], c)
}

// ref resolves a validated "drug:" or "group:" reference.
func (kb *KB) ref(s string) ref {
	kind, id, _ := strings.Cut(s, ":")
	if kind == "group" {
		return ref{group: true, idx: kb.groupIdx[id]}
	}
	return ref{idx: kb.drugIdx[id]}
}

// members lists the drugs a reference names.
func (kb *KB) members(r ref) []int32 {
	if r.group {
		return kb.groupDrugs[r.idx]
	}
	return []int32{r.idx}
}

// matches reports whether drug d is, or is a member of, r.
func (kb *KB) matches(r ref, d int32) bool {
	if r.group {
		return kb.drugGroups[d].has(r.idx)
	}
	return r.idx == d
}

// indexInteractions expands every rule to the drug pairs it covers, and
// orders each pair's rules worst first, then most specific first.
func (kb *KB) indexInteractions(n int) {
	kb.pair = make([]int32, n*n)
	for i := range kb.pair {
		kb.pair[i] = -1
	}
	kb.explain = make([]string, len(kb.interactions))
	add := func(a, b int32, rule int32) {
		at := int(a)*n + int(b)
		if kb.pair[at] < 0 {
			kb.pair[at] = int32(len(kb.pairRules))
			kb.pairRules = append(kb.pairRules, nil)
		}
		rs := &kb.pairRules[kb.pair[at]]
		if !slices.Contains(*rs, rule) {
			*rs = append(*rs, rule)
		}
	}
	for i, in := range kb.interactions {
		kb.explain[i] = in.Effect + " " + in.Mechanism
		ra, rb := kb.ref(in.A), kb.ref(in.B)
		for _, a := range kb.members(ra) {
			for _, b := range kb.members(rb) {
				if a != b {
					add(a, b, int32(i))
					add(b, a, int32(i))
				}
			}
		}
	}
	for _, rs := range kb.pairRules {
		slices.SortStableFunc(rs, func(x, y int32) int {
			a, b := &kb.interactions[x], &kb.interactions[y]
			if d := b.Severity.Rank() - a.Severity.Rank(); d != 0 {
				return d
			}
			return specificity(b) - specificity(a)
		})
	}
}

// specificity ranks drug–drug rules above drug–group above group–group.
func specificity(in *Interaction) int {
	s := 0
	if strings.HasPrefix(in.A, "drug:") {
		s++
	}
	if strings.HasPrefix(in.B, "drug:") {
		s++
	}
	return s
}

func (kb *KB) count() Counts {
	c := Counts{Drugs: len(kb.drugs), Products: len(kb.products), Groups: len(kb.groups),
		Interactions: len(kb.interactions), AllergyRules: len(kb.allergyRules), DoseProfiles: len(kb.doses)}
	for _, in := range kb.interactions {
		if in.ONC {
			c.ONC++
		}
	}
	for _, d := range kb.doses {
		c.DoseRules += len(d.Rules)
		c.RenalRules += len(d.Renal)
	}
	for _, d := range kb.drugs {
		if !d.CUIVerified {
			c.UnverifiedCUI++
		}
	}
	return c
}

// Version is the knowledge base's version string.
func (kb *KB) Version() string { return kb.manifest.Version }

// Date is the day the version was published, YYYY-MM-DD.
func (kb *KB) Date() string { return kb.manifest.Date }

// Counts are the sizes of the version's tables.
func (kb *KB) Counts() Counts { return kb.counts }

// Sources lists every source the version cites.
func (kb *KB) Sources() []Source { return slices.Clone(kb.manifest.Sources) }

// Summary describes the version; active says whether it is the one in use.
func (kb *KB) Summary(active bool) Summary {
	return Summary{Version: kb.manifest.Version, Date: kb.manifest.Date, Title: kb.manifest.Title, Active: active,
		Counts: kb.counts, Sources: kb.Sources()}
}

// The tables, as copies whose nested slices the caller must not modify.

// Drugs lists every drug.
func (kb *KB) Drugs() []Drug { return slices.Clone(kb.drugs) }

// Products lists every combination product.
func (kb *KB) Products() []Product { return slices.Clone(kb.products) }

// Groups lists every group.
func (kb *KB) Groups() []Group { return slices.Clone(kb.groups) }

// Interactions lists every interaction rule.
func (kb *KB) Interactions() []Interaction { return slices.Clone(kb.interactions) }

// AllergyRules lists every allergy rule.
func (kb *KB) AllergyRules() []AllergyRule { return slices.Clone(kb.allergyRules) }

// DoseProfiles lists every dose profile.
func (kb *KB) DoseProfiles() []DoseProfile { return slices.Clone(kb.doses) }

// Drug returns the drug with the given id.
func (kb *KB) Drug(id string) (Drug, bool) {
	i, ok := kb.drugIdx[id]
	if !ok {
		return Drug{}, false
	}
	return kb.drugs[i], true
}

// Members lists the ids of a group's drugs.
func (kb *KB) Members(group string) []string {
	g, ok := kb.groupIdx[group]
	if !ok {
		return nil
	}
	out := make([]string, len(kb.groupDrugs[g]))
	for i, d := range kb.groupDrugs[g] {
		out[i] = kb.drugs[d].ID
	}
	return out
}

// DoseProfile returns the dose profile of a drug.
func (kb *KB) DoseProfile(drug string) (DoseProfile, bool) {
	i, ok := kb.drugIdx[drug]
	if !ok || kb.dose[i] < 0 {
		return DoseProfile{}, false
	}
	return kb.doses[kb.dose[i]], true
}

// profileSources are a dose profile's citations as the slices findings carry,
// made once so that a finding does not allocate them.
type profileSources struct {
	rules, renal, age [][]string
	hepatic           []string
}

func sourcesOf(d *DoseProfile) profileSources {
	s := profileSources{hepatic: []string{d.HepaticSource}}
	for _, r := range d.Rules {
		s.rules = append(s.rules, []string{r.Source})
	}
	for _, r := range d.Renal {
		s.renal = append(s.renal, []string{r.Source})
	}
	for _, a := range d.AgeLimits {
		s.age = append(s.age, []string{a.Source})
	}
	return s
}
