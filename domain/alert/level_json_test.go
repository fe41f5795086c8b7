package alert

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

func TestLevelJSON(t *testing.T) {
	l := Level{Channels: []Channel{ChannelInApp}, AckTimeout: 90 * time.Second}
	b, err := json.Marshal(l)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), `"ackTimeoutSeconds":90`) {
		t.Fatalf("encoded %s", b)
	}
	cases := map[string]time.Duration{
		`{"ackTimeoutSeconds":90}`:        90 * time.Second,
		`{"ackTimeoutSeconds":0.25}`:      250 * time.Millisecond,
		`{"ackTimeout":180000000000}`:     3 * time.Minute, // histories recorded before seconds
		`{"recipients":[],"channels":[]}`: 0,
	}
	for in, want := range cases {
		var got Level
		if err := json.Unmarshal([]byte(in), &got); err != nil || got.AckTimeout != want {
			t.Errorf("%s: %v %v, want %v", in, got.AckTimeout, err, want)
		}
	}
}
