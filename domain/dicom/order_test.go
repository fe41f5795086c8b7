package dicom

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/zarish-sphere/zarish/domain"
	"github.com/zarish-sphere/zarish/domain/diagnostic"
)

var (
	orderPatient = uuid.MustParse("0193c0de-0000-7000-8000-00000000b001")
	otherPatient = uuid.MustParse("0193c0de-0000-7000-8000-00000000b002")
)

// order is an imaging (or laboratory) order of patient for tests.
func order(t *testing.T, id string, patient uuid.UUID, tests ...string) diagnostic.Report {
	t.Helper()
	cat, err := diagnostic.Embedded()
	if err != nil {
		t.Fatal(err)
	}
	r, err := diagnostic.New(diagnostic.Request{ID: uuid.MustParse(id), PatientID: patient, Tests: tests,
		ClinicalInfo: "headache after a fall", OrdererID: uuid.MustParse("0193c0de-0000-7000-8000-00000000b0ff"),
		CreatedAt: time.Date(2024, 3, 7, 8, 0, 0, 0, time.UTC)}, cat)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// code is the NotLinked code of err, "" when err is none.
func code(t *testing.T, err error) string {
	t.Helper()
	if err == nil {
		return ""
	}
	var nl *NotLinked
	if !errors.As(err, &nl) || nl.Reason == "" {
		t.Fatalf("not a NotLinked with a reason: %v", err)
	}
	return nl.Code
}

// An order's accession number is the first 16 hex digits of its id, and
// names the range of ids that begin with them, in either case.
func TestOrderAccession(t *testing.T) {
	id := uuid.MustParse("0193c0de-1234-7abc-8def-0123456789ab")
	if got := OrderAccession(id); got != "0193c0de12347abc" {
		t.Fatalf("accession %s", got)
	}
	for _, acc := range []string{"0193c0de12347abc", "0193C0DE12347ABC"} {
		from, to, ok := OrderIDRange(acc)
		if !ok || from != uuid.MustParse("0193c0de-1234-7abc-0000-000000000000") || to != uuid.MustParse("0193c0de-1234-7abc-ffff-ffffffffffff") {
			t.Fatalf("%s: %s … %s, %v", acc, from, to, ok)
		}
	}
	for _, acc := range []string{"", "0193c0de12347ab", "0193c0de12347abcd", "ACC-2024-0042XYZ", "0193c0de1234-abc"} {
		if _, _, ok := OrderIDRange(acc); ok {
			t.Errorf("%q names an id range", acc)
		}
	}
}

// The accession number's order is the one imaging order of the instance's
// patient it names; anything else is not linked, with the reason.
func TestOrderFor(t *testing.T) {
	ct := order(t, "0193c0de-0000-7000-8000-0000000000c1", orderPatient, "24725-4")
	theirs := order(t, "0193c0de-0000-7000-8000-0000000000c2", otherPatient, "24725-4")
	again := order(t, "0193c0de-0000-7000-8000-0000000000c3", orderPatient, "24558-9")
	lab := order(t, "0193c0de-0000-7000-8000-0000000000c4", orderPatient, "2823-3")
	p, q := orderPatient, otherPatient
	for _, tc := range []struct {
		name      string
		accession string
		found     []diagnostic.Report
		patient   *uuid.UUID
		want      uuid.UUID
		code      string
	}{
		{"the order", "RIS-1", []diagnostic.Report{ct}, &p, ct.Order.ID, ""},
		{"of two senders, the patient's", "RIS-1", []diagnostic.Report{theirs, ct}, &p, ct.Order.ID, ""},
		{"of two senders, the other patient's", "RIS-1", []diagnostic.Report{theirs, ct}, &q, theirs.Order.ID, ""},
		{"a laboratory order beside", "RIS-1", []diagnostic.Report{lab, ct}, &p, ct.Order.ID, ""},
		{"no accession number", " ", []diagnostic.Report{ct}, &p, uuid.Nil, NotLinkedNoAccession},
		{"longer than SH holds", "RIS-12345678901234", []diagnostic.Report{ct}, &p, uuid.Nil, NotLinkedNoOrder},
		{"no order", "RIS-1", nil, &p, uuid.Nil, NotLinkedNoOrder},
		{"a laboratory order", "RIS-1", []diagnostic.Report{lab}, &p, uuid.Nil, NotLinkedNoOrder},
		{"no registered patient", "RIS-1", []diagnostic.Report{ct}, nil, uuid.Nil, NotLinkedPatientMismatch},
		{"another patient's order", "RIS-1", []diagnostic.Report{theirs}, &p, uuid.Nil, NotLinkedPatientMismatch},
		{"two of the patient's", "RIS-1", []diagnostic.Report{ct, again}, &p, uuid.Nil, NotLinkedAmbiguous},
	} {
		r, err := OrderFor(tc.accession, tc.found, tc.patient)
		if got := code(t, err); got != tc.code || r.Order.ID != tc.want {
			t.Errorf("%s: order %s, %q (%v); want %s, %q", tc.name, r.Order.ID, got, err, tc.want, tc.code)
		}
	}
}

// The study record holds the series of the modalities a report records,
// for the ordered procedure performed with them.
func TestStudyFor(t *testing.T) {
	ct := order(t, "0193c0de-0000-7000-8000-0000000000c1", orderPatient, "24725-4")
	two := order(t, "0193c0de-0000-7000-8000-0000000000c5", orderPatient, "24725-4", "79077-4")
	id := uuid.MustParse("0193c0de-0000-7000-8000-0000000000d1")
	three := 3
	series := []SeriesSummary{
		{SeriesInstanceUID: "1.2.3.1", Number: &three, Modality: "CT", Instances: 40},
		{SeriesInstanceUID: "1.2.3.2", Modality: "SR", Instances: 1},
		{SeriesInstanceUID: "1.2.3.3", Modality: "CT", Instances: 2},
	}
	st, err := StudyFor(ct, id, "1.2.3", series)
	if err != nil {
		t.Fatal(err)
	}
	want := []diagnostic.Series{{UID: "1.2.3.1", Number: 3, Modality: "CT", Instances: 40}, {UID: "1.2.3.3", Modality: "CT", Instances: 2}}
	if st.ID != id || st.PatientID != orderPatient || st.ReportID != ct.Order.ID || st.ProcedureCode != "24725-4" ||
		st.StudyUID != "1.2.3" || !slices.Equal(st.Modalities, []string{"CT"}) || !slices.Equal(st.Series, want) ||
		st.Status != diagnostic.StudyAvailable {
		t.Fatalf("study %+v", st)
	}
	if err := ct.CanLinkStudy(st); err != nil {
		t.Fatalf("the report refuses the study: %v", err)
	}
	for _, tc := range []struct {
		name   string
		r      diagnostic.Report
		series []SeriesSummary
		code   string
	}{
		{"no recorded modality", ct, []SeriesSummary{{SeriesInstanceUID: "1.2.3.2", Modality: "OT", Instances: 1}}, NotLinkedRefused},
		{"a modality not ordered", ct, []SeriesSummary{{SeriesInstanceUID: "1.2.3.2", Modality: "MR", Instances: 1}}, NotLinkedRefused},
		{"two CT procedures", two, series, NotLinkedAmbiguous},
	} {
		if _, err := StudyFor(tc.r, id, "1.2.3", tc.series); code(t, err) != tc.code {
			t.Errorf("%s: %v, want %s", tc.name, err, tc.code)
		}
	}
}

// A link names its study, order, accession number, person and time.
func TestStudyLinkValidate(t *testing.T) {
	ok := StudyLink{StudyInstanceUID: "1.2.3", OrderID: orderPatient, AccessionNumber: "RIS-1", By: otherPatient, At: time.Now()}
	if err := ok.Validate(); err != nil {
		t.Fatal(err)
	}
	if got := fieldNames(StudyLink{StudyInstanceUID: "x", AccessionNumber: "12345678901234567"}.Validate()); !slices.Equal(got,
		[]string{"StudyInstanceUID", "orderId", "AccessionNumber", "by", "at"}) {
		t.Fatalf("fields %v", got)
	}
}

// fieldNames are the fields a validation error names, in order.
func fieldNames(err error) []string {
	var verr *domain.ValidationError
	if !errors.As(err, &verr) {
		return nil
	}
	out := []string{}
	for _, f := range verr.Fields {
		out = append(out, f.Field)
	}
	return out
}
