package dicom

import (
	"errors"
	"reflect"
	"testing"
)

func TestCharacterSetValues(t *testing.T) {
	tests := []struct {
		name  string
		terms []string
		vr    VR
		raw   string
		want  []string
	}{
		{"default ASCII", nil, VRLO, "Doe\\Roe", []string{"Doe", "Roe"}},
		{"default reads stray 8-bit bytes as Latin-1", nil, VRPN, "M\xfcller", []string{"Müller"}},
		{"ISO_IR 6", []string{"ISO_IR 6"}, VRSH, "ABC", []string{"ABC"}},
		{"Latin-1", []string{"ISO_IR 100"}, VRPN, "M\xfcller^Zo\xeb", []string{"Müller^Zoë"}},
		{"Latin-9 euro", []string{"ISO_IR 203"}, VRLO, "5 \xa4", []string{"5 €"}},
		{"Cyrillic", []string{"ISO_IR 144"}, VRPN, "\xb8\xd2\xd0\xdd", []string{"Иван"}},
		{"UTF-8", []string{"ISO_IR 192"}, VRPN, "山田^太郎\\Zoë", []string{"山田^太郎", "Zoë"}},
		{"UTF-8 invalid bytes", []string{"ISO_IR 192"}, VRLO, "a\xffb", []string{"a\uFFFDb"}},
		{"ST is one value", []string{"ISO_IR 100"}, VRST, "a\\b", []string{"a\\b"}},
		{"JIS X 0201 romaji yen in text", []string{"ISO_IR 13"}, VRST, "100\\ \xb1", []string{"100¥ ｱ"}},
		{"JIS X 0201 backslash still splits", []string{"ISO_IR 13"}, VRLO, "\xb1\\\xb2", []string{"ｱ", "ｲ"}},
		{"GBK second byte 0x5C", []string{"GBK"}, VRPN, "\x87\x5c\\\x81\x5c", []string{"嘰", "乗"}},
		{"GB18030 four bytes", []string{"GB18030"}, VRLO, "\x95\x32\x82\x36", []string{"𠀀"}},
		// PS3.5 H.3.1: the ideographic and phonetic groups in JIS X 0208.
		{"JIS X 0208", []string{"", "ISO 2022 IR 87"}, VRPN,
			"Yamada^Tarou=\x1b$B;3ED\x1b(B^\x1b$BB@O:\x1b(B=\x1b$B$d$^$@\x1b(B^\x1b$B$?$m$&\x1b(B",
			[]string{"Yamada^Tarou=山田^太郎=やまだ^たろう"}},
		{"JIS X 0208 bytes 0x5C and 0x5E are not delimiters", []string{"", "ISO 2022 IR 87"}, VRLO,
			"\x1b$B$^\x1b(B\\x", []string{"ま", "x"}},
		{"JIS X 0212", []string{"", "ISO 2022 IR 159"}, VRLO, "\x1b$(D\x30\x21\x1b(B", []string{"丂"}},
		{"KS X 1001", []string{"", "ISO 2022 IR 149"}, VRPN,
			"Hong^Gildong=\x1b$)C\xfb\xf3^\x1b$)C\xd1\xce\xd4\xd7", []string{"Hong^Gildong=洪^吉洞"}},
		{"GB 2312", []string{"", "ISO 2022 IR 58"}, VRPN, "\x1b$)A\xd5\xc5^\x1b$)A\xd0\xa1\xb6\xab", []string{"张^小东"}},
		{"single-byte extensions", []string{"ISO 2022 IR 6", "ISO 2022 IR 100", "ISO 2022 IR 144"}, VRPN,
			"M\x1b-A\xfcller^\x1b-L\xb8\xd2\xd0\xdd", []string{"Müller^Иван"}},
		{"the initial set returns after a delimiter", []string{"ISO 2022 IR 100", "ISO 2022 IR 144"}, VRPN,
			"\x1b-L\xb8^\xfc", []string{"И^ü"}},
		{"the initial set returns at each value", []string{"ISO 2022 IR 100", "ISO 2022 IR 144"}, VRLO,
			"\x1b-L\xb8\\\xfc", []string{"И", "ü"}},
		{"a high byte with no G1 set", []string{"", "ISO 2022 IR 87"}, VRLO, "a\xfcb", []string{"a\uFFFDb"}},
		{"an unknown escape", []string{"", "ISO 2022 IR 87"}, VRLO, "a\x1b%Gb", []string{"a\uFFFD%Gb"}},
		{"a two-byte set cut short", []string{"", "ISO 2022 IR 87"}, VRLO, "\x1b$B;", []string{"\uFFFD"}},
		{"ISO_IR form of value 1 with extensions", []string{"ISO_IR 100", "ISO 2022 IR 87"}, VRLO, "\xfc", []string{"ü"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cs, err := parseCharacterSet(tt.terms)
			if err != nil {
				t.Fatal(err)
			}
			e := &Element{VR: tt.vr, Raw: []byte(tt.raw), cs: cs}
			if got := e.Strings(); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Strings() = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestCharacterSetRefused(t *testing.T) {
	tests := [][]string{
		{"ISO_IR 999"},
		{"ISO-IR 100"},
		{"ISO_IR 192", "ISO 2022 IR 87"},
		{"", "ISO 2022 IR 999"},
		{"GB18030", "GBK"},
	}
	for _, terms := range tests {
		_, err := parseCharacterSet(terms)
		var fe *FormatError
		if !errors.Is(err, ErrUnsupportedCharacterSet) || !errors.As(err, &fe) || fe.Tag != TagSpecificCharacterSet {
			t.Errorf("%q: err %v, want ErrUnsupportedCharacterSet", terms, err)
		}
	}
}

// TestCharacterSetNotDecodedForOtherVRs keeps code strings and UIDs in the
// default repertoire whatever (0008,0005) says.
func TestCharacterSetNotDecodedForOtherVRs(t *testing.T) {
	cs, err := parseCharacterSet([]string{"ISO_IR 144"})
	if err != nil {
		t.Fatal(err)
	}
	e := &Element{VR: VRCS, Raw: []byte("\xb8"), cs: cs}
	if got := e.FirstString(); got != "¸" {
		t.Errorf("CS decoded as %q", got)
	}
	uid := &Element{VR: VRUI, Raw: []byte("1.2.3\x00"), cs: cs}
	if got := uid.FirstString(); got != "1.2.3" {
		t.Errorf("UI padding kept: %q", got)
	}
}
