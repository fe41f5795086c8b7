package bundle

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"
	"testing/iotest"
)

// referenceEntries reads body with encoding/json: the bundle's properties
// by their exact names, its entries as the general path reads them. ok is
// false for a body the reader must refuse.
func referenceEntries(body []byte) (typ string, entries []Entry, ok bool) {
	if !json.Valid(body) {
		return "", nil, false
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return "", nil, false
	}
	var resourceType string
	var raws []json.RawMessage
	seen := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return "", nil, false
		}
		key := tok.(string)
		switch key {
		case "resourceType", "type", "entry":
			if seen[key] {
				return "", nil, false
			}
			seen[key] = true
		}
		switch key {
		case "resourceType":
			if dec.Decode(&resourceType) != nil {
				return "", nil, false
			}
		case "type":
			if dec.Decode(&typ) != nil {
				return "", nil, false
			}
		case "entry":
			var array json.RawMessage
			if !seen["resourceType"] || !seen["type"] || dec.Decode(&array) != nil || array[0] != '[' || json.Unmarshal(array, &raws) != nil {
				return "", nil, false
			}
		default:
			var skip json.RawMessage
			if dec.Decode(&skip) != nil {
				return "", nil, false
			}
		}
	}
	if resourceType != "Bundle" || (typ != TypeTransaction && typ != TypeBatch) {
		return "", nil, false
	}
	for i, raw := range raws {
		e, resourceType, ok := generalEntry(raw)
		if !ok {
			return "", nil, false
		}
		entries = append(entries, Entry{Index: i, FullURL: e.FullURL, ResourceType: resourceType, Resource: e.Resource,
			Method: e.Request.Method, URL: e.Request.URL, Hash: sha256.Sum256(raw)})
	}
	return typ, entries, true
}

// readEntries reads body with the Reader.
func readEntries(body []byte) (string, []Entry, error) {
	return readEntriesFrom(bytes.NewReader(body))
}

func readEntriesFrom(src io.Reader) (string, []Entry, error) {
	r, err := NewReader(src, MaxEntryBytes(1<<20))
	if err != nil {
		return "", nil, err
	}
	var out []Entry
	for {
		e, err := r.Next()
		if errors.Is(err, io.EOF) {
			return r.Type(), out, nil
		}
		if err != nil {
			return "", nil, err
		}
		out = append(out, e)
	}
}

func checkAgrees(t *testing.T, body []byte) {
	t.Helper()
	typ, got, err := readEntries(body)
	wantType, want, ok := referenceEntries(body)
	if (err == nil) != ok {
		t.Fatalf("%.300q: the reader says %v, encoding/json %v", body, err, ok)
	}
	if err != nil {
		return
	}
	if typ != wantType || len(got) != len(want) {
		t.Fatalf("%.300q: %s with %d entries, encoding/json %s with %d", body, typ, len(got), wantType, len(want))
	}
	for i := range got {
		g, w := got[i], want[i]
		if g.Index != w.Index || g.FullURL != w.FullURL || g.ResourceType != w.ResourceType || !bytes.Equal(g.Resource, w.Resource) ||
			g.Method != w.Method || g.URL != w.URL || g.Hash != w.Hash {
			t.Fatalf("%.300q: entry %d read as %+v, encoding/json %+v", body, i, g, w)
		}
	}
}

// The reader reads every Synthea bundle as encoding/json does: the same
// entries, the same resources and the same hashes (the idempotency keys of
// imports made before).
func TestReaderAgreesOnSynthea(t *testing.T) {
	files, _ := filepath.Glob("../../../../shared/testdata/synthea/*.json")
	local, _ := filepath.Glob("testdata/*.json")
	for _, f := range append(files, local...) {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		checkAgrees(t, raw)
	}
	// A body arriving a few bytes at a time reads the same: every value,
	// string and escape cut across reads somewhere.
	raw, err := os.ReadFile(files[0])
	if err != nil {
		t.Fatal(err)
	}
	_, want, _ := readEntries(raw)
	for _, src := range []io.Reader{iotest.OneByteReader(bytes.NewReader(raw)), &chunked{r: bytes.NewReader(raw), n: 7}} {
		_, got, err := readEntriesFrom(src)
		if err != nil || len(got) != len(want) {
			t.Fatalf("%d entries, %v; want %d", len(got), err, len(want))
		}
		for i := range got {
			if got[i].Hash != want[i].Hash || !bytes.Equal(got[i].Resource, want[i].Resource) || got[i].FullURL != want[i].FullURL {
				t.Fatalf("entry %d read otherwise in pieces", i)
			}
		}
	}
}

// chunked reads at most n bytes at a time.
type chunked struct {
	r io.Reader
	n int
}

func (c *chunked) Read(p []byte) (int, error) { return c.r.Read(p[:min(len(p), c.n)]) }

// FuzzReaderAgrees: the reader accepts exactly the bodies encoding/json
// reads as a transaction or batch Bundle (with resourceType and type before
// entry, each entry complete), and reads them alike.
func FuzzReaderAgrees(f *testing.F) {
	f.Add([]byte(`{"resourceType":"Bundle","type":"batch","entry":[{"fullUrl":"urn:uuid:1","resource":{"resourceType":"Patient"},"request":{"method":"POST","url":"Patient"}}]}`))
	f.Add([]byte(` {"resourceType" : "Bundle", "meta": {"a": [1, "x\"]"]}, "type":"transaction" ,"entry": [ ] } `))
	f.Fuzz(func(t *testing.T, body []byte) {
		checkAgrees(t, body)
	})
}
