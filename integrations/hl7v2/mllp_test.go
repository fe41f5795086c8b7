package hl7v2

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

// readAll reads frames until the stream ends, writing each outcome as text:
// the frame itself, or the error (with a too-large or interrupted frame's
// head), so that whole runs compare at once.
func readAll(r *Reader) []string {
	var out []string
	for {
		frame, err := r.ReadFrame()
		var fe *FrameError
		switch {
		case err == nil:
			out = append(out, string(frame))
		case errors.As(err, &fe):
			out = append(out, "!"+fe.Err.Error()+":"+string(fe.Head))
		case errors.Is(err, io.EOF):
			return out
		default:
			return append(out, "!"+err.Error())
		}
	}
}

func frame(s string) string { return "\x0b" + s + "\x1c\r" }

func TestReader(t *testing.T) {
	tooLarge := "!" + ErrFrameTooLarge.Error() + ":"
	interrupted := "!" + ErrFrameInterrupted.Error() + ":"
	tests := []struct {
		name    string
		in      string
		limit   int
		want    []string
		skipped int64
	}{
		{"one frame", frame("MSH|a"), 100, []string{"MSH|a"}, 0},
		{"several frames", frame("A") + frame("B") + frame("C"), 100, []string{"A", "B", "C"}, 0},
		{"empty frame", frame(""), 100, []string{""}, 0},
		{"CR and LF between frames", "\r\n" + frame("A") + "\n\r\n" + frame("B") + "\r\n", 100, []string{"A", "B"}, 0},
		{"junk between frames is counted", "junk" + frame("A") + "xy" + frame("B"), 100, []string{"A", "B"}, 6},
		{"no CR after the end block", "\x0bA\x1c\x0bB\x1c", 100, []string{"A", "B"}, 0},
		{"nothing", "", 100, nil, 0},
		{"only junk", "\r\nhello", 100, nil, 5},
		{"frame of exactly the limit", frame("12345"), 5, []string{"12345"}, 0},
		{"frame over the limit, then the next", frame("123456789") + frame("ok"), 5, []string{tooLarge + "12345", "ok"}, 0},
		{"frame over the limit at the end", "\x0b123456789", 5, []string{tooLarge + "12345"}, 0},
		{"interrupted frame", "\x0bA partial\x0bB\x1c\r", 100, []string{interrupted + "A partial", "B"}, 0},
		{"end of stream inside a frame", frame("A") + "\x0bpartial", 100, []string{"A", "!" + io.ErrUnexpectedEOF.Error()}, 0},
		{"end block outside a frame is junk", "\x1c\r" + frame("A"), 100, []string{"A"}, 1},
	}
	readers := map[string]func(io.Reader) io.Reader{
		"whole":    func(r io.Reader) io.Reader { return r },
		"one byte": iotest.OneByteReader,
		"half":     iotest.HalfReader,
	}
	for _, tt := range tests {
		for rname, wrap := range readers {
			t.Run(tt.name+"/"+rname, func(t *testing.T) {
				r := NewReader(wrap(strings.NewReader(tt.in)), tt.limit)
				got := readAll(r)
				if strings.Join(got, "|") != strings.Join(tt.want, "|") {
					t.Errorf("frames %q, want %q", got, tt.want)
				}
				if r.Skipped() != tt.skipped {
					t.Errorf("Skipped() = %d, want %d", r.Skipped(), tt.skipped)
				}
			})
		}
	}
}

// TestReaderBoundedMemory feeds one frame a hundred times the limit: the
// Reader refuses it holding no more than the limit, and reads the next.
func TestReaderBoundedMemory(t *testing.T) {
	const limit = 1 << 10
	big := io.MultiReader(strings.NewReader("\x0b"), io.LimitReader(neverFraming{}, 100*limit), strings.NewReader("\x1c\r"+frame("next")))
	r := NewReader(big, limit)
	_, err := r.ReadFrame()
	var fe *FrameError
	if !errors.As(err, &fe) || !errors.Is(err, ErrFrameTooLarge) || len(fe.Head) != limit || fe.Limit != limit {
		t.Fatalf("ReadFrame = %v, want a too-large FrameError with a %d-byte head", err, limit)
	}
	if cap(r.frame) > limit {
		t.Errorf("the Reader holds %d bytes for a %d-byte limit", cap(r.frame), limit)
	}
	if b, err := r.ReadFrame(); err != nil || string(b) != "next" {
		t.Errorf("after the large frame, ReadFrame = %q, %v", b, err)
	}
}

// neverFraming reads as an endless run of 'x'.
type neverFraming struct{}

func (neverFraming) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = 'x'
	}
	return len(p), nil
}

// TestReaderCallerOwnsFrames checks that a frame returned stays as it was
// when the Reader reads on.
func TestReaderCallerOwnsFrames(t *testing.T) {
	r := NewReader(strings.NewReader(frame("first")+frame("other")), 100)
	a, _ := r.ReadFrame()
	if _, err := r.ReadFrame(); err != nil {
		t.Fatal(err)
	}
	if string(a) != "first" {
		t.Errorf("the first frame became %q", a)
	}
}

func TestReaderPassesOnErrors(t *testing.T) {
	boom := errors.New("connection reset")
	r := NewReader(io.MultiReader(strings.NewReader("\x0bpart"), iotest.ErrReader(boom)), 100)
	if _, err := r.ReadFrame(); !errors.Is(err, boom) {
		t.Errorf("ReadFrame = %v, want %v", err, boom)
	}
}

func TestWriteFrame(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteFrame(&buf, []byte("MSH|^~\\&\rMSA|AA|1\r")); err != nil {
		t.Fatal(err)
	}
	if got := buf.String(); got != "\x0bMSH|^~\\&\rMSA|AA|1\r\x1c\r" {
		t.Errorf("frame %q", got)
	}
	r := NewReader(&buf, 0)
	if b, err := r.ReadFrame(); err != nil || string(b) != "MSH|^~\\&\rMSA|AA|1\r" {
		t.Errorf("read back %q, %v", b, err)
	}
	for _, bad := range []string{"a\x0bb", "a\x1cb"} {
		if err := WriteFrame(&buf, []byte(bad)); !errors.Is(err, ErrFramingByte) {
			t.Errorf("WriteFrame(%q) = %v, want ErrFramingByte", bad, err)
		}
	}
}

// TestWriteFrameOneWrite checks that a frame goes out in one Write, so that
// frames written by several goroutines through a locked writer never
// interleave.
func TestWriteFrameOneWrite(t *testing.T) {
	w := &countingWriter{}
	if err := WriteFrame(w, []byte("MSH|x")); err != nil {
		t.Fatal(err)
	}
	if w.writes != 1 {
		t.Errorf("%d writes, want 1", w.writes)
	}
}

type countingWriter struct{ writes int }

func (w *countingWriter) Write(p []byte) (int, error) { w.writes++; return len(p), nil }
