package api

import (
	"bytes"
	"encoding/json"
	"testing"
)

// FuzzWalkJSONAgreesWithEncodingJSON: the walker accepts exactly the
// documents encoding/json accepts (one value, white space around it), and
// every string it visits — names and values — decodes to what encoding/json
// makes of the same bytes, at the offsets it names.
func FuzzWalkJSONAgreesWithEncodingJSON(f *testing.F) {
	for _, seed := range []string{
		`{}`, `[]`, `""`, `0`, `-0.5e+3`, `true`, `null`, ` {"a" : [1, 2.5, "x", {"b": null}], "c": false} `,
		`{"name":{"given":["Amina"],"family":"Rahmán"}}`, `"a\u0000b"`, `"Jos\ud800"`, "\"Jos\xff\xfe\"", `"\ud83d\ude00 \n\t\\"`,
		`[1,]`, `{"a":1,}`, `{"a" 1}`, `[01]`, `[1.]`, `[.5]`, `[-]`, `truex`, `[tru]`, `{"a":1}}`, `[1 2]`, "\"a\x01b\"", `{"a`, `[`,
		`1e5`, `[1E-2,-0,0.0]`, `{"":""}`, `{"a":{"a":{"a":[[[]]]}}}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, doc []byte) {
		var strs []*jsonNode
		err := walkJSON(doc, nil, nil, func(n *jsonNode) bool {
			if n.kind == '"' {
				strs = append(strs, n)
			}
			return true
		})
		// walkJSON reads one value and leaves what follows it to the caller.
		if err == nil {
			dec := json.NewDecoder(bytes.NewReader(doc))
			var v any
			if derr := dec.Decode(&v); derr != nil {
				t.Fatalf("walked %q, which encoding/json refuses: %v", doc, derr)
			}
		} else if json.Valid(doc) && err != errTooDeep {
			t.Fatalf("refused %q, which is JSON: %v", doc, err)
		}
		if err != nil {
			return
		}
		for _, n := range strs {
			if !bytes.Equal(n.raw, doc[n.start:n.end]) {
				t.Fatalf("%q: raw %q is not bytes %d-%d", doc, n.raw, n.start, n.end)
			}
			var s string
			if err := json.Unmarshal(n.raw, &s); err != nil || s != n.str {
				t.Fatalf("%q: string %q decoded %q, encoding/json says %q (%v)", doc, n.raw, n.str, s, err)
			}
		}
	})
}
