package bundle

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

// generalEntry reads an entry as the general path does.
func generalEntry(raw []byte) (rawEntry, string, bool) {
	var e rawEntry
	if json.Unmarshal(raw, &e) != nil {
		return e, "", false
	}
	var head struct {
		ResourceType string `json:"resourceType"`
	}
	if len(e.Resource) == 0 || json.Unmarshal(e.Resource, &head) != nil || head.ResourceType == "" ||
		e.Request == nil || e.Request.Method == "" || e.Request.URL == "" {
		return e, "", false
	}
	return e, head.ResourceType, true
}

// checkFastEntry fails when fastEntry reads raw and the general path reads
// anything else.
func checkFastEntry(t *testing.T, raw []byte) bool {
	t.Helper()
	fast, fastType, ok := fastEntry(raw)
	if !ok {
		return false
	}
	slow, slowType, slowOK := generalEntry(raw)
	if !slowOK || fast.FullURL != slow.FullURL || fastType != slowType || !bytes.Equal(fast.Resource, slow.Resource) ||
		*fast.Request != *slow.Request {
		t.Fatalf("%s:\nfast %q %s %+v\ngeneral %q %s %+v (%v)", raw, fast.FullURL, fastType, fast.Request, slow.FullURL, slowType, slow.Request, slowOK)
	}
	return true
}

// Every entry of every Synthea bundle reads the same on the fast path as
// on the general one, and every one of them takes the fast path.
func TestFastEntryReadsSyntheaAsTheGeneralPath(t *testing.T) {
	files, _ := filepath.Glob("../../../../shared/testdata/synthea/*.json")
	local, _ := filepath.Glob("testdata/*.json")
	files = append(files, local...)
	if len(files) < 18 {
		t.Fatalf("%d Synthea bundles", len(files))
	}
	n := 0
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var b struct{ Entry []json.RawMessage }
		if err := json.Unmarshal(raw, &b); err != nil {
			t.Fatal(err)
		}
		for i, e := range b.Entry {
			if !checkFastEntry(t, e) {
				t.Fatalf("%s entry %d took the general path", f, i)
			}
			n++
		}
	}
	t.Logf("%d entries", n)
}

// Entries the fast path leaves to the general one, and plain ones it reads.
func TestFastEntryLeavesTheUnusual(t *testing.T) {
	const request = `"request":{"method":"POST","url":"Patient"}`
	for _, tc := range []struct {
		raw  string
		fast bool
	}{
		{`{"fullUrl":"urn:uuid:1","resource":{"resourceType":"Patient","id":"x"},` + request + `}`, true},
		{` { "resource" : { "a" : [1, {"b": "]}"}], "resourceType" : "Patient" } , ` + request + ` , "search": {"mode": "match"} } `, true},
		{`{"fullUrl":"urn:uuid:\u0031","resource":{"resourceType":"Patient"},` + request + `}`, true},
		{`{"full\u0055rl":"urn:uuid:1","resource":{"resourceType":"Patient"},` + request + `}`, false},
		{`{"fullurl":"urn:uuid:1","resource":{"resourceType":"Patient"},` + request + `}`, false},
		{`{"resource":{"resourceType":"Patient"},"resource":{"resourceType":"Claim"},` + request + `}`, false},
		{`{"resource":{"resourcetype":"Patient"},` + request + `}`, false},
		{`{"resource":{"resourceType":"Patient","resourceType":"Claim"},` + request + `}`, false},
		{`{"resource":{"resourceType":"Pati` + "\xff" + `ent"},` + request + `}`, false},
		{`{"resource":{"resourceType":""},` + request + `}`, false},
		{`{"resource":{"resourceType":7},` + request + `}`, false},
		{`{"resource":null,` + request + `}`, false},
		{`{"resource":{"resourceType":"Patient"}}`, false},
		{`{"resource":{"resourceType":"Patient"},"request":{"method":"POST"}}`, false},
		{`{"resource":{"resourceType":"Patient"},"request":{"method":1,"url":"Patient"}}`, false},
		{`{"resource":{"resourceType":"Patient"},"request":{"Method":"PUT","method":"POST","url":"Patient"}}`, false},
		{`{"fullUrl":null,"resource":{"resourceType":"Patient"},` + request + `}`, false},
	} {
		if got := checkFastEntry(t, []byte(tc.raw)); got != tc.fast {
			t.Errorf("%s: fast %v, want %v", tc.raw, got, tc.fast)
		}
	}
}

// FuzzFastEntry: whatever valid JSON the fast path reads, it reads as the
// general path does.
func FuzzFastEntry(f *testing.F) {
	f.Add([]byte(`{"fullUrl":"urn:uuid:1","resource":{"resourceType":"Patient","x":[1,"\"]"]},"request":{"method":"POST","url":"Patient"}}`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		if !json.Valid(raw) || len(raw) == 0 || bytes.TrimSpace(raw)[0] != '{' {
			return
		}
		checkFastEntry(t, raw)
	})
}
