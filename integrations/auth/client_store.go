package auth

import (
	"context"

	"github.com/ory/fosite"

	"github.com/zarish-sphere/zarish/integrations/postgres"
)

// clientStore is the token endpoint's fosite storage: the OAuth store, with
// every client it loads widened by the scopes its roles grant, so fosite's
// check of the requested scopes and the default grant both see them.
type clientStore struct {
	*postgres.OAuthStore
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
	return roleClient{oc}, nil
}

// roleClient is a registered client whose grantable scopes include those of
// its roles.
type roleClient struct {
	*postgres.OAuthClient
}

// GetScopes returns the client's own scopes and those its roles grant.
func (c roleClient) GetScopes() fosite.Arguments {
	return GrantableScopes(c.Scopes, c.Roles)
}

// knownRoles returns the client's roles that are in the catalogue: a role
// dropped from it grants nothing, so it is not claimed either.
func (c roleClient) knownRoles() []string {
	var out []string
	for _, r := range c.Roles {
		if Role(r).Valid() {
			out = append(out, r)
		}
	}
	return out
}
