package dicom

import (
	"bytes"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/encoding/japanese"
	"golang.org/x/text/encoding/korean"
	"golang.org/x/text/encoding/simplifiedchinese"
)

// characterSet decodes the text values of one data set as its Specific
// Character Set (0008,0005) says. It splits multi-valued strings too: with
// code extensions, or in a two-byte set, the byte 0x5C is only a value
// delimiter where a single-byte set is in force, so splitting and decoding
// are one pass.
type characterSet struct {
	// whole decodes one value when no code extensions are in use; nil when
	// they are.
	whole func([]byte) string
	// splitDecoded is true for the two-byte sets without code extensions
	// (GB18030, GBK), whose second bytes may be 0x5C: their values are
	// decoded first and split afterwards.
	splitDecoded bool
	// initial is the designation in force at the start of each value, and
	// again after each delimiter, when code extensions are in use.
	initial designation
}

// designation is which graphic set is in G0 (bytes 0x21–0x7E) and which in
// G1 (bytes 0xA0–0xFF).
type designation struct {
	g0 *graphicSet
	g1 *graphicSet
}

// graphicSet is one ISO 2022 graphic character set.
type graphicSet struct {
	// single decodes one byte of a single-byte set (its GR byte when in
	// G1); nil for a two-byte set, and for ASCII, which needs none.
	single func(byte) rune
	// double decodes the EUC form of a two-byte set: its bytes with the
	// high bit set, after eucPrefix.
	double    encoding.Encoding
	eucPrefix byte
}

var (
	setASCII    = &graphicSet{}
	setRomaji   = &graphicSet{single: romaji}   // JIS X 0201 Roman, G0
	setKatakana = &graphicSet{single: katakana} // JIS X 0201 Katakana, G1
	setJIS0208  = &graphicSet{double: japanese.EUCJP}
	setJIS0212  = &graphicSet{double: japanese.EUCJP, eucPrefix: 0x8F}
	setKSX1001  = &graphicSet{double: korean.EUCKR}
	setGB2312   = &graphicSet{double: simplifiedchinese.GBK}
)

// The single-byte sets for G1: ISO 8859 parts, and TIS 620.
var (
	setLatin1   = singleByte(charmap.ISO8859_1)
	setLatin2   = singleByte(charmap.ISO8859_2)
	setLatin3   = singleByte(charmap.ISO8859_3)
	setLatin4   = singleByte(charmap.ISO8859_4)
	setCyrillic = singleByte(charmap.ISO8859_5)
	setArabic   = singleByte(charmap.ISO8859_6)
	setGreek    = singleByte(charmap.ISO8859_7)
	setHebrew   = singleByte(charmap.ISO8859_8)
	setLatin5   = singleByte(charmap.ISO8859_9)
	setLatin9   = singleByte(charmap.ISO8859_15)
	setThai     = &graphicSet{single: thai}
)

func singleByte(m *charmap.Charmap) *graphicSet { return &graphicSet{single: m.DecodeByte} }

// isoTerm is a defined term for a single-byte set or JIS X 0201, which can
// be used with or without code extensions.
type isoTerm struct {
	ir     string // "100" in "ISO_IR 100" and "ISO 2022 IR 100"
	g0, g1 *graphicSet
}

var isoTerms = []isoTerm{
	{"6", setASCII, nil},
	{"100", setASCII, setLatin1},
	{"101", setASCII, setLatin2},
	{"109", setASCII, setLatin3},
	{"110", setASCII, setLatin4},
	{"144", setASCII, setCyrillic},
	{"127", setASCII, setArabic},
	{"126", setASCII, setGreek},
	{"138", setASCII, setHebrew},
	{"148", setASCII, setLatin5},
	{"203", setASCII, setLatin9},
	{"166", setASCII, setThai},
	{"13", setRomaji, setKatakana},
}

// multiByteTerms are the two-byte sets, usable only with code extensions.
var multiByteTerms = map[string]designation{
	"ISO 2022 IR 87":  {g0: setJIS0208},
	"ISO 2022 IR 159": {g0: setJIS0212},
	"ISO 2022 IR 149": {g1: setKSX1001},
	"ISO 2022 IR 58":  {g1: setGB2312},
}

// escapes are the designations PS3.3 C.12.1.1.2 lists, by the bytes after ESC.
var escapes = map[string]designation{
	"(B":  {g0: setASCII},
	"(J":  {g0: setRomaji},
	"$B":  {g0: setJIS0208},
	"$@":  {g0: setJIS0208}, // JIS C 6226-1978, read as its successor
	"$(D": {g0: setJIS0212},
	"-A":  {g1: setLatin1},
	"-B":  {g1: setLatin2},
	"-C":  {g1: setLatin3},
	"-D":  {g1: setLatin4},
	"-L":  {g1: setCyrillic},
	"-G":  {g1: setArabic},
	"-F":  {g1: setGreek},
	"-H":  {g1: setHebrew},
	"-M":  {g1: setLatin5},
	"-b":  {g1: setLatin9},
	"-T":  {g1: setThai},
	")I":  {g1: setKatakana},
	"$)C": {g1: setKSX1001},
	"$)A": {g1: setGB2312},
}

// defaultCharacterSet is used when (0008,0005) is absent or empty. Bytes
// outside ASCII are then not valid, but devices that omit the attribute
// almost always mean ISO 8859-1, so they are read as that.
var defaultCharacterSet = &characterSet{whole: latin1}

// parseCharacterSet builds the decoder for the (0008,0005) values terms.
func parseCharacterSet(terms []string) (*characterSet, error) {
	if len(terms) == 0 || len(terms) == 1 && terms[0] == "" {
		return defaultCharacterSet, nil
	}
	cs := &characterSet{}
	if len(terms) == 1 && !strings.HasPrefix(terms[0], "ISO 2022 ") {
		switch t := terms[0]; t {
		case "ISO_IR 192":
			cs.whole = utf8Text
		case "GB18030":
			cs.whole, cs.splitDecoded = decoderOf(simplifiedchinese.GB18030), true
		case "GBK":
			cs.whole, cs.splitDecoded = decoderOf(simplifiedchinese.GBK), true
		case "ISO_IR 6":
			cs.whole = latin1
		default:
			it, ok := lookupISOTerm(t, "ISO_IR ")
			if !ok {
				return nil, unsupportedCharacterSet(terms, t)
			}
			g0, g1 := it.g0, it.g1
			cs.whole = func(b []byte) string { return decodeSingle(b, g0, g1) }
		}
		return cs, nil
	}
	// Code extensions: value 1 (empty for the default repertoire) is the
	// initial designation; the others are what escape sequences may invoke.
	for i, t := range terms {
		if i == 0 && t == "" {
			cs.initial = designation{g0: setASCII}
			continue
		}
		d, ok := multiByteTerms[t]
		if !ok {
			it, found := lookupISOTerm(t, "ISO 2022 IR ")
			if !found {
				// A term is sometimes written in its ISO_IR form; accept it.
				it, found = lookupISOTerm(t, "ISO_IR ")
			}
			if !found {
				return nil, unsupportedCharacterSet(terms, t)
			}
			d = designation{g0: it.g0, g1: it.g1}
		}
		if i == 0 {
			cs.initial = d
			if cs.initial.g0 == nil {
				cs.initial.g0 = setASCII
			}
		}
	}
	return cs, nil
}

func lookupISOTerm(t, prefix string) (isoTerm, bool) {
	ir, ok := strings.CutPrefix(t, prefix)
	if !ok {
		return isoTerm{}, false
	}
	for _, it := range isoTerms {
		if it.ir == ir {
			return it, true
		}
	}
	return isoTerm{}, false
}

func unsupportedCharacterSet(terms []string, t string) error {
	return &FormatError{Tag: TagSpecificCharacterSet, Err: ErrUnsupportedCharacterSet,
		Detail: "term " + quoteValue(t) + " in " + quoteValue(strings.Join(terms, `\`))}
}

// values decodes b into its values: split on backslash when multi is set,
// with the state reset at "^" and "=" as well when pn is set. The values
// are not trimmed.
func (cs *characterSet) values(b []byte, multi, pn bool) []string {
	if cs.whole == nil {
		return cs.decodeExtended(b, multi, pn)
	}
	if !multi {
		return []string{cs.whole(b)}
	}
	if cs.splitDecoded {
		return strings.Split(cs.whole(b), `\`)
	}
	var out []string
	for {
		i := bytes.IndexByte(b, '\\')
		if i < 0 {
			return append(out, cs.whole(b))
		}
		out = append(out, cs.whole(b[:i]))
		b = b[i+1:]
	}
}

// decodeExtended decodes text that uses ISO 2022 code extensions (PS3.5
// §6.1.2.5): escape sequences switch the sets in G0 and G1, and the initial
// ones return at each line end, control character and delimiter.
func (cs *characterSet) decodeExtended(b []byte, multi, pn bool) []string {
	var (
		out  []string
		sb   strings.Builder
		run  []byte // pending bytes of a two-byte set, in EUC form
		runs *graphicSet
		d    = cs.initial
	)
	flush := func() {
		if len(run) > 0 {
			sb.WriteString(decoderOf(runs.double)(run))
			run = run[:0]
		}
	}
	reset := func() { flush(); d = cs.initial }
	for i := 0; i < len(b); i++ {
		c := b[i]
		switch {
		case c == 0x1B:
			flush()
			seq, next, ok := escapeAt(b, i+1)
			if !ok {
				sb.WriteRune(utf8.RuneError)
				continue
			}
			if next.g0 != nil {
				d.g0 = next.g0
			}
			if next.g1 != nil {
				d.g1 = next.g1
			}
			i += len(seq)
		case c < 0x20 || c == 0x7F:
			reset()
			sb.WriteByte(c)
		case c < 0x80 && d.g0.double != nil:
			if c == ' ' {
				flush()
				sb.WriteByte(c)
				continue
			}
			if i+1 >= len(b) || b[i+1] < 0x21 || b[i+1] > 0x7E {
				flush()
				sb.WriteRune(utf8.RuneError)
				continue
			}
			if runs != d.g0 {
				flush()
				runs = d.g0
			}
			if d.g0.eucPrefix != 0 {
				run = append(run, d.g0.eucPrefix)
			}
			run = append(run, c|0x80, b[i+1]|0x80)
			i++
		case c < 0x80:
			switch {
			case c == '\\' && multi:
				reset()
				out = append(out, sb.String())
				sb.Reset()
				continue
			case (c == '^' || c == '=') && pn:
				reset()
			}
			flush()
			if d.g0.single != nil {
				sb.WriteRune(d.g0.single(c))
			} else {
				sb.WriteByte(c)
			}
		case d.g1 == nil:
			flush()
			sb.WriteRune(utf8.RuneError)
		case d.g1.double != nil:
			if i+1 >= len(b) || b[i+1] < 0xA1 {
				flush()
				sb.WriteRune(utf8.RuneError)
				continue
			}
			if runs != d.g1 {
				flush()
				runs = d.g1
			}
			run = append(run, c, b[i+1])
			i++
		default:
			flush()
			sb.WriteRune(d.g1.single(c))
		}
	}
	flush()
	return append(out, sb.String())
}

// escapeAt finds the escape sequence that starts at b[i] (after ESC).
func escapeAt(b []byte, i int) (string, designation, bool) {
	for n := 2; n <= 3 && i+n <= len(b); n++ {
		seq := string(b[i : i+n])
		if d, ok := escapes[seq]; ok {
			return seq, d, true
		}
	}
	return "", designation{}, false
}

// decodeSingle decodes bytes of a single-byte set without code extensions.
func decodeSingle(b []byte, g0, g1 *graphicSet) string {
	var sb strings.Builder
	sb.Grow(len(b))
	for _, c := range b {
		switch {
		case c >= 0x80 && g1 != nil:
			sb.WriteRune(g1.single(c))
		case c >= 0x80:
			sb.WriteRune(utf8.RuneError)
		case g0.single != nil:
			sb.WriteRune(g0.single(c))
		default:
			sb.WriteByte(c)
		}
	}
	return sb.String()
}

func decoderOf(e encoding.Encoding) func([]byte) string {
	return func(b []byte) string {
		s, err := e.NewDecoder().Bytes(b)
		if err != nil { // these decoders replace what they cannot decode
			return string(utf8.RuneError)
		}
		return string(s)
	}
}

// latin1 decodes ISO 8859-1, whose bytes are the first 256 code points.
func latin1(b []byte) string {
	ascii := true
	for _, c := range b {
		if c >= 0x80 {
			ascii = false
			break
		}
	}
	if ascii {
		return string(b)
	}
	var sb strings.Builder
	sb.Grow(len(b) + len(b)/2)
	for _, c := range b {
		sb.WriteRune(rune(c))
	}
	return sb.String()
}

// utf8Text decodes ISO_IR 192, replacing invalid bytes with U+FFFD.
func utf8Text(b []byte) string { return strings.ToValidUTF8(string(b), string(utf8.RuneError)) }

// romaji decodes JIS X 0201 Roman: ASCII except for the yen sign and the
// overline.
func romaji(c byte) rune {
	switch c {
	case 0x5C:
		return '¥'
	case 0x7E:
		return '‾'
	}
	return rune(c)
}

// katakana decodes the JIS X 0201 katakana half (0xA1–0xDF) as the
// half-width katakana block.
func katakana(c byte) rune {
	if 0xA1 <= c && c <= 0xDF {
		return rune(c) - 0xA1 + 0xFF61
	}
	return utf8.RuneError
}

// thai decodes TIS 620-2533 (ISO_IR 166): Thai in 0xA1–0xFB.
func thai(c byte) rune {
	if c < 0xA1 {
		if c >= 0x80 {
			return rune(c) // C1 control, as in the ISO 8859 parts
		}
		return utf8.RuneError
	}
	return charmap.Windows874.DecodeByte(c)
}
