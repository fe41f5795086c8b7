package hl7v2

import (
	"errors"
	"strings"
	"testing"
	"time"
)

var ackTime = time.Date(2024, 3, 4, 5, 6, 7, 0, time.FixedZone("", -5*3600))

// segmentsOf splits an acknowledgment into its segments for comparison.
func segmentsOf(b []byte) []string {
	return strings.Split(strings.TrimSuffix(string(b), "\r"), "\r")
}

func TestACK(t *testing.T) {
	tests := []struct {
		name string
		in   []byte
		a    Acknowledgment
		want []string
	}{
		{
			name: "accept",
			in:   msg(`MSH|^~\&|LAB^1.2.3^ISO|HOSP|EHR|WARD|20240102||ORU^R01^ORU_R01|CTRL-1|P|2.5.1`),
			a:    Acknowledgment{Code: AckAccept, ControlID: "A1", Time: ackTime},
			want: []string{
				`MSH|^~\&|EHR|WARD|LAB^1.2.3^ISO|HOSP|20240304050607-0500||ACK^R01^ACK|A1|P|2.5.1`,
				`MSA|AA|CTRL-1`,
			},
		},
		{
			name: "errors with locations",
			in:   msg(`MSH|^~\&|LAB|HOSP|EHR|WARD|20240102||ORU^R01^ORU_R01|CTRL-2|T|2.5.1`),
			a: Acknowledgment{Code: AckError, ControlID: "A2", Time: ackTime, Errors: []error{
				&Error{Code: RequiredFieldMissing, Segment: "PID", Sequence: 1, Field: 3, Message: "PID-3 is empty"},
				&Error{Code: DataTypeError, Severity: SeverityWarning, Segment: "OBX", Sequence: 5, Field: 5, Repetition: 1, Component: 2, SubComponent: 1,
					Message: "value 1|2 is not ^NM^\nsee ~ & \\"},
				&Error{Code: SegmentSequenceError, Position: 6, Message: "not a segment"},
				errors.New("connection to database db.internal:5432 refused"),
			}},
			want: []string{
				`MSH|^~\&|EHR|WARD|LAB|HOSP|20240304050607-0500||ACK^R01^ACK|A2|T|2.5.1`,
				`MSA|AE|CTRL-2`,
				`ERR||PID^1^3|101^Required field missing^HL70357|E||||PID-3 is empty`,
				`ERR||OBX^5^5^1^2^1|102^Data type error^HL70357|W||||value 1\F\2 is not \S\NM\S\\X0A\see \R\ \T\ \E\`,
				`ERR|||100^Segment sequence error^HL70357|E||||not a segment`,
				`ERR|||207^Application internal error^HL70357|E`,
			},
		},
		{
			name: "processing mode, no trigger, no version",
			in:   msg(`MSH|^~\&|A|B|C|D|||ACK|X1|D^T`),
			a:    Acknowledgment{Code: AckAccept, ControlID: "A3"},
			want: []string{`MSH|^~\&|C|D|A|B|||ACK^^ACK|A3|D^T|2.5.1`, `MSA|AA|X1`},
		},
		{
			name: "values that need escaping",
			in:   msg(`MSH|^~\&|A\T\B|B|C|D|||ORU^R01|X\F\1|P|2.5.1`),
			a:    Acknowledgment{Code: AckAccept, ControlID: "A|4"},
			want: []string{`MSH|^~\&|C|D|A\T\B|B|||ACK^R01^ACK|A\F\4|P|2.5.1`, `MSA|AA|X\F\1`},
		},
		{
			name: "the message's own delimiters",
			in:   msg(`MSH#$*@!#LAB$1.2#HOSP#EHR#WARD#2024##ORU$R01#C$5#P#2.5.1`),
			a:    Acknowledgment{Code: AckAccept, ControlID: "A5"},
			want: []string{`MSH#$*@!#EHR#WARD#LAB$1.2#HOSP###ACK$R01$ACK#A5#P#2.5.1`, `MSA#AA#C@S@5`},
		},
		{
			name: "fewer than four encoding characters: standard ones",
			in:   msg(`MSH|^~|LAB|HOSP|EHR|WARD|2024||ORU^R01|C\6|P|2.5.1`),
			a:    Acknowledgment{Code: AckAccept, ControlID: "A6"},
			want: []string{`MSH|^~\&|EHR|WARD|LAB|HOSP|||ACK^R01^ACK|A6|P|2.5.1`, `MSA|AA|C\E\6`},
		},
		{
			name: "truncation character carried",
			in:   msg(`MSH|^~\&#|A|B|C|D|||ORU^R01^ORU_R01|C#7|P|2.7`),
			a:    Acknowledgment{Code: AckAccept, ControlID: "A7"},
			want: []string{`MSH|^~\&#|C|D|A|B|||ACK^R01^ACK|A7|P|2.7`, `MSA|AA|C\P\7`},
		},
		{
			name: "Latin-1 answered in Latin-1",
			in:   []byte("MSH|^~\\&|CAF\xc9|B|C|D|||ORU^R01|C8|P|2.5.1||||||8859/1\r"),
			a:    Acknowledgment{Code: AckAccept, ControlID: "A8", Errors: []error{&Error{Code: ApplicationInternalError, Message: "naïve – ok"}}},
			want: []string{
				"MSH|^~\\&|C|D|CAF\xc9|B|||ACK^R01^ACK|A8|P|2.5.1||||||8859/1",
				"MSA|AA|C8",
				"ERR|||207^Application internal error^HL70357|E||||na\xefve ? ok",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := mustParse(t, tt.in)
			ack := ACK(&m.Header, tt.a)
			got := segmentsOf(ack)
			if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Errorf("ACK =\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
			if _, err := Parse(ack); err != nil {
				t.Errorf("the ACK does not parse: %v", err)
			}
		})
	}
}

// TestACKReadsBack parses an acknowledgment as its receiver would and checks
// what the receiver reads: the addresses swapped, MSA-2 the control ID and
// each ERR field.
func TestACKReadsBack(t *testing.T) {
	m := mustParse(t, msg(`MSH|^~\&|LAB^1.2.3^ISO|HOSP|EHR|WARD|2024||ORU^R01^ORU_R01|C\S\9|P|2.5.1`))
	ack := ACK(&m.Header, Acknowledgment{Code: AckReject, ControlID: "A9", Time: ackTime, Errors: []error{
		&Error{Code: UnsupportedVersionID, Segment: "MSH", Sequence: 1, Field: 12, Message: "2.9 & later | not ~ supported"},
	}})
	a := mustParse(t, ack)
	checks := []struct {
		name, got, want string
	}{
		{"MSH-5 is the sender", a.Header.ReceivingApplication.UniversalID, "1.2.3"},
		{"MSH-3 is the receiver", a.Header.SendingApplication.NamespaceID, "EHR"},
		{"MSH-9", a.Header.Type.Code + " " + a.Header.Type.Trigger + " " + a.Header.Type.Structure, "ACK R01 ACK"},
		{"MSH-10", a.Header.ControlID, "A9"},
		{"MSA-1", get(a, "MSA", 1), "AR"},
		{"MSA-2", get(a, "MSA", 2), "C^9"},
		{"ERR-2.1", get(a, "ERR", 2, 1, 1), "MSH"},
		{"ERR-2.3", get(a, "ERR", 2, 1, 3), "12"},
		{"ERR-3.1", get(a, "ERR", 3, 1, 1), "203"},
		{"ERR-3.3", get(a, "ERR", 3, 1, 3), "HL70357"},
		{"ERR-4", get(a, "ERR", 4), "E"},
		{"ERR-8", get(a, "ERR", 8), "2.9 & later | not ~ supported"},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %q, want %q", c.name, c.got, c.want)
		}
	}
}

func TestACKUnparsed(t *testing.T) {
	tests := []struct {
		name    string
		in      []byte
		control string // MSA-2 wanted
		msh3    string // the ACK's MSH-3 wanted
	}{
		{"message Parse refuses, header readable", []byte(mshORU + "\nOBR|1\nnot a segment\n"), "CTRL-1", "EHR"},
		{"unsupported charset", msg(`MSH|^~\&|LAB|H|E|W|2024||ORU^R01|C9|P|2.5.1||||||ISO IR87`), "C9", "E"},
		{"MSH-2 broken, control ID found", []byte(`MSH|^~\^&|LAB|H|E|W|2024||ORU^R01|C10|P|2.5.1`), "C10", ""},
		{"MSH-2 missing", []byte("MSH|"), "", ""},
		{"not HL7 at all", []byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n"), "", ""},
		{"empty", nil, "", ""},
		{"MSH after junk", []byte("xx MSH|^~\\^|A|B|C|D|||ORU|C11|P\rPID"), "C11", ""},
		{"invalid bytes in the guessed ID", []byte("MSH|^^|A|B|C|D|||ORU|C\xff12|P"), "C?12", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ack := ACKUnparsed(tt.in, Acknowledgment{ControlID: "R1", Time: ackTime, Errors: []error{&Error{Code: SegmentSequenceError, Message: "refused"}}})
			a, err := Parse(ack)
			if err != nil {
				t.Fatalf("the ACK does not parse: %v\n%q", err, ack)
			}
			if got := get(a, "MSA", 1); got != "AR" {
				t.Errorf("MSA-1 = %q, want AR", got)
			}
			if got := get(a, "MSA", 2); got != tt.control {
				t.Errorf("MSA-2 = %q, want %q", got, tt.control)
			}
			if got := a.Header.SendingApplication.NamespaceID; got != tt.msh3 {
				t.Errorf("MSH-3 = %q, want %q", got, tt.msh3)
			}
			if got := get(a, "ERR", 3, 1, 1); got != "100" {
				t.Errorf("ERR-3.1 = %q, want 100", got)
			}
			if a.Header.Version != AckVersion && tt.msh3 == "" {
				t.Errorf("MSH-12 = %q, want %s", a.Header.Version, AckVersion)
			}
		})
	}
}
