package alert

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/zarish-sphere/zarish/domain"
	"github.com/zarish-sphere/zarish/domain/careteam"
)

func TestRaiseAndPolicyLimits(t *testing.T) {
	r := Raise{AlertID: uuid.New(), PatientID: uuid.New(), Unit: strings.Repeat("ও", MaxUnitLen), Severity: SeverityCritical,
		Category: "lab", Source: "lab/1", Message: strings.Repeat("ক", MaxMessageLen)}
	if err := r.Validate(); err != nil {
		t.Fatalf("at the limits: %v", err)
	}
	r.Message += "ক"
	r.PolicyID = strings.Repeat("p", 65)
	var v *domain.ValidationError
	if err := r.Validate(); !errors.As(err, &v) || len(v.Fields) != 2 || v.Fields[0].Field != "message" || v.Fields[1].Field != "policyId" {
		t.Fatalf("over the limits: %+v", v)
	}
	level := Level{Recipients: []RecipientRule{{Kind: RecipientOnCall, Role: careteam.RoleNurse}}, Channels: []Channel{ChannelInApp}, AckTimeout: time.Minute}
	p := Policy{ID: "ward-7.fast_1", Levels: []Level{level}}
	if err := p.Validate(); err != nil {
		t.Fatalf("valid policy: %v", err)
	}
	for _, id := range []string{"../../v1/patients", "Ward-7", strings.Repeat("a", 65), "-x", "a b"} {
		p.ID = id
		if err := p.Validate(); err == nil || !strings.Contains(err.Error(), "id") {
			t.Errorf("policy id %q accepted: %v", id, err)
		}
	}
	p.ID = "many"
	for range 5000 {
		p.Levels = append(p.Levels, level)
	}
	if err := p.Validate(); err == nil || !strings.Contains(err.Error(), "levels") {
		t.Fatalf("5,000 levels: %v", err)
	}
}
