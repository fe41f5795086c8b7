package careteam_test

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/zarish-sphere/zarish/domain"
	"github.com/zarish-sphere/zarish/domain/careteam"
)

func TestPractitionerLimits(t *testing.T) {
	name := strings.Repeat("ক", careteam.MaxNameLen)
	units := slices.Repeat([]string{strings.Repeat("ও", careteam.MaxUnitLen)}, careteam.MaxUnits)
	if _, err := careteam.NewPractitioner(uuid.New(), name, []careteam.Role{careteam.RoleNurse}, units, nil); err != nil {
		t.Fatalf("at the limits: %v", err)
	}
	for _, tt := range []struct {
		field    string
		name     string
		roles    []careteam.Role
		units    []string
		contacts []careteam.ContactPoint
	}{
		{"name", name + "ক", nil, nil, nil},
		{"roles", "Joy", slices.Repeat([]careteam.Role{careteam.RoleNurse}, 100_000), nil, nil},
		{"units", "Joy", nil, append(units, "ward-9"), nil},
		{"units[0]", "Joy", nil, []string{strings.Repeat("ও", careteam.MaxUnitLen+1)}, nil},
		{"contacts[0].value", "Joy", nil, nil, []careteam.ContactPoint{{System: careteam.ContactPush, Value: strings.Repeat("t", careteam.MaxContactValueLen+1)}}},
		{"roles[0]", "Joy", []careteam.Role{careteam.Role(strings.Repeat("x", 900_000))}, nil, nil},
	} {
		roles := tt.roles
		if roles == nil {
			roles = []careteam.Role{careteam.RoleNurse}
		}
		_, err := careteam.NewPractitioner(uuid.New(), tt.name, roles, tt.units, tt.contacts)
		var v *domain.ValidationError
		if !errors.As(err, &v) || !slices.ContainsFunc(v.Fields, func(f domain.FieldError) bool { return f.Field == tt.field && len(f.Message) < 200 }) {
			t.Errorf("%s: %.300v", tt.field, err)
		}
	}
}
