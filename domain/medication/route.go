package medication

// Route is a normalised route of administration.
type Route string

// The routes dose rules are written for.
const (
	RouteOral        Route = "oral"
	RouteIV          Route = "iv"
	RouteIM          Route = "im"
	RouteSC          Route = "sc"
	RouteRectal      Route = "rectal"
	RouteSublingual  Route = "sublingual"
	RouteBuccal      Route = "buccal"
	RouteInhaled     Route = "inhaled"
	RouteNasal       Route = "nasal"
	RouteTopical     Route = "topical"
	RouteTransdermal Route = "transdermal"
)

// Routes lists every route, for validation.
var Routes = []Route{RouteOral, RouteIV, RouteIM, RouteSC, RouteRectal, RouteSublingual, RouteBuccal,
	RouteInhaled, RouteNasal, RouteTopical, RouteTransdermal}

// routeWords maps the ways prescribers write a route to the route.
var routeWords = map[string]Route{
	"oral": RouteOral, "po": RouteOral, "p.o.": RouteOral, "by mouth": RouteOral, "enteral": RouteOral,
	"ng": RouteOral, "peg": RouteOral, "nasogastric": RouteOral,
	"iv": RouteIV, "i.v.": RouteIV, "intravenous": RouteIV, "ivi": RouteIV, "iv infusion": RouteIV,
	"iv bolus": RouteIV, "io": RouteIV, "intraosseous": RouteIV,
	"im": RouteIM, "i.m.": RouteIM, "intramuscular": RouteIM,
	"sc": RouteSC, "sq": RouteSC, "subcut": RouteSC, "subcutaneous": RouteSC, "s.c.": RouteSC,
	"pr": RouteRectal, "rectal": RouteRectal, "p.r.": RouteRectal,
	"sl": RouteSublingual, "sublingual": RouteSublingual,
	"buccal": RouteBuccal,
	"inh":    RouteInhaled, "inhaled": RouteInhaled, "inhalation": RouteInhaled, "neb": RouteInhaled,
	"nebulised": RouteInhaled, "nebulized": RouteInhaled,
	"nasal": RouteNasal, "intranasal": RouteNasal, "in": RouteNasal,
	"topical": RouteTopical, "top": RouteTopical, "cutaneous": RouteTopical,
	"td": RouteTransdermal, "transdermal": RouteTransdermal, "patch": RouteTransdermal,
}

// ParseRoute normalises a written route; false when it is not recognised.
func ParseRoute(s string) (Route, bool) {
	var buf [foldLen]byte
	r, ok := routeWords[string(fold(&buf, s))]
	return r, ok
}

// systemic reports whether a route reaches the circulation in doses that
// count towards a daily maximum.
func (r Route) systemic() bool {
	return r != RouteTopical && r != RouteInhaled && r != RouteNasal
}
