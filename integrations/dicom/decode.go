package dicom

import (
	"compress/flate"
	"encoding/binary"
	"fmt"
)

// syntax is the encoding of the data set being read.
type syntax struct {
	explicit  bool
	bigEndian bool
}

// cp246 is how an undefined-length UN element's value is encoded, whatever
// the data set around it (PS3.5 §6.2.2).
var cp246 = syntax{}

func (s syntax) order() binary.ByteOrder {
	if s.bigEndian {
		return binary.BigEndian
	}
	return binary.LittleEndian
}

// What kept values cost against Options.MaxHeaderSize beyond their bytes.
const (
	elementCost  = 128
	itemCost     = 32
	fragmentCost = 16
)

// decoder reads data sets from the input.
type decoder struct {
	in *input
	// file is the input beneath in when the data set is deflated.
	file   *input
	opts   Options
	budget int64
	// pixel is set on reaching the top-level pixel data; stopped when Read
	// goes no further.
	pixel   *PixelData
	stopped bool
	hdr     [8]byte
}

// inflate continues the stream through deflate from its current offset.
func (d *decoder) inflate() {
	d.file = d.in
	d.in = newInput(flate.NewReader(d.file.r), d.file.off)
}

// release gives back the inputs' buffers.
func (d *decoder) release() {
	d.in.release()
	if d.file != nil {
		d.file.release()
	}
}

// header is an element's (or item's) tag, VR and length.
type header struct {
	tag    Tag
	vr     VR // empty for items and delimiters
	length uint32
	start  int64 // offset of the header
	value  int64 // offset of the value
}

func malformed(h header, format string, args ...any) *FormatError {
	return &FormatError{Offset: h.start, Tag: h.tag, Err: ErrMalformed, Detail: fmt.Sprintf(format, args...)}
}

// readHeader reads an element header, or an item or delimitation item
// header, which carries no VR in any transfer syntax.
func (d *decoder) readHeader(s syntax) (header, error) {
	h := header{start: d.in.off}
	b := d.hdr[:]
	if err := d.in.full(b[:4]); err != nil {
		return h, readError(err, h.start, 0, "an element header")
	}
	order := s.order()
	h.tag = NewTag(order.Uint16(b), order.Uint16(b[2:]))
	switch {
	case h.tag.Group() == 0xFFFE || !s.explicit:
		if err := d.in.full(b[:4]); err != nil {
			return h, readError(err, h.start, h.tag, "an element header")
		}
		h.length = order.Uint32(b)
		if h.tag.Group() != 0xFFFE {
			h.vr = lookupVR(h.tag)
		}
	default:
		if err := d.in.full(b[:4]); err != nil {
			return h, readError(err, h.start, h.tag, "an element header")
		}
		if !validVRBytes(b[0], b[1]) {
			return h, malformed(h, "invalid VR bytes %02x %02x", b[0], b[1])
		}
		h.vr = vrOf(b[0], b[1])
		h.length = uint32(order.Uint16(b[2:]))
		if h.vr.info().long {
			// Two reserved bytes, then a four-byte length.
			if err := d.in.full(b[:4]); err != nil {
				return h, readError(err, h.start, h.tag, "an element header")
			}
			h.length = order.Uint32(b)
		}
	}
	h.value = d.in.off
	return h, nil
}

// charge counts n bytes against Options.MaxHeaderSize.
func (d *decoder) charge(h header, n int64) error {
	d.budget -= n
	if d.budget < 0 {
		return &FormatError{Offset: h.start, Tag: h.tag, Err: ErrHeaderTooLarge,
			Detail: fmt.Sprintf("the elements kept take more than %d bytes", d.opts.MaxHeaderSize)}
	}
	return nil
}

// readDataSet reads the elements of a data set until the offset end (when
// end >= 0), until an item delimitation item (when delimited), or, at the
// top level (end < 0, not delimited), until the input ends. Elements past
// the first one it fails on are not read; those before it are returned.
func (d *decoder) readDataSet(s syntax, end int64, delimited bool, depth int, cs *characterSet) (DataSet, error) {
	var ds DataSet
	topLevel := end < 0 && !delimited
	for {
		if end >= 0 && d.in.off >= end {
			if delimited {
				return ds, &FormatError{Offset: d.in.off, Err: ErrMalformed,
					Detail: "an item of undefined length is not delimited before the end of its sequence"}
			}
			return ds, nil
		}
		if topLevel {
			eof, err := d.in.atEOF()
			if err != nil {
				return ds, readError(err, d.in.off, 0, "the data set")
			}
			if eof {
				return ds, nil
			}
		}
		h, err := d.readHeader(s)
		if err != nil {
			return ds, err
		}
		if end >= 0 && h.value > end {
			return ds, malformed(h, "the element header runs past the end of its item")
		}
		switch {
		case h.tag == TagItemDelimitationItem && delimited:
			return ds, nil
		case h.tag.Group() == 0xFFFE:
			return ds, malformed(h, "an item or delimiter where an element was expected")
		}
		el, err := d.readValue(s, h, end, depth, cs)
		if el != nil {
			ds = append(ds, el)
		}
		if err != nil {
			return ds, err
		}
		if h.tag == TagSpecificCharacterSet {
			// It governs the rest of this data set, and the items in it.
			if cs, err = parseCharacterSet(el.Strings()); err != nil {
				err.(*FormatError).Offset = h.start
				return ds, err
			}
		}
		if d.stopped {
			return ds, nil
		}
	}
}

// readValue reads the value of the element whose header is h, within the
// offset end of what encloses it (when end >= 0).
func (d *decoder) readValue(s syntax, h header, end int64, depth int, cs *characterSet) (*Element, error) {
	if err := d.charge(h, elementCost); err != nil {
		return nil, err
	}
	el := &Element{Tag: h.tag, VR: h.vr, Length: h.length, Offset: h.value, cs: cs, bigEndian: s.bigEndian}
	if h.length == UndefinedLength {
		switch {
		case h.vr == VRSQ:
			items, err := d.readItems(s, h, end, true, depth+1, cs)
			el.Items = items
			return el, err
		case isPixelData(h.tag) || s.explicit && (h.vr == VROB || h.vr == VROW):
			return el, d.readEncapsulated(s, h, el, end, depth)
		case h.vr == VRUN || !s.explicit:
			// An undefined-length UN, or an element of undefined length
			// the dictionary does not call a sequence: either way a
			// sequence, and for UN one in implicit VR little endian.
			if h.vr == VRUN {
				s = cp246
			}
			el.VR = VRSQ
			items, err := d.readItems(s, h, end, true, depth+1, cs)
			el.Items = items
			return el, err
		}
		return el, malformed(h, "%s cannot have an undefined length", h.vr)
	}
	valueEnd := h.value + int64(h.length)
	if end >= 0 && valueEnd > end {
		return el, malformed(h, "length %d runs past the end of what encloses it, at offset %d", h.length, end)
	}
	switch {
	case depth == 0 && isPixelData(h.tag):
		el.Skipped = true
		d.pixel = &PixelData{Tag: h.tag, VR: h.vr, Offset: h.value, Length: int64(h.length)}
		if d.opts.PixelData == StopAtPixelData {
			d.stopped = true
			return el, nil
		}
		if err := d.in.skip(int64(h.length)); err != nil {
			return el, readError(err, h.start, h.tag, "the pixel data")
		}
		d.pixel.Complete = true
		return el, nil
	case h.vr == VRSQ:
		items, err := d.readItems(s, h, valueEnd, false, depth+1, cs)
		el.Items = items
		return el, err
	case int64(h.length) > d.opts.MaxValueLength:
		if c := h.vr.info().class; c != classBulk && c != classUnknown {
			return el, &FormatError{Offset: h.start, Tag: h.tag, Err: ErrValueTooLong,
				Detail: fmt.Sprintf("%s value of %d bytes, more than the %d allowed", h.vr, h.length, d.opts.MaxValueLength)}
		}
		el.Skipped = true
		if err := d.in.skip(int64(h.length)); err != nil {
			return el, readError(err, h.start, h.tag, "a value")
		}
		return el, nil
	}
	if err := d.charge(h, int64(h.length)); err != nil {
		return el, err
	}
	raw, err := d.in.value(int64(h.length))
	if err != nil {
		return el, readError(err, h.start, h.tag, "a value")
	}
	el.Raw = raw
	return el, nil
}

// readItems reads the items of the sequence whose header is h: up to the
// offset end, or, when delimited, up to the sequence delimitation item (and
// never past end, when end >= 0).
func (d *decoder) readItems(s syntax, h header, end int64, delimited bool, depth int, cs *characterSet) ([]DataSet, error) {
	if depth > MaxDepth {
		return nil, malformed(h, "sequences nested deeper than %d", MaxDepth)
	}
	var items []DataSet
	for {
		if end >= 0 && d.in.off >= end {
			if delimited {
				return items, &FormatError{Offset: d.in.off, Tag: h.tag, Err: ErrMalformed,
					Detail: "a sequence of undefined length is not delimited before the end of its item"}
			}
			return items, nil
		}
		ih, err := d.readHeader(s)
		if err != nil {
			return items, err
		}
		if end >= 0 && ih.value > end {
			return items, malformed(ih, "the item header runs past the end of its sequence")
		}
		switch {
		case ih.tag == TagSequenceDelimitationItem && delimited:
			return items, nil
		case ih.tag != TagItem:
			return items, malformed(ih, "%s where an item of sequence %s was expected", ih.tag, h.tag)
		}
		if err := d.charge(ih, itemCost); err != nil {
			return items, err
		}
		var ds DataSet
		if ih.length == UndefinedLength {
			ds, err = d.readDataSet(s, end, true, depth, cs)
		} else {
			itemEnd := ih.value + int64(ih.length)
			if end >= 0 && itemEnd > end {
				return items, malformed(ih, "item length %d runs past the end of its sequence", ih.length)
			}
			ds, err = d.readDataSet(s, itemEnd, false, depth, cs)
		}
		items = append(items, ds)
		if err != nil {
			return items, err
		}
	}
}

// readEncapsulated reads past an encapsulated value (PS3.5 §A.4): items
// whose bytes it skips, up to the sequence delimitation item. At the top
// level of the data set the value is the pixel data, which Read may stop
// at instead.
func (d *decoder) readEncapsulated(s syntax, h header, el *Element, end int64, depth int) error {
	el.Skipped = true
	pixel := depth == 0 && isPixelData(h.tag)
	if pixel {
		d.pixel = &PixelData{Tag: h.tag, VR: h.vr, Offset: h.value, Length: -1, Encapsulated: true}
		if d.opts.PixelData == StopAtPixelData {
			d.stopped = true
			return nil
		}
		defer func() {
			d.pixel.Fragments = el.Fragments
		}()
	}
	for {
		if end >= 0 && d.in.off >= end {
			return &FormatError{Offset: d.in.off, Tag: h.tag, Err: ErrMalformed,
				Detail: "an encapsulated value is not delimited before the end of its item"}
		}
		fh, err := d.readHeader(s)
		if err != nil {
			return err
		}
		if end >= 0 && fh.value > end {
			return malformed(fh, "the item header runs past the end of what encloses it")
		}
		switch {
		case fh.tag == TagSequenceDelimitationItem:
			if pixel {
				d.pixel.Length = d.in.off - h.value
				d.pixel.Complete = true
			}
			return nil
		case fh.tag != TagItem:
			return malformed(fh, "%s where an item of encapsulated %s was expected", fh.tag, h.tag)
		case fh.length == UndefinedLength:
			return malformed(fh, "an encapsulated item of undefined length")
		case end >= 0 && fh.value+int64(fh.length) > end:
			return malformed(fh, "item length %d runs past the end of what encloses it", fh.length)
		}
		if err := d.charge(fh, fragmentCost); err != nil {
			return err
		}
		el.Fragments = append(el.Fragments, Fragment{Offset: fh.value, Length: fh.length})
		if err := d.in.skip(int64(fh.length)); err != nil {
			return readError(err, fh.start, fh.tag, "an encapsulated item")
		}
	}
}
