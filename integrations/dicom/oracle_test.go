package dicom

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// The oracle tests read every test file with dcmtk's dcmdump as well and
// compare, element by element, what the two readers make of it. They never
// skip: a machine without dcmtk fails them, with the command that installs
// it.

func requireDCMTK(t *testing.T, tools ...string) {
	t.Helper()
	for _, tool := range tools {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s is not installed: run scripts/ensure-services.sh --with-dcmtk (make test does); "+
				"the DICOM oracle tests never skip", tool)
		}
	}
}

// dumped is one line of dcmdump's output: an element, or an item.
type dumped struct {
	tag      Tag
	vr       string // "??" for an unknown VR, "na"/"pi" for items
	value    string // as printed: "[text]", "1\2", "(Sequence …)", "(no value available)"
	length   string // "u/l" or a number
	vm       int
	children []*dumped // a sequence's or pixel sequence's items; an item's elements
}

// dump is dcmdump's reading of a file: the meta group and the data set.
type dump struct {
	meta, dataSet []*dumped
}

var dumpLine = regexp.MustCompile(`^( *)\(([0-9a-fA-F]{4}),([0-9a-fA-F]{4})\) (\S\S) (.*?) *# *(u/l|\d+), *(\d+) .+$`)

// runDcmdump reads path with dcmdump; with utf8 set, values are converted
// to UTF-8 (+U8). ok is false when dcmdump refused the file.
func runDcmdump(t *testing.T, path string, utf8 bool) (d dump, ok bool, msg string) {
	t.Helper()
	args := []string{"-q", "+L", "-Un"}
	if utf8 {
		args = append(args, "+U8")
	}
	var stdout, stderr bytes.Buffer
	cmd := exec.Command("dcmdump", append(args, path)...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return dump{}, false, fmt.Sprintf("%v: %s", err, stderr.String())
	}
	return parseDump(t, stdout.Bytes()), true, ""
}

func parseDump(t *testing.T, out []byte) dump {
	t.Helper()
	var d dump
	section := &d.dataSet
	var last []*dumped // last[i] is the most recent node at depth i
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "# Dicom-Meta-Information-Header"):
			section, last = &d.meta, nil
			continue
		case strings.HasPrefix(line, "# Dicom-Data-Set"):
			section, last = &d.dataSet, nil
			continue
		case line == "" || strings.HasPrefix(line, "#"):
			continue
		}
		m := dumpLine.FindStringSubmatch(line)
		if m == nil {
			t.Fatalf("dcmdump line not understood: %q", line)
		}
		group, _ := strconv.ParseUint(m[2], 16, 16)
		elem, _ := strconv.ParseUint(m[3], 16, 16)
		n := &dumped{tag: NewTag(uint16(group), uint16(elem)), vr: m[4], value: m[5], length: m[6]}
		n.vm, _ = strconv.Atoi(m[7])
		if n.tag == TagItemDelimitationItem || n.tag == TagSequenceDelimitationItem {
			continue
		}
		depth := len(m[1]) / 2
		if depth > len(last) {
			t.Fatalf("dcmdump line deeper than its parent: %q", line)
		}
		if depth == 0 {
			*section = append(*section, n)
		} else {
			parent := last[depth-1]
			parent.children = append(parent.children, n)
		}
		last = append(last[:depth], n)
	}
	return d
}

// TestOracleDcmdump compares Read with dcmdump on every committed test
// file, and on the same files made afresh by testdata/make.sh with the
// dcmtk installed here.
func TestOracleDcmdump(t *testing.T) {
	requireDCMTK(t, "dcmdump", "dump2dcm", "dcmconv", "img2dcm")
	fresh := t.TempDir()
	cmd := exec.Command("bash", filepath.Join("testdata", "make.sh"), fresh)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("testdata/make.sh: %v\n%s", err, out)
	}
	for _, path := range testdataFiles(t) {
		name := filepath.Base(path)
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			compareWithDcmdump(t, path)
		})
		t.Run("fresh/"+name, func(t *testing.T) {
			t.Parallel()
			freshPath := filepath.Join(fresh, name)
			if _, err := os.Stat(freshPath); err != nil {
				t.Fatalf("make.sh no longer makes %s", name)
			}
			compareWithDcmdump(t, freshPath)
			// The committed file says what make.sh says, but for the
			// version of dcmtk that wrote it.
			committed, made := readIndexed(t, path), readIndexed(t, freshPath)
			if !reflect.DeepEqual(committed, made) {
				t.Errorf("committed file reads\n %+v\nmake.sh's reads\n %+v", committed, made)
			}
		})
	}
	made, _ := filepath.Glob(filepath.Join(fresh, "*.dcm"))
	if len(made) != len(testdataFiles(t)) {
		t.Errorf("make.sh makes %d files, testdata has %d: rerun testdata/make.sh", len(made), len(testdataFiles(t)))
	}
}

// TestOracleLargePixelData has dump2dcm write 8 MiB of pixel data and
// compares where both readers find it.
func TestOracleLargePixelData(t *testing.T) {
	requireDCMTK(t, "dcmdump", "dump2dcm")
	dir := t.TempDir()
	const pixels = 8 << 20
	if err := os.WriteFile(filepath.Join(dir, "pixels.raw"), make([]byte, pixels), 0o600); err != nil {
		t.Fatal(err)
	}
	dumpText := "(0008,0016) UI [1.2.840.10008.5.1.4.1.1.7]\n(0008,0018) UI [1.2.826.0.1.3680043.10.1407.3.8.1]\n" +
		"(0010,0020) LO [ZS-BIG]\n(0028,0010) US 2048\n(0028,0011) US 2048\n(0028,0100) US 16\n(7fe0,0010) OW =pixels.raw\n"
	if err := os.WriteFile(filepath.Join(dir, "big.dump"), []byte(dumpText), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("dump2dcm", "-q", "big.dump", "big.dcm")
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("dump2dcm: %v\n%s", err, out)
	}
	path := filepath.Join(dir, "big.dcm")
	out, err := exec.Command("dcmdump", "-q", "-M", "+P", "7fe0,0010", path).Output()
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`# *(\d+), 1 PixelData`).FindSubmatch(out)
	if m == nil {
		t.Fatalf("dcmdump shows no pixel data: %s", out)
	}
	fh, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	info, _ := fh.Stat()
	var f *File
	used := allocated(func() { f, err = Read(fh, Options{PixelData: SkipPixelData}) })
	if err != nil {
		t.Fatal(err)
	}
	if got := strconv.FormatInt(f.PixelData.Length, 10); got != string(m[1]) {
		t.Errorf("pixel data of %s bytes, dcmdump says %s", got, m[1])
	}
	if f.PixelData.Offset+f.PixelData.Length != info.Size() {
		t.Errorf("pixel data ends at %d, the file at %d", f.PixelData.Offset+f.PixelData.Length, info.Size())
	}
	if used > 1<<20 {
		t.Errorf("read a %d-byte file allocating %d bytes", info.Size(), used)
	}
	t.Logf("%d MiB of pixel data; %d KiB allocated", pixels>>20, used>>10)
}

func readIndexed(t *testing.T, path string) indexed {
	t.Helper()
	f, err := Read(bytes.NewReader(readFile(t, path)), Options{AllowMissingPreamble: true})
	if err != nil {
		t.Fatal(err)
	}
	return indexOf(f)
}

func compareWithDcmdump(t *testing.T, path string) {
	raw, ok, msg := runDcmdump(t, path, false)
	if !ok {
		t.Fatalf("dcmdump refused a test file: %s", msg)
	}
	// dcmdump converts what it can to UTF-8; the Japanese code extensions
	// are beyond the iconv it uses, and there only the bytes are compared.
	converted, convertedOK, _ := runDcmdump(t, path, true)
	if convertedOK && !hasTag(raw.dataSet, TagSpecificCharacterSet) {
		// Converting, dcmdump also adds the (0008,0005) the result needs.
		converted.dataSet = slices.DeleteFunc(converted.dataSet, func(n *dumped) bool { return n.tag == TagSpecificCharacterSet })
	}

	f, err := Read(bytes.NewReader(readFile(t, path)), Options{PixelData: SkipPixelData, AllowMissingPreamble: true})
	if err != nil {
		t.Fatal(err)
	}
	c := &comparison{t: t}
	for _, term := range f.SpecificCharacterSet {
		c.romaji = c.romaji || term == "ISO_IR 13" || term == "ISO 2022 IR 13"
	}
	c.dataSet("meta", f.Meta.Elements, raw.meta, nil, false)
	c.dataSet("", f.DataSet, raw.dataSet, converted.dataSet, convertedOK)
	if c.compared == 0 {
		t.Fatal("nothing compared")
	}
	t.Logf("%d elements agree with dcmdump (text in UTF-8: %v)", c.compared, convertedOK)

	// The typed fields say what dcmdump says.
	text := func(tag Tag) string {
		set := raw.dataSet
		if convertedOK {
			set = converted.dataSet
		}
		for _, n := range set {
			if n.tag == tag {
				return strings.Join(dumpedStrings(n), `\`)
			}
		}
		return ""
	}
	fields := []struct {
		tag  Tag
		ours string
	}{
		{TagPatientID, f.PatientID}, {TagIssuerOfPatientID, f.IssuerOfPatientID},
		{TagPatientBirthDate, f.PatientBirthDate.String()}, {TagPatientSex, f.PatientSex},
		{TagStudyInstanceUID, f.StudyInstanceUID}, {TagStudyID, f.StudyID},
		{TagStudyDate, f.StudyDate.String()}, {TagStudyTime, f.StudyTime.String()},
		{TagAccessionNumber, f.AccessionNumber}, {TagStudyDescription, f.StudyDescription},
		{TagModalitiesInStudy, strings.Join(f.ModalitiesInStudy, `\`)}, {TagModality, f.Modality},
		{TagSeriesInstanceUID, f.SeriesInstanceUID}, {TagSeriesNumber, itoa(f.SeriesNumber)},
		{TagSeriesDescription, f.SeriesDescription}, {TagBodyPartExamined, f.BodyPartExamined},
		{TagSOPClassUID, f.SOPClassUID}, {TagSOPInstanceUID, f.SOPInstanceUID},
		{TagInstanceNumber, itoa(f.InstanceNumber)}, {TagNumberOfFrames, itoa(f.NumberOfFrames)},
		{TagRows, itoa(f.Rows)}, {TagColumns, itoa(f.Columns)},
	}
	for _, fl := range fields {
		if theirs := text(fl.tag); theirs != fl.ours {
			t.Errorf("%s: we read %q, dcmdump %q", fl.tag, fl.ours, theirs)
		}
	}
	for _, pn := range []struct {
		tag  Tag
		ours PersonName
	}{{TagPatientName, f.PatientName}, {TagReferringPhysicianName, f.ReferringPhysicianName}} {
		if !convertedOK {
			break
		}
		if theirs := ParsePersonName(text(pn.tag)); theirs != pn.ours {
			t.Errorf("%s: we read %+v, dcmdump %+v", pn.tag, pn.ours, theirs)
		}
	}
	metaText := func(tag Tag) string {
		for _, n := range raw.meta {
			if n.tag == tag {
				return strings.Join(dumpedStrings(n), `\`)
			}
		}
		return ""
	}
	for _, fl := range []struct {
		tag  Tag
		ours string
	}{
		{TagMediaStorageSOPClassUID, f.Meta.MediaStorageSOPClassUID},
		{TagMediaStorageSOPInstanceUID, f.Meta.MediaStorageSOPInstanceUID},
		{TagTransferSyntaxUID, f.Meta.TransferSyntaxUID},
		{TagImplementationClassUID, f.Meta.ImplementationClassUID},
		{TagImplementationVersionName, f.Meta.ImplementationVersionName},
	} {
		if theirs := metaText(fl.tag); theirs != fl.ours {
			t.Errorf("meta %s: we read %q, dcmdump %q", fl.tag, fl.ours, theirs)
		}
	}
}

func hasTag(ns []*dumped, tag Tag) bool {
	return slices.ContainsFunc(ns, func(n *dumped) bool { return n.tag == tag })
}

func itoa(n int) string {
	if n == 0 {
		return ""
	}
	return strconv.Itoa(n)
}

type comparison struct {
	t        *testing.T
	compared int
	// romaji is set for JIS X 0201, where the byte 0x5C is the yen sign but
	// still the value delimiter (PS3.5 §6.1.2.3): converting to UTF-8,
	// dcmdump turns the delimiter into "¥" and counts one value, so in
	// multi-valued strings its "¥" is read back as the delimiter it was.
	romaji bool
}

// dataSet compares our elements with dcmdump's, and, when converted is
// set, our decoded text with dcmdump's conversion of it to UTF-8 (utf8).
func (c *comparison) dataSet(path string, ours DataSet, theirs, utf8 []*dumped, converted bool) {
	t := c.t
	t.Helper()
	if len(ours) != len(theirs) {
		t.Errorf("%s: we read %d elements, dcmdump %d:\n ours %s\n dcmdump %s", path, len(ours), len(theirs), tagList(ours), dumpedTags(theirs))
		return
	}
	if converted && len(utf8) != len(theirs) {
		t.Errorf("%s: dcmdump +U8 shows %d elements, without it %d", path, len(utf8), len(theirs))
		converted = false
	}
	for i, e := range ours {
		var u *dumped
		if converted {
			u = utf8[i]
		}
		c.element(path+e.Tag.String(), e, theirs[i], u)
	}
}

func (c *comparison) element(path string, e *Element, n, u *dumped) {
	t := c.t
	t.Helper()
	c.compared++
	if e.Tag != n.tag {
		t.Errorf("%s: dcmdump has %s here", path, n.tag)
		return
	}
	vr := n.vr
	if vr == "??" {
		vr = string(VRUN)
	}
	if string(e.VR) != vr {
		t.Errorf("%s: VR %s, dcmdump %s", path, e.VR, n.vr)
	}
	wantLength := strconv.FormatUint(uint64(e.Length), 10)
	if e.Length == UndefinedLength {
		wantLength = "u/l"
	}
	if n.length != wantLength {
		t.Errorf("%s: length %s, dcmdump %s", path, wantLength, n.length)
	}

	switch {
	case e.VR == VRSQ:
		if want := fmt.Sprintf("#=%d)", len(e.Items)); !strings.HasSuffix(n.value, want) {
			t.Errorf("%s: %d items, dcmdump %s", path, len(e.Items), n.value)
		}
		if len(n.children) != len(e.Items) {
			t.Errorf("%s: %d items, dcmdump lists %d", path, len(e.Items), len(n.children))
			return
		}
		converted := u != nil && len(u.children) == len(n.children)
		for i, item := range e.Items {
			var uItem []*dumped
			if converted {
				uItem = u.children[i].children
			}
			c.dataSet(fmt.Sprintf("%s[%d]", path, i), item, n.children[i].children, uItem, converted)
		}
		return
	case e.Fragments != nil || e.Length == UndefinedLength:
		if want := fmt.Sprintf("(PixelSequence #=%d)", len(e.Fragments)); n.value != want {
			t.Errorf("%s: %d fragments, dcmdump %s", path, len(e.Fragments), n.value)
		}
		for i, fr := range e.Fragments {
			if i >= len(n.children) || n.children[i].length != strconv.FormatUint(uint64(fr.Length), 10) {
				t.Errorf("%s: fragment %d of %d bytes, dcmdump %+v", path, i, fr.Length, n.children)
			}
		}
		return
	case e.Skipped:
		return // pixel data: its length is compared above
	}

	// Without converting, dcmdump counts every 0x5C byte as a delimiter,
	// even the second byte of a GBK character: its VM for decoded text is
	// the one to compare.
	wantVM := n.vm
	if u != nil && e.VR.info().charset && !c.romaji {
		wantVM = u.vm
	}
	if vm := valueMultiplicity(e); vm != wantVM {
		t.Errorf("%s: VM %d, dcmdump %d", path, vm, wantVM)
	}
	switch info := e.VR.info(); info.class {
	case classString, classText:
		theirs := dumpedStrings(n)
		ours := e.Strings()
		if info.charset {
			if u == nil {
				// Compare the bytes as written, without their padding.
				ours = []string{strings.TrimRight(string(e.Raw), " \x00")}
				theirs = []string{strings.TrimRight(strings.Join(dumpedRawStrings(n), `\`), " ")}
			} else {
				if c.romaji && info.class == classString {
					u = &dumped{vr: u.vr, value: strings.ReplaceAll(u.value, "¥", `\`)}
				}
				theirs = dumpedStrings(u)
			}
		}
		if !reflect.DeepEqual(nilIfEmpty(ours), nilIfEmpty(theirs)) {
			t.Errorf("%s: %s %q, dcmdump %q", path, e.VR, ours, theirs)
		}
	case classNumber, classBulk, classUnknown:
		c.binary(path, e, n)
	}
}

// binary compares a binary value with dcmdump's rendering of it.
func (c *comparison) binary(path string, e *Element, n *dumped) {
	t := c.t
	t.Helper()
	if n.value == "(no value available)" {
		if len(e.Raw) != 0 {
			t.Errorf("%s: %d bytes, dcmdump none", path, len(e.Raw))
		}
		return
	}
	parts := strings.Split(n.value, `\`)
	var ours, theirs []string
	switch e.VR {
	case VRUS, VRUL, VRUV, VROL, VROV:
		vals, err := e.Uints()
		if err != nil {
			t.Errorf("%s: %v", path, err)
		}
		for _, v := range vals {
			ours = append(ours, strconv.FormatUint(v, 10))
		}
		theirs = parts
	case VRSS, VRSL, VRSV:
		vals, err := e.Ints()
		if err != nil {
			t.Errorf("%s: %v", path, err)
		}
		for _, v := range vals {
			ours = append(ours, strconv.FormatInt(v, 10))
		}
		theirs = parts
	case VRFL, VRFD, VROF, VROD:
		vals, err := e.Floats()
		if err != nil {
			t.Errorf("%s: %v", path, err)
		}
		bits := 64
		if e.VR == VRFL || e.VR == VROF {
			bits = 32
		}
		for _, v := range vals {
			ours = append(ours, strconv.FormatFloat(v, 'g', -1, bits))
		}
		for _, p := range parts {
			f, err := strconv.ParseFloat(p, bits)
			if err != nil {
				t.Errorf("%s: dcmdump float %q: %v", path, p, err)
			}
			theirs = append(theirs, strconv.FormatFloat(f, 'g', -1, bits))
		}
	case VRAT:
		tags, err := e.Tags()
		if err != nil {
			t.Errorf("%s: %v", path, err)
		}
		for _, tag := range tags {
			ours = append(ours, strings.ToLower(tag.String()))
		}
		theirs = parts
	case VROW:
		words, err := (&Element{VR: VRUS, Raw: e.Raw, bigEndian: e.bigEndian}).Uints()
		if err != nil {
			t.Errorf("%s: %v", path, err)
		}
		for _, w := range words {
			ours = append(ours, fmt.Sprintf("%04x", w))
		}
		theirs = parts
	default: // OB, UN and unknown VRs: bytes
		for _, b := range e.Raw {
			ours = append(ours, hex.EncodeToString([]byte{b}))
		}
		theirs = parts
	}
	if !reflect.DeepEqual(ours, theirs) {
		t.Errorf("%s: %s %v, dcmdump %v", path, e.VR, ours, theirs)
	}
}

// valueMultiplicity is the VM dcmdump reports for a value.
func valueMultiplicity(e *Element) int {
	info := e.VR.info()
	switch {
	case len(e.Raw) == 0:
		return 0
	case info.class == classString:
		return len(e.Strings())
	case info.class == classNumber:
		return len(e.Raw) / info.size
	}
	return 1
}

// dumpedStrings are the values dcmdump printed for a string element, as
// Strings would give them.
func dumpedStrings(n *dumped) []string {
	vals := dumpedRawStrings(n)
	vr := VR(n.vr)
	info := vr.info()
	for i, v := range vals {
		v = strings.TrimRight(v, " ")
		if info.trimLeading {
			v = strings.TrimLeft(v, " ")
		}
		vals[i] = v
	}
	return vals
}

// dumpedRawStrings are the values as dcmdump printed them.
func dumpedRawStrings(n *dumped) []string {
	if n.value == "(no value available)" {
		return nil
	}
	v := strings.TrimSuffix(strings.TrimPrefix(n.value, "["), "]")
	if c := VR(n.vr).info().class; c == classText {
		return []string{v}
	}
	return strings.Split(v, `\`)
}

func nilIfEmpty(s []string) []string {
	if len(s) == 0 {
		return nil
	}
	return s
}

func tagList(ds DataSet) string {
	var s []string
	for _, e := range ds {
		s = append(s, e.Tag.String())
	}
	return strings.Join(s, " ")
}

func dumpedTags(ns []*dumped) string {
	var s []string
	for _, n := range ns {
		s = append(s, n.tag.String())
	}
	return strings.Join(s, " ")
}

// TestOracleDictionary checks the implicit VR dictionary against dcmtk's.
func TestOracleDictionary(t *testing.T) {
	requireDCMTK(t, "dcmdump")
	var paths []string
	for _, pattern := range []string{"/usr/share/libdcmtk*/dicom.dic", "/usr/share/dcmtk*/dicom.dic"} {
		found, _ := filepath.Glob(pattern)
		paths = append(paths, found...)
	}
	if len(paths) == 0 {
		t.Fatal("dcmtk's dicom.dic not found: run scripts/ensure-services.sh --with-dcmtk")
	}
	dic := readFile(t, paths[0])
	theirs := map[Tag]string{}
	line := regexp.MustCompile(`^\(([0-9A-F]{4}),([0-9A-F]{4})\)\t(\S+)\t(\S+)`)
	sc := bufio.NewScanner(bytes.NewReader(dic))
	for sc.Scan() {
		if m := line.FindStringSubmatch(sc.Text()); m != nil {
			g, _ := strconv.ParseUint(m[1], 16, 16)
			el, _ := strconv.ParseUint(m[2], 16, 16)
			theirs[NewTag(uint16(g), uint16(el))] = m[3]
		}
	}
	// dcmtk's names for the VRs PS3.6 leaves open, and what implicit VR
	// little endian makes of them.
	either := map[string][]VR{"xs": {VRUS, VRSS}, "ox": {VROB, VROW}, "px": {VROB, VROW}, "lt": {VRUS, VROW}}
	for tag, vr := range implicitVR {
		dvr, ok := theirs[tag]
		if !ok {
			t.Errorf("%s: not in dcmtk's dictionary", tag)
			continue
		}
		if alts, open := either[dvr]; open {
			if !slices.Contains(alts, vr) {
				t.Errorf("%s: %s, dcmtk %s", tag, vr, dvr)
			}
			continue
		}
		if string(vr) != dvr {
			t.Errorf("%s: %s, dcmtk %s", tag, vr, dvr)
		}
	}
}
