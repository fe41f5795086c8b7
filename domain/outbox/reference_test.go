package outbox

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestReferenceKeepsIDsAndDropsContent(t *testing.T) {
	data := json.RawMessage(`{"id":"n-1","patientId":"p-1","encounterId":"e-1","Id":"x","text":"` + strings.Repeat("<", 1000) +
		`","authorId":7,"version":3,"amendsId":"` + strings.Repeat("a", 200) + `"}`)
	raw, err := json.Marshal(NewReference(data, "note.created", "DocumentReference/n-1", "/v1/clinical/notes/n-1", 6100))
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if err := json.Unmarshal(raw, &got); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"id": "n-1", "patientId": "p-1", "encounterId": "e-1", "contentOmitted": true, "reason": "size",
		"eventType": "note.created", "subject": "DocumentReference/n-1", "link": "/v1/clinical/notes/n-1", "omittedBytes": 6100.0}
	if len(got) != len(want) {
		t.Errorf("reference %s, want exactly %v", raw, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %v, want %v", k, got[k], v)
		}
	}
	// Content that is not an object still yields the reference.
	if r := NewReference(json.RawMessage(`"just text"`), "x", "", "/v1/x", 1); !r.ContentOmitted || len(r.IDs) != 0 {
		t.Errorf("reference of a string: %+v", r)
	}
}
