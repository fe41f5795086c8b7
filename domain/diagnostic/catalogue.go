package diagnostic

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/zarish-sphere/zarish/domain/observation"
)

// The catalogue of orderable tests, panels and imaging procedures is data in
// data/tests.json, embedded in the binary and checked by Load: unknown
// fields, dangling references, malformed codes and uncited entries refuse
// the whole file. SOURCES.md beside this file lists what each source gives.

//go:embed data/tests.json
var embeddedTests []byte

// EmbeddedVersion is the version of the catalogue built into the binary.
const EmbeddedVersion = "2026.12.1"

// SystemLOINC is the code system of laboratory tests and of the Radiology
// Playbook's imaging procedures.
const SystemLOINC = "http://loinc.org"

// SystemSNOMED is the code system of body sites and coded conclusions.
const SystemSNOMED = "http://snomed.info/sct"

// SystemSpecimenType is HL7 v2 table 0487, the code system of specimen types.
const SystemSpecimenType = "http://terminology.hl7.org/CodeSystem/v2-0487"

// Kind is what an orderable is.
type Kind string

// The kinds of orderable.
const (
	// KindTest is one laboratory test, resulted by one observation code.
	KindTest Kind = "test"
	// KindPanel is a laboratory panel, resulted by each of its members.
	KindPanel Kind = "panel"
	// KindImaging is an imaging procedure, resulted by an imaging study.
	KindImaging Kind = "imaging"
)

// Laboratory reports whether k is a laboratory test or panel.
func (k Kind) Laboratory() bool { return k == KindTest || k == KindPanel }

// CatalogueSource is a publication or code system the catalogue cites; each
// citation in the data is "<source id>: <detail>".
type CatalogueSource struct {
	ID       string `json:"id"`
	Citation string `json:"citation"`
}

// SpecimenType is an HL7 v2 table 0487 specimen type.
type SpecimenType struct {
	Code    string `json:"code"`
	Display string `json:"display"`
	Source  string `json:"source"`
}

// Container is a blood collection tube.
type Container struct {
	Code     string `json:"code"`
	Display  string `json:"display"`
	Colour   string `json:"colour"`
	Additive string `json:"additive"`
	// Specimen is the specimen type the tube yields (serum, plasma, whole blood).
	Specimen string `json:"specimen"`
	// DrawOrder is the tube's place in the CLSI GP41 order of draw (blood
	// cultures are 1): citrate, serum, heparin, EDTA, then fluoride, so that
	// no additive is carried into a tube where it would change a result.
	DrawOrder int `json:"drawOrder"`
	// MinFillPercent is the least fill of the nominal volume the tube is
	// accepted with (CLSI H21: 90% for citrate, whose 1:9 ratio matters); 0
	// when no figure applies.
	MinFillPercent int    `json:"minFillPercent,omitempty"`
	Source         string `json:"source"`
}

// Orderable is one entry of the catalogue: a laboratory test, a panel or an
// imaging procedure.
type Orderable struct {
	Code    string `json:"code"`
	System  string `json:"system"`
	Kind    Kind   `json:"kind"`
	Display string `json:"display"`
	// Names are the names clinicians order it by, for search.
	Names []string `json:"names,omitempty"`
	// Members are a panel's LOINC codes, each in the observation catalogue.
	Members []string `json:"members,omitempty"`
	// Specimen and Container say what a laboratory test is collected in.
	Specimen  string `json:"specimen,omitempty"`
	Container string `json:"container,omitempty"`
	// Modalities are the DICOM modalities an imaging procedure is performed
	// with, and BodySite the SNOMED CT body structure it images.
	Modalities []string `json:"modalities,omitempty"`
	BodySite   *Coding  `json:"bodySite,omitempty"`
	// Sensitive tests (HIV, genetic results) are held from the patient until
	// a clinician releases the report.
	Sensitive bool `json:"sensitive,omitempty"`
	// Targets are the turnaround targets of every priority.
	Targets []Target `json:"targets"`
	// CodeVerified is true when the code was cross-checked against a second
	// public listing during authoring, false when it rests on one source or
	// the author's knowledge alone (see SOURCES.md).
	CodeVerified bool   `json:"codeVerified"`
	Source       string `json:"source"`
	Note         string `json:"note,omitempty"`
	// PanelCode names the panel a member ordered alone takes its specimen
	// and targets from; empty for catalogue entries.
	PanelCode string `json:"panelCode,omitempty"`
}

// ResultCodes are the LOINC codes that result a laboratory orderable: a
// panel's members, or the test's own code. Imaging procedures have none.
func (o Orderable) ResultCodes() []string {
	switch o.Kind {
	case KindPanel:
		return slices.Clone(o.Members)
	case KindTest:
		return []string{o.Code}
	}
	return nil
}

// TargetsFor returns the orderable's targets for priority p.
func (o Orderable) TargetsFor(p Priority) []Target {
	var out []Target
	for _, t := range o.Targets {
		if t.Priority == p {
			out = append(out, t)
		}
	}
	return out
}

// Resultable reports whether the observation catalogue holds every code that
// results the orderable, so the observation service can record its results.
func (o Orderable) Resultable() bool {
	for _, c := range o.ResultCodes() {
		if _, ok := observation.Lookup(c); !ok {
			return false
		}
	}
	return true
}

// Catalogue is one version of the orderable tests, panels and imaging
// procedures, with the containers and specimen types they use.
type Catalogue struct {
	Version       string            `json:"version"`
	Sources       []CatalogueSource `json:"sources"`
	SpecimenTypes []SpecimenType    `json:"specimenTypes"`
	Containers    []Container       `json:"containers"`
	Orderables    []Orderable       `json:"orderables"`

	byCode     map[string]int
	containers map[string]int
}

// Embedded loads the catalogue built into the binary. Call it once at start
// and share the result: it parses and checks every entry.
func Embedded() (*Catalogue, error) { return Load(embeddedTests) }

// catalogueFile is the data file as written: orderables name a target set.
type catalogueFile struct {
	Version       string              `json:"version"`
	Sources       []CatalogueSource   `json:"sources"`
	SpecimenTypes []SpecimenType      `json:"specimenTypes"`
	Containers    []Container         `json:"containers"`
	TargetSets    map[string][]Target `json:"targetSets"`
	Orderables    []fileOrderable     `json:"orderables"`
}

type fileOrderable struct {
	Orderable
	Targets string `json:"targets"`
}

// Load parses and checks a catalogue file, refusing it whole with every
// problem it finds.
func Load(data []byte) (*Catalogue, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var f catalogueFile
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("diagnostic catalogue: %w", err)
	}
	c := &Catalogue{Version: f.Version, Sources: f.Sources, SpecimenTypes: f.SpecimenTypes, Containers: f.Containers,
		byCode: map[string]int{}, containers: map[string]int{}}
	var problems []error
	bad := func(format string, args ...any) { problems = append(problems, fmt.Errorf(format, args...)) }
	if strings.TrimSpace(f.Version) == "" {
		bad("version is required")
	}
	sources := map[string]bool{}
	for _, s := range f.Sources {
		if s.ID == "" || s.Citation == "" || sources[s.ID] {
			bad("source %q: an id and a citation are required, once each", s.ID)
		}
		sources[s.ID] = true
	}
	cited := func(what, citation string) {
		if err := checkCitation(citation, sources); err != nil {
			bad("%s: %v", what, err)
		}
	}
	types := map[string]bool{}
	for _, t := range f.SpecimenTypes {
		if t.Code == "" || t.Display == "" || types[t.Code] {
			bad("specimen type %q: a code and a display are required, once each", t.Code)
		}
		types[t.Code] = true
		cited("specimen type "+t.Code, t.Source)
	}
	for i, k := range f.Containers {
		if _, twice := c.containers[k.Code]; k.Code == "" || twice {
			bad("container %q: a code is required, once", k.Code)
		}
		c.containers[k.Code] = i
		if !types[k.Specimen] {
			bad("container %s: specimen type %q is not in the catalogue", k.Code, k.Specimen)
		}
		if k.DrawOrder < 1 || k.MinFillPercent < 0 || k.MinFillPercent > 100 || k.Display == "" || k.Colour == "" {
			bad("container %s: display, colour, a draw order of 1 or more and a fill of 0-100%% are required", k.Code)
		}
		cited("container "+k.Code, k.Source)
	}
	for name, set := range f.TargetSets {
		for _, p := range Priorities {
			if !slices.ContainsFunc(set, func(t Target) bool { return t.Priority == p }) {
				bad("target set %s: no target for priority %s", name, p)
			}
		}
		for j, t := range set {
			if err := t.check(); err != nil {
				bad("target set %s[%d]: %v", name, j, err)
			}
			cited(fmt.Sprintf("target set %s[%d]", name, j), t.Source)
		}
	}
	for i, fo := range f.Orderables {
		o := fo.Orderable
		if o.System == "" {
			o.System = SystemLOINC
		}
		set, ok := f.TargetSets[fo.Targets]
		if !ok {
			bad("orderable %s: target set %q is not in the catalogue", o.Code, fo.Targets)
		}
		o.Targets = slices.Clone(set)
		if o.BodySite != nil && o.BodySite.System == "" {
			o.BodySite.System = SystemSNOMED
		}
		if _, twice := c.byCode[o.Code]; twice {
			bad("orderable %s is listed twice", o.Code)
		}
		c.byCode[o.Code] = i
		for _, err := range c.checkOrderable(o, types) {
			bad("orderable %s: %v", o.Code, err)
		}
		cited("orderable "+o.Code, o.Source)
		c.Orderables = append(c.Orderables, o)
	}
	if len(problems) > 0 {
		return nil, fmt.Errorf("diagnostic catalogue %s: %w", f.Version, errors.Join(problems...))
	}
	return c, nil
}

// checkOrderable reports what is wrong with one entry.
func (c *Catalogue) checkOrderable(o Orderable, types map[string]bool) []error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if o.Display == "" {
		bad("a display is required")
	}
	if o.System == SystemLOINC && !observation.ValidLOINC(o.Code) {
		bad("%q is not a well-formed LOINC code", o.Code)
	}
	switch o.Kind {
	case KindTest, KindPanel:
		if !types[o.Specimen] {
			bad("specimen type %q is not in the catalogue", o.Specimen)
		}
		if k, ok := c.containers[o.Container]; !ok {
			bad("container %q is not in the catalogue", o.Container)
		} else if c.Containers[k].Specimen != o.Specimen {
			bad("container %s yields %s, not %s", o.Container, c.Containers[k].Specimen, o.Specimen)
		}
		if len(o.Modalities) > 0 || o.BodySite != nil {
			bad("a laboratory test has no modality or body site")
		}
		if o.Kind == KindTest && len(o.Members) > 0 {
			bad("a single test has no members")
		}
		if o.Kind == KindPanel && len(o.Members) < 2 {
			bad("a panel has at least two members")
		}
		for _, m := range o.Members {
			if !observation.ValidLOINC(m) {
				bad("member %q is not a well-formed LOINC code", m)
			} else if _, ok := observation.Lookup(m); !ok {
				bad("member %s is not in the observation catalogue", m)
			}
		}
		if len(o.Members) != len(uniq(o.Members)) {
			bad("a member is listed twice")
		}
	case KindImaging:
		if len(o.Modalities) == 0 {
			bad("an imaging procedure names its modalities")
		}
		for _, m := range o.Modalities {
			if !ValidModality(m) {
				bad("%q is not a DICOM acquisition modality the engine knows", m)
			}
		}
		if o.BodySite == nil || !ValidSCTID(o.BodySite.Code) || o.BodySite.System != SystemSNOMED {
			bad("an imaging procedure names its body site by a valid SNOMED CT code")
		}
		if o.Specimen != "" || o.Container != "" || len(o.Members) > 0 {
			bad("an imaging procedure has no specimen, container or members")
		}
	default:
		bad("kind %q must be test, panel or imaging", o.Kind)
	}
	return errs
}

// checkCitation refuses a citation that does not start with a known source id
// and give a detail.
func checkCitation(citation string, sources map[string]bool) error {
	for _, part := range strings.Split(citation, "; ") {
		id, detail, ok := strings.Cut(part, ": ")
		if !ok || !sources[id] || strings.TrimSpace(detail) == "" {
			return fmt.Errorf("citation %q must be \"<source id>: <detail>\" with a source of the catalogue", part)
		}
	}
	return nil
}

func uniq(ss []string) []string {
	out := slices.Clone(ss)
	slices.Sort(out)
	return slices.Compact(out)
}

// Lookup finds an orderable by its code. A member of a panel that is not
// itself catalogued may be ordered alone: it takes the specimen, container,
// targets and sensitivity of the first panel holding it, and the display of
// the observation catalogue. The result is a copy the caller may change.
func (c *Catalogue) Lookup(code string) (Orderable, bool) {
	code = strings.TrimSpace(code)
	if i, ok := c.byCode[code]; ok {
		return c.Orderables[i].clone(), true
	}
	for _, o := range c.Orderables {
		if o.Kind != KindPanel || !slices.Contains(o.Members, code) {
			continue
		}
		def, _ := observation.Lookup(code)
		alone := o.clone()
		alone.Code, alone.Kind, alone.Display, alone.Members, alone.Names = code, KindTest, def.Display, nil, nil
		alone.PanelCode, alone.Source = o.Code, "loinc: "+code
		alone.Note = "Ordered alone: collected and targeted as a member of " + o.Code + " (" + o.Display + ")."
		return alone, true
	}
	return Orderable{}, false
}

// Container returns a container of the catalogue.
func (c *Catalogue) Container(code string) (Container, bool) {
	i, ok := c.containers[code]
	if !ok {
		return Container{}, false
	}
	return c.Containers[i], true
}

// Search returns the orderables whose code, display or a name contains q
// (case-insensitive), in catalogue order.
func (c *Catalogue) Search(q string) []Orderable {
	q = strings.ToLower(strings.TrimSpace(q))
	var out []Orderable
	for _, o := range c.Orderables {
		hit := q == "" || strings.Contains(strings.ToLower(o.Code), q) || strings.Contains(strings.ToLower(o.Display), q) ||
			slices.ContainsFunc(o.Names, func(n string) bool { return strings.Contains(strings.ToLower(n), q) })
		if hit {
			out = append(out, o.clone())
		}
	}
	return out
}

// clone copies o so the caller cannot change the catalogue.
func (o Orderable) clone() Orderable {
	o.Names = slices.Clone(o.Names)
	o.Members = slices.Clone(o.Members)
	o.Modalities = slices.Clone(o.Modalities)
	o.Targets = slices.Clone(o.Targets)
	if o.BodySite != nil {
		b := *o.BodySite
		o.BodySite = &b
	}
	return o
}
