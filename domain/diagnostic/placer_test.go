package diagnostic_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/zarish-sphere/zarish/domain/diagnostic"
)

// An order another system placed keeps its placer order number, trimmed;
// one without its sender or number, or with a part too long, is refused on
// that part. An order placed here has none.
func TestNewOrderKeepsThePlacerNumber(t *testing.T) {
	req := request("2823-3")
	req.Placer = &diagnostic.Placer{Sender: " EHR|GHH ", Number: " PLC-1 ", Namespace: "EHR"}
	o, err := diagnostic.NewOrder(req, catalogue)
	if err != nil || o.Placer == nil || *o.Placer != (diagnostic.Placer{Sender: "EHR|GHH", Number: "PLC-1", Namespace: "EHR"}) {
		t.Fatalf("order %+v, %v", o.Placer, err)
	}
	if o, err := diagnostic.NewOrder(request("2823-3"), catalogue); err != nil || o.Placer != nil {
		t.Fatalf("an order placed here: %+v, %v", o.Placer, err)
	}
	req.Placer = &diagnostic.Placer{Number: " ", Namespace: strings.Repeat("x", diagnostic.MaxPlacerLen+1)}
	_, err = diagnostic.NewOrder(req, catalogue)
	if got := fields(err); !slices.Equal(got, []string{"placer.sender", "placer.number", "placer.namespace"}) {
		t.Fatalf("refused %v (%v)", got, err)
	}
}
