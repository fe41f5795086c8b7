package procedure_test

import (
	"slices"
	"testing"

	"github.com/zarish-sphere/zarish/domain/procedure"
)

func TestFilterCheck(t *testing.T) {
	from, to := fxAt(0, 0, 0), fxAt(7, 0, 0)
	for _, tt := range []struct {
		name   string
		f      procedure.Filter
		fields []string
		size   int
	}{
		{"empty", procedure.Filter{}, nil, 50},
		{"everything", procedure.Filter{PatientID: fxPatient, Status: procedure.StatusBooked, ResourceID: fxTheatre,
			From: &from, To: &to, Limit: 200, Cursor: "abc"}, nil, 200},
		{"one", procedure.Filter{Limit: 1}, nil, 1},
		{"from only", procedure.Filter{From: &from}, nil, 50},
		{"too many", procedure.Filter{Limit: 201}, []string{"limit"}, 200},
		{"negative", procedure.Filter{Limit: -1}, []string{"limit"}, 50},
		{"unknown status", procedure.Filter{Status: "scheduled"}, []string{"status"}, 50},
		{"backwards", procedure.Filter{From: &to, To: &from}, []string{"to"}, 50},
		{"empty range", procedure.Filter{From: &from, To: &from}, []string{"to"}, 50},
		{"all wrong", procedure.Filter{Limit: 500, Status: "x", From: &to, To: &from}, []string{"limit", "status", "to"}, 200},
	} {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.f.Check()
			if got := fxFields(err); !slices.Equal(got, tt.fields) || (tt.fields == nil) != (err == nil) {
				t.Fatalf("fields %v, want %v (%v)", got, tt.fields, err)
			}
			if tt.f.PageSize() != tt.size {
				t.Fatalf("page size %d", tt.f.PageSize())
			}
		})
	}
}
