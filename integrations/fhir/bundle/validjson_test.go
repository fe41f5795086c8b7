package bundle

import (
	"encoding/json"
	"testing"
)

// validJSON agrees with json.Valid.
func TestValidJSON(t *testing.T) {
	for _, s := range []string{
		`{}`, `[]`, `""`, `0`, `-0`, `1.5e+10`, `-12.0E3`, `true`, `false`, `null`, ` {"a" : [1, {"b": "\u00e9\n"}], "c": null} `,
		`{`, `}`, `[1,]`, `{"a":1,}`, `{"a" 1}`, `{a:1}`, `01`, `1.`, `.5`, `1e`, `-`, `+1`, `"\x"`, `"\u12g4"`, "\"\x01\"", `tru`, `nul`,
		`"abc`, `[1 2]`, `{"a":1}{}`, `"\ud800"`, "\"\xff\"", `[[[[]]]]`, `{"a":{"b":{"c":[]}}}`, ``, ` `, `"\`, `1 2`,
	} {
		if got, want := validJSON([]byte(s)), json.Valid([]byte(s)); got != want {
			t.Errorf("%q: %v, json.Valid %v", s, got, want)
		}
	}
}

// FuzzValidJSON: validJSON agrees with json.Valid on every input.
func FuzzValidJSON(f *testing.F) {
	f.Add([]byte(`{"resourceType":"Bundle","entry":[{"a":[1,-2.5e3,true,null,"\u00e9\\"]}]}`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		if got, want := validJSON(raw), json.Valid(raw); got != want {
			t.Fatalf("%q: %v, json.Valid %v", raw, got, want)
		}
	})
}
