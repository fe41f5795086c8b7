package diagnostic_test

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/zarish-sphere/zarish/domain/diagnostic"
)

func TestCheckUID(t *testing.T) {
	cases := []struct {
		uid  string
		ok   bool
		says string
	}{
		{"1.2.840.10008.1.2.1", true, ""},
		{"2.25.329800735698586629295641978511506172918", true, ""}, // a UUID-derived UID (PS3.5 B.2)
		{"1.2.826.0.1.3680043.8.498.10", true, ""},
		{"0.0", true, ""},
		{"", false, "required"},
		{"1", false, "fewer than two components"},
		{"1..2", false, "empty component"},
		{".1.2", false, "empty component"},
		{"1.2.", false, "empty component"},
		{"1.2.03", false, "leading zero"},
		{"01.2", false, "leading zero"},
		{"1.2.a", false, "digits and periods"},
		{"1.2 .3", false, "digits and periods"},
		{"3.1.2", false, "start with 0, 1 or 2"},
		{"1." + strings.Repeat("9", 63), false, "longer than 64"},
		{"1." + strings.Repeat("9", 62), true, ""},
	}
	for _, tc := range cases {
		err := diagnostic.CheckUID(tc.uid)
		if (err == nil) != tc.ok || diagnostic.ValidUID(tc.uid) != tc.ok {
			t.Errorf("%q: err = %v, want ok %v", tc.uid, err, tc.ok)
			continue
		}
		if err != nil && (!errors.Is(err, diagnostic.ErrInvalidArgument) || !strings.Contains(err.Error(), tc.says)) {
			t.Errorf("%q: %v does not say %q", tc.uid, err, tc.says)
		}
	}
}

func TestModalities(t *testing.T) {
	for _, m := range []string{"CR", "DX", "CT", "MR", "US"} {
		if !diagnostic.ValidModality(m) {
			t.Errorf("%s is a modality", m)
		}
	}
	for _, m := range []string{"", "ct", "XR", "MRI"} {
		if diagnostic.ValidModality(m) {
			t.Errorf("%q is not a DICOM modality code", m)
		}
	}
	ms := diagnostic.Modalities()
	ms[0] = "XX"
	if !diagnostic.ValidModality("CR") {
		t.Fatal("changing the list changed the modalities")
	}
}

const studyUID = "1.2.826.0.1.3680043.8.498.1"

func study(procedure string, status diagnostic.StudyStatus, modality string, instances ...int) diagnostic.ImagingStudy {
	s := diagnostic.ImagingStudy{ID: uuid.NewSHA1(uuid.NameSpaceOID, []byte("study/"+procedure)), PatientID: patient, ReportID: reportID,
		ProcedureCode: procedure, StudyUID: studyUID + "." + procedure[:5], Modalities: []string{modality},
		BodySite: &diagnostic.Coding{System: diagnostic.SystemSNOMED, Code: "69536005"}, Started: ptr(t0.Add(20 * time.Minute)), Status: status}
	for i, n := range instances {
		s.Series = append(s.Series, diagnostic.Series{UID: s.StudyUID + ".1." + string(rune('1'+i)), Number: i + 1, Modality: modality, Instances: n})
	}
	return s
}

func TestNewImagingStudy(t *testing.T) {
	s, err := diagnostic.NewImagingStudy(study("24725-4", diagnostic.StudyAvailable, "CT", 120, 80))
	if err != nil {
		t.Fatal(err)
	}
	if s.NumberOfSeries != 2 || s.NumberOfInstances != 200 {
		t.Fatalf("counts %d series, %d instances", s.NumberOfSeries, s.NumberOfInstances)
	}
	noSeries := study("24725-4", diagnostic.StudyRegistered, "CT")
	noSeries.NumberOfSeries, noSeries.NumberOfInstances = 3, 0
	if s, err := diagnostic.NewImagingStudy(noSeries); err != nil || s.NumberOfSeries != 3 {
		t.Fatalf("counts as reported: %+v %v", s, err)
	}
	cases := []struct {
		name   string
		edit   func(*diagnostic.ImagingStudy)
		fields []string
	}{
		{"empty", func(s *diagnostic.ImagingStudy) { *s = diagnostic.ImagingStudy{} },
			[]string{"id", "patientId", "reportId", "procedureCode", "studyUid", "modalities", "status"}},
		{"available with nothing", func(s *diagnostic.ImagingStudy) { s.Series = nil }, []string{"status"}},
		{"closed on arrival", func(s *diagnostic.ImagingStudy) { s.Status = diagnostic.StudyCancelled }, []string{"status"}},
		{"bad modality", func(s *diagnostic.ImagingStudy) { s.Modalities = []string{"CT", "XR"} }, []string{"modalities[1]"}},
		{"bad body site", func(s *diagnostic.ImagingStudy) { s.BodySite = &diagnostic.Coding{Code: "69536006"} }, []string{"bodySite"}},
		{"negative counts", func(s *diagnostic.ImagingStudy) {
			s.Series, s.NumberOfSeries, s.Status = nil, -1, diagnostic.StudyRegistered
		},
			[]string{"numberOfInstances"}},
		{"every series wrong", func(s *diagnostic.ImagingStudy) {
			s.Series[0].UID = s.StudyUID
			s.Series[1].UID, s.Series[1].Modality, s.Series[1].Instances = "1.02", "MR", -1
			s.Series[1].BodySite = &diagnostic.Coding{Code: "1"}
		}, []string{"series[0].uid", "series[1].uid", "series[1].modality", "series[1].instances", "series[1].bodySite"}},
		{"series twice", func(s *diagnostic.ImagingStudy) { s.Series[1].UID = s.Series[0].UID }, []string{"series[1].uid"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := study("24725-4", diagnostic.StudyAvailable, "CT", 120, 80)
			tc.edit(&s)
			_, err := diagnostic.NewImagingStudy(s)
			if got := fields(err); !slices.Equal(got, tc.fields) {
				t.Fatalf("fields %v, want %v (%v)", got, tc.fields, err)
			}
		})
	}
	for _, st := range diagnostic.StudyStatuses {
		if !st.Valid() {
			t.Errorf("%s invalid", st)
		}
	}
	if diagnostic.StudyStatus("unknown").Valid() {
		t.Error("unknown is not used")
	}
}

func TestImagingStudyUpdate(t *testing.T) {
	reg, _ := diagnostic.NewImagingStudy(study("24725-4", diagnostic.StudyRegistered, "CT"))
	avail, err := reg.Update(study("24725-4", diagnostic.StudyAvailable, "CT", 120))
	if err != nil || avail.Status != diagnostic.StudyAvailable || avail.NumberOfInstances != 120 {
		t.Fatalf("available: %+v %v", avail, err)
	}
	eie, err := avail.Update(study("24725-4", diagnostic.StudyEnteredInError, "CT"))
	if err != nil || eie.Status != diagnostic.StudyEnteredInError {
		t.Fatalf("entered in error: %+v %v", eie, err)
	}
	if c, err := reg.Update(study("24725-4", diagnostic.StudyCancelled, "CT")); err != nil || c.Status != diagnostic.StudyCancelled {
		t.Fatalf("cancelled: %+v %v", c, err)
	}
	other := study("24725-4", diagnostic.StudyAvailable, "CT", 1)
	other.StudyUID = "1.2.3"
	cases := []struct {
		name string
		from diagnostic.ImagingStudy
		to   diagnostic.ImagingStudy
		want error
	}{
		{"another study", reg, other, diagnostic.ErrInvalidArgument},
		{"after entered in error", eie, study("24725-4", diagnostic.StudyAvailable, "CT", 1), diagnostic.ErrInvalidTransition},
		{"available cancelled", avail, study("24725-4", diagnostic.StudyCancelled, "CT", 1), diagnostic.ErrInvalidTransition},
		{"available back to registered", avail, study("24725-4", diagnostic.StudyRegistered, "CT", 1), diagnostic.ErrInvalidTransition},
	}
	for _, tc := range cases {
		if _, err := tc.from.Update(tc.to); !errors.Is(err, tc.want) {
			t.Errorf("%s: err = %v, want %v", tc.name, err, tc.want)
		}
	}
	if _, err := reg.Update(study("24725-4", diagnostic.StudyAvailable, "CT")); fields(err) == nil {
		t.Errorf("an available study without instances: %v", err)
	}
}

func imagingRequest(tests ...string) diagnostic.Request {
	req := request(tests...)
	req.Priority = diagnostic.PriorityStat
	req.ClinicalInfo = "fall on warfarin, GCS 14, vomiting twice"
	return req
}

func TestImagingReport(t *testing.T) {
	r := newReport(t, imagingRequest("24725-4", "36643-5"))
	if len(r.Awaiting()) != 0 {
		t.Fatal("an imaging order awaits tubes")
	}
	// NICE NG232: a STAT CT head is scanned within an hour of the order.
	if next, ok := r.NextDeadline(t0); !ok || !next.Equal(t0.Add(time.Hour)) {
		t.Fatalf("next deadline %v", next)
	}
	r = must(t)(r.LinkStudy(study("24725-4", diagnostic.StudyRegistered, "CT"), t0.Add(20*time.Minute)))
	if r.Status != diagnostic.StatusRegistered || len(r.Studies) != 1 {
		t.Fatalf("registered study: %s", r.Status)
	}
	r = must(t)(r.LinkStudy(study("24725-4", diagnostic.StudyAvailable, "CT", 120), t0.Add(35*time.Minute)))
	if r.Status != diagnostic.StatusPartial || len(r.Studies) != 1 || r.Studies[0].NumberOfInstances != 120 {
		t.Fatalf("CT available: %s", r.Status)
	}
	if got := r.Missing(); !slices.Equal(got, []string{"36643-5"}) {
		t.Fatalf("missing %v", got)
	}
	r = must(t)(r.LinkStudy(study("36643-5", diagnostic.StudyAvailable, "DX", 2), t0.Add(45*time.Minute)))
	if r.Status != diagnostic.StatusPreliminary || r.ResultedAt == nil {
		t.Fatalf("both available: %s", r.Status)
	}
	if d, ok := r.Stages().Duration(diagnostic.StageResulted); !ok || d != 45*time.Minute {
		t.Fatalf("resulted stage %v", d)
	}
	// A radiologist verifies, with the report text.
	v := diagnostic.Verification{By: radiol, Role: diagnostic.RoleRadiologist, At: t0.Add(80 * time.Minute)}
	if _, err := r.Verify(v, time.Hour); !errors.Is(err, diagnostic.ErrInvalidArgument) {
		t.Fatalf("an imaging report without a conclusion: %v", err)
	}
	lab := v
	lab.Role, lab.Conclusion = diagnostic.RolePathologist, "x"
	if _, err := r.Verify(lab, time.Hour); !errors.Is(err, diagnostic.ErrInvalidArgument) {
		t.Fatalf("a pathologist verified an imaging report: %v", err)
	}
	v.Conclusion = "No acute intracranial haemorrhage. Clear lungs."
	f := must(t)(r.Verify(v, time.Hour))
	ver, _ := f.Latest()
	if len(ver.Content.Studies) != 2 || ver.Content.Studies[0].StudyUID != r.Studies[0].StudyUID {
		t.Fatalf("version studies %+v", ver.Content.Studies)
	}
	if _, err := f.LinkStudy(study("24725-4", diagnostic.StudyEnteredInError, "CT", 120), t0.Add(2*time.Hour)); !errors.Is(err, diagnostic.ErrInvalidTransition) {
		t.Fatalf("a study linked after verification: %v", err)
	}
	// An imaging report cannot be amended to have no conclusion.
	if err := f.CanAmend(diagnostic.Amendment{By: radiol, Reason: "x", Conclusion: ptr(" ")}); !errors.Is(err, diagnostic.ErrInvalidArgument) {
		t.Fatalf("conclusion removed: %v", err)
	}
	if s := f.Summary(); !s.Imaging || s.Stages.Collected != nil {
		t.Fatalf("summary %+v", s)
	}
}

func TestLinkStudyRefusals(t *testing.T) {
	r := newReport(t, imagingRequest("24725-4"))
	wrongPatient := study("24725-4", diagnostic.StudyAvailable, "CT", 1)
	wrongPatient.PatientID = stranger
	wrongOrder := study("24725-4", diagnostic.StudyAvailable, "CT", 1)
	wrongOrder.ReportID = uuid.New()
	invalid := study("24725-4", diagnostic.StudyAvailable, "CT", 1)
	invalid.StudyUID = "1.02"
	linked := must(t)(r.LinkStudy(study("24725-4", diagnostic.StudyAvailable, "CT", 1), t0.Add(time.Minute)))
	full := r
	for i := 0; i < diagnostic.MaxStudies; i++ {
		full.Studies = append(full.Studies, diagnostic.ImagingStudy{ID: uuid.New()})
	}
	another := study("24725-4", diagnostic.StudyAvailable, "CT", 1)
	another.ID = uuid.New()
	cases := []struct {
		name string
		r    diagnostic.Report
		s    diagnostic.ImagingStudy
		want error
	}{
		{"laboratory report", newReport(t, request()), study("24725-4", diagnostic.StudyAvailable, "CT", 1), diagnostic.ErrInvalidTransition},
		{"cancelled", must(t)(r.Cancel(orderer, "scan not needed", t0)), study("24725-4", diagnostic.StudyAvailable, "CT", 1), diagnostic.ErrInvalidTransition},
		{"another patient", r, wrongPatient, diagnostic.ErrInvalidArgument},
		{"another order", r, wrongOrder, diagnostic.ErrInvalidArgument},
		{"not ordered", r, study("24590-2", diagnostic.StudyAvailable, "MR", 1), diagnostic.ErrInvalidArgument},
		{"wrong modality", r, study("24725-4", diagnostic.StudyAvailable, "MR", 1), diagnostic.ErrInvalidArgument},
		{"invalid study", r, invalid, diagnostic.ErrInvalidArgument},
		{"invalid update", linked, study("24725-4", diagnostic.StudyRegistered, "CT", 1), diagnostic.ErrInvalidTransition},
		{"too many", full, another, diagnostic.ErrInvalidTransition},
	}
	for _, tc := range cases {
		if _, err := tc.r.LinkStudy(tc.s, t0.Add(time.Hour)); !errors.Is(err, tc.want) {
			t.Errorf("%s: err = %v, want %v", tc.name, err, tc.want)
		}
	}
	if err := r.CanLinkStudy(invalid); fields(err) == nil {
		t.Errorf("the refusal of an invalid study does not name its fields: %v", err)
	}
	// An imaging order has no specimens or observation results.
	if err := r.CanRecord(quantity(t, "na", "2951-2", 140, "mmol/L")); !errors.Is(err, diagnostic.ErrInvalidTransition) {
		t.Errorf("an observation resulted an imaging report: %v", err)
	}
	// A study entered in error no longer results its procedure.
	withdrawn := must(t)(linked.LinkStudy(study("24725-4", diagnostic.StudyEnteredInError, "CT", 1), t0.Add(2*time.Minute)))
	if withdrawn.Status != diagnostic.StatusRegistered || withdrawn.ResultedAt != nil {
		t.Fatalf("after the study was entered in error: %s", withdrawn.Status)
	}
}

func TestValidSCTID(t *testing.T) {
	valid := []string{
		"11000004106", // partition 10: an extension's concept, namespace 1000004
		"22298006",    // myocardial infarction
		"399208008",   // plain chest X-ray
		"69536005",    // head structure
		"51185008",    // thoracic structure
		"113345001",   // abdominal structure
		"12738006",    // brain structure
		"17621005",    // normal
		"138875005",   // SNOMED CT concept (the root)
		"404684003",   // clinical finding
	}
	for _, c := range valid {
		if !diagnostic.ValidSCTID(c) {
			t.Errorf("%s is a SNOMED CT concept id", c)
		}
	}
	invalid := []string{
		"", "12345", "0022298006", "22298007", // check digit wrong
		"22298a06", "1234567890123456789", // too long
		"22298010",  // a valid check digit, but partition 01 (a description id)
		"999999109", // partition 10 without room for a namespace
		"22298023",  // a valid check digit, but partition 02 (a relationship id)
	}
	for _, c := range invalid {
		if diagnostic.ValidSCTID(c) {
			t.Errorf("%q is not a SNOMED CT concept id", c)
		}
	}
}
