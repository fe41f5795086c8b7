package medication

import (
	"bytes"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"regexp"
	"slices"
	"strings"
	"time"
)

//go:embed data
var embedded embed.FS

// EmbeddedVersion is the version of the knowledge base built into the binary.
const EmbeddedVersion = "2026.12.1"

// Embedded loads the knowledge base built into the binary. Call it once at
// start and share the result: it parses and indexes every table.
func Embedded() (*KB, error) {
	return Load(embedded, path.Join("data", EmbeddedVersion))
}

// The files of one knowledge-base version, in dir.
const (
	fileManifest     = "manifest.json"
	fileDrugs        = "drugs.json"
	fileProducts     = "products.json"
	fileGroups       = "groups.json"
	fileInteractions = "interactions.json"
	fileAllergy      = "allergy.json"
	fileDoses        = "doses.json"
)

// manifest is the version's header: its version, date and sources.
type manifest struct {
	Version string   `json:"version"`
	Date    string   `json:"date"`
	Title   string   `json:"title"`
	Sources []Source `json:"sources"`
}

// SchemaError lists every problem found in a knowledge base's files, so a
// broken version is refused whole with all its faults named.
type SchemaError struct {
	Problems []string
}

func (e *SchemaError) Error() string {
	if len(e.Problems) == 1 {
		return "medication knowledge base: " + e.Problems[0]
	}
	return fmt.Sprintf("medication knowledge base: %d problems, first: %s", len(e.Problems), e.Problems[0])
}

func (e *SchemaError) add(format string, args ...any) {
	e.Problems = append(e.Problems, fmt.Sprintf(format, args...))
}

// Load reads, checks and indexes the knowledge base in dir of fsys. It
// refuses the whole version, with a *SchemaError naming every problem, when
// any entry is malformed, uncited or refers to something that does not exist.
func Load(fsys fs.FS, dir string) (*KB, error) {
	var t tables
	for _, f := range []struct {
		name string
		into any
	}{
		{fileManifest, &t.manifest}, {fileDrugs, &t.drugs}, {fileProducts, &t.products}, {fileGroups, &t.groups},
		{fileInteractions, &t.interactions}, {fileAllergy, &t.allergyRules}, {fileDoses, &t.doses},
	} {
		if err := decode(fsys, path.Join(dir, f.name), f.into); err != nil {
			return nil, err
		}
	}
	problems := &SchemaError{}
	t.validate(problems)
	if len(problems.Problems) > 0 {
		return nil, problems
	}
	return build(&t), nil
}

// decode reads one JSON file strictly: unknown fields and trailing data are errors.
func decode(fsys fs.FS, name string, into any) error {
	data, err := fs.ReadFile(fsys, name)
	if err != nil {
		return fmt.Errorf("medication knowledge base: %w", err)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(into); err != nil {
		return fmt.Errorf("medication knowledge base: %s: %w", name, err)
	}
	if dec.More() {
		return fmt.Errorf("medication knowledge base: %s: data after the first value", name)
	}
	return nil
}

// tables are the decoded files of one version.
type tables struct {
	manifest     manifest
	drugs        []Drug
	products     []Product
	groups       []Group
	interactions []Interaction
	allergyRules []AllergyRule
	doses        []DoseProfile
}

var (
	idPattern    = regexp.MustCompile(`^[a-z0-9][a-z0-9-]*$`)
	cuiPattern   = regexp.MustCompile(`^[1-9][0-9]{0,8}$`)
	atcPattern   = regexp.MustCompile(`^[A-Z][0-9]{2}[A-Z]{2}[0-9]{2}$`)
	datePattern  = regexp.MustCompile(`^[0-9]{4}-[0-9]{2}-[0-9]{2}$`)
	errNoSources = errors.New("cites no source")
)

// maxGroups is how many groups the membership bitsets hold.
const maxGroups = 64 * maskWords

func (t *tables) validate(p *SchemaError) {
	m := t.manifest
	if m.Version == "" {
		p.add("manifest: version is required")
	}
	if _, err := time.Parse(time.DateOnly, m.Date); err != nil || !datePattern.MatchString(m.Date) {
		p.add("manifest: date %q is not YYYY-MM-DD", m.Date)
	}
	sources := map[string]bool{}
	for i, s := range m.Sources {
		if s.ID == "" || s.Title == "" || s.Citation == "" || s.Licence == "" || s.Use == "" {
			p.add("manifest: source %d (%q) needs id, title, citation, licence and use", i, s.ID)
		}
		if sources[s.ID] {
			p.add("manifest: source %q is listed twice", s.ID)
		}
		sources[s.ID] = true
	}
	cite := func(where string, refs []string) {
		if len(refs) == 0 {
			p.add("%s: %v", where, errNoSources)
		}
		for _, r := range refs {
			if !sources[sourceID(r)] {
				p.add("%s: source %q is not in the manifest", where, r)
			}
		}
	}

	groups := map[string]bool{}
	for _, g := range t.groups {
		where := "group " + g.ID
		if !idPattern.MatchString(g.ID) || groups[g.ID] {
			p.add("%s: id must be unique, lower case, letters, digits and hyphens", where)
		}
		groups[g.ID] = true
		if g.Name == "" {
			p.add("%s: name is required", where)
		}
		if !slices.Contains([]GroupKind{GroupClass, GroupEffect, GroupEnzyme, GroupAllergenic}, g.Kind) {
			p.add("%s: kind %q must be class, effect, enzyme or allergen", where, g.Kind)
		}
		if g.Duplicate != "" && !g.Duplicate.interaction() {
			p.add("%s: duplicate severity %q is not an interaction severity", where, g.Duplicate)
		}
		cite(where, g.Sources)
	}
	if len(t.groups) > maxGroups {
		p.add("groups: %d groups, the index holds at most %d", len(t.groups), maxGroups)
	}

	drugs := map[string]bool{}
	cuis := map[string]string{}
	members := map[string]int{}
	for _, d := range t.drugs {
		where := "drug " + d.ID
		if !idPattern.MatchString(d.ID) || drugs[d.ID] {
			p.add("%s: id must be unique, lower case, letters, digits and hyphens", where)
		}
		drugs[d.ID] = true
		if strings.TrimSpace(d.Name) == "" {
			p.add("%s: name is required", where)
		}
		if !cuiPattern.MatchString(d.RxCUI) {
			p.add("%s: rxcui %q is not an RxNorm CUI", where, d.RxCUI)
		} else if other, dup := cuis[d.RxCUI]; dup {
			p.add("%s: rxcui %s is also %s", where, d.RxCUI, other)
		}
		cuis[d.RxCUI] = d.ID
		if !atcPattern.MatchString(d.ATC) {
			p.add("%s: atc %q is not a 7-character ATC code", where, d.ATC)
		}
		for _, g := range d.Groups {
			if !groups[g] {
				p.add("%s: group %q does not exist", where, g)
			}
			members[g]++
		}
		cite(where, d.Sources)
	}
	for _, g := range t.groups {
		if members[g.ID] == 0 {
			p.add("group %s: has no members", g.ID)
		}
	}

	products := map[string]bool{}
	for _, pr := range t.products {
		where := "product " + pr.ID
		if !idPattern.MatchString(pr.ID) || products[pr.ID] || drugs[pr.ID] {
			p.add("%s: id must be unique among drugs and products", where)
		}
		products[pr.ID] = true
		if pr.Name == "" {
			p.add("%s: name is required", where)
		}
		if pr.RxCUI != "" {
			if !cuiPattern.MatchString(pr.RxCUI) {
				p.add("%s: rxcui %q is not an RxNorm CUI", where, pr.RxCUI)
			} else if other, dup := cuis[pr.RxCUI]; dup {
				p.add("%s: rxcui %s is also %s", where, pr.RxCUI, other)
			}
			cuis[pr.RxCUI] = pr.ID
		}
		if pr.ATC != "" && !atcPattern.MatchString(pr.ATC) {
			p.add("%s: atc %q is not a 7-character ATC code", where, pr.ATC)
		}
		if len(pr.Ingredients) < 2 || len(pr.Ingredients) > maxIngredients {
			p.add("%s: a combination product has 2 to %d ingredients", where, maxIngredients)
		}
		strengths := 0
		for _, c := range pr.Ingredients {
			if !drugs[c.Drug] {
				p.add("%s: ingredient %q is not a drug", where, c.Drug)
			}
			if c.Amount > 0 {
				strengths++
				if _, ok := ruleUnits[c.Unit]; !ok {
					p.add("%s: ingredient %s unit %q is not a rule unit", where, c.Drug, c.Unit)
				}
			}
		}
		if strengths != 0 && strengths != len(pr.Ingredients) {
			p.add("%s: give a strength for every ingredient or for none", where)
		}
		cite(where, pr.Sources)
	}

	refOK := func(where, field, ref string) {
		kind, id, ok := strings.Cut(ref, ":")
		switch {
		case !ok:
			p.add("%s: %s %q must be drug:<id> or group:<id>", where, field, ref)
		case kind == "drug" && drugs[id], kind == "group" && groups[id]:
		default:
			p.add("%s: %s %q does not exist", where, field, ref)
		}
	}
	ids := map[string]bool{}
	for _, in := range t.interactions {
		where := "interaction " + in.ID
		if !idPattern.MatchString(in.ID) || ids[in.ID] {
			p.add("%s: id must be unique, lower case, letters, digits and hyphens", where)
		}
		ids[in.ID] = true
		refOK(where, "a", in.A)
		refOK(where, "b", in.B)
		if in.A == in.B && strings.HasPrefix(in.A, "drug:") {
			p.add("%s: a drug does not interact with itself (that is duplicate therapy)", where)
		}
		if !in.Severity.interaction() {
			p.add("%s: severity %q must be contraindicated, major, moderate or minor", where, in.Severity)
		}
		if in.Mechanism == "" || in.Effect == "" || in.Management == "" {
			p.add("%s: mechanism, effect and management are required", where)
		}
		cite(where, in.Sources)
	}
	for _, r := range t.allergyRules {
		where := "allergy rule " + r.ID
		if !idPattern.MatchString(r.ID) || ids[r.ID] {
			p.add("%s: id must be unique among rules", where)
		}
		ids[r.ID] = true
		refOK(where, "allergen", r.Allergen)
		refOK(where, "target", r.Target)
		if r.Action != SeverityHold && r.Action != SeverityCaution {
			p.add("%s: action %q must be hold or caution", where, r.Action)
		}
		if r.HighCriticality != "" && r.HighCriticality != SeverityHold && r.HighCriticality != SeverityCaution {
			p.add("%s: highCriticality %q must be hold or caution", where, r.HighCriticality)
		}
		if r.Explanation == "" || r.Management == "" {
			p.add("%s: explanation and management are required", where)
		}
		cite(where, r.Sources)
	}

	profiles := map[string]bool{}
	for _, d := range t.doses {
		where := "dose profile " + d.Drug
		if !drugs[d.Drug] || profiles[d.Drug] {
			p.add("%s: drug must exist and have one profile", where)
		}
		profiles[d.Drug] = true
		if len(d.Rules) == 0 {
			p.add("%s: has no rules", where)
		}
		for i, r := range d.Rules {
			validateDoseRule(p, fmt.Sprintf("%s rule %d (%s)", where, i, r.Population), r, cite)
			if r.Unit != d.Rules[0].Unit {
				p.add("%s: every rule of a profile is written in one unit (%s), rule %d uses %s", where, d.Rules[0].Unit, i, r.Unit)
			}
		}
		for i, r := range d.Renal {
			w := fmt.Sprintf("%s renal band %d", where, i)
			if !(r.Below > r.AtLeast) || r.AtLeast < 0 {
				p.add("%s: band %g–%g mL/min is empty", w, r.AtLeast, r.Below)
			}
			if !slices.Contains([]string{RenalAvoid, RenalReduce, RenalInterval, RenalMonitor}, r.Action) {
				p.add("%s: action %q must be avoid, reduce, interval or monitor", w, r.Action)
			}
			if !r.Severity.interaction() {
				p.add("%s: severity %q is not a dose severity", w, r.Severity)
			}
			if r.Basis != "" && r.Basis != BasisFixed && r.Basis != BasisKg {
				p.add("%s: basis %q must be fixed or kg", w, r.Basis)
			}
			for _, rt := range r.Routes {
				if !slices.Contains(Routes, rt) {
					p.add("%s: route %q is not a route", w, rt)
				}
			}
			if r.Action == RenalReduce && r.MaxSingle == 0 && r.MaxDaily == 0 && r.MinIntervalHours == 0 {
				p.add("%s: a reduction needs maxSingle or maxDaily", w)
			}
			if r.Action == RenalInterval && r.MinIntervalHours == 0 {
				p.add("%s: an interval band needs minIntervalHours", w)
			}
			if r.Advice == "" {
				p.add("%s: advice is required", w)
			}
			cite(w, []string{r.Source})
		}
		for i, a := range d.AgeLimits {
			w := fmt.Sprintf("%s age limit %d", where, i)
			if a.BelowYears <= 0 || !a.Severity.interaction() || a.Advice == "" {
				p.add("%s: needs belowYears, a severity and advice", w)
			}
			cite(w, []string{a.Source})
		}
		if d.Hepatic != "" {
			if !d.HepaticSeverity.interaction() {
				p.add("%s: hepatic caution needs a severity", where)
			}
			cite(where+" hepatic", []string{d.HepaticSource})
		}
	}
}

func validateDoseRule(p *SchemaError, where string, r DoseRule, cite func(string, []string)) {
	if len(r.Routes) == 0 {
		p.add("%s: routes are required", where)
	}
	for _, rt := range r.Routes {
		if !slices.Contains(Routes, rt) {
			p.add("%s: route %q is not a route", where, rt)
		}
	}
	if r.Basis != BasisFixed && r.Basis != BasisKg && r.Basis != BasisM2 {
		p.add("%s: basis %q must be fixed, kg or m2", where, r.Basis)
	}
	if _, ok := ruleUnits[r.Unit]; !ok {
		p.add("%s: unit %q must be mg, mcg, g, units or mmol", where, r.Unit)
	}
	if r.SingleMax == 0 && r.DailyMax == 0 {
		p.add("%s: needs a single or daily maximum", where)
	}
	if r.SingleMin > r.SingleMax && r.SingleMax > 0 || r.DailyMin > r.DailyMax && r.DailyMax > 0 {
		p.add("%s: a minimum is above its maximum", where)
	}
	if r.MaxAgeYears != 0 && r.MaxAgeYears <= r.MinAgeYears {
		p.add("%s: age band %g–%g is empty", where, r.MinAgeYears, r.MaxAgeYears)
	}
	if r.IntervalSeverity != "" && !r.IntervalSeverity.interaction() {
		p.add("%s: intervalSeverity %q is not a dose severity", where, r.IntervalSeverity)
	}
	if r.Basis == BasisFixed && (r.SingleCap != 0 || r.DailyCap != 0) {
		p.add("%s: caps belong to weight- or surface-based rules", where)
	}
	cite(where, []string{r.Source})
}

// sourceID is the manifest id a citation starts with: "fda-label: simvastatin
// §4" cites fda-label.
func sourceID(ref string) string {
	id, _, _ := strings.Cut(ref, ":")
	return strings.TrimSpace(id)
}
