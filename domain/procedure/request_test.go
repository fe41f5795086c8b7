package procedure_test

import (
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/zarish-sphere/zarish/domain"
	"github.com/zarish-sphere/zarish/domain/procedure"
)

// The fixtures of the request, lifecycle and metrics tests: an
// appendectomy requested on Monday 7 December 2026 at 08:00 UTC, first
// slotted on Tuesday 09:00–10:30 in theatre 1.
var (
	fxT0        = time.Date(2026, 12, 7, 8, 0, 0, 0, time.UTC)
	fxProcID    = uuid.MustParse("0193d000-0000-7000-8000-0000000000e1")
	fxPatient   = uuid.MustParse("0193d000-0000-7000-8000-0000000000aa")
	fxRequester = uuid.MustParse("0193d000-0000-7000-8000-000000000001")
	fxScheduler = uuid.MustParse("0193d000-0000-7000-8000-000000000002")
	fxNurse     = uuid.MustParse("0193d000-0000-7000-8000-000000000003")
	fxSurgeon   = uuid.MustParse("0193d000-0000-7000-8000-000000000004")
	fxEmergency = uuid.MustParse("0193d000-0000-7000-8000-0000000000e9")
	fxTheatre   = uuid.MustParse("0193d000-0000-7000-8000-0000000000c1")
	fxSurgRes   = uuid.MustParse("0193d000-0000-7000-8000-0000000000b1")
	fxAnaesRes  = uuid.MustParse("0193d000-0000-7000-8000-0000000000b2")
	fxScrub1    = uuid.MustParse("0193d000-0000-7000-8000-0000000000b3")
	fxScrub2    = uuid.MustParse("0193d000-0000-7000-8000-0000000000b4")
)

// fxAt is 7 December 2026 plus days, at hour:minute UTC.
func fxAt(days, hour, minute int) time.Time {
	return time.Date(2026, 12, 7+days, hour, minute, 0, 0, time.UTC)
}

// fxRequest is an elective appendectomy (SNOMED CT 80146002) of 90
// minutes in an operating theatre with a surgeon, an anaesthetist and two
// scrub nurses, any time in the next two weeks.
func fxRequest() procedure.Request {
	return procedure.Request{
		ID: fxProcID, PatientID: fxPatient,
		Procedure: procedure.Coding{System: procedure.SystemSNOMED, Code: "80146002", Display: "Appendectomy"},
		Duration:  90 * time.Minute,
		Requirements: []procedure.Requirement{
			{Type: procedure.KindRoom, Capability: "operating-theatre"},
			{Type: procedure.KindStaff, Skill: "surgeon"},
			{Type: procedure.KindStaff, Skill: "anaesthetist"},
			{Type: procedure.KindStaff, Skill: "scrub-nurse", Count: 2},
		},
		Window:      procedure.Period{From: fxT0, To: fxAt(14, 8, 0)},
		RequesterID: fxRequester,
		CreatedAt:   fxT0,
	}
}

// fxSlot is the request's slot from the given day and time, with every
// resource it needs.
func fxSlot(days, hour, minute int) procedure.Slot {
	from := fxAt(days, hour, minute)
	return procedure.Slot{Period: procedure.Period{From: from, To: from.Add(90 * time.Minute)},
		Resources: [][]uuid.UUID{{fxTheatre}, {fxSurgRes}, {fxAnaesRes}, {fxScrub1, fxScrub2}}}
}

// fxMust takes a change's result, failing the test on its error.
func fxMust(t *testing.T) func(procedure.Procedure, error) procedure.Procedure {
	t.Helper()
	return func(p procedure.Procedure, err error) procedure.Procedure {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
}

// fxFields are the fields a validation error names, nil for another error.
func fxFields(err error) []string {
	var v *domain.ValidationError
	if !errors.As(err, &v) {
		return nil
	}
	var out []string
	for _, f := range v.Fields {
		out = append(out, f.Field)
	}
	return out
}

func TestValidSCTID(t *testing.T) {
	for _, tt := range []struct {
		code string
		want bool
	}{
		{"80146002", true},   // appendectomy
		{"73761001", true},   // colonoscopy
		{"41976001", true},   // cardiac catheterization
		{"22298006", true},   // myocardial infarction
		{"385669000", true},  // successful (outcome)
		{"80146003", false},  // appendectomy with a wrong check digit
		{"81046002", false},  // two digits transposed
		{"80164002", false},  // two digits transposed
		{"80146012", false},  // partition 01 is a description, not a concept
		{"080146002", false}, // leading zero
		{"12345", false},     // too short
		{"1234567890123456789", false},
		{"8014600X", false},
		{"", false},
	} {
		if got := procedure.ValidSCTID(tt.code); got != tt.want {
			t.Errorf("ValidSCTID(%q) = %v, want %v", tt.code, got, tt.want)
		}
	}
	// Exactly one check digit completes each concept id.
	for _, id := range []string{"80146002", "73761001", "41976001"} {
		n := 0
		for d := '0'; d <= '9'; d++ {
			if procedure.ValidSCTID(id[:len(id)-1] + string(d)) {
				n++
			}
		}
		if n != 1 {
			t.Errorf("%s: %d check digits pass", id, n)
		}
	}
}

func TestValidCPT(t *testing.T) {
	for _, tt := range []struct {
		code string
		want bool
	}{
		{"44950", true}, // appendectomy
		{"45378", true}, // diagnostic colonoscopy
		{"3008F", true}, // Category II: body mass index documented
		{"0042T", true}, // Category III
		{"4495", false},
		{"449500", false},
		{"3008f", false},
		{"3008X", false},
		{"F3008", false},
		{"", false},
	} {
		if got := procedure.ValidCPT(tt.code); got != tt.want {
			t.Errorf("ValidCPT(%q) = %v, want %v", tt.code, got, tt.want)
		}
	}
}

func TestCheckRequestNamesEveryInvalidField(t *testing.T) {
	zero := uuid.Nil
	for _, tt := range []struct {
		name   string
		change func(r *procedure.Request)
		want   []string
	}{
		{"valid", func(r *procedure.Request) {}, nil},
		{"empty", func(r *procedure.Request) { *r = procedure.Request{} }, []string{"id", "patientId", "requesterId", "createdAt",
			"procedure.system", "procedure.display", "duration", "requirements", "window.from", "window.to"}},
		{"empty ids", func(r *procedure.Request) { r.EncounterID, r.PreferredPractitionerID = &zero, &zero },
			[]string{"encounterId", "preferredPractitionerId"}},
		{"unknown system", func(r *procedure.Request) { r.Procedure.System = "http://hl7.org/fhir/sid/icd-10" }, []string{"procedure.system"}},
		{"corrupted SNOMED CT code", func(r *procedure.Request) { r.Procedure.Code = "80146003" }, []string{"procedure.code"}},
		{"CPT code under SNOMED CT", func(r *procedure.Request) { r.Procedure.Code = "44950" }, []string{"procedure.code"}},
		{"CPT", func(r *procedure.Request) {
			r.Procedure = procedure.Coding{System: procedure.SystemCPT, Code: "44950", Display: "Appendectomy"}
		}, nil},
		{"CPT category III", func(r *procedure.Request) {
			r.Procedure = procedure.Coding{System: procedure.SystemCPT, Code: "0042T", Display: "CT perfusion"}
		}, nil},
		{"bad CPT", func(r *procedure.Request) {
			r.Procedure = procedure.Coding{System: procedure.SystemCPT, Code: "80146002", Display: "x"}
		}, []string{"procedure.code"}},
		{"blank display", func(r *procedure.Request) { r.Procedure.Display = "   " }, []string{"procedure.display"}},
		{"long display", func(r *procedure.Request) { r.Procedure.Display = strings.Repeat("a", 201) }, []string{"procedure.display"}},
		{"display of 200", func(r *procedure.Request) { r.Procedure.Display = strings.Repeat("é", 200) }, nil},
		{"too short", func(r *procedure.Request) { r.Duration = 4 * time.Minute }, []string{"duration"}},
		{"shortest", func(r *procedure.Request) { r.Duration = 5 * time.Minute }, nil},
		{"longest", func(r *procedure.Request) { r.Duration = 24 * time.Hour }, nil},
		{"too long", func(r *procedure.Request) { r.Duration = 24*time.Hour + time.Minute }, []string{"duration"}},
		{"seconds", func(r *procedure.Request) { r.Duration = 30*time.Minute + time.Second }, []string{"duration"}},
		{"no requirements", func(r *procedure.Request) { r.Requirements = nil }, []string{"requirements"}},
		{"eleven requirements", func(r *procedure.Request) {
			for len(r.Requirements) < 11 {
				r.Requirements = append(r.Requirements, procedure.Requirement{Type: procedure.KindEquipment, Kind: "c-arm"})
			}
		}, []string{"requirements"}},
		{"the patient as a requirement", func(r *procedure.Request) { r.Requirements[1] = procedure.Requirement{Type: procedure.KindPatient} },
			[]string{"requirements[1].type"}},
		{"attributes of the wrong type", func(r *procedure.Request) {
			r.Requirements[0] = procedure.Requirement{Type: procedure.KindRoom, Skill: "surgeon", Count: 1}
			r.Requirements[1] = procedure.Requirement{Type: procedure.KindStaff, Skill: "juggler", Kind: "c-arm", Count: 7}
			r.Requirements = append(r.Requirements, procedure.Requirement{Type: procedure.KindEquipment, Capability: "imaging", Kind: "C Arm"})
		}, []string{"requirements[0].capability", "requirements[0].skill", "requirements[0].count",
			"requirements[1].skill", "requirements[1].kind", "requirements[1].count",
			"requirements[4].capability", "requirements[4].kind"}},
		{"two rooms", func(r *procedure.Request) { r.Requirements = append(r.Requirements, r.Requirements[0]) }, []string{"requirements[4]"}},
		{"one skill twice", func(r *procedure.Request) { r.Requirements = append(r.Requirements, r.Requirements[1]) }, []string{"requirements[4]"}},
		{"two pieces of equipment", func(r *procedure.Request) {
			q := procedure.Requirement{Type: procedure.KindEquipment, Kind: "c-arm"}
			r.Requirements = append(r.Requirements, q, q)
		}, nil},
		{"staff of six", func(r *procedure.Request) { r.Requirements[3].Count = 6 }, nil},
		{"negative count", func(r *procedure.Request) { r.Requirements[3].Count = -1 }, []string{"requirements[3].count"}},
		{"window backwards", func(r *procedure.Request) { r.Window.From, r.Window.To = r.Window.To, r.Window.From }, []string{"window.to"}},
		{"window of 181 days", func(r *procedure.Request) { r.Window.To = r.Window.From.Add(181 * 24 * time.Hour) }, []string{"window.to"}},
		{"window of 180 days", func(r *procedure.Request) { r.Window.To = r.Window.From.Add(180 * 24 * time.Hour) }, nil},
		{"window shorter than the case", func(r *procedure.Request) { r.Window.To = r.Window.From.Add(time.Hour) }, []string{"window.to"}},
		{"window passed", func(r *procedure.Request) { r.CreatedAt = r.Window.To }, []string{"window.to"}},
		{"unknown priority", func(r *procedure.Request) { r.Priority = "stat" }, []string{"priority"}},
		{"emergency", func(r *procedure.Request) { r.Priority = procedure.PriorityEmergency }, nil},
		{"long notes", func(r *procedure.Request) { r.Notes = strings.Repeat("n", 2001) }, []string{"notes"}},
		{"notes of 2000", func(r *procedure.Request) { r.Notes = strings.Repeat("n", 2000) }, nil},
		{"invalid text", func(r *procedure.Request) { r.Notes = "a\x00b" }, []string{"notes"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := fxRequest()
			tt.change(&r)
			err := procedure.CheckRequest(r)
			if got := fxFields(err); !slices.Equal(got, tt.want) {
				t.Fatalf("fields %v, want %v (%v)", got, tt.want, err)
			}
			if tt.want == nil && err != nil {
				t.Fatalf("refused: %v", err)
			}
		})
	}
}

func TestValidationErrorReadsAsJSONPaths(t *testing.T) {
	r := fxRequest()
	r.Requirements[1].Skill = ""
	err := procedure.CheckRequest(r)
	var v *domain.ValidationError
	if !errors.As(err, &v) || len(v.Fields) != 1 {
		t.Fatalf("%T %v", err, err)
	}
	b, _ := json.Marshal(v.Fields[0])
	if string(b) != `{"field":"requirements[1].skill","message":"required"}` {
		t.Fatal(string(b))
	}
}
