package dicom

import (
	"bufio"
	"compress/flate"
	"errors"
	"fmt"
	"io"
	"slices"
	"sync"
)

// input is the byte stream Read decodes, counting its offset.
type input struct {
	r   *bufio.Reader
	off int64
}

const bufferSize = 32 << 10

// buffers recycles the read buffers: a STOW-RS request reads many small
// instances, and a fresh 32 KiB for each would be most of what Read
// allocates.
var buffers = sync.Pool{New: func() any { return bufio.NewReaderSize(nil, bufferSize) }}

func newInput(r io.Reader, off int64) *input {
	br := buffers.Get().(*bufio.Reader)
	br.Reset(r)
	return &input{r: br, off: off}
}

// release returns the buffer; the input must not be used after.
func (in *input) release() {
	in.r.Reset(nil)
	buffers.Put(in.r)
	in.r = nil
}

// full reads len(p) bytes; a short read is io.ErrUnexpectedEOF (io.EOF when
// nothing was left at all).
func (in *input) full(p []byte) error {
	n, err := io.ReadFull(in.r, p)
	in.off += int64(n)
	return err
}

// value reads an n-byte value, growing its buffer as the bytes arrive, so
// that a length field larger than the input does not allocate what it
// claims.
func (in *input) value(n int64) ([]byte, error) {
	const step = 64 << 10
	if n <= step {
		b := make([]byte, n)
		return b, in.full(b)
	}
	b := make([]byte, 0, step)
	for int64(len(b)) < n {
		have := len(b)
		chunk := int(min(n-int64(have), int64(max(have, step))))
		b = slices.Grow(b, chunk)[:have+chunk]
		if err := in.full(b[have:]); err != nil {
			return nil, err
		}
	}
	return b, nil
}

// skip reads past n bytes without keeping them.
func (in *input) skip(n int64) error {
	for n > 0 {
		chunk := int(min(n, 1<<30))
		d, err := in.r.Discard(chunk)
		in.off += int64(d)
		n -= int64(d)
		if err != nil {
			if err == io.EOF {
				return io.ErrUnexpectedEOF
			}
			return err
		}
	}
	return nil
}

// atEOF reports whether the input has no byte left.
func (in *input) atEOF() (bool, error) {
	_, err := in.r.Peek(1)
	if err == io.EOF {
		return true, nil
	}
	return false, err
}

// readError turns an error from the input into what Read returns: running
// out of bytes is ErrTruncated, a corrupt deflate stream ErrMalformed, and
// anything else (the caller's reader failing) passes through wrapped.
func readError(err error, off int64, tag Tag, what string) error {
	var corrupt flate.CorruptInputError
	switch {
	case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return &FormatError{Offset: off, Tag: tag, Err: ErrTruncated, Detail: "input ends inside " + what}
	case errors.As(err, &corrupt):
		return &FormatError{Offset: off, Tag: tag, Err: ErrMalformed, Detail: "deflate: " + err.Error()}
	}
	return fmt.Errorf("dicom: reading %s at offset %d: %w", what, off, err)
}
