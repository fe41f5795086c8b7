package dicom

import (
	"bytes"
	"errors"
	"io"
	"path/filepath"
	"runtime"
	"testing"
	"testing/iotest"
)

// TestTruncatedEverywhere cuts files at every byte offset: each cut either
// fails with a typed error or, when it falls between two top-level
// elements, reads the elements before it intact.
func TestTruncatedEverywhere(t *testing.T) {
	files := []string{"ct_explicit.dcm", "ct_explicit_undefined.dcm", "ct_implicit_undefined.dcm",
		"ct_bigendian.dcm", "ct_deflated.dcm", "jpeg_baseline.dcm", "name_japanese.dcm"}
	for _, file := range files {
		t.Run(file, func(t *testing.T) {
			data := readFile(t, filepath.Join("testdata", file))
			opts := Options{PixelData: SkipPixelData}
			full, err := Read(bytes.NewReader(data), opts)
			if err != nil {
				t.Fatal(err)
			}
			for n := range len(data) {
				f, err := Read(bytes.NewReader(data[:n]), opts)
				if err != nil {
					var fe *FormatError
					if !errors.As(err, &fe) {
						t.Fatalf("cut at %d: untyped error %v", n, err)
					}
					if !errors.Is(err, ErrTruncated) && !errors.Is(err, ErrNotDICOM) && !(file == "ct_deflated.dcm" && errors.Is(err, ErrMalformed)) {
						t.Fatalf("cut at %d: %v, want ErrTruncated", n, err)
					}
					if n < 132 && !errors.Is(err, ErrNotDICOM) {
						t.Fatalf("cut at %d inside the preamble: %v, want ErrNotDICOM", n, err)
					}
					continue
				}
				// A cut between top-level elements: what was read is a prefix.
				if len(f.DataSet) >= len(full.DataSet) {
					t.Fatalf("cut at %d read %d elements, the whole file has %d", n, len(f.DataSet), len(full.DataSet))
				}
				for i, e := range f.DataSet {
					w := full.DataSet[i]
					if e.Tag != w.Tag || e.Length != w.Length || !bytes.Equal(e.Raw, w.Raw) || len(e.Items) != len(w.Items) {
						t.Fatalf("cut at %d: element %d is %s/%d, want %s/%d", n, i, e.Tag, e.Length, w.Tag, w.Length)
					}
				}
			}
		})
	}
}

func TestMalformed(t *testing.T) {
	ds := func(build func(e *encoder)) []byte {
		e := explicitLE()
		minimal(e)
		build(e)
		return part10(ExplicitVRLittleEndian, e.bytes())
	}
	tests := []struct {
		name string
		data []byte
		opts Options
		err  error
	}{
		{"empty", nil, Options{}, ErrNotDICOM},
		{"short", []byte("DICM"), Options{}, ErrNotDICOM},
		{"no DICM", append(make([]byte, 128), "DICN\x02\x00\x00\x00UL\x04\x00\x00\x00\x00\x00"...), Options{}, ErrNotDICOM},
		{"no DICM, not a data set either", append(make([]byte, 128), "DICN"...), Options{AllowMissingPreamble: true}, ErrNotDICOM},
		{"string longer than the input", ds(func(e *encoder) { e.header(TagStudyDescription, VRLO, 0xFFFE).raw([]byte("CT")) }), Options{}, ErrTruncated},
		{"UT claiming 4 GiB", ds(func(e *encoder) { e.header(0x00102016, VRUT, 0xFFFFFFF0) }), Options{}, ErrValueTooLong},
		{"OB claiming 2 GiB", ds(func(e *encoder) { e.header(0x00091010, VROB, 0x7FFFFFF0).raw(make([]byte, 64)) }), Options{}, ErrTruncated},
		{"value longer than the limit", ds(func(e *encoder) { e.str(TagStudyDescription, VRLO, "a long description") }), Options{MaxValueLength: 8}, ErrValueTooLong},
		{"header larger than the limit", ds(func(e *encoder) {
			for i := range 100 {
				e.str(NewTag(0x0009, 0x1000+uint16(i)), VRLO, "private")
			}
		}), Options{MaxHeaderSize: 4 << 10}, ErrHeaderTooLarge},
		{"invalid VR", ds(func(e *encoder) { e.tag(TagStudyDescription); e.raw([]byte{0x01, 0x02, 0x02, 0x00, 'C', 'T'}) }), Options{}, ErrMalformed},
		{"undefined length on a string", ds(func(e *encoder) { e.header(TagStudyDescription, VRUT, UndefinedLength) }), Options{}, ErrMalformed},
		{"item longer than its sequence", ds(func(e *encoder) {
			e.header(0x00081110, VRSQ, 16).item(24).str(0x00081150, VRUI, "1.2.3").str(0x00081155, VRUI, "1.2.3.4")
		}), Options{}, ErrMalformed},
		{"element longer than its item", ds(func(e *encoder) {
			e.header(0x00081110, VRSQ, 20).item(12).header(0x00081150, VRUI, 10).raw([]byte("1.2.3.4.5."))
		}), Options{}, ErrMalformed},
		{"sequence that never ends", ds(func(e *encoder) {
			e.header(0x00081110, VRSQ, UndefinedLength)
			for range 10 {
				e.item(UndefinedLength).str(0x00081150, VRUI, "1.2.3").itemEnd()
			}
		}), Options{}, ErrTruncated},
		{"item that never ends", ds(func(e *encoder) {
			e.header(0x00081110, VRSQ, UndefinedLength).item(UndefinedLength).str(0x00081150, VRUI, "1.2.3")
		}), Options{}, ErrTruncated},
		{"undelimited item in a sequence of defined length", ds(func(e *encoder) {
			e.header(0x00081110, VRSQ, 22).item(UndefinedLength).str(0x00081150, VRUI, "1.2.3.4")
		}), Options{}, ErrMalformed},
		{"element where an item should be", ds(func(e *encoder) {
			e.header(0x00081110, VRSQ, UndefinedLength).str(0x00081150, VRUI, "1.2.3").seqEnd()
		}), Options{}, ErrMalformed},
		{"item delimiter at the top level", ds(func(e *encoder) { e.itemEnd() }), Options{}, ErrMalformed},
		{"sequence delimiter in an item", ds(func(e *encoder) {
			e.header(0x00081110, VRSQ, UndefinedLength).item(UndefinedLength).seqEnd()
		}), Options{}, ErrMalformed},
		{"nesting too deep", ds(func(e *encoder) {
			for range MaxDepth + 1 {
				e.header(0x00081110, VRSQ, UndefinedLength).item(UndefinedLength)
			}
		}), Options{}, ErrMalformed},
		{"pixel fragments never delimited", ds(func(e *encoder) {
			e.header(TagPixelData, VROB, UndefinedLength).item(0).item(4).raw([]byte{1, 2, 3, 4})
		}), Options{PixelData: SkipPixelData}, ErrTruncated},
		{"pixel fragment of undefined length", ds(func(e *encoder) {
			e.header(TagPixelData, VROB, UndefinedLength).item(0).item(UndefinedLength)
		}), Options{PixelData: SkipPixelData}, ErrMalformed},
		{"native pixel data cut short", ds(func(e *encoder) { e.header(TagPixelData, VROW, 1<<20).raw(make([]byte, 100)) }),
			Options{PixelData: SkipPixelData}, ErrTruncated},
		{"private transfer syntax", part10("1.2.840.113619.5.2", minimal(implicitLE()).bytes()), Options{}, ErrUnsupportedTransferSyntax},
		{"no transfer syntax", part10("", nil), Options{}, ErrUnsupportedTransferSyntax},
		{"well formed", ds(func(e *encoder) {}), Options{}, nil},
		{"meta group length not UL", append(append(make([]byte, 128), "DICM"...),
			explicitLE().str(TagFileMetaInformationGroupLength, VRUI, "1234").bytes()...), Options{}, ErrMalformed},
		{"meta group length past the input", append(append(make([]byte, 128), "DICM"...),
			explicitLE().elem(TagFileMetaInformationGroupLength, VRUL, []byte{0, 1, 0, 0}).str(TagTransferSyntaxUID, VRUI, "1.2.840.10008.1.2.1").bytes()...),
			Options{}, ErrTruncated},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Read(bytes.NewReader(tt.data), tt.opts)
			if !errors.Is(err, tt.err) {
				t.Fatalf("err %v, want %v", err, tt.err)
			}
			if err == nil {
				return
			}
			var fe *FormatError
			if !errors.As(err, &fe) {
				t.Fatalf("untyped error %v", err)
			}
			if fe.Offset < 0 || fe.Offset > int64(len(tt.data)) {
				t.Errorf("offset %d outside the %d-byte input", fe.Offset, len(tt.data))
			}
		})
	}
}

// TestReaderFailure passes the reader's own error through, not as a
// refusal of the file.
func TestReaderFailure(t *testing.T) {
	data := readFile(t, "testdata/ct_explicit.dcm")
	boom := errors.New("connection reset")
	for _, n := range []int{0, 100, 140, 600} {
		_, err := Read(io.MultiReader(bytes.NewReader(data[:n]), iotest.ErrReader(boom)), Options{})
		var fe *FormatError
		if !errors.Is(err, boom) || errors.As(err, &fe) {
			t.Errorf("failing after %d bytes: %v, want the reader's error", n, err)
		}
	}
}

// TestRefusalKeepsWhatWasRead returns, with a refusal that comes after the
// file meta information, what was read: the reply to a STOW-RS request can
// still name the instance it refuses.
func TestRefusalKeepsWhatWasRead(t *testing.T) {
	charset := explicitLE().str(TagSpecificCharacterSet, VRCS, "ISO_IR 999")
	minimal(charset)
	tests := []struct {
		name   string
		data   []byte
		err    error
		tag    Tag
		atMeta bool // refused where the data set starts
	}{
		{"character set", part10(ExplicitVRLittleEndian, charset.bytes()), ErrUnsupportedCharacterSet, TagSpecificCharacterSet, true},
		{"transfer syntax", part10("1.2.840.113619.5.2", minimal(implicitLE()).bytes()), ErrUnsupportedTransferSyntax, TagTransferSyntaxUID, true},
		{"data set cut short", readFile(t, "testdata/ct_explicit.dcm")[:1200], ErrTruncated, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := Read(bytes.NewReader(tt.data), Options{})
			var fe *FormatError
			if !errors.Is(err, tt.err) || !errors.As(err, &fe) {
				t.Fatalf("err %v, want %v", err, tt.err)
			}
			if f == nil || f.Meta.MediaStorageSOPInstanceUID == "" {
				t.Fatalf("file %+v, want its meta information", f)
			}
			if tt.tag != 0 && fe.Tag != tt.tag {
				t.Errorf("refused %s, want %s", fe.Tag, tt.tag)
			}
			if tt.atMeta && fe.Offset != f.Meta.End {
				t.Errorf("refused at %d, want %d", fe.Offset, f.Meta.End)
			}
			if !tt.atMeta && len(f.DataSet) == 0 {
				t.Error("no elements kept from before the fault")
			}
		})
	}
}

// TestLengthIsNotTrusted reads a 300-byte input whose one string claims
// nearly the whole value limit: Read must not allocate what it claims.
func TestLengthIsNotTrusted(t *testing.T) {
	e := explicitLE()
	minimal(e).header(0x00102016, VRUT, DefaultMaxValueLength-2).raw([]byte("only a few bytes"))
	data := part10(ExplicitVRLittleEndian, e.bytes())
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	const runs = 20
	for range runs {
		if _, err := Read(bytes.NewReader(data), Options{}); !errors.Is(err, ErrTruncated) {
			t.Fatalf("err %v, want ErrTruncated", err)
		}
	}
	runtime.ReadMemStats(&after)
	perRead := (after.TotalAlloc - before.TotalAlloc) / runs
	if perRead > 256<<10 {
		t.Errorf("%d bytes allocated per read of a %d-byte input claiming a %d-byte value", perRead, len(data), DefaultMaxValueLength-2)
	}
}

func TestOpaqueValueOverTheLimitIsSkipped(t *testing.T) {
	big := make([]byte, 4096)
	e := explicitLE()
	minimal(e).elem(0x00091010, VROB, big).str(TagStudyID, VRSH, "S-1")
	f, err := Read(bytes.NewReader(part10(ExplicitVRLittleEndian, e.bytes())), Options{MaxValueLength: 1024})
	if err != nil {
		t.Fatal(err)
	}
	el, _ := f.Element(0x00091010)
	if el == nil || !el.Skipped || el.Raw != nil || el.Length != 4096 {
		t.Errorf("opaque value %+v, want skipped", el)
	}
	if f.StudyID != "S-1" {
		t.Errorf("element after the skipped one: %q", f.StudyID)
	}
}

// TestUndefinedLengthUN reads an undefined-length UN as the implicit VR
// sequence CP-246 says it is, inside an explicit VR data set.
func TestUndefinedLengthUN(t *testing.T) {
	inner := implicitLE().str(0x00081150, VRUI, "1.2.3").bytes()
	e := explicitLE()
	minimal(e).header(0x00091010, VRUN, UndefinedLength).item(uint32(len(inner))).raw(inner).seqEnd().str(TagStudyID, VRSH, "S-2")
	f, err := Read(bytes.NewReader(part10(ExplicitVRLittleEndian, e.bytes())), Options{})
	if err != nil {
		t.Fatal(err)
	}
	el, _ := f.Element(0x00091010)
	if el == nil || el.VR != VRSQ || len(el.Items) != 1 {
		t.Fatalf("UN sequence %+v", el)
	}
	if uid, _ := el.Items[0].Element(0x00081150); uid == nil || uid.VR != VRUI || uid.FirstString() != "1.2.3" {
		t.Errorf("item element %+v", uid)
	}
	if f.StudyID != "S-2" {
		t.Errorf("element after the sequence: %q", f.StudyID)
	}
}

// TestItemCharacterSet decodes an item's text with the item's own
// Specific Character Set, and the data set's with its own.
func TestItemCharacterSet(t *testing.T) {
	e := explicitLE().str(TagSpecificCharacterSet, VRCS, "ISO_IR 100")
	item := explicitLE().str(TagSpecificCharacterSet, VRCS, "ISO_IR 144").str(TagPatientName, VRPN, "\xb8\xd2\xd0\xdd").bytes()
	e.header(0x00101002, VRSQ, UndefinedLength).item(uint32(len(item))).raw(item).seqEnd()
	e.str(TagPatientName, VRPN, "M\xfcller")
	f, err := Read(bytes.NewReader(part10(ExplicitVRLittleEndian, e.bytes())), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if f.PatientName.String() != "Müller" {
		t.Errorf("patient name %q", f.PatientName.String())
	}
	seq, _ := f.Element(0x00101002)
	if name, _ := seq.Items[0].Element(TagPatientName); name == nil || name.FirstString() != "Иван" {
		t.Errorf("item's patient name %+v", name)
	}
}
