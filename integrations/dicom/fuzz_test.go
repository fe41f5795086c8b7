package dicom

import (
	"bytes"
	"errors"
	"fmt"
	"testing"
	"time"
)

// FuzzRead feeds Read arbitrary bytes: it must never panic, refuse only
// with a *FormatError, keep no value beyond its limits, and give values
// whose accessors do not panic either.
func FuzzRead(f *testing.F) {
	for _, path := range testdataFiles(f) {
		f.Add(readFile(f, path))
	}
	e := explicitLE()
	minimal(e).header(0x00081110, VRSQ, UndefinedLength).item(UndefinedLength).str(0x00081150, VRUI, "1.2.3").itemEnd().seqEnd().
		header(TagPixelData, VROB, UndefinedLength).item(0).item(2).raw([]byte{1, 2}).seqEnd()
	f.Add(part10("1.2.840.10008.1.2.4.70", e.bytes()))
	f.Add(minimal(implicitLE()).bytes())

	f.Fuzz(func(t *testing.T, data []byte) {
		for _, opts := range []Options{
			{},
			{PixelData: SkipPixelData, AllowMissingPreamble: true, MaxValueLength: 1 << 12, MaxHeaderSize: 1 << 16},
		} {
			watchdog := time.AfterFunc(10*time.Second, func() { panic(fmt.Sprintf("Read hangs on %q", data)) })
			file, err := Read(bytes.NewReader(data), opts)
			watchdog.Stop()
			if err != nil {
				var fe *FormatError
				if !errors.As(err, &fe) {
					t.Fatalf("untyped error %v", err)
				}
				if fe.Offset < 0 {
					t.Fatalf("negative offset in %v", err)
				}
			}
			if file == nil {
				continue
			}
			limit := opts.withDefaults().MaxValueLength
			walk(t, file.Meta.Elements, limit)
			walk(t, file.DataSet, limit)
			_ = indexOf(file)
		}
	})
}

// walk checks every element of ds and its items.
func walk(t *testing.T, ds DataSet, limit int64) {
	for _, e := range ds {
		if int64(len(e.Raw)) > limit {
			t.Fatalf("%s kept %d bytes, more than %d", e.Tag, len(e.Raw), limit)
		}
		if e.Raw != nil && int64(len(e.Raw)) != int64(e.Length) {
			t.Fatalf("%s kept %d bytes of a %d-byte value", e.Tag, len(e.Raw), e.Length)
		}
		_ = e.Strings()
		_ = e.PersonNames()
		_, _ = e.Ints()
		_, _ = e.Uints()
		_, _ = e.Floats()
		_, _ = e.Tags()
		for _, p := range e.PersonNames() {
			_ = p.String()
		}
		for _, item := range e.Items {
			walk(t, item, limit)
		}
	}
}
