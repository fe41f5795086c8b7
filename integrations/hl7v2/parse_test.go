package hl7v2

import (
	"errors"
	"strings"
	"testing"
)

// msg joins segments with CR, as the standard separates them.
func msg(segments ...string) []byte { return []byte(strings.Join(segments, "\r") + "\r") }

const mshORU = `MSH|^~\&|LAB^1.2.3^ISO|HOSP|EHR|WARD|20240102030405||ORU^R01^ORU_R01|CTRL-1|P|2.5.1`

// get reads one value by a path of numbers: segment ID, field, repetition,
// component, sub-component (trailing ones may be left out).
func get(m *Message, id string, n ...int) string {
	f := m.First(id).Field(n[0])
	switch len(n) {
	case 1:
		return f.Text()
	case 2:
		return f.Rep(n[1]).Text()
	case 3:
		return f.Rep(n[1]).Comp(n[2]).Text()
	}
	return f.Rep(n[1]).Comp(n[2]).Sub(n[3]).Text()
}

func mustParse(t *testing.T, b []byte) *Message {
	t.Helper()
	m, err := Parse(b)
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	return m
}

func TestParseValues(t *testing.T) {
	tests := []struct {
		name string
		in   []byte
		seg  string
		path []int // field, repetition, component, sub-component
		want string
	}{
		{"MSH-1 is the field separator", msg(mshORU), "MSH", []int{1}, "|"},
		{"MSH-2 is the encoding characters, unsplit", msg(mshORU), "MSH", []int{2}, `^~\&`},
		{"MSH-3 is the first field after them", msg(mshORU), "MSH", []int{3, 1, 1}, "LAB"},
		{"MSH-3.2", msg(mshORU), "MSH", []int{3, 1, 2}, "1.2.3"},
		{"MSH-10", msg(mshORU), "MSH", []int{10}, "CTRL-1"},
		{"component", msg(mshORU, "PID|1||MRN1^^^HOSP^MR"), "PID", []int{3, 1, 4}, "HOSP"},
		{"second repetition", msg(mshORU, "PID|1||MRN1^^^HOSP^MR~SSN9^^^SSA^SS"), "PID", []int{3, 2, 1}, "SSN9"},
		{"repetition beyond the last", msg(mshORU, "PID|1||MRN1^^^HOSP^MR"), "PID", []int{3, 2, 1}, ""},
		{"sub-component", msg(mshORU, "PID|1||MRN1^^^HOSP&1.2.840&ISO^MR"), "PID", []int{3, 1, 4, 2}, "1.2.840"},
		{"component keeps its sub-components", msg(mshORU, "PID|1||MRN1^^^HOSP&1.2.840&ISO^MR"), "PID", []int{3, 1, 4}, "HOSP&1.2.840&ISO"},
		{"field beyond the last", msg(mshORU, "PID|1"), "PID", []int{30}, ""},
		{"absent segment", msg(mshORU), "PV1", []int{3, 1, 1}, ""},
		{"explicit null kept", msg(mshORU, `PID|1|""`), "PID", []int{2}, `""`},
		{"LF endings", []byte(mshORU + "\nPID|1||A\nOBX|1|ST|X||v\n"), "OBX", []int{5}, "v"},
		{"CRLF endings", []byte(mshORU + "\r\nPID|1||A\r\nOBX|1|ST|X||v\r\n"), "OBX", []int{5}, "v"},
		{"mixed endings and blank lines", []byte(mshORU + "\r\n\r\nPID|1||A\n\n  \nOBX|1|ST|X||v\r\r\n\n\n"), "OBX", []int{5}, "v"},
		{"raw line feeds inside a field of a CR message", []byte(mshORU + "\rOBX|1|TX|X||line one\nline two\n\nPID is not a segment\rNTE|1\r"), "OBX", []int{5}, "line one\nline two\n\nPID is not a segment"},
		{"line feeds between segments of a CR message", []byte(mshORU + "\rPID|1\n\nOBX|1|ST|X||v\r"), "OBX", []int{5}, "v"},
		{"no final terminator", []byte(mshORU + "\rOBX|1|ST|X||v"), "OBX", []int{5}, "v"},
		{"byte order mark", append([]byte("\uFEFF"), msg(mshORU)...), "MSH", []int{10}, "CTRL-1"},
		{"segment without fields", msg(mshORU, "ZZZ", "OBX|1|ST|X||v"), "OBX", []int{5}, "v"},

		// Alternative encoding characters: MSH-1 '#', MSH-2 "$*@!".
		{"other separators: field", msg(`MSH#$*@!#LAB$1.2.3#HOSP#EHR#WARD#20240102##ORU$R01#C2#P#2.5.1`, `PID#1##A$$$B!C*D$$$E`), "PID", []int{3, 1, 4, 2}, "C"},
		{"other separators: repetition", msg(`MSH#$*@!#LAB$1.2.3#HOSP#EHR#WARD#20240102##ORU$R01#C2#P#2.5.1`, `PID#1##A$$$B!C*D$$$E`), "PID", []int{3, 2, 4}, "E"},
		{"other separators: escapes", msg(`MSH#$*@!#LAB#HOSP#EHR#WARD#20240102##ORU$R01#C2#P#2.5.1`, `OBX#1#ST#X##a@F@b@S@c@E@d@T@e@R@`), "OBX", []int{5}, "a#b$c@d!e*"},
		{"other separators: MSH-2", msg(`MSH#$*@!#LAB#HOSP`), "MSH", []int{2}, "$*@!"},
		{"v2.7 truncation character", msg(`MSH|^~\&#|A|B|C|D|20240102||ORU^R01^ORU_R01|C3|P|2.7`, `OBX|1|ST|X||cut\P\`), "OBX", []int{5}, "cut#"},
		{"truncation character is data", msg(`MSH|^~\&#|A|B|C|D|20240102||ORU^R01^ORU_R01|C3|P|2.7`, `OBX|1|ST|X||cut#`), "OBX", []int{5}, "cut#"},
		{"three encoding characters: no sub-components", msg(`MSH|^~\|A|B`, `PID|1||X&Y^Z`), "PID", []int{3, 1, 1}, "X&Y"},
		{"two encoding characters: no escapes", msg(`MSH|^~|A|B`, `OBX|1|ST|X||a\S\b`), "OBX", []int{5}, `a\S\b`},
		{"one encoding character", msg(`MSH|^|A|B`, `PID|1||X~Y^Z`), "PID", []int{3, 1, 1}, "X~Y"},

		// Character sets.
		{"8859/1: 0xE9 is é", []byte(mshORU + "||||||8859/1\rPID|1||A||Ren\xe9e^Jos\xe9\r"), "PID", []int{5, 1, 1}, "Renée"},
		{"8859/1: \\XE9\\ is é", msg(mshORU+"||||||8859/1", `PID|1||A||Ren\XE9\e`), "PID", []int{5, 1, 1}, "Renée"},
		{"UNICODE UTF-8", msg(mshORU+"||||||UNICODE UTF-8", "PID|1||A||Renée^Zoë"), "PID", []int{5, 1, 2}, "Zoë"},
		{"UTF-8", msg(mshORU+"||||||UTF-8", "OBX|1|NM|X||0.5|µmol/L"), "OBX", []int{6}, "µmol/L"},
		{"UNICODE", msg(mshORU+"||||||UNICODE", "OBX|1|NM|X||0.5|µmol/L"), "OBX", []int{6}, "µmol/L"},
		{"no charset tolerates UTF-8", msg(mshORU, "OBX|1|NM|X||0.5|µmol/L"), "OBX", []int{6}, "µmol/L"},
		{"charset matched without case or spaces", msg(mshORU+"|||||| unicode utf-8 ", "OBX|1|NM|X||0.5|µmol/L"), "OBX", []int{6}, "µmol/L"},
		{"UTF-8 \\X\\ bytes", msg(mshORU+"||||||UNICODE UTF-8", `OBX|1|ST|X||caf\XC3A9\`), "OBX", []int{5}, "café"},

		// Batch envelope.
		{"FHS and BHS before the MSH", msg(`FHS|^~\&|A`, `BHS|^~\&|A`, mshORU, "PID|1||MRN1", "BTS|1", "FTS|1"), "PID", []int{3}, "MRN1"},
		{"FHS-2", msg(`FHS|^~\&|A`, mshORU), "FHS", []int{2}, `^~\&`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := mustParse(t, tt.in)
			if got := get(m, tt.seg, tt.path...); got != tt.want {
				t.Errorf("%s %v = %q, want %q", tt.seg, tt.path, got, tt.want)
			}
		})
	}
}

func TestParseHeaderFacts(t *testing.T) {
	m := mustParse(t, msg(`MSH|^~\&|LAB^1.2.3^ISO|HOSP|EHR|WARD^2.16.840^ISO|20240102030405-0500||ORU^R01^ORU_R01|CTRL-1|T^A|2.5.1^USA|||AL|NE||UNICODE UTF-8`))
	want := Header{
		Delimiters:           StandardDelimiters,
		SendingApplication:   HD{"LAB", "1.2.3", "ISO"},
		SendingFacility:      HD{NamespaceID: "HOSP"},
		ReceivingApplication: HD{NamespaceID: "EHR"},
		ReceivingFacility:    HD{"WARD", "2.16.840", "ISO"},
		DateTime:             "20240102030405-0500",
		Type:                 MessageType{"ORU", "R01", "ORU_R01"},
		ControlID:            "CTRL-1",
		ProcessingID:         "T",
		ProcessingMode:       "A",
		Version:              "2.5.1",
		AcceptAckType:        "AL",
		ApplicationAckType:   "NE",
		Charset:              "UNICODE UTF-8",
		Position:             1,
		cs:                   charsetUTF8,
	}
	if m.Header != want {
		t.Errorf("Header =\n%+v\nwant\n%+v", m.Header, want)
	}
	if errs := m.Header.Check(); errs != nil {
		t.Errorf("Check() = %v, want none", errs)
	}
}

func TestParseSegments(t *testing.T) {
	m := mustParse(t, msg(`FHS|^~\&`, mshORU, "PID|1", "OBR|1", "OBX|1", "OBX|2", "OBR|2", "OBX|1"))
	var got []string
	for _, s := range m.Segments {
		got = append(got, s.ID()+":"+itoa(s.Position())+":"+itoa(s.Sequence()))
	}
	want := "FHS:1:1 MSH:2:1 PID:3:1 OBR:4:1 OBX:5:1 OBX:6:2 OBR:7:2 OBX:8:3"
	if strings.Join(got, " ") != want {
		t.Errorf("segments %v, want %s", got, want)
	}
	if n := len(m.All("OBX")); n != 3 {
		t.Errorf("All(OBX) has %d, want 3", n)
	}
	if m.Header.Position != 2 {
		t.Errorf("Header.Position = %d, want 2", m.Header.Position)
	}
	obx := m.All("OBX")[1]
	if obx.Raw() != "OBX|2" || obx.NumFields() != 1 || obx.Field(1).Raw() != "2" {
		t.Errorf("second OBX: raw %q, %d fields", obx.Raw(), obx.NumFields())
	}
	if n := m.First("MSH").NumFields(); n != 12 {
		t.Errorf("MSH has %d fields, want 12", n)
	}
}

func TestParseCounts(t *testing.T) {
	m := mustParse(t, msg(mshORU, "PID|1||A^^^H&1&ISO~B~||"))
	f := m.First("PID").Field(3)
	if f.NumReps() != 3 {
		t.Errorf("PID-3 has %d repetitions, want 3", f.NumReps())
	}
	if n := f.Rep(1).NumComps(); n != 4 {
		t.Errorf("PID-3(1) has %d components, want 4", n)
	}
	if n := f.Rep(1).Comp(4).NumSubs(); n != 3 {
		t.Errorf("PID-3(1).4 has %d sub-components, want 3", n)
	}
	if e := m.First("PID").Field(4); !e.IsEmpty() || e.NumReps() != 0 {
		t.Errorf("PID-4 is %q with %d repetitions, want empty", e.Raw(), e.NumReps())
	}
	var visited []string
	for _, r := range f.Reps() {
		for _, c := range r.Comps() {
			for _, sub := range c.Subs() {
				visited = append(visited, sub.Text())
			}
		}
	}
	if got := strings.Join(visited, ","); got != "A,H,1,ISO,B" {
		t.Errorf("Reps, Comps and Subs visit %q, want A,H,1,ISO,B", got)
	}
	if len(m.First("PID").Field(4).Reps()) != 0 {
		t.Errorf("an empty field has repetitions")
	}
	if f.Raw() != "A^^^H&1&ISO~B~" || f.Rep(1).Raw() != "A^^^H&1&ISO" || f.Rep(1).Comp(4).Raw() != "H&1&ISO" {
		t.Errorf("raw values: %q %q %q", f.Raw(), f.Rep(1).Raw(), f.Rep(1).Comp(4).Raw())
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name string
		in   []byte
		want Error // Message is matched as a substring
	}{
		{"empty", []byte("\r\n  \n"), Error{Code: SegmentSequenceError, Segment: "MSH", Sequence: 1, Message: "empty"}},
		{"not MSH first", msg("PID|1", mshORU), Error{Code: SegmentSequenceError, Segment: "MSH", Sequence: 1, Position: 1, Message: "not PID"}},
		{"no segment at all", []byte("hello"), Error{Code: SegmentSequenceError, Segment: "MSH", Sequence: 1, Position: 1, Message: "not no segment ID"}},
		{"MSH alone", []byte("MSH"), Error{Code: RequiredFieldMissing, Segment: "MSH", Sequence: 1, Position: 1, Field: 1}},
		{"letter as field separator", []byte("MSHX^~\\&X"), Error{Code: DataTypeError, Segment: "MSH", Sequence: 1, Position: 1, Field: 1}},
		{"MSH-2 missing", []byte("MSH|"), Error{Code: RequiredFieldMissing, Segment: "MSH", Sequence: 1, Position: 1, Field: 2}},
		{"MSH-2 empty", []byte("MSH||A|B"), Error{Code: RequiredFieldMissing, Segment: "MSH", Sequence: 1, Position: 1, Field: 2}},
		{"MSH-2 too long", []byte(`MSH|^~\&#!|A`), Error{Code: DataTypeError, Segment: "MSH", Sequence: 1, Position: 1, Field: 2, Message: "6 encoding"}},
		{"MSH-2 repeats a character", []byte(`MSH|^~\^|A`), Error{Code: DataTypeError, Segment: "MSH", Sequence: 1, Position: 1, Field: 2, Message: "used twice"}},
		{"MSH-2 holds a digit", []byte(`MSH|^~1&|A`), Error{Code: DataTypeError, Segment: "MSH", Sequence: 1, Position: 1, Field: 2}},
		{"line that is not a segment", []byte(mshORU + "\nPID|1||A\nOBR|1||X^Newborn\npanel^LN\n"), Error{Code: SegmentSequenceError, Position: 4, Message: "follows OBR"}},
		{"lower-case segment ID", msg(mshORU, "pid|1"), Error{Code: SegmentSequenceError, Position: 2}},
		{"segment ID without separator", msg(mshORU, "PIDX|1"), Error{Code: SegmentSequenceError, Position: 2}},
		{"segment before the MSH", msg(`FHS|^~\&`, "PID|1", mshORU), Error{Code: SegmentSequenceError, Segment: "MSH", Sequence: 1, Position: 2, Message: "only FHS and BHS"}},
		{"no MSH after FHS", msg(`FHS|^~\&`, `BHS|^~\&`), Error{Code: SegmentSequenceError, Segment: "MSH", Sequence: 1, Message: "no MSH"}},
		{"second MSH", msg(mshORU, "PID|1", mshORU), Error{Code: SegmentSequenceError, Segment: "MSH", Sequence: 2, Position: 3, Message: "batches"}},
		{"BHS after the MSH", msg(mshORU, `BHS|^~\&`), Error{Code: SegmentSequenceError, Segment: "BHS", Sequence: 1, Position: 2}},
		{"MSH with other delimiters than FHS", msg(`FHS|^~\&`, `MSH|^~\#|A`), Error{Code: DataTypeError, Segment: "MSH", Sequence: 1, Position: 2, Field: 2}},
		{"unsupported charset", msg(mshORU + "||||||8859/2"), Error{Code: TableValueNotFound, Segment: "MSH", Sequence: 1, Position: 1, Field: 18, Repetition: 1, Message: `"8859/2"`}},
		{"Latin-1 byte without MSH-18", []byte(mshORU + "\rPID|1||A~B||Ren\xe9e^Jos\xe9\r"), Error{Code: DataTypeError, Segment: "PID", Sequence: 1, Position: 2, Field: 5, Repetition: 1, Component: 1, SubComponent: 1, Message: "0xE9"}},
		{"invalid UTF-8 located", []byte(mshORU + "||||||UNICODE UTF-8\rPID|1\rOBX|1\rOBX|2|ST|X^Y~A^B&C\xff"), Error{Code: DataTypeError, Segment: "OBX", Sequence: 2, Position: 4, Field: 3, Repetition: 2, Component: 2, SubComponent: 2, Message: "0xFF"}},
		{"non-ASCII when ASCII is declared", msg(mshORU+"||||||ASCII", "OBX|1|NM|X||0.5|µmol/L"), Error{Code: DataTypeError, Segment: "OBX", Sequence: 1, Position: 2, Field: 6, Repetition: 1, Component: 1, SubComponent: 1, Message: "not ASCII"}},
		{"invalid byte in the MSH", []byte(`MSH|^~\&|L` + "\xff" + `B|HOSP`), Error{Code: DataTypeError, Segment: "MSH", Sequence: 1, Position: 1, Field: 3, Repetition: 1, Component: 1, SubComponent: 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := Parse(tt.in)
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("Parse = %v, %v; want an *Error", m, err)
			}
			if m != nil {
				t.Errorf("Parse returned a message with its error")
			}
			got := *e
			got.Message, got.Err = "", nil
			want := tt.want
			want.Message = ""
			if got != want {
				t.Errorf("error %+v\nwant       %+v", got, want)
			}
			if !strings.Contains(e.Message, tt.want.Message) {
				t.Errorf("message %q does not say %q", e.Message, tt.want.Message)
			}
		})
	}
}

func TestParseUnsupportedCharsetIsTyped(t *testing.T) {
	_, err := Parse(msg(mshORU + "||||||ISO IR87"))
	var ce *UnsupportedCharsetError
	if !errors.As(err, &ce) || ce.Charset != "ISO IR87" {
		t.Fatalf("Parse = %v, want an UnsupportedCharsetError for ISO IR87", err)
	}
}

func TestParseDoesNotKeepInput(t *testing.T) {
	b := msg(mshORU, "PID|1||MRN1")
	m := mustParse(t, b)
	for i := range b {
		b[i] = 'x'
	}
	if got := m.First("PID").Field(3).Text(); got != "MRN1" {
		t.Errorf("after the input changed, PID-3 = %q", got)
	}
}

func TestParseHeaderLenient(t *testing.T) {
	tests := []struct {
		name    string
		in      []byte
		control string
		app     string
	}{
		{"unsupported charset", msg(`MSH|^~\&|LAB|H|E|W|2024||ORU^R01|C9|P|2.5.1||||||ISO IR87`), "C9", "LAB"},
		{"broken segment later", []byte(mshORU + "\nOBR|1\nnot a segment\n"), "CTRL-1", "LAB"},
		{"invalid bytes in the MSH", []byte(`MSH|^~\&|L` + "\xff" + `B|H|E|W|2024||ORU^R01|C8|P|2.5.1`), "C8", "L?B"},
		{"Latin-1 header", []byte(`MSH|^~\&|CAF` + "\xc9" + `|H|E|W|2024||ORU^R01|C7|P|2.5.1||||||8859/1`), "C7", "CAFÉ"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, err := ParseHeader(tt.in)
			if err != nil {
				t.Fatal(err)
			}
			if h.ControlID != tt.control || h.SendingApplication.NamespaceID != tt.app {
				t.Errorf("control ID %q, sending application %q; want %q, %q", h.ControlID, h.SendingApplication.NamespaceID, tt.control, tt.app)
			}
		})
	}
	if _, err := ParseHeader([]byte("MSH|")); err == nil {
		t.Error("ParseHeader(MSH|) succeeded")
	}
}

func TestHeaderCheck(t *testing.T) {
	tests := []struct {
		name string
		msh  string
		want []string // locations
	}{
		{"complete", mshORU, nil},
		{"ACK without trigger", `MSH|^~\&|A|B|C|D|||ACK|X1|P|2.5.1`, nil},
		{"no MSH-9", `MSH|^~\&|A|B|C|D|||||P|2.5.1`, []string{"MSH-9", "MSH-10"}},
		{"no trigger", `MSH|^~\&|A|B|C|D|||ORU|X1|P|2.5.1`, []string{"MSH-9.2"}},
		{"no message code", `MSH|^~\&|A|B|C|D|||^R01|X1|P|2.5.1`, []string{"MSH-9.1"}},
		{"nothing", `MSH|^~\&`, []string{"MSH-9", "MSH-10", "MSH-11", "MSH-12"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := mustParse(t, msg(tt.msh))
			var got []string
			for _, e := range m.Header.Check() {
				if e.Code != RequiredFieldMissing {
					t.Errorf("%v: code %d", e, e.Code)
				}
				got = append(got, e.Location())
			}
			if strings.Join(got, " ") != strings.Join(tt.want, " ") {
				t.Errorf("Check() at %v, want %v", got, tt.want)
			}
		})
	}
}

func TestErrorText(t *testing.T) {
	tests := []struct {
		err  Error
		want string
	}{
		{Error{Code: DataTypeError, Segment: "OBX", Sequence: 5, Position: 9, Field: 3, Repetition: 2, Component: 1, SubComponent: 4, Message: "bad"},
			"hl7v2: 102 data type error at OBX[5]-3(2).1.4 (segment 9): bad"},
		{Error{Code: RequiredFieldMissing, Segment: "MSH", Sequence: 1, Position: 1, Field: 10},
			"hl7v2: 101 required field missing at MSH-10 (segment 1)"},
		{Error{Code: SegmentSequenceError, Position: 6, Message: "not a segment"},
			"hl7v2: 100 segment sequence error (segment 6): not a segment"},
		{Error{Code: ErrorCode(999)}, "hl7v2: 999 error"},
	}
	for _, tt := range tests {
		if got := tt.err.Error(); got != tt.want {
			t.Errorf("Error() = %q, want %q", got, tt.want)
		}
	}
}
