package main

import (
	"github.com/zarish-sphere/zarish/api"
	"github.com/zarish-sphere/zarish/integrations/auth"
)

// signInEndpoints are the authorization server's endpoints the API serves
// beside the token endpoint.
func signInEndpoints(oauth *auth.Server) api.SignIn {
	return api.SignIn{
		Authorize:   oauth.AuthorizeHandler(),
		Introspect:  oauth.IntrospectionHandler(),
		Revoke:      oauth.RevocationHandler(),
		Userinfo:    oauth.UserinfoHandler(),
		Discovery:   oauth.DiscoveryHandler(),
		Revocations: oauth.Revocations(),
	}
}
