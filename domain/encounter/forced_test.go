package encounter

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/google/uuid"
)

func TestForcedDischargeDescription(t *testing.T) {
	open := uuid.MustParse("0193c0de-0000-7000-8000-000000000001")
	closed := uuid.MustParse("0193c0de-0000-7000-8000-000000000002")
	s := State{
		DischargeReason: "transferred to another hospital",
		Orders: []Order{
			{ID: open, Kind: OrderPrescription, Status: OrderOpen},
			{ID: closed, Kind: OrderDiagnostic, Status: OrderClosed},
		},
	}
	want := "FORCED DISCHARGE with 1 open order(s) [prescription " + open.String() + "]: transferred to another hospital"
	if got := ForcedDischarge(s); got != want {
		t.Fatalf("got %q\nwant %q", got, want)
	}

	s.Orders[0].Status = OrderClosed
	if got := ForcedDischarge(s); got != "" {
		t.Fatalf("an ordinary discharge is described as %q", got)
	}

	s.Orders[0].Status = OrderOpen
	s.DischargeReason = strings.Repeat("é", 1500) // 3,000 bytes
	got := ForcedDischarge(s)
	if len(got) > maxForcedDescription || !utf8.ValidString(got) || !strings.HasPrefix(got, ForcedDischargeMarker) {
		t.Fatalf("long reason: %d bytes, valid UTF-8 %v", len(got), utf8.ValidString(got))
	}
}
