package alert_test

import (
	"testing"

	"github.com/google/uuid"

	"github.com/zarish-sphere/zarish/domain/alert"
)

func TestMayResolve(t *testing.T) {
	notified, acked, colleague, stranger := uuid.New(), uuid.New(), uuid.New(), uuid.New()
	r := alert.Record{Unit: "ward-3", AcknowledgedBy: &acked, Timeline: []alert.Event{
		{Kind: alert.EventRaised}, {Kind: alert.EventNotified, PractitionerID: notified},
		{Kind: alert.EventUnreachable, PractitionerID: stranger}, // named in an entry, never notified
	}}
	cases := []struct {
		name  string
		who   uuid.UUID
		units []string
		want  bool
	}{
		{"notified", notified, nil, true},
		{"acknowledged it", acked, nil, true},
		{"works on its unit", colleague, []string{"ward-1", "ward-3"}, true},
		{"another unit", colleague, []string{"ward-1"}, false},
		{"stranger", stranger, nil, false},
		{"nobody", uuid.Nil, []string{"ward-3"}, false},
	}
	for _, tc := range cases {
		if got := r.MayResolve(tc.who, tc.units); got != tc.want {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}
}
