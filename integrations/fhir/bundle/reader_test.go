package bundle_test

import (
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/zarish-sphere/zarish/integrations/fhir/bundle"
)

func syntheaFiles(tb testing.TB) []string {
	tb.Helper()
	files, err := filepath.Glob("testdata/*.json")
	if err != nil || len(files) == 0 {
		tb.Fatalf("no Synthea bundles: %v", err)
	}
	return files
}

// readAll reads every entry of body.
func readAll(body io.Reader, opts ...bundle.Option) ([]bundle.Entry, error) {
	r, err := bundle.NewReader(body, opts...)
	if err != nil {
		return nil, err
	}
	var out []bundle.Entry
	for {
		e, err := r.Next()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return out, err
		}
		out = append(out, e)
	}
}

func TestReaderYieldsSyntheaEntries(t *testing.T) {
	f, err := os.Open("testdata/Clemente_Kreiger_1484a42d-0eaf-4654-9cbf-6b050a5cd73b.json")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	entries, err := readAll(f)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 70 {
		t.Fatalf("%d entries, want 70", len(entries))
	}
	first := entries[0]
	if first.ResourceType != "Patient" || first.Method != "POST" || first.URL != "Patient" ||
		first.FullURL != "urn:uuid:d78af07c-9cb9-4f31-9b11-c45a28f2eec8" || entries[69].Index != 69 {
		t.Fatalf("first entry %+v", first)
	}
}

func TestReaderRefusals(t *testing.T) {
	const entry = `{"fullUrl":"urn:uuid:1","resource":{"resourceType":"Patient"},"request":{"method":"POST","url":"Patient"}}`
	for _, tc := range []struct {
		name, body string
		opts       []bundle.Option
		want       error
		path       string
		index      int
	}{
		{"not an object", `[]`, nil, bundle.ErrNotBundle, "(body)", -1},
		{"not a bundle", `{"resourceType":"Patient","type":"batch","entry":[]}`, nil, bundle.ErrNotBundle, "resourceType", -1},
		{"a searchset", `{"resourceType":"Bundle","type":"searchset"}`, nil, bundle.ErrBundleType, "type", -1},
		{"entry first", `{"entry":[],"resourceType":"Bundle","type":"batch"}`, nil, bundle.ErrOrder, "entry", -1},
		{"no request", `{"resourceType":"Bundle","type":"batch","entry":[` + entry + `,{"resource":{"resourceType":"Patient"}}]}`, nil, bundle.ErrInvalidEntry, "entry[1].request", 1},
		{"method a number", `{"resourceType":"Bundle","type":"batch","entry":[{"resource":{"resourceType":"Patient"},"request":{"method":1}}]}`, nil, bundle.ErrSyntax, "entry[0].request.method", 0},
		{"too many", `{"resourceType":"Bundle","type":"batch","entry":[` + entry + `,` + entry + `]}`, []bundle.Option{bundle.MaxEntries(1)}, bundle.ErrTooManyEntries, "entry[1]", 1},
		{"too large", `{"resourceType":"Bundle","type":"batch","entry":[` + entry + `]}`, []bundle.Option{bundle.MaxEntryBytes(50)}, bundle.ErrEntryTooLarge, "entry[0]", 0},
		{"cut short", `{"resourceType":"Bundle","type":"batch","entry":[` + entry, nil, bundle.ErrSyntax, "entry", -1},
		{"trailing data", `{"resourceType":"Bundle","type":"batch","entry":[]} {}`, nil, bundle.ErrSyntax, "(body)", -1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := readAll(strings.NewReader(tc.body), tc.opts...)
			var be *bundle.Error
			if !errors.Is(err, tc.want) || !errors.As(err, &be) || be.Path != tc.path || be.Entry != tc.index {
				t.Fatalf("got %v (%+v), want %v at %s", err, be, tc.want, tc.path)
			}
		})
	}
}

// An entry far larger than the cap is refused without reading it whole.
func TestReaderCapsMemory(t *testing.T) {
	huge := `{"resourceType":"Bundle","type":"batch","entry":[{"resource":{"resourceType":"Patient","x":"` +
		strings.Repeat("a", 8<<20) + `"}}]}`
	src := &countingReader{r: strings.NewReader(huge)}
	_, err := readAll(src, bundle.MaxEntryBytes(1<<20))
	if !errors.Is(err, bundle.ErrEntryTooLarge) {
		t.Fatalf("got %v", err)
	}
	if src.n > 2<<20 {
		t.Fatalf("read %d bytes for a 1 MiB cap", src.n)
	}
}

type countingReader struct {
	r io.Reader
	n int
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += n
	return n, err
}

// FuzzReader: no input panics, and every refusal is an *Error naming a path.
func FuzzReader(f *testing.F) {
	// Seeds cut from the Synthea bundles: each with its first three
	// entries, small enough for the fuzzer to mutate quickly.
	for _, name := range syntheaFiles(f) {
		raw, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		var b struct {
			ResourceType string            `json:"resourceType"`
			Type         string            `json:"type"`
			Entry        []json.RawMessage `json:"entry"`
		}
		if err := json.Unmarshal(raw, &b); err != nil || len(b.Entry) < 3 {
			f.Fatalf("%s: %v", name, err)
		}
		b.Entry = b.Entry[:3]
		small, _ := json.Marshal(b)
		f.Add(small)
	}
	f.Add([]byte(`{"resourceType":"Bundle","type":"transaction","entry":[]}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		entries, err := readAll(strings.NewReader(string(body)), bundle.MaxEntryBytes(1<<20), bundle.MaxEntries(500))
		var be *bundle.Error
		if err != nil && (!errors.As(err, &be) || be.Path == "") {
			t.Fatalf("a refusal that is not an *Error: %v", err)
		}
		for i, e := range entries {
			if e.Index != i || e.ResourceType == "" || e.Method == "" || e.URL == "" {
				t.Fatalf("entry %d: %+v", i, e)
			}
		}
	})
}
