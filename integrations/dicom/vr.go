package dicom

// VR is a value representation: the two upper-case letters that say how an
// element's value is encoded ("PN", "US", "SQ" …).
type VR string

// The value representations of PS3.5 §6.2.
const (
	VRAE VR = "AE" // application entity
	VRAS VR = "AS" // age string
	VRAT VR = "AT" // attribute tag
	VRCS VR = "CS" // code string
	VRDA VR = "DA" // date
	VRDS VR = "DS" // decimal string
	VRDT VR = "DT" // date time
	VRFD VR = "FD" // floating point double
	VRFL VR = "FL" // floating point single
	VRIS VR = "IS" // integer string
	VRLO VR = "LO" // long string
	VRLT VR = "LT" // long text
	VROB VR = "OB" // other byte
	VROD VR = "OD" // other double
	VROF VR = "OF" // other float
	VROL VR = "OL" // other long
	VROV VR = "OV" // other 64-bit very long
	VROW VR = "OW" // other word
	VRPN VR = "PN" // person name
	VRSH VR = "SH" // short string
	VRSL VR = "SL" // signed long
	VRSQ VR = "SQ" // sequence of items
	VRSS VR = "SS" // signed short
	VRST VR = "ST" // short text
	VRSV VR = "SV" // signed 64-bit very long
	VRTM VR = "TM" // time
	VRUC VR = "UC" // unlimited characters
	VRUI VR = "UI" // unique identifier
	VRUL VR = "UL" // unsigned long
	VRUN VR = "UN" // unknown
	VRUR VR = "UR" // URI or URL
	VRUS VR = "US" // unsigned short
	VRUT VR = "UT" // unlimited text
	VRUV VR = "UV" // unsigned 64-bit very long
)

// vrClass groups what the reader needs to know about a VR.
type vrClass uint8

const (
	classUnknown  vrClass = iota // a VR this package does not know
	classString                  // multi-valued text, split on backslash
	classText                    // single-valued text, backslash is a character
	classNumber                  // fixed-size binary numbers (US, FL, AT …)
	classBulk                    // other-byte/word/… and UN: opaque bytes
	classSequence                // SQ
)

type vrInfo struct {
	class vrClass
	// long is true when explicit VR encodes the length in four bytes after
	// two reserved ones, rather than in two.
	long bool
	// charset is true when the value is decoded with the Specific Character
	// Set; other string VRs use the default repertoire.
	charset bool
	// trimLeading is true when leading spaces are insignificant.
	trimLeading bool
	// size is the width of one value of a classNumber VR.
	size int
}

var vrs = map[VR]vrInfo{
	VRAE: {class: classString, trimLeading: true},
	VRAS: {class: classString, trimLeading: true},
	VRAT: {class: classNumber, size: 4},
	VRCS: {class: classString, trimLeading: true},
	VRDA: {class: classString, trimLeading: true},
	VRDS: {class: classString, trimLeading: true},
	VRDT: {class: classString, trimLeading: true},
	VRFD: {class: classNumber, size: 8},
	VRFL: {class: classNumber, size: 4},
	VRIS: {class: classString, trimLeading: true},
	VRLO: {class: classString, charset: true, trimLeading: true},
	VRLT: {class: classText, charset: true},
	VROB: {class: classBulk, long: true},
	VROD: {class: classBulk, long: true, size: 8},
	VROF: {class: classBulk, long: true, size: 4},
	VROL: {class: classBulk, long: true, size: 4},
	VROV: {class: classBulk, long: true, size: 8},
	VROW: {class: classBulk, long: true, size: 2},
	VRPN: {class: classString, charset: true},
	VRSH: {class: classString, charset: true, trimLeading: true},
	VRSL: {class: classNumber, size: 4},
	VRSQ: {class: classSequence, long: true},
	VRSS: {class: classNumber, size: 2},
	VRST: {class: classText, charset: true},
	VRSV: {class: classNumber, long: true, size: 8},
	VRTM: {class: classString, trimLeading: true},
	VRUC: {class: classString, long: true, charset: true},
	VRUI: {class: classString, trimLeading: true},
	VRUL: {class: classNumber, size: 4},
	VRUN: {class: classBulk, long: true},
	VRUR: {class: classText, long: true},
	VRUS: {class: classNumber, size: 2},
	VRUT: {class: classText, long: true, charset: true},
	VRUV: {class: classNumber, long: true, size: 8},
}

// info describes v; a VR this package does not know is opaque bytes with a
// four-byte length, which is how PS3.5 §7.1.2 says any future VR will be
// encoded.
func (v VR) info() vrInfo {
	if len(v) == 2 && validVRBytes(v[0], v[1]) {
		return vrTable[vrIndex(v[0], v[1])].info
	}
	return vrInfo{class: classUnknown, long: true}
}

// vrTable holds every two-letter VR, so that reading one allocates nothing.
var vrTable = func() (t [26 * 26]struct {
	vr   VR
	info vrInfo
}) {
	for i := range t {
		t[i].vr = VR([]byte{'A' + byte(i/26), 'A' + byte(i%26)})
		t[i].info = vrInfo{class: classUnknown, long: true}
	}
	for vr, info := range vrs {
		t[vrIndex(vr[0], vr[1])].info = info
	}
	return t
}()

func vrIndex(b0, b1 byte) int { return int(b0-'A')*26 + int(b1-'A') }

// vrOf is the VR whose letters are b0 and b1, which must be valid.
func vrOf(b0, b1 byte) VR { return vrTable[vrIndex(b0, b1)].vr }

// IsString reports whether values of this VR are character strings.
func (v VR) IsString() bool {
	c := v.info().class
	return c == classString || c == classText
}

// validVRBytes reports whether b could be an explicit VR: two upper-case
// ASCII letters.
func validVRBytes(b0, b1 byte) bool {
	return 'A' <= b0 && b0 <= 'Z' && 'A' <= b1 && b1 <= 'Z'
}
