package hl7v2

import (
	"encoding/json"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// TestOracleMedplum reads every real message with @medplum/hl7's parser
// (testdata/oracle/oracle.mjs) and compares its reading of the mapped fields
// with ours, field by field.
//
// The parsers differ in one way, by design: @medplum/hl7 splits a value but
// never decodes its escape sequences (Hl7Field.getComponent returns the text
// as received), while HL7 v2.5.1 section 2.7 has the receiver decode them:
// \.br\ is a line break, \S\ \R\ \T\ \F\ \E\ the delimiters they stand for.
// A value that differs only that way — theirs holds escape sequences and
// decoding them as section 2.7 says (stdDecode, written apart from our
// decoder) gives ours — is a justified divergence, counted and logged; any
// other difference fails the test.
//
// Hl7Message.parse reads a message only if it begins with MSH, so the
// oracle is handed the batch-enveloped message without its FHS and BHS. The
// messages we refuse (see refusedReal) are not compared.
func TestOracleMedplum(t *testing.T) {
	requireNode(t)
	var theirs []map[string]any
	runNode(t, &theirs, "oracle.mjs", filepath.Join("..", "real"))

	byFile := map[string]map[string]any{}
	for _, r := range theirs {
		byFile[r["file"].(string)] = r
	}
	compared, justified := 0, 0
	kinds := map[string]int{} // escape sequences behind the justified divergences
	for _, msg := range realMessages(t) {
		th, ok := byFile[msg.name]
		if !ok {
			t.Errorf("%s: the oracle did not read it", msg.name)
			continue
		}
		m, err := Parse(msg.data)
		if _, refused := refusedReal[msg.name]; refused {
			t.Logf("%s: refused by us (%v); oracle: %v", msg.name, err, orDash(th["error"]))
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", msg.name, err)
			continue
		}
		if e, ok := th["error"]; ok {
			t.Errorf("%s: the oracle failed: %v", msg.name, e)
			continue
		}
		delete(th, "file")
		ours := generic(t, mapped(m))
		compared++
		for _, d := range diff("", ours, th) {
			if d.justified() {
				justified++
				for _, seq := range escapeSeq.FindAllString(d.theirs.(string), -1) {
					kinds[seq]++
				}
				if justified <= 5 {
					t.Logf("%s %s: escapes decoded by us, not by @medplum/hl7: ours %.60q…, theirs %.60q…", msg.name, d.path, d.ours, d.theirs)
				}
				continue
			}
			t.Errorf("%s %s: ours %s, theirs %s", msg.name, d.path, show(d.ours), show(d.theirs))
		}
	}
	t.Logf("compared %d messages with @medplum/hl7; %d values differ only by escape sequences decoded as section 2.7 says: %v", compared, justified, kinds)
	if compared == 0 {
		t.Fatal("no message compared")
	}
}

func orDash(v any) any {
	if v == nil {
		return "read it"
	}
	return v
}

// generic turns v into what encoding/json decodes JSON into, so that our
// reading and the oracle's compare as the same kinds of values.
func generic(t *testing.T, v any) any {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var out any
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

// difference is one value the two readings disagree on.
type difference struct {
	path         string
	ours, theirs any
}

// justified reports whether the difference is only that the oracle left
// escape sequences undecoded.
func (d difference) justified() bool {
	o, ok1 := d.ours.(string)
	th, ok2 := d.theirs.(string)
	return ok1 && ok2 && strings.Contains(th, `\`) && stdDecode(th) == o
}

// diff walks two decoded JSON values and returns where they differ.
func diff(path string, ours, theirs any) []difference {
	switch o := ours.(type) {
	case map[string]any:
		th, ok := theirs.(map[string]any)
		if !ok {
			return []difference{{path, ours, theirs}}
		}
		var out []difference
		keys := map[string]bool{}
		for k := range o {
			keys[k] = true
		}
		for k := range th {
			keys[k] = true
		}
		for k := range keys {
			out = append(out, diff(join(path, k), o[k], th[k])...)
		}
		return out
	case []any:
		th, ok := theirs.([]any)
		if !ok || len(th) != len(o) {
			return []difference{{path, ours, theirs}}
		}
		var out []difference
		for i := range o {
			out = append(out, diff(path+"["+strconv.Itoa(i+1)+"]", o[i], th[i])...)
		}
		return out
	}
	if ours != theirs {
		return []difference{{path, ours, theirs}}
	}
	return nil
}

func join(path, key string) string {
	if path == "" {
		return strings.ToUpper(key)
	}
	return path + "-" + key
}

func show(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

var escapeSeq = regexp.MustCompile(`\\[^\\]*\\`)

var hexEscape = regexp.MustCompile(`\\X([0-9A-Fa-f]{2})+\\`)

// stdDecode decodes the escape sequences of HL7 v2.5.1 section 2.7 for the
// standard delimiters |^~\&, keeping unknown sequences: the reading the
// standard asks of a receiver, written here apart from the package's own.
func stdDecode(s string) string {
	var b strings.Builder
	for s != "" {
		i := strings.IndexByte(s, '\\')
		if i < 0 {
			b.WriteString(s)
			break
		}
		j := strings.IndexByte(s[i+1:], '\\')
		if j < 0 {
			b.WriteString(s)
			break
		}
		b.WriteString(s[:i])
		seq := s[i : i+j+2]
		switch seq {
		case `\F\`:
			b.WriteString("|")
		case `\S\`:
			b.WriteString("^")
		case `\R\`:
			b.WriteString("~")
		case `\T\`:
			b.WriteString("&")
		case `\E\`:
			b.WriteString(`\`)
		case `\.br\`:
			b.WriteString("\n")
		default:
			if hexEscape.MatchString(seq) && len(seq)%2 == 1 {
				var raw []byte
				for k := 2; k+1 < len(seq)-1; k += 2 {
					n, _ := strconv.ParseUint(seq[k:k+2], 16, 8)
					raw = append(raw, byte(n))
				}
				b.Write(raw)
			} else {
				b.WriteString(seq)
			}
		}
		s = s[i+j+2:]
	}
	return b.String()
}
