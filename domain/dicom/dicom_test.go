package dicom

import (
	"crypto/sha256"
	"errors"
	"testing"
	"time"

	"github.com/zarish-sphere/zarish/domain"
)

func day(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, time.UTC) }

func TestParseDateRange(t *testing.T) {
	cases := []struct {
		in       string
		from, to time.Time
		bad      bool
	}{
		{in: ""},
		{in: "20240305", from: day(2024, 3, 5), to: day(2024, 3, 5)},
		{in: "20240301-20240331", from: day(2024, 3, 1), to: day(2024, 3, 31)},
		{in: "-20240331", to: day(2024, 3, 31)},
		{in: "20240301-", from: day(2024, 3, 1)},
		{in: "-", bad: true},
		{in: "2024-03-05", bad: true},
		{in: "20240230", bad: true},
		{in: "20240331-20240301", bad: true},
		{in: "2024030", bad: true},
	}
	for _, tc := range cases {
		r, err := ParseDateRange(tc.in)
		if tc.bad {
			var verr *domain.ValidationError
			if !errors.As(err, &verr) || verr.Fields[0].Field != "StudyDate" {
				t.Errorf("%q: got %v, want a StudyDate refusal", tc.in, err)
			}
			continue
		}
		if err != nil || !r.From.Equal(tc.from) || !r.To.Equal(tc.to) {
			t.Errorf("%q: got %v–%v %v, want %v–%v", tc.in, r.From, r.To, err, tc.from, tc.to)
		}
	}
}

func TestFilterCheck(t *testing.T) {
	cases := []struct {
		name  string
		f     Filter
		field string
	}{
		{"empty", Filter{}, ""},
		{"everything", Filter{PatientID: "ZS-1", ModalitiesInStudy: []string{"CT", "MR"}, AccessionNumber: "A1",
			StudyInstanceUID: "1.2.3", Limit: 10, Offset: 20}, ""},
		{"study uid", Filter{StudyInstanceUID: "1.2.x"}, "StudyInstanceUID"},
		{"empty modality", Filter{ModalitiesInStudy: []string{"CT", ""}}, "ModalitiesInStudy"},
		{"limit", Filter{Limit: MaxLimit + 1}, "limit"},
		{"offset", Filter{Offset: -1}, "offset"},
	}
	for _, tc := range cases {
		err := tc.f.Check()
		var verr *domain.ValidationError
		switch {
		case tc.field == "" && err != nil:
			t.Errorf("%s: refused: %v", tc.name, err)
		case tc.field != "" && (!errors.As(err, &verr) || verr.Fields[0].Field != tc.field):
			t.Errorf("%s: got %v, want %s refused", tc.name, err, tc.field)
		}
	}
	if (Filter{}).PageSize() != DefaultLimit || (Filter{Limit: 7}).PageSize() != 7 {
		t.Error("page size does not default")
	}
}

func TestInstanceValidate(t *testing.T) {
	sum := sha256.Sum256([]byte("x"))
	good := Instance{SOPInstanceUID: "1.2.3.4", SOPClassUID: "1.2.840.10008.5.1.4.1.1.2", StudyInstanceUID: "1.2.3",
		SeriesInstanceUID: "1.2.3.1", TransferSyntaxUID: "1.2.840.10008.1.2.1", Size: 10, SHA256: sum[:],
		Path: "ab/abcd.dcm", ReceivedAt: day(2024, 3, 5)}
	if err := good.Validate(); err != nil {
		t.Fatalf("a good instance is refused: %v", err)
	}
	cases := []struct {
		field  string
		change func(*Instance)
	}{
		{"SOPInstanceUID", func(in *Instance) { in.SOPInstanceUID = "" }},
		{"StudyInstanceUID", func(in *Instance) { in.StudyInstanceUID = "1..2" }},
		{"SeriesInstanceUID", func(in *Instance) {
			in.SeriesInstanceUID = "1.2.3.4.5.6.7.8.9.10.11.12.13.14.15.16.17.18.19.20.21.22.23.24.25.26"
		}},
		{"PatientName", func(in *Instance) { in.PatientName = "a\x00b" }},
		{"size", func(in *Instance) { in.Size = 0 }},
		{"sha256", func(in *Instance) { in.SHA256 = sum[:8] }},
		{"path", func(in *Instance) { in.Path = "../etc/passwd" }},
		{"path", func(in *Instance) { in.Path = "/abs.dcm" }},
	}
	for _, tc := range cases {
		in := good
		tc.change(&in)
		var verr *domain.ValidationError
		if err := in.Validate(); !errors.As(err, &verr) || verr.Fields[0].Field != tc.field {
			t.Errorf("%s: got %v", tc.field, err)
		}
	}
}
