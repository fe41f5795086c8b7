package api

import (
	"net/http"
	"strings"

	"github.com/zarish-sphere/zarish/integrations/auth/access"
)

// requirements gives each route the one SMART v2 permission its operation
// needs, from the v1 scope the route table names (system/Encounter.read or
// .write), by "METHOD /path":
//
//   - a read is r when the route reads one resource by its id (the path ends
//     in a parameter, or a POST that names its subject in the body, as
//     decision support does) and s when it searches or lists;
//   - a write is c for a create — a POST on a collection: a path with no
//     parameter, or one the table also lists with GET (notes of an
//     encounter) — u for a change (PUT, PATCH, a POST of an action on a
//     resource) and d for DELETE.
//
// A v1 grant holds both of its permissions (read is rs, write cud), so v1
// tokens reach what they always did; a v2 grant reaches exactly what its
// letters say. A scope already in the v2 form, one granting everything, and
// one that is not a SMART clinical scope (openid) are kept as they are.
func requirements(routes []Route) map[string]string {
	listed := map[string]bool{}
	for _, rt := range routes {
		if rt.Method == http.MethodGet {
			listed[rt.Path] = true
		}
	}
	out := make(map[string]string, len(routes))
	for _, rt := range routes {
		out[rt.Method+" "+rt.Path] = requirement(rt, listed[rt.Path])
	}
	return out
}

func requirement(rt Route, listed bool) string {
	sc, err := access.ParseScope(rt.Scope)
	if err != nil || !sc.V1 || sc.Perms == access.PermsAll {
		return rt.Scope
	}
	byID := strings.HasPrefix(rt.Path[strings.LastIndexByte(rt.Path, '/')+1:], ":")
	get := rt.Method == http.MethodGet || rt.Method == http.MethodHead
	switch {
	case sc.Perms == access.PermsRead && get && !byID:
		sc.Perms = access.PermSearch
	case sc.Perms == access.PermsRead:
		sc.Perms = access.PermRead
	case rt.Method == http.MethodDelete:
		sc.Perms = access.PermDelete
	case rt.Method == http.MethodPut || rt.Method == http.MethodPatch:
		sc.Perms = access.PermUpdate
	case !strings.Contains(rt.Path, "/:") || listed && !byID:
		sc.Perms = access.PermCreate
	default:
		sc.Perms = access.PermUpdate
	}
	sc.V1 = false
	return sc.String()
}
