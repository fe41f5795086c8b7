package dicom

import (
	"bytes"
	"path/filepath"
	"testing"
)

// BenchmarkRead reads whole instances as STOW-RS ingestion would: header
// and sequences kept, pixel data read past.
func BenchmarkRead(b *testing.B) {
	for _, file := range []string{"ct_explicit.dcm", "ct_implicit.dcm", "ct_deflated.dcm", "jpeg_baseline.dcm", "name_japanese.dcm"} {
		data := readFile(b, filepath.Join("testdata", file))
		b.Run(file, func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Read(bytes.NewReader(data), Options{PixelData: SkipPixelData}); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "instances/s")
		})
	}
	// A 64 MiB image: the header is read and the pixel data skipped.
	_, stream := largeFile(64 << 20)
	b.Run("native_64MiB", func(b *testing.B) {
		b.SetBytes(64 << 20)
		b.ReportAllocs()
		for b.Loop() {
			if _, err := Read(stream(), Options{PixelData: SkipPixelData}); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "instances/s")
	})
}
