package workers

import (
	"slices"
	"testing"
)

func TestParseQueues(t *testing.T) {
	cases := []struct {
		in      string
		want    []string
		wantErr bool
	}{
		{"all", Queues, false},
		{"", Queues, false},
		{"encounters", []string{"encounters"}, false},
		{" alerts , encounters ", []string{"alerts", "encounters"}, false},
		{"encounters,encounters", nil, true},
		{"billing", nil, true},
		{"encounters,", nil, true},
	}
	for _, tc := range cases {
		got, err := ParseQueues(tc.in)
		if (err != nil) != tc.wantErr || !slices.Equal(got, tc.want) {
			t.Errorf("ParseQueues(%q) = %v, %v; want %v (error %v)", tc.in, got, err, tc.want, tc.wantErr)
		}
	}
}
