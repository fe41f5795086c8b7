package alert_test

import (
	"testing"

	"github.com/google/uuid"

	"github.com/zarish-sphere/zarish/domain/alert"
	"github.com/zarish-sphere/zarish/domain/careteam"
)

func TestMayResolve(t *testing.T) {
	notified, acked, colleague, stranger := uuid.New(), uuid.New(), uuid.New(), uuid.New()
	r := alert.Record{Unit: "ward-3", AcknowledgedBy: &acked, Timeline: []alert.Event{
		{Kind: alert.EventRaised}, {Kind: alert.EventNotified, PractitionerID: notified},
		{Kind: alert.EventUnreachable, PractitionerID: stranger}, // named in an entry, never notified
	}}
	resolvers := []careteam.Role{careteam.RoleChargeNurse}
	cases := []struct {
		name  string
		who   uuid.UUID
		units []string
		roles []careteam.Role
		want  bool
	}{
		{"notified", notified, nil, nil, true},
		{"acknowledged it", acked, nil, nil, true},
		{"works on its unit", colleague, []string{"ward-1", "ward-3"}, nil, true},
		{"another unit", colleague, []string{"ward-1"}, nil, false},
		{"holds a role the policy names", colleague, []string{"ward-1"}, []careteam.Role{careteam.RoleNurse, careteam.RoleChargeNurse}, true},
		{"holds other roles", colleague, []string{"ward-1"}, []careteam.Role{careteam.RoleNurse}, false},
		{"stranger", stranger, nil, nil, false},
		{"nobody", uuid.Nil, []string{"ward-3"}, resolvers, false},
	}
	for _, tc := range cases {
		if got := r.MayResolve(alert.Resolver{PractitionerID: tc.who, Units: tc.units, Roles: tc.roles}, resolvers); got != tc.want {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}
}
