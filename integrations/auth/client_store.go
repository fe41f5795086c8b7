package auth

import (
	"context"
	"slices"

	"github.com/ory/fosite"

	"github.com/zarish-sphere/zarish/integrations/auth/access"
	"github.com/zarish-sphere/zarish/integrations/postgres"
)

// clientStore is the token endpoint's fosite storage: the OAuth store, with
// every client it loads widened by the scopes its roles grant, so fosite's
// check of the requested scopes and the default grant both see them.
type clientStore struct {
	*postgres.OAuthStore
	audience string // the API's, which every client may be granted
}

// GetClient loads an enabled client as a roleClient.
func (s clientStore) GetClient(ctx context.Context, id string) (fosite.Client, error) {
	c, err := s.OAuthStore.GetClient(ctx, id)
	if err != nil {
		return nil, err
	}
	oc, ok := c.(*postgres.OAuthClient)
	if !ok {
		return nil, fosite.ErrServerError.WithDebugf("oauth client %q has unexpected type %T", id, c)
	}
	return roleClient{OAuthClient: oc, audience: s.audience}, nil
}

// roleClient is a registered client whose grantable scopes include those of
// its roles, and whose audiences include the API's.
type roleClient struct {
	*postgres.OAuthClient
	audience string
}

// GetAudience returns the audiences the client may request: its own and the API's.
func (c roleClient) GetAudience() fosite.Arguments {
	if c.audience == "" || slices.Contains(c.Audience, c.audience) {
		return c.Audience
	}
	return append(slices.Clone(c.Audience), c.audience)
}

// GetScopes returns the client's own scopes and those its roles grant.
func (c roleClient) GetScopes() fosite.Arguments {
	return access.GrantableScopes(c.Scopes, c.Roles)
}

// knownRoles returns the client's roles that are in the catalogue: a role
// dropped from it grants nothing, so it is not claimed either.
func (c roleClient) knownRoles() []string {
	var out []string
	for _, r := range c.Roles {
		if access.Role(r).Valid() {
			out = append(out, r)
		}
	}
	return out
}
