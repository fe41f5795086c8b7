package dicom

import (
	"bytes"
	"io"
	"runtime"
	"testing"
)

// zeros is an endless stream of zero bytes.
type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

// countingReader counts what Read takes from the stream.
type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// largeFile streams a file whose native pixel data is pixels bytes long,
// followed by trailing padding, without holding it.
func largeFile(pixels uint32) (header []byte, stream func() io.Reader) {
	e := explicitLE()
	minimal(e).us(TagRows, 8192).us(TagColumns, 8192).header(TagPixelData, VROW, pixels)
	header = part10(ExplicitVRLittleEndian, e.bytes())
	trailer := explicitLE().elem(0xFFFCFFFC, VROB, make([]byte, 16)).bytes()
	return header, func() io.Reader {
		return io.MultiReader(bytes.NewReader(header), io.LimitReader(zeros{}, int64(pixels)), bytes.NewReader(trailer))
	}
}

// encapsulatedFile streams a file with n fragments of size bytes each.
func encapsulatedFile(n int, size uint32) func() io.Reader {
	e := explicitLE()
	minimal(e).header(TagPixelData, VROB, UndefinedLength).item(0)
	header := part10(JPEGBaseline8Bit, e.bytes())
	return func() io.Reader {
		parts := []io.Reader{bytes.NewReader(header)}
		for range n {
			parts = append(parts, bytes.NewReader(explicitLE().item(size).bytes()), io.LimitReader(zeros{}, int64(size)))
		}
		parts = append(parts, bytes.NewReader(explicitLE().seqEnd().bytes()))
		return io.MultiReader(parts...)
	}
}

// allocated is how many bytes f allocates.
func allocated(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// TestLargePixelDataBoundedMemory reads past 512 MiB of pixel data with a
// few hundred kilobytes, and stops before it having read barely more than
// the header.
func TestLargePixelDataBoundedMemory(t *testing.T) {
	const pixels = 512 << 20
	header, stream := largeFile(pixels)

	var f *File
	var err error
	used := allocated(func() { f, err = Read(stream(), Options{PixelData: SkipPixelData}) })
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("read past %d MiB of pixel data allocating %d KiB", pixels>>20, used>>10)
	if used > 1<<20 {
		t.Errorf("allocated %d bytes reading past %d bytes of pixel data", used, pixels)
	}
	px := f.PixelData
	if px == nil || px.Length != pixels || !px.Complete || px.Offset != int64(len(header)) {
		t.Fatalf("pixel data %+v, want %d bytes at %d", px, pixels, len(header))
	}
	if _, ok := f.Element(0xFFFCFFFC); !ok {
		t.Error("the element after the pixel data was not read")
	}
	if f.Rows != 8192 || f.PatientID != "ZS-1" {
		t.Errorf("read %+v", indexOf(f))
	}

	cr := &countingReader{r: stream()}
	used = allocated(func() { f, err = Read(cr, Options{}) })
	if err != nil {
		t.Fatal(err)
	}
	if cr.n > int64(len(header))+bufferSize {
		t.Errorf("stopping at the pixel data read %d bytes of the stream", cr.n)
	}
	if used > 256<<10 || f.PixelData.Length != pixels || f.PixelData.Complete {
		t.Errorf("stopping at the pixel data allocated %d bytes; pixel data %+v", used, f.PixelData)
	}
}

func TestLargeEncapsulatedPixelDataBoundedMemory(t *testing.T) {
	const frames, size = 64, 4 << 20
	stream := encapsulatedFile(frames, size)
	var f *File
	var err error
	used := allocated(func() { f, err = Read(stream(), Options{PixelData: SkipPixelData}) })
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("read past %d fragments of %d MiB allocating %d KiB", frames, size>>20, used>>10)
	if used > 1<<20 {
		t.Errorf("allocated %d bytes reading past %d fragments of %d bytes", used, frames, size)
	}
	px := f.PixelData
	if want := int64(8 + frames*(8+size) + 8); px.Length != want || len(px.Fragments) != frames+1 {
		t.Errorf("pixel data of %d bytes in %d items, want %d in %d", px.Length, len(px.Fragments), want, frames+1)
	}
}
