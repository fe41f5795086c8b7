package dicom

import (
	"encoding/binary"
	"fmt"
	"io"
)

// Read reads a DICOM Part 10 file from r: the preamble, the file meta
// information, and the data set in the transfer syntax the meta names, up
// to the top-level pixel data (or past it, with SkipPixelData). It never
// holds pixel data in memory, and keeps other values only within opts'
// limits.
//
// A refusal is a *FormatError (errors.Is against ErrTruncated,
// ErrMalformed …); a failure of r itself is returned wrapped. When the
// refusal comes after the file meta information (an unsupported transfer
// syntax or character set, a fault in the data set), Read returns the File
// read so far along with the error, so that a reply can name the instance
// it refuses.
//
// Read buffers r: when it returns, r may have been read beyond the point
// where reading stopped.
func Read(r io.Reader, opts Options) (*File, error) {
	opts = opts.withDefaults()
	d := &decoder{in: newInput(r, 0), opts: opts, budget: opts.MaxHeaderSize}
	defer d.release()
	f := &File{}
	start, err := d.readPreamble()
	if err != nil {
		return nil, err
	}
	switch start {
	case startImplicit:
		f.TransferSyntax = TransferSyntax{UID: ImplicitVRLittleEndian}
	case startExplicit:
		f.TransferSyntax = TransferSyntax{UID: ExplicitVRLittleEndian, ExplicitVR: true}
	default:
		if err := d.readMeta(&f.Meta); err != nil {
			return nil, err
		}
		ts, err := LookupTransferSyntax(f.Meta.TransferSyntaxUID)
		if err != nil {
			fe := err.(*FormatError)
			fe.Offset, fe.Tag = f.Meta.End, TagTransferSyntaxUID
			return f, fe
		}
		f.TransferSyntax = ts
		if ts.Deflated {
			d.inflate()
		}
	}
	s := syntax{explicit: f.TransferSyntax.ExplicitVR, bigEndian: f.TransferSyntax.BigEndian}
	f.DataSet, err = d.readDataSet(s, -1, false, 0, defaultCharacterSet)
	f.PixelData = d.pixel
	f.fill()
	return f, err
}

// start is what readPreamble found at the start of the input.
type start uint8

const (
	startPart10   start = iota // preamble and "DICM"
	startMeta                  // no preamble; the file meta information group
	startImplicit              // no preamble; an implicit VR little endian data set
	startExplicit              // no preamble; an explicit VR little endian data set
)

// readPreamble reads past the preamble and "DICM", or, when allowed,
// recognises a data set that starts without them.
func (d *decoder) readPreamble() (start, error) {
	const prefix = 132
	head, err := d.in.r.Peek(prefix)
	if err != nil && err != io.EOF {
		return 0, readError(err, 0, 0, "the preamble")
	}
	if len(head) == prefix && string(head[128:]) == "DICM" {
		return startPart10, d.in.skip(prefix)
	}
	if !d.opts.AllowMissingPreamble {
		if len(head) < prefix {
			return 0, &FormatError{Err: ErrNotDICOM,
				Detail: fmt.Sprintf("%d bytes, fewer than the 128-byte preamble and \"DICM\"", len(head))}
		}
		return 0, &FormatError{Offset: 128, Err: ErrNotDICOM, Detail: `no "DICM" after the preamble`}
	}
	if len(head) >= 8 {
		switch binary.LittleEndian.Uint16(head) {
		case 0x0002:
			return startMeta, nil
		case 0x0008:
			if validVRBytes(head[4], head[5]) && VR(head[4:6]).info().class != classUnknown {
				return startExplicit, nil
			}
			return startImplicit, nil
		}
	}
	return 0, &FormatError{Err: ErrNotDICOM, Detail: `no "DICM" after a preamble, and no data set at the start`}
}

// readMeta reads the file meta information group, always explicit VR little
// endian. Its group length (0002,0000), when it comes first, bounds it: the
// data set starts there. A group length that runs past the group's last
// element is a common writer's mistake, and harmless; the group then ends
// before the first element of another group.
func (d *decoder) readMeta(m *Meta) error {
	s := syntax{explicit: true}
	groupEnd := int64(-1)
	for groupEnd < 0 || d.in.off < groupEnd {
		next, err := d.in.r.Peek(2)
		if err != nil {
			// A file ends with its data set, never inside its meta.
			return readError(err, d.in.off, 0, "the file meta information")
		}
		if binary.LittleEndian.Uint16(next) != 0x0002 {
			break
		}
		h, err := d.readHeader(s)
		if err != nil {
			return err
		}
		el, err := d.readValue(s, h, groupEnd, 0, defaultCharacterSet)
		if el != nil {
			m.Elements = append(m.Elements, el)
		}
		if err != nil {
			return err
		}
		if h.tag == TagFileMetaInformationGroupLength {
			if len(m.Elements) != 1 || h.vr != VRUL || len(el.Raw) != 4 {
				return malformed(h, "(0002,0000) must come first, as UL")
			}
			groupEnd = d.in.off + int64(binary.LittleEndian.Uint32(el.Raw))
		}
	}
	m.End = d.in.off
	m.fill()
	return nil
}
