package dicom

import (
	"bytes"
	"errors"
	"math"
	"path/filepath"
	"reflect"
	"testing"
	"time"
)

// indexed is what a QIDO-RS index takes from a File.
type indexed struct {
	PatientID, IssuerOfPatientID, PatientName, PatientBirthDate, PatientSex string
	StudyInstanceUID, StudyID, StudyDate, StudyTime, AccessionNumber        string
	StudyDescription, ReferringPhysicianName                                string
	ModalitiesInStudy                                                       []string
	Modality, SeriesInstanceUID                                             string
	SeriesNumber                                                            int
	SeriesDescription, BodyPartExamined, SOPClassUID, SOPInstanceUID        string
	InstanceNumber, NumberOfFrames, Rows, Columns                           int
}

func indexOf(f *File) indexed {
	return indexed{
		PatientID: f.PatientID, IssuerOfPatientID: f.IssuerOfPatientID, PatientName: f.PatientName.String(),
		PatientBirthDate: f.PatientBirthDate.String(), PatientSex: f.PatientSex,
		StudyInstanceUID: f.StudyInstanceUID, StudyID: f.StudyID, StudyDate: f.StudyDate.String(),
		StudyTime: f.StudyTime.String(), AccessionNumber: f.AccessionNumber,
		StudyDescription: f.StudyDescription, ReferringPhysicianName: f.ReferringPhysicianName.String(),
		ModalitiesInStudy: f.ModalitiesInStudy, Modality: f.Modality, SeriesInstanceUID: f.SeriesInstanceUID,
		SeriesNumber: f.SeriesNumber, SeriesDescription: f.SeriesDescription, BodyPartExamined: f.BodyPartExamined,
		SOPClassUID: f.SOPClassUID, SOPInstanceUID: f.SOPInstanceUID, InstanceNumber: f.InstanceNumber,
		NumberOfFrames: f.NumberOfFrames, Rows: f.Rows, Columns: f.Columns,
	}
}

var ctIndexed = indexed{
	PatientID: "ZS-000123", IssuerOfPatientID: "ZARISH", PatientName: "Rahman^Ayesha^Begum^Ms",
	PatientBirthDate: "19850412", PatientSex: "F",
	StudyInstanceUID: "1.2.826.0.1.3680043.10.1407.1.1", StudyID: "S-77", StudyDate: "20240305",
	StudyTime: "101530.250", AccessionNumber: "ACC-2024-0042",
	StudyDescription: "CT Thorax — mit Kontrast", ReferringPhysicianName: "Okafor^Adaeze^^Dr.",
	ModalitiesInStudy: []string{"CT", "SR"}, Modality: "CT", SeriesInstanceUID: "1.2.826.0.1.3680043.10.1407.2.1",
	SeriesNumber: 3, SeriesDescription: "Axial 1.25 mm", BodyPartExamined: "CHEST",
	SOPClassUID: "1.2.840.10008.5.1.4.1.1.2", SOPInstanceUID: "1.2.826.0.1.3680043.10.1407.3.1.1",
	InstanceNumber: 42, Rows: 4, Columns: 4,
}

func TestReadTransferSyntaxes(t *testing.T) {
	tests := []struct {
		file string
		opts Options
		ts   TransferSyntax
	}{
		{"ct_explicit.dcm", Options{}, TransferSyntax{UID: ExplicitVRLittleEndian, ExplicitVR: true}},
		{"ct_explicit_undefined.dcm", Options{}, TransferSyntax{UID: ExplicitVRLittleEndian, ExplicitVR: true}},
		{"ct_implicit.dcm", Options{}, TransferSyntax{UID: ImplicitVRLittleEndian}},
		{"ct_implicit_undefined.dcm", Options{}, TransferSyntax{UID: ImplicitVRLittleEndian}},
		{"ct_bigendian.dcm", Options{}, TransferSyntax{UID: ExplicitVRBigEndian, ExplicitVR: true, BigEndian: true}},
		{"ct_deflated.dcm", Options{}, TransferSyntax{UID: DeflatedExplicitVRLittleEndian, ExplicitVR: true, Deflated: true}},
		{"ct_padded.dcm", Options{}, TransferSyntax{UID: ExplicitVRLittleEndian, ExplicitVR: true}},
		{"ct_bare_implicit.dcm", Options{AllowMissingPreamble: true}, TransferSyntax{UID: ImplicitVRLittleEndian}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			f, err := Read(bytes.NewReader(readFile(t, filepath.Join("testdata", tt.file))), tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			if f.TransferSyntax != tt.ts {
				t.Errorf("transfer syntax %+v, want %+v", f.TransferSyntax, tt.ts)
			}
			if got := indexOf(f); !reflect.DeepEqual(got, ctIndexed) {
				t.Errorf("read\n %+v\nwant\n %+v", got, ctIndexed)
			}
			if len(f.Problems) > 0 {
				t.Errorf("problems: %v", f.Problems)
			}
			if f.Meta.TransferSyntaxUID != "" && f.Meta.TransferSyntaxUID != tt.ts.UID {
				t.Errorf("meta transfer syntax %q", f.Meta.TransferSyntaxUID)
			}
			if tt.opts.AllowMissingPreamble {
				return
			}
			if f.Meta.MediaStorageSOPClassUID != ctIndexed.SOPClassUID || f.Meta.MediaStorageSOPInstanceUID != ctIndexed.SOPInstanceUID {
				t.Errorf("meta SOP %q %q", f.Meta.MediaStorageSOPClassUID, f.Meta.MediaStorageSOPInstanceUID)
			}
			if f.Meta.ImplementationClassUID == "" {
				t.Error("no implementation class UID")
			}
			px := f.PixelData
			if px == nil || px.Tag != TagPixelData || px.Length != 32 || px.Encapsulated || px.Complete {
				t.Fatalf("pixel data %+v, want 32 bytes not read", px)
			}
			if last := f.DataSet[len(f.DataSet)-1]; last.Tag != TagPixelData || !last.Skipped || last.Raw != nil {
				t.Errorf("last element %+v, want the pixel data without its value", last)
			}
		})
	}
}

func TestReadCharacterSets(t *testing.T) {
	tests := []struct {
		file        string
		name        string
		description string
		otherNames  []string
	}{
		{"name_latin1.dcm", "Müller^Zoë", "Épaule gauche", nil},
		{"name_latin2.dcm", "Dvořák^Antonín", "Hrudník", nil},
		{"name_latin3.dcm", "Buħaġiar^Ġużeppi", "Ħal Qormi", nil},
		{"name_latin4.dcm", "Ķeniņš^Jānis", "Krūškurvis", nil},
		{"name_cyrillic.dcm", "Иванов^Пётр", "Грудная клетка", nil},
		{"name_arabic.dcm", "قباني^لنزار", "صدر", nil},
		{"name_greek.dcm", "Διονυσίου^Νίκος", "Θώρακας", nil},
		{"name_hebrew.dcm", "שרון^דבורה", "חזה", nil},
		{"name_latin5.dcm", "Öztürk^Şule", "Göğüs", nil},
		{"name_thai.dcm", "ใจดี^สมชาย", "ทรวงอก", nil},
		{"name_jisx0201.dcm", "ﾔﾏﾀﾞ^ﾀﾛｳ", "ｷｮｳﾌﾞ", []string{"ﾔﾏﾀﾞ^ﾊﾅｺ", "ｽｽﾞｷ^ｲﾁﾛｳ"}},
		{"name_gb18030.dcm", "Wang^XiaoDong=王^小嘰", "胸部 𠀀", []string{"王^小嘰", "李^乗"}},
		{"name_gbk.dcm", "Wang^XiaoDong=王^小嘰", "胸部", []string{"王^小嘰", "李^乗"}},
		{"name_utf8.dcm", "Yamada^Tarou=山田^太郎=やまだ^たろう", "胸部 — Thorax", []string{"Müller^Zoë", "Иванов^Пётр"}},
		{"name_korean.dcm", "Hong^Gildong=洪^吉洞=홍^길동", "가슴", nil},
		{"name_chinese.dcm", "Zhang^XiaoDong=张^小东", "", nil},
		{"name_japanese.dcm", "ﾔﾏﾀﾞ^ﾀﾛｳ=山田^太郎=やまだ^たろう", "", nil},
		{"name_extensions.dcm", "Müller^Иван", "", []string{"Иванов^Петр", "Zöe"}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			f, err := Read(bytes.NewReader(readFile(t, filepath.Join("testdata", tt.file))), Options{})
			if err != nil {
				t.Fatal(err)
			}
			if got := f.PatientName.String(); got != tt.name {
				t.Errorf("patient name %q, want %q", got, tt.name)
			}
			if f.StudyDescription != tt.description {
				t.Errorf("study description %q, want %q", f.StudyDescription, tt.description)
			}
			var other []string
			if e, ok := f.Element(0x00101001); ok {
				other = e.Strings()
			}
			if !reflect.DeepEqual(other, tt.otherNames) {
				t.Errorf("other patient names %q, want %q", other, tt.otherNames)
			}
		})
	}
}

func TestReadPersonNameGroups(t *testing.T) {
	f, err := Read(bytes.NewReader(readFile(t, "testdata/name_japanese.dcm")), Options{})
	if err != nil {
		t.Fatal(err)
	}
	want := PersonName{
		Alphabetic:  NameComponents{Family: "ﾔﾏﾀﾞ", Given: "ﾀﾛｳ"},
		Ideographic: NameComponents{Family: "山田", Given: "太郎"},
		Phonetic:    NameComponents{Family: "やまだ", Given: "たろう"},
	}
	if f.PatientName != want {
		t.Errorf("patient name %+v, want %+v", f.PatientName, want)
	}
	if want := []string{"ISO 2022 IR 13", "ISO 2022 IR 87"}; !reflect.DeepEqual(f.SpecificCharacterSet, want) {
		t.Errorf("specific character set %q, want %q", f.SpecificCharacterSet, want)
	}
}

func TestReadEncapsulated(t *testing.T) {
	data := readFile(t, "testdata/jpeg_baseline.dcm")
	tests := []struct {
		mode     PixelDataMode
		length   int64
		complete bool
		frags    []uint32
	}{
		{StopAtPixelData, -1, false, nil},
		{SkipPixelData, 446, true, []uint32{4, 418}},
	}
	for _, tt := range tests {
		f, err := Read(bytes.NewReader(data), Options{PixelData: tt.mode})
		if err != nil {
			t.Fatal(err)
		}
		if f.TransferSyntax.UID != JPEGBaseline8Bit || !f.TransferSyntax.Encapsulated {
			t.Errorf("transfer syntax %+v", f.TransferSyntax)
		}
		px := f.PixelData
		if px == nil || !px.Encapsulated || px.Length != tt.length || px.Complete != tt.complete {
			t.Fatalf("mode %d: pixel data %+v", tt.mode, px)
		}
		var frags []uint32
		for _, fr := range px.Fragments {
			frags = append(frags, fr.Length)
			if fr.Offset <= px.Offset || fr.Offset+int64(fr.Length) > int64(len(data)) {
				t.Errorf("fragment %+v outside the pixel data at %d", fr, px.Offset)
			}
		}
		if !reflect.DeepEqual(frags, tt.frags) {
			t.Errorf("mode %d: fragments %v, want %v", tt.mode, frags, tt.frags)
		}
		if tt.complete {
			// The JPEG itself: the second fragment starts with SOI and ends with EOI.
			fr := px.Fragments[1]
			jpeg := data[fr.Offset : fr.Offset+int64(fr.Length)]
			if !bytes.HasPrefix(jpeg, []byte{0xFF, 0xD8}) || !bytes.HasSuffix(jpeg, []byte{0xFF, 0xD9}) {
				t.Errorf("fragment is not the JPEG: % x … % x", jpeg[:2], jpeg[len(jpeg)-2:])
			}
			if px.Offset+px.Length != int64(len(data)) {
				t.Errorf("pixel data ends at %d, file at %d", px.Offset+px.Length, len(data))
			}
		}
		if got := indexOf(f); got.PatientName != "Sato^Hana" || got.Rows != 16 || got.InstanceNumber != 1 {
			t.Errorf("read %+v", got)
		}
	}
}

func TestReadPastPixelData(t *testing.T) {
	data := readFile(t, "testdata/ct_padded.dcm")
	tests := []struct {
		mode    PixelDataMode
		padding bool
	}{
		{StopAtPixelData, false},
		{SkipPixelData, true},
	}
	for _, tt := range tests {
		f, err := Read(bytes.NewReader(data), Options{PixelData: tt.mode})
		if err != nil {
			t.Fatal(err)
		}
		pad, ok := f.Element(0xFFFCFFFC)
		if ok != tt.padding {
			t.Fatalf("mode %d: trailing padding read %v, want %v", tt.mode, ok, tt.padding)
		}
		if ok && pad.Offset+int64(pad.Length) != int64(len(data)) {
			t.Errorf("padding ends at %d, file at %d", pad.Offset+int64(pad.Length), len(data))
		}
		if f.PixelData.Complete != tt.padding {
			t.Errorf("mode %d: pixel data complete %v", tt.mode, f.PixelData.Complete)
		}
		if pix := data[f.PixelData.Offset : f.PixelData.Offset+f.PixelData.Length]; pix[30] != 0xFF || pix[31] != 0x07 {
			t.Errorf("pixel data offset %d does not hold the last pixel 0x07ff: % x", f.PixelData.Offset, pix[28:])
		}
	}
}

// TestReadSequences reads the same nested sequences from every length
// encoding and byte order.
func TestReadSequences(t *testing.T) {
	files := []string{"ct_explicit.dcm", "ct_explicit_undefined.dcm", "ct_implicit.dcm",
		"ct_implicit_undefined.dcm", "ct_bigendian.dcm", "ct_deflated.dcm"}
	for _, file := range files {
		t.Run(file, func(t *testing.T) {
			f, err := Read(bytes.NewReader(readFile(t, filepath.Join("testdata", file))), Options{})
			if err != nil {
				t.Fatal(err)
			}
			undefined := file == "ct_explicit_undefined.dcm" || file == "ct_implicit_undefined.dcm"

			req, ok := f.Element(0x00400275) // Request Attributes Sequence
			if !ok || req.VR != VRSQ || len(req.Items) != 1 {
				t.Fatalf("request attributes %+v", req)
			}
			if (req.Length == UndefinedLength) != undefined {
				t.Errorf("sequence length %d, undefined %v", req.Length, undefined)
			}
			item := req.Items[0]
			if e, _ := item.Element(0x00401001); e == nil || e.FirstString() != "RP-7" {
				t.Errorf("requested procedure id %+v", e)
			}
			proto, _ := item.Element(0x00400008)
			if proto == nil || len(proto.Items) != 1 {
				t.Fatalf("scheduled protocol code sequence %+v", proto)
			}
			if code, _ := proto.Items[0].Element(0x00080100); code == nil || code.FirstString() != "P-CHEST" {
				t.Errorf("nested code value %+v", code)
			}

			refs, _ := f.Element(0x00081140) // Referenced Image Sequence: one item, one empty
			if refs == nil || len(refs.Items) != 2 || len(refs.Items[0]) != 2 || len(refs.Items[1]) != 0 {
				t.Errorf("referenced image sequence %+v", refs)
			}
			if empty, _ := f.Element(0x00082218); empty == nil || empty.VR != VRSQ || len(empty.Items) != 0 {
				t.Errorf("empty sequence %+v", empty)
			}
			// Elements after the sequences are still read in step.
			if e, _ := f.Element(0x00660022); e == nil {
				t.Error("no element after the sequences")
			}
		})
	}
}

// TestElementValues reads every numeric VR in each byte order.
func TestElementValues(t *testing.T) {
	ints := []struct {
		tag  Tag
		want []int64
	}{
		{0x00181310, []int64{0, 512, 512, 0}}, // US
		{0x00186020, []int64{-5, 70000}},      // SL
		{0x00189219, []int64{-3}},             // SS
		{0x00181151, []int64{200}},            // IS
		{0x00720082, []int64{-9000000000}},    // SV
	}
	floats := []struct {
		tag  Tag
		want []float64
	}{
		{0x00181320, []float64{float64(float32(0.3)), 1.5}}, // FL
		{0x00660022, []float64{3.25, -0.5}},                 // OD
		{0x00200032, []float64{-250, -250, -120.5}},         // DS
	}
	for _, file := range []string{"ct_explicit.dcm", "ct_bigendian.dcm", "ct_implicit.dcm"} {
		f, err := Read(bytes.NewReader(readFile(t, filepath.Join("testdata", file))), Options{})
		if err != nil {
			t.Fatal(err)
		}
		for _, tt := range ints {
			e, _ := f.Element(tt.tag)
			if got, err := e.Ints(); err != nil || !reflect.DeepEqual(got, tt.want) {
				t.Errorf("%s %s: Ints %v %v, want %v", file, tt.tag, got, err, tt.want)
			}
		}
		for _, tt := range floats {
			e, _ := f.Element(tt.tag)
			if got, err := e.Floats(); err != nil || !reflect.DeepEqual(got, tt.want) {
				t.Errorf("%s %s: Floats %v %v, want %v", file, tt.tag, got, err, tt.want)
			}
		}
		uv, _ := f.Element(0x00720083)
		if got, err := uv.Uints(); err != nil || len(got) != 1 || got[0] != 18000000000000000000 {
			t.Errorf("%s: UV %v %v", file, got, err)
		}
		var ve *ValueError
		if _, err := uv.Ints(); !errors.As(err, &ve) {
			t.Errorf("%s: UV beyond int64 as Ints: %v", file, err)
		}
		at, _ := f.Element(0x00209165)
		if got, err := at.Tags(); err != nil || !reflect.DeepEqual(got, []Tag{0x00181063}) {
			t.Errorf("%s: AT %v %v", file, got, err)
		}
		if st, _ := f.Element(0x00080081); !reflect.DeepEqual(st.Strings(), []string{`12 Road\Dhaka`}) {
			t.Errorf("%s: ST keeps its backslash: %q", file, st.Strings())
		}
		if empty, _ := f.Element(0x00200060); empty == nil || empty.Strings() != nil {
			t.Errorf("%s: empty value %+v", file, empty)
		}
		if _, err := at.Floats(); err == nil {
			t.Errorf("%s: AT read as floats", file)
		}
	}
}

func TestReadBareDataSet(t *testing.T) {
	bare := readFile(t, "testdata/ct_bare_implicit.dcm")
	explicitBare := minimal(explicitLE()).bytes()
	tests := []struct {
		name  string
		data  []byte
		allow bool
		err   error
		ts    string
	}{
		{"implicit refused", bare, false, ErrNotDICOM, ""},
		{"implicit", bare, true, nil, ImplicitVRLittleEndian},
		{"explicit", explicitBare, true, nil, ExplicitVRLittleEndian},
		{"meta without preamble", part10(ExplicitVRLittleEndian, explicitBare)[132:], true, nil, ExplicitVRLittleEndian},
		{"not a data set", []byte("GIF89a, certainly not DICOM"), true, ErrNotDICOM, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := Read(bytes.NewReader(tt.data), Options{AllowMissingPreamble: tt.allow})
			if !errors.Is(err, tt.err) {
				t.Fatalf("err %v, want %v", err, tt.err)
			}
			if err != nil {
				return
			}
			if f.TransferSyntax.UID != tt.ts {
				t.Errorf("transfer syntax %q, want %q", f.TransferSyntax.UID, tt.ts)
			}
			if f.PatientID == "" || f.SOPInstanceUID == "" {
				t.Errorf("read %+v", indexOf(f))
			}
		})
	}
}

func TestReadProblems(t *testing.T) {
	ds := minimal(explicitLE()).
		str(TagStudyDate, VRDA, "2024-03-05").
		str(TagStudyTime, VRTM, "25").
		str(TagSeriesNumber, VRIS, "three").
		str(TagInstanceNumber, VRIS, " 7 ").
		bytes()
	f, err := Read(bytes.NewReader(part10(ExplicitVRLittleEndian, ds)), Options{})
	if err != nil {
		t.Fatal(err)
	}
	var tags []Tag
	for _, p := range f.Problems {
		tags = append(tags, p.Tag)
	}
	if want := []Tag{TagStudyDate, TagStudyTime, TagSeriesNumber}; !reflect.DeepEqual(tags, want) {
		t.Errorf("problems %v, want %v", f.Problems, want)
	}
	if f.InstanceNumber != 7 || !f.StudyDate.IsZero() || f.SeriesNumber != 0 {
		t.Errorf("read %+v", indexOf(f))
	}
}

func TestParseDate(t *testing.T) {
	tests := []struct {
		in   string
		want Date
		ok   bool
	}{
		{"20240305", Date{2024, time.March, 5}, true},
		{"1985.04.12", Date{1985, time.April, 12}, true},
		{"", Date{}, true},
		{"20240230", Date{}, false},
		{"20241305", Date{}, false},
		{"2024-03-05", Date{}, false},
		{"2024030", Date{}, false},
		{"+2024030", Date{}, false},
	}
	for _, tt := range tests {
		got, err := ParseDate(tt.in)
		if got != tt.want || (err == nil) != tt.ok {
			t.Errorf("ParseDate(%q) = %v, %v; want %v, ok %v", tt.in, got, err, tt.want, tt.ok)
		}
		if tt.ok && got.String() != tt.in && tt.in != "1985.04.12" {
			t.Errorf("%q String() = %q", tt.in, got.String())
		}
	}
}

func TestParseTime(t *testing.T) {
	tests := []struct {
		in        string
		precision TimePrecision
		since     time.Duration
		out       string
		ok        bool
	}{
		{"10", HourPrecision, 10 * time.Hour, "10", true},
		{"1015", MinutePrecision, 10*time.Hour + 15*time.Minute, "1015", true},
		{"101530", SecondPrecision, 10*time.Hour + 15*time.Minute + 30*time.Second, "101530", true},
		{"101530.250", FractionPrecision, 10*time.Hour + 15*time.Minute + 30250*time.Millisecond, "101530.250", true},
		{"235960.123456", FractionPrecision, 23*time.Hour + 59*time.Minute + 60123456*time.Microsecond, "235960.123456", true},
		{"10:15:30", SecondPrecision, 10*time.Hour + 15*time.Minute + 30*time.Second, "101530", true},
		{"", NoTime, 0, "", true},
		{"2400", NoTime, 0, "", false},
		{"1060", NoTime, 0, "", false},
		{"101", NoTime, 0, "", false},
		{"1015.5", NoTime, 0, "", false},
		{"101530.1234567", NoTime, 0, "", false},
	}
	for _, tt := range tests {
		got, err := ParseTime(tt.in)
		if (err == nil) != tt.ok || got.Precision != tt.precision || got.Duration() != tt.since || got.String() != tt.out {
			t.Errorf("ParseTime(%q) = %+v (%v, %q), %v", tt.in, got, got.Duration(), got.String(), err)
		}
	}
}

func TestParsePersonName(t *testing.T) {
	tests := []struct {
		in   string
		want PersonName
		out  string
	}{
		{"Rahman^Ayesha^Begum^Ms", PersonName{Alphabetic: NameComponents{"Rahman", "Ayesha", "Begum", "Ms", ""}}, "Rahman^Ayesha^Begum^Ms"},
		{"Okafor^Adaeze^^Dr.^", PersonName{Alphabetic: NameComponents{Family: "Okafor", Given: "Adaeze", Prefix: "Dr."}}, "Okafor^Adaeze^^Dr."},
		{"=山田^太郎", PersonName{Ideographic: NameComponents{Family: "山田", Given: "太郎"}}, "=山田^太郎"},
		{"Zhang^XiaoDong=张^小东=", PersonName{Alphabetic: NameComponents{Family: "Zhang", Given: "XiaoDong"},
			Ideographic: NameComponents{Family: "张", Given: "小东"}}, "Zhang^XiaoDong=张^小东"},
		{"Van Der Berg ^ Jan", PersonName{Alphabetic: NameComponents{Family: "Van Der Berg", Given: "Jan"}}, "Van Der Berg^Jan"},
		{"", PersonName{}, ""},
	}
	for _, tt := range tests {
		got := ParsePersonName(tt.in)
		if got != tt.want || got.String() != tt.out {
			t.Errorf("ParsePersonName(%q) = %+v (%q), want %+v (%q)", tt.in, got, got.String(), tt.want, tt.out)
		}
	}
}

func TestLookupTransferSyntax(t *testing.T) {
	tests := []struct {
		uid  string
		want TransferSyntax
		err  error
	}{
		{ImplicitVRLittleEndian, TransferSyntax{UID: ImplicitVRLittleEndian}, nil},
		{ExplicitVRBigEndian, TransferSyntax{UID: ExplicitVRBigEndian, ExplicitVR: true, BigEndian: true}, nil},
		{"1.2.840.10008.1.2.4.90", TransferSyntax{UID: "1.2.840.10008.1.2.4.90", ExplicitVR: true, Encapsulated: true}, nil},
		{"1.2.840.10008.1.2.5", TransferSyntax{UID: "1.2.840.10008.1.2.5", ExplicitVR: true, Encapsulated: true}, nil},
		{"1.2.840.10008.1.2.", TransferSyntax{}, ErrUnsupportedTransferSyntax},
		{"1.2.840.113619.5.2", TransferSyntax{}, ErrUnsupportedTransferSyntax},
		{"", TransferSyntax{}, ErrUnsupportedTransferSyntax},
	}
	for _, tt := range tests {
		got, err := LookupTransferSyntax(tt.uid)
		if got != tt.want || !errors.Is(err, tt.err) {
			t.Errorf("LookupTransferSyntax(%q) = %+v, %v", tt.uid, got, err)
		}
	}
}

func TestFloatBits(t *testing.T) {
	// Floats reads FL through float32, so 0.3 is the float32 nearest it.
	e := &Element{VR: VRFL, Raw: []byte{0x9a, 0x99, 0x99, 0x3e}}
	got, err := e.Floats()
	if err != nil || got[0] != float64(float32(0.3)) || got[0] == 0.3 || math.IsNaN(got[0]) {
		t.Errorf("FL = %v, %v", got, err)
	}
}
