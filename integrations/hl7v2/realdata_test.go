package hl7v2

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

var update = flag.Bool("update", false, "rewrite testdata/real/expected.json from what Parse reads")

// realMessage is one file of testdata/real: messages sent by real laboratory
// and hospital systems (see testdata/real/README.md).
type realMessage struct {
	name string
	data []byte
}

func realMessages(tb testing.TB) []realMessage {
	tb.Helper()
	paths, err := filepath.Glob(filepath.Join("testdata", "real", "*.hl7"))
	if err != nil || len(paths) == 0 {
		tb.Fatalf("no messages in testdata/real: %v", err)
	}
	slices.Sort(paths)
	msgs := make([]realMessage, 0, len(paths))
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			tb.Fatal(err)
		}
		msgs = append(msgs, realMessage{name: filepath.Base(p), data: b})
	}
	return msgs
}

// refusedReal lists the real messages Parse refuses, each with the Error it
// must give and why the message really is malformed.
var refusedReal = map[string]struct {
	code     ErrorCode
	segment  string
	position int
	field    int
	why      string
}{
	"TN__001_TN_ORU_R01_LRI_annotated_for_transformation.hl7": {
		code: SegmentSequenceError, position: 6,
		why: `a copy of TN__001 annotated for people: lines of prose ("Remap OBR with OBR-4 valued …") stand between the segments`,
	},
	"TX__001_TX_OML_O21.hl7": {
		code: SegmentSequenceError, position: 6,
		why: `OBR-4.2 holds an unescaped line break ("Newborn screening" / "panel AHIC"), which ends the segment in the middle of a field`,
	},
	"Test__Message__msh_present_but_missing_all_fields.hl7": {
		code: RequiredFieldMissing, segment: "MSH", position: 1, field: 2,
		why: `the whole message is "MSH|": no encoding characters, so nothing can be read`,
	},
}

// realFacts is what the test asserts for each parsed real message.
type realFacts struct {
	File            string      `json:"file"`
	Type            MessageType `json:"type"`
	ControlID       string      `json:"control_id"`
	ProcessingID    string      `json:"processing_id"`
	Version         string      `json:"version"`
	SendingApp      HD          `json:"sending_application"`
	SendingFacility HD          `json:"sending_facility"`
	ReceivingApp    HD          `json:"receiving_application"`
	ReceivingFac    HD          `json:"receiving_facility"`
	Charset         string      `json:"charset"`
	Segments        int         `json:"segments"`
	Missing         []string    `json:"missing,omitempty"` // Header.Check's findings
	Digest          string      `json:"digest"`            // of mapped(m)
}

func factsOf(name string, m *Message) realFacts {
	h := m.Header
	f := realFacts{
		File: name, Type: h.Type, ControlID: h.ControlID, ProcessingID: h.ProcessingID, Version: h.Version,
		SendingApp: h.SendingApplication, SendingFacility: h.SendingFacility,
		ReceivingApp: h.ReceivingApplication, ReceivingFac: h.ReceivingFacility,
		Charset: h.Charset, Segments: len(m.Segments), Digest: digest(mapped(m)),
	}
	for _, e := range h.Check() {
		f.Missing = append(f.Missing, e.Location())
	}
	return f
}

func digest(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:8])
}

// TestRealMessages parses every real message: each one parses, with the
// header facts and mapped fields recorded in testdata/real/expected.json,
// or is refused with the precise Error refusedReal names.
func TestRealMessages(t *testing.T) {
	msgs := realMessages(t)
	goldenPath := filepath.Join("testdata", "real", "expected.json")
	var golden []realFacts
	if !*update {
		b, err := os.ReadFile(goldenPath)
		if err != nil {
			t.Fatalf("%v (run go test -run TestRealMessages -update to write it)", err)
		}
		if err := json.Unmarshal(b, &golden); err != nil {
			t.Fatal(err)
		}
	}
	want := map[string]realFacts{}
	for _, f := range golden {
		want[f.File] = f
	}

	var got []realFacts
	parsed, refused := 0, 0
	for _, msg := range msgs {
		m, err := Parse(msg.data)
		if r, ok := refusedReal[msg.name]; ok {
			refused++
			var e *Error
			if !errors.As(err, &e) {
				t.Errorf("%s: want refusal (%s), got %v", msg.name, r.why, err)
				continue
			}
			if e.Code != r.code || e.Segment != r.segment || e.Position != r.position || e.Field != r.field {
				t.Errorf("%s: got %v; want code %d, segment %q, position %d, field %d (%s)",
					msg.name, e, r.code, r.segment, r.position, r.field, r.why)
			}
			t.Logf("refused %s: %v — %s", msg.name, e, r.why)
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", msg.name, err)
			continue
		}
		parsed++
		f := factsOf(msg.name, m)
		got = append(got, f)
		if *update {
			continue
		}
		w, ok := want[msg.name]
		if !ok {
			t.Errorf("%s: not in expected.json", msg.name)
			continue
		}
		gb, _ := json.Marshal(f)
		wb, _ := json.Marshal(w)
		if string(gb) != string(wb) {
			t.Errorf("%s:\n got  %s\n want %s", msg.name, gb, wb)
		}
	}
	t.Logf("%d messages: %d parsed, %d refused", len(msgs), parsed, refused)
	if *update {
		// One message a line, so that a change shows as the lines it touches.
		var b []byte
		sep := "[\n"
		for _, f := range got {
			line, err := json.Marshal(f)
			if err != nil {
				t.Fatal(err)
			}
			b = append(append(b, sep...), line...)
			sep = ",\n"
		}
		b = append(b, "\n]\n"...)
		if err := os.WriteFile(goldenPath, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	if len(golden) != parsed {
		t.Errorf("expected.json lists %d messages, %d parsed", len(golden), parsed)
	}
}
