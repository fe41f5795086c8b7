package encounter

import (
	"strconv"
	"strings"
	"unicode/utf8"
)

// ForcedDischargeMarker opens the audit description of a discharge that
// overrode open orders, so such discharges can be found in the audit trail.
const ForcedDischargeMarker = "FORCED DISCHARGE"

// maxForcedDescription is the longest description an audit record holds.
const maxForcedDescription = 2000

// ForcedDischarge describes, for the audit trail, a discharge that overrode
// open orders: which orders were left open and the reason given. It is empty
// for an ordinary discharge.
func ForcedDischarge(s State) string {
	open := s.OpenOrders()
	if len(open) == 0 {
		return ""
	}
	orders := make([]string, len(open))
	for i, o := range open {
		orders[i] = string(o.Kind) + " " + o.ID.String()
	}
	d := ForcedDischargeMarker + " with " + strconv.Itoa(len(open)) + " open order(s) [" + strings.Join(orders, ", ") + "]: " + s.DischargeReason
	for len(d) > maxForcedDescription {
		_, size := utf8.DecodeLastRuneInString(d)
		d = d[:len(d)-size]
	}
	return d
}
