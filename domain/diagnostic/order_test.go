package diagnostic_test

import (
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/zarish-sphere/zarish/domain/diagnostic"
)

func TestNewOrderResolvesTheCatalogue(t *testing.T) {
	req := request("58410-2", "24362-6", "6301-6")
	req.Priority = ""
	o, err := diagnostic.NewOrder(req, catalogue)
	if err != nil {
		t.Fatal(err)
	}
	if o.Priority != diagnostic.PriorityRoutine || o.CatalogueVersion != catalogue.Version || len(o.Items) != 3 || o.Imaging() || o.Sensitive() {
		t.Fatalf("order %+v", o)
	}
	want := []string{"718-7", "6690-2", "777-3", "2951-2", "2823-3", "22664-7", "2160-0", "98979-8", "6301-6"}
	if !slices.Equal(o.ResultCodes(), want) {
		t.Fatalf("result codes %v, want %v (a panel expands to its members)", o.ResultCodes(), want)
	}
	// CLSI GP41 order of draw: citrate, serum, EDTA.
	if got := o.Containers(); !slices.Equal(got, []string{"citrate-light-blue", "sst-gold", "edta-lavender"}) {
		t.Fatalf("containers %v", got)
	}
	if c, ok := o.ContainerOf("2823-3"); !ok || c != "sst-gold" {
		t.Fatalf("potassium's tube: %s", c)
	}
	if _, ok := o.ContainerOf("1988-5"); ok {
		t.Fatal("an unordered code has a tube")
	}
	for _, it := range o.Items {
		for _, tg := range it.Targets {
			if tg.Priority != diagnostic.PriorityRoutine {
				t.Fatalf("%s carries a %s target", it.Code, tg.Priority)
			}
		}
	}
}

func TestOrderTargetsTakeTheStrictest(t *testing.T) {
	req := request("24362-6", "2524-7")
	req.Priority = diagnostic.PriorityUrgent
	o, err := diagnostic.NewOrder(req, catalogue)
	if err != nil {
		t.Fatal(err)
	}
	var spans []string
	for _, tg := range o.Targets() {
		spans = append(spans, tg.Span()+" "+strconv.Itoa(tg.Minutes))
	}
	// The renal panel's urgent received→resulted is 120 minutes; lactate's
	// is 60 (Hawkins 2007), so the order's is 60.
	want := []string{"ordered→collected 60", "received→resulted 60"}
	if !slices.Equal(spans, want) {
		t.Fatalf("targets %v, want %v", spans, want)
	}
}

func TestNewOrderReportsEveryInvalidField(t *testing.T) {
	nilID := uuid.Nil
	cases := []struct {
		name   string
		edit   func(*diagnostic.Request)
		fields []string
		says   string
	}{
		{"valid", func(*diagnostic.Request) {}, nil, ""},
		{"empty", func(r *diagnostic.Request) { *r = diagnostic.Request{} },
			[]string{"id", "patientId", "ordererId", "createdAt", "tests"}, ""},
		{"unknown code names its item", func(r *diagnostic.Request) { r.Tests = []string{"24362-6", "9999-4"} },
			[]string{"tests[1]"}, "9999-4 is not a test, panel or imaging procedure"},
		{"blank code", func(r *diagnostic.Request) { r.Tests = []string{" "} }, []string{"tests[0]"}, "required"},
		{"ordered twice", func(r *diagnostic.Request) { r.Tests = []string{"1988-5", "2345-7", "1988-5"} },
			[]string{"tests[2]"}, "ordered twice (tests[0])"},
		{"member after its panel", func(r *diagnostic.Request) { r.Tests = []string{"24362-6", "2823-3"} },
			[]string{"tests[1]"}, "already ordered in 24362-6 (tests[0])"},
		{"member before a panel", func(r *diagnostic.Request) { r.Tests = []string{"2823-3", "24326-1"} },
			[]string{"tests[0]"}, "already ordered in 24326-1 (tests[1])"},
		{"overlapping panels", func(r *diagnostic.Request) { r.Tests = []string{"24362-6", "24326-1"} }, nil, ""},
		{"laboratory and imaging", func(r *diagnostic.Request) { r.Tests = []string{"24362-6", "36643-5"} },
			[]string{"tests"}, "not both"},
		{"imaging without clinical information", func(r *diagnostic.Request) { r.Tests, r.ClinicalInfo = []string{"24725-4"}, " " },
			[]string{"clinicalInfo"}, "required"},
		{"too many tests", func(r *diagnostic.Request) { r.Tests = slices.Repeat([]string{"1988-5"}, diagnostic.MaxTests+1) },
			[]string{"tests"}, "at most 20"},
		{"every other field wrong", func(r *diagnostic.Request) {
			r.EncounterID = &nilID
			r.Priority = "whenever"
			r.ClinicalInfo = strings.Repeat("é", diagnostic.MaxClinicalInfoLen+1)
			r.SpecimenNotes = strings.Repeat("x", diagnostic.MaxSpecimenNoteLen+1)
		}, []string{"encounterId", "priority", "clinicalInfo", "specimenNotes"}, ""},
		{"invalid text", func(r *diagnostic.Request) { r.SpecimenNotes = "fasting\x00" }, []string{"specimenNotes"}, "valid text"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req := request()
			tc.edit(&req)
			o, err := diagnostic.NewOrder(req, catalogue)
			if got := fields(err); !slices.Equal(got, tc.fields) {
				t.Fatalf("fields %v, want %v (%v)", got, tc.fields, err)
			}
			if tc.says != "" && !strings.Contains(err.Error(), tc.says) {
				t.Fatalf("%v does not say %q", err, tc.says)
			}
			if err != nil && len(o.Items) != 0 {
				t.Fatal("an invalid order was made")
			}
		})
	}
}

func TestImagingAndSensitiveOrders(t *testing.T) {
	req := request("24725-4", "36643-5")
	req.ClinicalInfo = "fall, on warfarin, GCS 14"
	o, err := diagnostic.NewOrder(req, catalogue)
	if err != nil {
		t.Fatal(err)
	}
	if !o.Imaging() || len(o.Containers()) != 0 || len(o.ResultCodes()) != 0 {
		t.Fatalf("imaging order %+v", o)
	}
	if p, ok := o.Procedure("24725-4"); !ok || p.Modalities[0] != "CT" {
		t.Fatal("the CT head procedure")
	}
	if _, ok := o.Procedure("24590-2"); ok {
		t.Fatal("an unordered procedure was found")
	}
	hiv, err := diagnostic.NewOrder(request("56888-1"), catalogue)
	if err != nil || !hiv.Sensitive() {
		t.Fatalf("HIV order sensitive %v: %v", hiv.Sensitive(), err)
	}
}

func TestPriorities(t *testing.T) {
	for _, p := range diagnostic.Priorities {
		if !p.Valid() || p.AlertOnMiss() != (p == diagnostic.PriorityStat) {
			t.Errorf("%s: valid %v alert %v", p, p.Valid(), p.AlertOnMiss())
		}
	}
	if diagnostic.Priority("asap").Valid() {
		t.Error("asap is not a priority the services work to")
	}
}
