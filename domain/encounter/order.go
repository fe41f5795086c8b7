package encounter

import (
	"slices"
	"time"

	"github.com/google/uuid"
)

// OrderKind is the process an order linked to the encounter belongs to.
type OrderKind string

// The kinds of order.
const (
	OrderPrescription OrderKind = "prescription"
	OrderProcedure    OrderKind = "procedure"
	OrderDiagnostic   OrderKind = "diagnostic"
)

// Valid reports whether k is a known kind.
func (k OrderKind) Valid() bool {
	return k == OrderPrescription || k == OrderProcedure || k == OrderDiagnostic
}

// OrderStatus is whether a linked order still needs work.
type OrderStatus string

// The order statuses.
const (
	OrderOpen   OrderStatus = "open"
	OrderClosed OrderStatus = "closed"
)

// Order is an order placed during the encounter by another process.
type Order struct {
	ID       uuid.UUID   `json:"id"`
	Kind     OrderKind   `json:"kind"`
	Status   OrderStatus `json:"status"`
	LinkedAt time.Time   `json:"linkedAt"`
	ClosedAt *time.Time  `json:"closedAt,omitempty"`
}

// OpenOrders lists the orders still open.
func (s State) OpenOrders() []Order {
	var out []Order
	for _, o := range s.Orders {
		if o.Status == OrderOpen {
			out = append(out, o)
		}
	}
	return out
}

// LinkOrder adds an open order to the encounter. Linking an order already
// linked changes nothing and reports false.
func (s State) LinkOrder(id uuid.UUID, kind OrderKind, at time.Time) (State, bool) {
	if id == uuid.Nil || !kind.Valid() || s.orderIndex(id) >= 0 {
		return s, false
	}
	s.Orders = append(slices.Clip(s.Orders), Order{ID: id, Kind: kind, Status: OrderOpen, LinkedAt: at})
	s = s.append(EventOrderLinked, uuid.Nil, at, string(kind)+" "+id.String())
	return s, true
}

// CloseOrder marks a linked order closed. An unknown or already closed order
// changes nothing and reports false.
func (s State) CloseOrder(id uuid.UUID, at time.Time) (State, bool) {
	i := s.orderIndex(id)
	if i < 0 || s.Orders[i].Status == OrderClosed {
		return s, false
	}
	s.Orders = slices.Clone(s.Orders)
	s.Orders[i].Status, s.Orders[i].ClosedAt = OrderClosed, &at
	s = s.append(EventOrderClosed, uuid.Nil, at, string(s.Orders[i].Kind)+" "+id.String())
	return s, true
}

func (s State) orderIndex(id uuid.UUID) int {
	return slices.IndexFunc(s.Orders, func(o Order) bool { return o.ID == id })
}
