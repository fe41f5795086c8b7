package hl7v2

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
)

// The MLLP framing bytes (HL7 v2 Implementation Guide, Minimal Lower Layer
// Protocol release 2): a frame is StartBlock, the message, EndBlock and a
// carriage return.
const (
	StartBlock byte = 0x0b
	EndBlock   byte = 0x1c
)

// DefaultMaxFrameSize is the frame size limit of a Reader made with a limit
// of zero or less: room for a report with embedded documents.
const DefaultMaxFrameSize = 16 << 20

// Errors a Reader reports inside a *FrameError.
var (
	// ErrFrameTooLarge means the frame was longer than the Reader's limit.
	ErrFrameTooLarge = errors.New("mllp: frame exceeds the size limit")
	// ErrFrameInterrupted means a start block came before the frame's end
	// block: the sender gave up on the frame and began another.
	ErrFrameInterrupted = errors.New("mllp: frame interrupted by a start block")
)

// ErrFramingByte is returned by WriteFrame for a message that contains a
// start or end block byte, which would break the frame.
var ErrFramingByte = errors.New("mllp: message contains a framing byte")

// FrameError reports a frame the Reader could not return whole. The Reader
// has dropped it and goes on with the next frame, so a receiver answers
// (Head is enough for ACKUnparsed to find the control ID) and reads on.
type FrameError struct {
	Err   error  // ErrFrameTooLarge or ErrFrameInterrupted
	Limit int    // the Reader's size limit
	Head  []byte // the frame's first bytes, at most Limit of them
}

// Error says what was wrong with the frame.
func (e *FrameError) Error() string {
	if errors.Is(e.Err, ErrFrameTooLarge) {
		return fmt.Sprintf("%v (%d bytes)", e.Err, e.Limit)
	}
	return e.Err.Error()
}

// Unwrap returns ErrFrameTooLarge or ErrFrameInterrupted.
func (e *FrameError) Unwrap() error { return e.Err }

// Reader reads MLLP frames from a byte stream. It skips whatever comes
// between frames (the carriage return after an end block, a stray line feed,
// other bytes), never holds more than its limit of one frame, and after a
// frame that is too large or interrupted resynchronises at the next start
// block. An end block ends a frame without waiting for the carriage return
// that should follow it, which the next read skips, so a sender that leaves
// it out is still answered. A Reader serves one goroutine.
type Reader struct {
	r       *bufio.Reader
	limit   int
	state   readerState
	frame   []byte
	skipped int64
}

type readerState int

const (
	betweenFrames readerState = iota
	inFrame                   // after a start block; frame holds what followed it
	discarding                // dropping the rest of a frame that was too large
)

// NewReader returns a Reader of r whose frames may hold at most maxSize
// bytes between their framing bytes (DefaultMaxFrameSize for maxSize <= 0).
func NewReader(r io.Reader, maxSize int) *Reader {
	if maxSize <= 0 {
		maxSize = DefaultMaxFrameSize
	}
	return &Reader{r: bufio.NewReaderSize(r, min(maxSize+3, 64<<10)), limit: maxSize}
}

// Skipped returns how many bytes the Reader has dropped between frames,
// carriage returns, line feeds, spaces and tabs not counted (nor the frames
// it refused), for a receiver to log.
func (r *Reader) Skipped() int64 { return r.skipped }

// ReadFrame returns the next frame's message bytes, which the caller owns.
// It returns io.EOF when the stream ends between frames and
// io.ErrUnexpectedEOF when it ends inside one; a *FrameError for a frame
// that is too large or interrupted, after which it can be called again; and
// other errors of the underlying reader as they are.
func (r *Reader) ReadFrame() ([]byte, error) {
	for {
		buf, err := r.buffered()
		if len(buf) == 0 {
			if errors.Is(err, io.EOF) {
				st := r.state
				r.state = betweenFrames
				if st == inFrame {
					return nil, io.ErrUnexpectedEOF
				}
			}
			return nil, err
		}
		switch r.state {
		case betweenFrames, discarding:
			i := bytes.IndexByte(buf, StartBlock)
			if i < 0 {
				i = len(buf)
			}
			if r.state == betweenFrames {
				r.count(buf[:i])
			}
			if i == len(buf) {
				r.r.Discard(i)
				continue
			}
			r.r.Discard(i + 1)
			r.state = inFrame
			r.frame = r.frame[:0]
		case inFrame:
			i := indexFraming(buf)
			n := i
			if i < 0 {
				n = len(buf)
			}
			if len(r.frame)+n > r.limit {
				take := r.limit - len(r.frame)
				head := make([]byte, 0, r.limit)
				head = append(append(head, r.frame...), buf[:take]...)
				r.r.Discard(take)
				r.state = discarding
				return nil, &FrameError{Err: ErrFrameTooLarge, Limit: r.limit, Head: head}
			}
			r.frame = appendCapped(r.frame, buf[:n], r.limit)
			if i < 0 {
				r.r.Discard(n)
				continue
			}
			r.r.Discard(i + 1)
			frame := bytes.Clone(r.frame)
			r.frame = r.frame[:0]
			if buf[i] == StartBlock {
				// The sender gave up on the frame and began another, which
				// starts after this start block.
				return nil, &FrameError{Err: ErrFrameInterrupted, Limit: r.limit, Head: frame}
			}
			r.state = betweenFrames
			return frame, nil
		}
	}
}

// appendCapped appends src to dst, growing dst to at most limit bytes of
// capacity; len(dst)+len(src) must not exceed limit.
func appendCapped(dst, src []byte, limit int) []byte {
	if need := len(dst) + len(src); need > cap(dst) {
		grown := make([]byte, len(dst), min(limit, max(need, 2*cap(dst), 512)))
		copy(grown, dst)
		dst = grown
	}
	return append(dst, src...)
}

// buffered returns the bytes the bufio.Reader holds, reading when it holds
// none.
func (r *Reader) buffered() ([]byte, error) {
	var err error
	if r.r.Buffered() == 0 {
		_, err = r.r.Peek(1)
	}
	buf, _ := r.r.Peek(r.r.Buffered())
	return buf, err
}

// count adds the bytes of b that are not white space to Skipped.
func (r *Reader) count(b []byte) {
	for _, c := range b {
		switch c {
		case '\r', '\n', ' ', '\t':
		default:
			r.skipped++
		}
	}
}

// indexFraming returns the index of the first start or end block in b, or -1.
func indexFraming(b []byte) int {
	for i, c := range b {
		if c == StartBlock || c == EndBlock {
			return i
		}
	}
	return -1
}

// WriteFrame writes msg to w as one MLLP frame, in a single Write.
func WriteFrame(w io.Writer, msg []byte) error {
	if bytes.IndexByte(msg, StartBlock) >= 0 || bytes.IndexByte(msg, EndBlock) >= 0 {
		return ErrFramingByte
	}
	frame := make([]byte, 0, len(msg)+3)
	frame = append(frame, StartBlock)
	frame = append(frame, msg...)
	frame = append(frame, EndBlock, '\r')
	_, err := w.Write(frame)
	return err
}
