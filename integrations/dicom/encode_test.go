package dicom

import (
	"bytes"
	"encoding/binary"
	"os"
	"path/filepath"
	"testing"
)

// encoder writes the small data sets the tests need byte by byte, so a test
// can build exactly the malformed input it is about.
type encoder struct {
	buf      bytes.Buffer
	explicit bool
	order    binary.ByteOrder
}

func explicitLE() *encoder { return &encoder{explicit: true, order: binary.LittleEndian} }
func implicitLE() *encoder { return &encoder{order: binary.LittleEndian} }

func (e *encoder) tag(t Tag) {
	var b [4]byte
	e.order.PutUint16(b[:], t.Group())
	e.order.PutUint16(b[2:], t.Element())
	e.buf.Write(b[:])
}

func (e *encoder) u32(n uint32) {
	var b [4]byte
	e.order.PutUint32(b[:], n)
	e.buf.Write(b[:])
}

// header writes an element header with the given length.
func (e *encoder) header(t Tag, vr VR, length uint32) *encoder {
	e.tag(t)
	if !e.explicit {
		e.u32(length)
		return e
	}
	e.buf.WriteString(string(vr))
	if vr.info().long {
		e.buf.Write([]byte{0, 0})
		e.u32(length)
		return e
	}
	var b [2]byte
	e.order.PutUint16(b[:], uint16(length))
	e.buf.Write(b[:])
	return e
}

// elem writes an element with its value, padded to even length the way
// its VR pads.
func (e *encoder) elem(t Tag, vr VR, value []byte) *encoder {
	if len(value)%2 == 1 {
		pad := byte(' ')
		if vr == VRUI || vr.info().class == classBulk || vr.info().class == classNumber {
			pad = 0
		}
		value = append(append([]byte(nil), value...), pad)
	}
	e.header(t, vr, uint32(len(value)))
	e.buf.Write(value)
	return e
}

func (e *encoder) str(t Tag, vr VR, s string) *encoder { return e.elem(t, vr, []byte(s)) }

func (e *encoder) us(t Tag, v uint16) *encoder {
	var b [2]byte
	e.order.PutUint16(b[:], v)
	return e.elem(t, VRUS, b[:])
}

// item writes an item header, whose VR-less form is the same in every
// transfer syntax.
func (e *encoder) item(length uint32) *encoder { e.tag(TagItem); e.u32(length); return e }
func (e *encoder) itemEnd() *encoder           { e.tag(TagItemDelimitationItem); e.u32(0); return e }
func (e *encoder) seqEnd() *encoder            { e.tag(TagSequenceDelimitationItem); e.u32(0); return e }
func (e *encoder) raw(b []byte) *encoder       { e.buf.Write(b); return e }
func (e *encoder) bytes() []byte               { return e.buf.Bytes() }

// part10 wraps a data set in the preamble, "DICM" and a file meta
// information group naming the transfer syntax ts.
func part10(ts string, dataSet []byte) []byte {
	meta := explicitLE().
		elem(TagFileMetaInformationVersion, VROB, []byte{0, 1}).
		str(TagMediaStorageSOPClassUID, VRUI, "1.2.840.10008.5.1.4.1.1.7").
		str(TagMediaStorageSOPInstanceUID, VRUI, "1.2.826.0.1.3680043.10.1407.9.9").
		str(TagTransferSyntaxUID, VRUI, ts).
		str(TagImplementationClassUID, VRUI, "1.2.826.0.1.3680043.10.1407").
		bytes()
	var length [4]byte
	binary.LittleEndian.PutUint32(length[:], uint32(len(meta)))
	out := make([]byte, 128, 128+4+12+len(meta)+len(dataSet))
	out = append(out, "DICM"...)
	out = append(out, explicitLE().elem(TagFileMetaInformationGroupLength, VRUL, length[:]).bytes()...)
	out = append(out, meta...)
	return append(out, dataSet...)
}

// minimal is the smallest data set a STOW-RS instance could have.
func minimal(e *encoder) *encoder {
	return e.
		str(TagSOPClassUID, VRUI, "1.2.840.10008.5.1.4.1.1.7").
		str(TagSOPInstanceUID, VRUI, "1.2.826.0.1.3680043.10.1407.9.9").
		str(TagPatientName, VRPN, "Doe^Jane").
		str(TagPatientID, VRLO, "ZS-1")
}

// testdataFiles are the committed .dcm files.
func testdataFiles(t testing.TB) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("testdata", "*.dcm"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no testdata/*.dcm (run testdata/make.sh): %v", err)
	}
	return files
}

func readFile(t testing.TB, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
