package dicom

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// UndefinedLength is the length of a sequence, item or encapsulated value
// whose end is marked by a delimitation item instead.
const UndefinedLength uint32 = 0xFFFFFFFF

// Element is one data element as read.
type Element struct {
	Tag Tag
	VR  VR
	// Length is the value length as encoded: UndefinedLength for a
	// delimited sequence or an encapsulated value.
	Length uint32
	// Offset is the byte offset of the value's first byte (see
	// FormatError.Offset about deflated data sets).
	Offset int64
	// Raw is the value as encoded, in the data set's byte order, padding
	// included. It is nil for a sequence, an encapsulated value, and a
	// value that was Skipped.
	Raw []byte
	// Items are a sequence's items, each a data set of its own.
	Items []DataSet
	// Fragments are the items of an encapsulated value, such as pixel data
	// in a compressed transfer syntax: the Basic Offset Table first, then
	// the fragments of the compressed frames. Their bytes are never kept.
	Fragments []Fragment
	// Skipped is true when the value was read past (or, for pixel data
	// Read stopped at, not read at all) without being kept: an opaque value
	// longer than Options.MaxValueLength, or the top-level pixel data.
	Skipped bool

	cs        *characterSet
	bigEndian bool
}

// Fragment is one item of an encapsulated value.
type Fragment struct {
	// Offset is the byte offset of the item's value.
	Offset int64
	// Length is the item's value length.
	Length uint32
}

// DataSet is the elements of a data set, or of one item of a sequence, in
// the order they were read.
type DataSet []*Element

// Element finds the element with tag t.
func (ds DataSet) Element(t Tag) (*Element, bool) {
	for _, e := range ds {
		if e.Tag == t {
			return e, true
		}
	}
	return nil, false
}

// Strings gives the values of a string VR, decoded to UTF-8 with the
// data set's Specific Character Set (for SH, LO, ST, LT, PN, UC and UT;
// the other string VRs use the default repertoire), split on backslash
// except for the single-valued ST, LT, UT and UR, and without the padding
// and the spaces their VR makes insignificant. It is nil for an empty
// value, and for a VR that is not a string.
func (e *Element) Strings() []string {
	info := e.VR.info()
	if info.class != classString && info.class != classText || len(e.Raw) == 0 {
		return nil
	}
	cs := e.cs
	if cs == nil || !info.charset {
		cs = defaultCharacterSet
	}
	vals := cs.values(e.Raw, info.class == classString, e.VR == VRPN)
	for i, v := range vals {
		v = strings.TrimRight(v, " \x00")
		if info.trimLeading {
			v = strings.TrimLeft(v, " ")
		}
		vals[i] = v
	}
	return vals
}

// FirstString is the first of Strings, or "".
func (e *Element) FirstString() string {
	if vals := e.Strings(); len(vals) > 0 {
		return vals[0]
	}
	return ""
}

// PersonNames parses each value of a PN element.
func (e *Element) PersonNames() []PersonName {
	if e.VR != VRPN {
		return nil
	}
	vals := e.Strings()
	names := make([]PersonName, len(vals))
	for i, v := range vals {
		names[i] = ParsePersonName(v)
	}
	return names
}

// errNotInteger and errNotNumber are the Err of the *ValueError Ints and
// Floats return for a VR that holds no such values.
var (
	errNotInteger = errors.New("not an integer VR")
	errNotNumber  = errors.New("not a numeric VR")
	errOddLength  = errors.New("length is not a multiple of the value size")
)

// Ints gives the values of an integer element: US, SS, UL, SL, UV, SV,
// OL, OV and IS. A value that does not fit in an int64, or an IS that is
// not a number, is a *ValueError.
func (e *Element) Ints() ([]int64, error) {
	switch e.VR {
	case VRIS:
		vals := e.Strings()
		out := make([]int64, len(vals))
		for i, v := range vals {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				return nil, e.valueError(v, err)
			}
			out[i] = n
		}
		return out, nil
	case VRUS, VRSS, VRUL, VRSL, VRUV, VRSV, VROL, VROV:
	default:
		return nil, e.valueError("", errNotInteger)
	}
	size := e.VR.info().size
	if len(e.Raw)%size != 0 {
		return nil, e.valueError("", errOddLength)
	}
	order := e.order()
	out := make([]int64, len(e.Raw)/size)
	for i := range out {
		b := e.Raw[i*size:]
		switch e.VR {
		case VRUS:
			out[i] = int64(order.Uint16(b))
		case VRSS:
			out[i] = int64(int16(order.Uint16(b)))
		case VRUL, VROL:
			out[i] = int64(order.Uint32(b))
		case VRSL:
			out[i] = int64(int32(order.Uint32(b)))
		case VRSV:
			out[i] = int64(order.Uint64(b))
		case VRUV, VROV:
			u := order.Uint64(b)
			if u > math.MaxInt64 {
				return nil, e.valueError(strconv.FormatUint(u, 10), strconv.ErrRange)
			}
			out[i] = int64(u)
		}
	}
	return out, nil
}

// Uints gives the values of an unsigned binary element (US, UL, UV, OL,
// OV), whose UV values may not fit in an int64.
func (e *Element) Uints() ([]uint64, error) {
	switch e.VR {
	case VRUS, VRUL, VRUV, VROL, VROV:
	default:
		return nil, e.valueError("", errNotInteger)
	}
	size := e.VR.info().size
	if len(e.Raw)%size != 0 {
		return nil, e.valueError("", errOddLength)
	}
	order := e.order()
	out := make([]uint64, len(e.Raw)/size)
	for i := range out {
		b := e.Raw[i*size:]
		switch size {
		case 2:
			out[i] = uint64(order.Uint16(b))
		case 4:
			out[i] = uint64(order.Uint32(b))
		default:
			out[i] = order.Uint64(b)
		}
	}
	return out, nil
}

// Floats gives the values of a numeric element: FL, FD, OF, OD and DS,
// and the integer VRs Ints reads.
func (e *Element) Floats() ([]float64, error) {
	switch e.VR {
	case VRDS:
		vals := e.Strings()
		out := make([]float64, len(vals))
		for i, v := range vals {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				return nil, e.valueError(v, err)
			}
			out[i] = f
		}
		return out, nil
	case VRFL, VROF, VRFD, VROD:
	default:
		ints, err := e.Ints()
		if err != nil {
			if errors.Is(err, errNotInteger) {
				return nil, e.valueError("", errNotNumber)
			}
			return nil, err
		}
		out := make([]float64, len(ints))
		for i, n := range ints {
			out[i] = float64(n)
		}
		return out, nil
	}
	size := e.VR.info().size
	if len(e.Raw)%size != 0 {
		return nil, e.valueError("", errOddLength)
	}
	order := e.order()
	out := make([]float64, len(e.Raw)/size)
	for i := range out {
		b := e.Raw[i*size:]
		if size == 4 {
			out[i] = float64(math.Float32frombits(order.Uint32(b)))
		} else {
			out[i] = math.Float64frombits(order.Uint64(b))
		}
	}
	return out, nil
}

// Tags gives the values of an AT element.
func (e *Element) Tags() ([]Tag, error) {
	if e.VR != VRAT {
		return nil, e.valueError("", errors.New("not an AT element"))
	}
	if len(e.Raw)%4 != 0 {
		return nil, e.valueError("", errOddLength)
	}
	order := e.order()
	out := make([]Tag, len(e.Raw)/4)
	for i := range out {
		out[i] = NewTag(order.Uint16(e.Raw[i*4:]), order.Uint16(e.Raw[i*4+2:]))
	}
	return out, nil
}

func (e *Element) order() binary.ByteOrder {
	if e.bigEndian {
		return binary.BigEndian
	}
	return binary.LittleEndian
}

func (e *Element) valueError(v string, err error) *ValueError {
	if v == "" && len(e.Raw) > 0 && !e.VR.IsString() {
		v = fmt.Sprintf("% x", e.Raw[:min(len(e.Raw), 16)])
	}
	return &ValueError{Tag: e.Tag, VR: e.VR, Value: v, Err: err}
}
