package medication_test

import (
	"os"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/zarish-sphere/zarish/domain/medication"
)

var (
	loadOnce sync.Once
	loaded   *medication.KB
	loadErr  error
)

// kb is the embedded knowledge base, loaded once for the whole test binary.
func kb(t testing.TB) *medication.KB {
	t.Helper()
	loadOnce.Do(func() { loaded, loadErr = medication.Embedded() })
	if loadErr != nil {
		t.Fatalf("load: %v", loadErr)
	}
	return loaded
}

func TestEmbeddedVersionAndCounts(t *testing.T) {
	k := kb(t)
	if k.Version() != medication.EmbeddedVersion || !regexp.MustCompile(`^\d{4}-\d{2}-\d{2}$`).MatchString(k.Date()) {
		t.Fatalf("version %q date %q", k.Version(), k.Date())
	}
	c := k.Counts()
	if c.Drugs < 300 {
		t.Errorf("%d drugs, the issue asks for at least 300", c.Drugs)
	}
	if c.Interactions < 150 || c.ONC < 15 || c.AllergyRules < 20 || c.DoseProfiles < 60 {
		t.Errorf("counts too small: %+v", c)
	}
	t.Logf("counts: %+v", c)
}

var (
	cuiRe = regexp.MustCompile(`^[1-9][0-9]*$`)
	atcRe = regexp.MustCompile(`^[A-Z][0-9]{2}[A-Z]{2}[0-9]{2}$`)
)

func TestEveryDrugHasANameCUIATCAndASource(t *testing.T) {
	k := kb(t)
	for _, d := range k.Drugs() {
		if d.Name == "" || !cuiRe.MatchString(d.RxCUI) || !atcRe.MatchString(d.ATC) || len(d.Sources) == 0 {
			t.Errorf("%s is incomplete: %+v", d.ID, d)
		}
	}
}

func TestKnownCUIsAreTheWellKnownOnes(t *testing.T) {
	k := kb(t)
	for id, cui := range map[string]string{"warfarin": "11289", "ibuprofen": "5640", "simvastatin": "36567",
		"clarithromycin": "21212", "fluoxetine": "4493", "phenelzine": "8123", "amoxicillin": "723",
		"gentamicin": "4413", "acetaminophen": "161"} {
		d, ok := k.Drug(id)
		if !ok || d.RxCUI != cui || !d.CUIVerified {
			t.Errorf("%s: %+v, want verified RxCUI %s", id, d, cui)
		}
	}
}

// sourceIDs are the manifest's source ids.
func sourceIDs(k *medication.KB) map[string]medication.Source {
	out := map[string]medication.Source{}
	for _, s := range k.Sources() {
		out[s.ID] = s
	}
	return out
}

func cited(t *testing.T, sources map[string]medication.Source, where string, refs ...string) {
	t.Helper()
	if len(refs) == 0 {
		t.Errorf("%s cites nothing", where)
	}
	for _, r := range refs {
		id, _, _ := strings.Cut(r, ":")
		if _, ok := sources[strings.TrimSpace(id)]; !ok {
			t.Errorf("%s cites %q, which is not a listed source", where, r)
		}
	}
}

func TestEveryEntryIsCitedAndEverySourceHasALicence(t *testing.T) {
	k := kb(t)
	sources := sourceIDs(k)
	for _, s := range sources {
		if s.Licence == "" || s.Citation == "" || s.Use == "" {
			t.Errorf("source %s lacks licence, citation or use", s.ID)
		}
	}
	for _, g := range k.Groups() {
		cited(t, sources, "group "+g.ID, g.Sources...)
	}
	for _, p := range k.Products() {
		cited(t, sources, "product "+p.ID, p.Sources...)
	}
	for _, in := range k.Interactions() {
		cited(t, sources, "interaction "+in.ID, in.Sources...)
	}
	for _, r := range k.AllergyRules() {
		cited(t, sources, "allergy rule "+r.ID, r.Sources...)
	}
	for _, p := range k.DoseProfiles() {
		for _, r := range p.Rules {
			cited(t, sources, "dose rule "+p.Drug+" "+r.Population, r.Source)
		}
		for _, r := range p.Renal {
			cited(t, sources, "renal band "+p.Drug, r.Source)
		}
	}
	doc, err := os.ReadFile("SOURCES.md")
	if err != nil {
		t.Fatal(err)
	}
	for id := range sources {
		if !strings.Contains(string(doc), "`"+id+"`") {
			t.Errorf("SOURCES.md does not list source %s", id)
		}
	}
}

// members expands a rule's "drug:" or "group:" reference.
func members(t *testing.T, k *medication.KB, ref string) []string {
	t.Helper()
	kind, id, _ := strings.Cut(ref, ":")
	switch kind {
	case "drug":
		if _, ok := k.Drug(id); ok {
			return []string{id}
		}
	case "group":
		if m := k.Members(id); len(m) > 0 {
			return m
		}
	}
	t.Fatalf("dangling reference %q", ref)
	return nil
}

func TestNoDanglingReferences(t *testing.T) {
	k := kb(t)
	groups := map[string]bool{}
	for _, g := range k.Groups() {
		groups[g.ID] = true
	}
	for _, d := range k.Drugs() {
		for _, g := range d.Groups {
			if !groups[g] {
				t.Errorf("drug %s names group %s", d.ID, g)
			}
		}
	}
	for _, p := range k.Products() {
		for _, c := range p.Ingredients {
			if _, ok := k.Drug(c.Drug); !ok {
				t.Errorf("product %s names drug %s", p.ID, c.Drug)
			}
		}
	}
	for _, in := range k.Interactions() {
		members(t, k, in.A)
		members(t, k, in.B)
	}
	for _, r := range k.AllergyRules() {
		members(t, k, r.Allergen)
		members(t, k, r.Target)
	}
	for _, p := range k.DoseProfiles() {
		if _, ok := k.Drug(p.Drug); !ok {
			t.Errorf("dose profile for unknown drug %s", p.Drug)
		}
	}
}

// TestEveryInteractionRuleFiresForEveryPairInBothOrders is generated from the
// interaction table: each rule covers every pair of its members, a check of
// the two drugs finds an interaction whichever is listed first, and the rule
// is among those the pair matches.
func TestEveryInteractionRuleFiresForEveryPairInBothOrders(t *testing.T) {
	k := kb(t)
	pairs := 0
	for _, in := range k.Interactions() {
		for _, a := range members(t, k, in.A) {
			for _, b := range members(t, k, in.B) {
				if a == b {
					continue
				}
				pairs++
				for _, order := range [][2]string{{a, b}, {b, a}} {
					rules := k.InteractionRules(order[0], order[1])
					if !slices.ContainsFunc(rules, func(r medication.Interaction) bool { return r.ID == in.ID }) {
						t.Fatalf("%s does not fire for %s + %s", in.ID, order[0], order[1])
					}
					rep := k.CheckInteractions([]medication.Order{{Name: order[0]}, {Name: order[1]}})
					if len(rep.Pairs) != 1 || rep.Pairs[0].Rule != rules[0].ID || rep.Pairs[0].Severity != rules[0].Severity {
						t.Fatalf("%s + %s: %+v, want the worst rule %s", order[0], order[1], rep.Pairs, rules[0].ID)
					}
				}
			}
		}
	}
	t.Logf("%d drug pairs checked in both orders", pairs)
}

func TestTheONCHighPriorityListIsCovered(t *testing.T) {
	k := kb(t)
	// One representative pair of each of Phansalkar's 15 interactions.
	for _, c := range []struct{ a, b, rule string }{
		{"dextroamphetamine", "phenelzine", "onc-amphetamine-maoi"},
		{"atazanavir", "omeprazole", "onc-atazanavir-ppi"},
		{"febuxostat", "azathioprine", "onc-febuxostat-thiopurine"},
		{"sertraline", "tranylcypromine", "onc-ssri-maoi"},
		{"irinotecan", "ketoconazole", "onc-irinotecan-cyp3a4-inhibitor"},
		{"meperidine", "selegiline", "onc-opioid-maoi"},
		{"amitriptyline", "isocarboxazid", "onc-tca-maoi"},
		{"haloperidol", "moxifloxacin", "onc-qt-qt"},
		{"ramelteon", "fluvoxamine", "onc-ramelteon-cyp1a2"},
		{"rifampin", "darunavir", "onc-inducer-protease-inhibitor"},
		{"lovastatin", "itraconazole", "onc-statin-cyp3a4-inhibitor"},
		{"ergotamine", "clarithromycin", "onc-ergot-cyp3a4-inhibitor"},
		{"tizanidine", "ciprofloxacin", "onc-tizanidine-cyp1a2"},
		{"tranylcypromine", "procarbazine", "onc-tranylcypromine-procarbazine"},
		{"sumatriptan", "phenelzine", "onc-triptan-maoi"},
	} {
		rules := k.InteractionRules(c.a, c.b)
		if !slices.ContainsFunc(rules, func(r medication.Interaction) bool { return r.ID == c.rule && r.ONC }) {
			t.Errorf("%s + %s: %v, want ONC rule %s", c.a, c.b, rules, c.rule)
		}
	}
}

func TestNamesAreUnambiguous(t *testing.T) {
	k := kb(t)
	for _, d := range k.Drugs() {
		for _, n := range append(append([]string{d.Name}, d.Synonyms...), d.Brands...) {
			r, err := k.Resolve("", n)
			if err != nil || r.ID != d.ID {
				t.Errorf("%q resolves to %+v, %v; want %s", n, r, err, d.ID)
			}
		}
	}
}
