package diagnostic_test

import (
	"encoding/json"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/zarish-sphere/zarish/domain/diagnostic"
	"github.com/zarish-sphere/zarish/domain/observation"
)

func TestEmbeddedCatalogue(t *testing.T) {
	if catalogue.Version != diagnostic.EmbeddedVersion {
		t.Fatalf("version %s, want %s", catalogue.Version, diagnostic.EmbeddedVersion)
	}
	core := map[string]struct {
		kind      diagnostic.Kind
		container string
	}{
		"24362-6": {diagnostic.KindPanel, "sst-gold"},          // U&E / renal panel
		"24326-1": {diagnostic.KindPanel, "sst-gold"},          // electrolytes
		"58410-2": {diagnostic.KindPanel, "edta-lavender"},     // full blood count
		"24325-3": {diagnostic.KindPanel, "sst-gold"},          // liver function
		"1988-5":  {diagnostic.KindTest, "sst-gold"},           // CRP
		"67151-1": {diagnostic.KindTest, "sst-gold"},           // troponin T
		"2524-7":  {diagnostic.KindTest, "fluoride-grey"},      // lactate
		"6301-6":  {diagnostic.KindTest, "citrate-light-blue"}, // INR
		"2345-7":  {diagnostic.KindTest, "fluoride-grey"},      // glucose
		"33959-8": {diagnostic.KindTest, "sst-gold"},           // procalcitonin
		"56888-1": {diagnostic.KindTest, "sst-gold"},           // HIV Ag/Ab
		"21668-9": {diagnostic.KindTest, "edta-lavender"},      // factor V Leiden
	}
	for code, want := range core {
		o, ok := catalogue.Lookup(code)
		if !ok || o.Kind != want.kind || o.Container != want.container || o.System != diagnostic.SystemLOINC {
			t.Errorf("%s: %+v, want %s in %s", code, o, want.kind, want.container)
		}
	}
	var imaging []string
	for _, o := range catalogue.Orderables {
		if o.Kind == diagnostic.KindImaging {
			imaging = append(imaging, o.Code)
		}
	}
	if want := []string{"36643-5", "24725-4", "79077-4", "24558-9", "24590-2"}; !slices.Equal(imaging, want) {
		t.Fatalf("imaging procedures %v, want %v", imaging, want)
	}
}

func TestPanelMembersAreObservationCodes(t *testing.T) {
	for _, o := range catalogue.Orderables {
		for _, m := range o.Members {
			if _, ok := observation.Lookup(m); !ok {
				t.Errorf("%s member %s is not in the observation catalogue", o.Code, m)
			}
		}
		if o.Kind.Laboratory() && !observation.ValidLOINC(o.Code) || o.Kind == diagnostic.KindImaging && !observation.ValidLOINC(o.Code) {
			t.Errorf("%s is not a well-formed LOINC code", o.Code)
		}
	}
	renal, _ := catalogue.Lookup("24362-6")
	if want := []string{"2951-2", "2823-3", "22664-7", "2160-0", "98979-8"}; !slices.Equal(renal.ResultCodes(), want) {
		t.Fatalf("U&E members %v", renal.ResultCodes())
	}
}

func TestResultableTests(t *testing.T) {
	var not []string
	for _, o := range catalogue.Orderables {
		if o.Kind.Laboratory() && !o.Resultable() {
			not = append(not, o.Code)
		}
	}
	// HIV and factor V Leiden are orderable before the observation catalogue
	// can hold their results (SOURCES.md).
	if want := []string{"56888-1", "21668-9"}; !slices.Equal(not, want) {
		t.Fatalf("not resultable: %v, want %v", not, want)
	}
	if cxr, _ := catalogue.Lookup("36643-5"); !cxr.Resultable() || cxr.ResultCodes() != nil {
		t.Fatal("an imaging procedure is resulted by its study, not by codes")
	}
}

func TestSensitiveAndUnverifiedCodesAreMarked(t *testing.T) {
	var sensitive, unverified []string
	for _, o := range catalogue.Orderables {
		if o.Sensitive {
			sensitive = append(sensitive, o.Code)
		}
		if !o.CodeVerified {
			unverified = append(unverified, o.Code)
			if !strings.Contains(o.Note, "confirm") {
				t.Errorf("%s is unverified but its note does not say to confirm it", o.Code)
			}
		}
	}
	if want := []string{"56888-1", "21668-9"}; !slices.Equal(sensitive, want) {
		t.Errorf("sensitive %v, want %v", sensitive, want)
	}
	if want := []string{"21668-9", "79077-4"}; !slices.Equal(unverified, want) {
		t.Errorf("unverified %v, want %v", unverified, want)
	}
}

func TestTargetsAreCitedAndLocalDefaultsMarked(t *testing.T) {
	for _, o := range catalogue.Orderables {
		for _, p := range diagnostic.Priorities {
			if len(o.TargetsFor(p)) == 0 {
				t.Errorf("%s has no %s target", o.Code, p)
			}
		}
		for _, tg := range o.Targets {
			local := strings.HasPrefix(tg.Source, "local: ")
			if tg.Standard == local {
				t.Errorf("%s %s %s: standard %v but source %q", o.Code, tg.Priority, tg.Span(), tg.Standard, tg.Source)
			}
		}
	}
	tn, _ := catalogue.Lookup("67151-1")
	stat := tn.TargetsFor(diagnostic.PriorityStat)
	if stat[0].Span() != "collected→resulted" || stat[0].Minutes != 60 || !strings.HasPrefix(stat[0].Source, "nacb-2007") {
		t.Fatalf("troponin STAT target %+v", stat[0])
	}
}

func TestImagingProcedures(t *testing.T) {
	want := map[string][]string{"36643-5": {"DX", "CR"}, "24725-4": {"CT"}, "79077-4": {"CT"}, "24558-9": {"US"}, "24590-2": {"MR"}}
	for code, mods := range want {
		o, _ := catalogue.Lookup(code)
		if !slices.Equal(o.Modalities, mods) || o.BodySite == nil || !diagnostic.ValidSCTID(o.BodySite.Code) || o.BodySite.System != diagnostic.SystemSNOMED {
			t.Errorf("%s: modalities %v body site %+v", code, o.Modalities, o.BodySite)
		}
	}
}

func TestContainersInOrderOfDraw(t *testing.T) {
	var got []string
	for _, c := range catalogue.Containers {
		got = append(got, c.Code)
		if k, ok := catalogue.Container(c.Code); !ok || k != c {
			t.Errorf("Container(%s) = %+v", c.Code, k)
		}
	}
	// CLSI GP41: citrate, serum, heparin, EDTA, fluoride.
	if want := []string{"citrate-light-blue", "sst-gold", "lithium-heparin-green", "edta-lavender", "fluoride-grey"}; !slices.Equal(got, want) {
		t.Fatalf("containers %v", got)
	}
	for i := 1; i < len(catalogue.Containers); i++ {
		if catalogue.Containers[i].DrawOrder <= catalogue.Containers[i-1].DrawOrder {
			t.Fatal("containers are not listed in the order of draw")
		}
	}
	if c, _ := catalogue.Container("citrate-light-blue"); c.MinFillPercent != 90 {
		t.Fatalf("citrate fill %d%%, want 90%% (CLSI H21)", c.MinFillPercent)
	}
	if _, ok := catalogue.Container("red-top"); ok {
		t.Fatal("an unknown container was found")
	}
}

func TestLookupAndSearch(t *testing.T) {
	k, ok := catalogue.Lookup(" 2823-3 ")
	if !ok || k.Kind != diagnostic.KindTest || k.PanelCode != "24362-6" || k.Container != "sst-gold" ||
		!strings.HasPrefix(k.Display, "Potassium") || len(k.Targets) == 0 || !k.Resultable() {
		t.Fatalf("potassium alone: %+v", k)
	}
	if _, ok := catalogue.Lookup("1234-5"); ok {
		t.Fatal("an unknown code was found")
	}
	renal, _ := catalogue.Lookup("24362-6")
	renal.Members[0], renal.Targets[0].Minutes, renal.Names[0] = "x", 1, "x"
	again, _ := catalogue.Lookup("24362-6")
	if again.Members[0] != "2951-2" || again.Targets[0].Minutes == 1 || again.Names[0] != "U&E" {
		t.Fatal("changing a looked-up entry changed the catalogue")
	}
	cxr, _ := catalogue.Lookup("36643-5")
	cxr.BodySite.Code = "x"
	if again, _ := catalogue.Lookup("36643-5"); again.BodySite.Code != "51185008" {
		t.Fatal("changing a looked-up body site changed the catalogue")
	}
	codes := func(os []diagnostic.Orderable) []string {
		var out []string
		for _, o := range os {
			out = append(out, o.Code)
		}
		return out
	}
	if got := codes(catalogue.Search("fbc")); !slices.Equal(got, []string{"58410-2"}) {
		t.Errorf("search fbc: %v", got)
	}
	if got := codes(catalogue.Search("U&E")); !slices.Equal(got, []string{"24362-6"}) {
		t.Errorf("search U&E: %v", got)
	}
	if got := codes(catalogue.Search(" CT head ")); !slices.Equal(got, []string{"24725-4"}) {
		t.Errorf("search CT head: %v", got)
	}
	if got := codes(catalogue.Search("mri")); !slices.Equal(got, []string{"24590-2"}) {
		t.Errorf("search mri: %v", got)
	}
	if len(catalogue.Search("")) != len(catalogue.Orderables) {
		t.Error("an empty search does not list the catalogue")
	}
}

// catalogueJSON is the embedded data file as a tree to change.
func catalogueJSON(t *testing.T) map[string]any {
	t.Helper()
	data, err := os.ReadFile("data/tests.json")
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func orderable(m map[string]any, code string) map[string]any {
	for _, o := range m["orderables"].([]any) {
		if o.(map[string]any)["code"] == code {
			return o.(map[string]any)
		}
	}
	panic(code)
}

func TestLoadRefusesABadCatalogue(t *testing.T) {
	cases := []struct {
		name string
		edit func(map[string]any)
		want string
	}{
		{"as shipped", func(map[string]any) {}, ""},
		{"unknown field", func(m map[string]any) { orderable(m, "1988-5")["colour"] = "red" }, "unknown field"},
		{"no version", func(m map[string]any) { m["version"] = " " }, "version is required"},
		{"source twice", func(m map[string]any) { m["sources"] = append(m["sources"].([]any), m["sources"].([]any)[0]) }, `source "loinc"`},
		{"uncited", func(m map[string]any) { orderable(m, "1988-5")["source"] = "a textbook" }, "orderable 1988-5: citation"},
		{"unknown source", func(m map[string]any) { orderable(m, "1988-5")["source"] = "wikipedia: CRP" }, "citation"},
		{"bad check digit", func(m map[string]any) { orderable(m, "1988-5")["code"] = "1988-6" }, "not a well-formed LOINC code"},
		{"listed twice", func(m map[string]any) { orderable(m, "2345-7")["code"] = "1988-5" }, "listed twice"},
		{"member not in observation", func(m map[string]any) {
			orderable(m, "24326-1")["members"] = []any{"2951-2", "2947-0"}
		}, "member 2947-0 is not in the observation catalogue"},
		{"malformed member", func(m map[string]any) { orderable(m, "24326-1")["members"] = []any{"2951-2", "abc"} }, `member "abc"`},
		{"member twice", func(m map[string]any) { orderable(m, "24326-1")["members"] = []any{"2951-2", "2951-2"} }, "listed twice"},
		{"panel of one", func(m map[string]any) { orderable(m, "24326-1")["members"] = []any{"2951-2"} }, "at least two members"},
		{"test with members", func(m map[string]any) { orderable(m, "1988-5")["members"] = []any{"2951-2", "2823-3"} }, "no members"},
		{"unknown container", func(m map[string]any) { orderable(m, "1988-5")["container"] = "red-top" }, `container "red-top"`},
		{"container of another specimen", func(m map[string]any) { orderable(m, "1988-5")["container"] = "edta-lavender" }, "yields BLD, not SER"},
		{"unknown specimen", func(m map[string]any) { orderable(m, "1988-5")["specimen"] = "CSF" }, `specimen type "CSF"`},
		{"lab test with modality", func(m map[string]any) { orderable(m, "1988-5")["modalities"] = []any{"CT"} }, "no modality"},
		{"unknown kind", func(m map[string]any) { orderable(m, "1988-5")["kind"] = "panel-ish" }, "must be test, panel or imaging"},
		{"no display", func(m map[string]any) { orderable(m, "1988-5")["display"] = "" }, "a display is required"},
		{"unknown target set", func(m map[string]any) { orderable(m, "1988-5")["targets"] = "fast" }, `target set "fast"`},
		{"imaging without modality", func(m map[string]any) { orderable(m, "24725-4")["modalities"] = []any{} }, "names its modalities"},
		{"unknown modality", func(m map[string]any) { orderable(m, "24725-4")["modalities"] = []any{"XX"} }, `"XX" is not a DICOM`},
		{"bad body site", func(m map[string]any) {
			orderable(m, "24725-4")["bodySite"] = map[string]any{"code": "69536006"}
		}, "valid SNOMED CT code"},
		{"body site of another system", func(m map[string]any) {
			orderable(m, "24725-4")["bodySite"] = map[string]any{"code": "69536005", "system": "http://example.org"}
		}, "valid SNOMED CT code"},
		{"imaging with a tube", func(m map[string]any) { orderable(m, "24725-4")["container"] = "sst-gold" }, "no specimen, container"},
		{"target set without stat", func(m map[string]any) {
			sets := m["targetSets"].(map[string]any)
			var keep []any
			for _, tg := range sets["imaging"].([]any) {
				if tg.(map[string]any)["priority"] != "stat" {
					keep = append(keep, tg)
				}
			}
			sets["imaging"] = keep
		}, "no target for priority stat"},
		{"target backwards", func(m map[string]any) {
			tg := m["targetSets"].(map[string]any)["imaging"].([]any)[0].(map[string]any)
			tg["from"], tg["to"] = "verified", "ordered"
		}, "from before to"},
		{"target of no time", func(m map[string]any) {
			m["targetSets"].(map[string]any)["imaging"].([]any)[0].(map[string]any)["minutes"] = 0
		}, "minutes must be positive"},
		{"target of no priority", func(m map[string]any) {
			m["targetSets"].(map[string]any)["imaging"].([]any)[0].(map[string]any)["priority"] = "asap"
		}, `priority "asap"`},
		{"uncited target", func(m map[string]any) {
			m["targetSets"].(map[string]any)["imaging"].([]any)[0].(map[string]any)["source"] = "we said so"
		}, "target set imaging[0]: citation"},
		{"container twice", func(m map[string]any) {
			m["containers"] = append(m["containers"].([]any), m["containers"].([]any)[0])
		}, `container "citrate-light-blue"`},
		{"container of an unknown specimen", func(m map[string]any) {
			m["containers"].([]any)[0].(map[string]any)["specimen"] = "CSF"
		}, `specimen type "CSF" is not in the catalogue`},
		{"container without draw order", func(m map[string]any) {
			m["containers"].([]any)[0].(map[string]any)["drawOrder"] = 0
		}, "draw order"},
		{"specimen type twice", func(m map[string]any) {
			m["specimenTypes"] = append(m["specimenTypes"].([]any), m["specimenTypes"].([]any)[0])
		}, `specimen type "SER"`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m := catalogueJSON(t)
			tc.edit(m)
			data, _ := json.Marshal(m)
			c, err := diagnostic.Load(data)
			switch {
			case tc.want == "" && err != nil:
				t.Fatal(err)
			case tc.want == "":
				if len(c.Orderables) != len(catalogue.Orderables) {
					t.Fatal("the shipped file loads differently")
				}
			case err == nil || !strings.Contains(err.Error(), tc.want):
				t.Fatalf("err = %v, want it to say %q", err, tc.want)
			case c != nil:
				t.Fatal("a refused catalogue was returned")
			}
		})
	}
	if _, err := diagnostic.Load([]byte("{")); err == nil {
		t.Fatal("broken JSON loaded")
	}
}

func TestKinds(t *testing.T) {
	if !diagnostic.KindTest.Laboratory() || !diagnostic.KindPanel.Laboratory() || diagnostic.KindImaging.Laboratory() {
		t.Fatal("Laboratory()")
	}
}
