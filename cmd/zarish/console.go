package main

import (
	"context"
	"crypto/hkdf"
	"crypto/sha256"
	"fmt"
	"log/slog"
	"net/http"
	"slices"

	"github.com/zarish-sphere/zarish/console"
	"github.com/zarish-sphere/zarish/integrations/auth"
	"github.com/zarish-sphere/zarish/integrations/postgres"
)

// consoleHandler builds the clinical console over the API router that
// router returns once it has the console: the console calls the API in
// this process through that router, which in turn serves the console at
// /console. baseURL is the server's public URL ("" derives it from each
// request); the cookie key is derived from secret (the OAuth2 server's
// HMAC secret, shared by every replica), or generated when there is none.
// The boards' live streams end when ctx does, so the server drains.
// workflowUI is the Temporal Web UI's base URL the patient page links each
// process to, in namespace; "" links nothing.
func consoleHandler(ctx context.Context, baseURL, workflowUI, namespace string, secret []byte, logger *slog.Logger,
	router func(console http.Handler) http.Handler) (http.Handler, error) {
	var key []byte
	if len(secret) > 0 {
		k, err := hkdf.Key(sha256.New, secret, nil, "zarish console cookie key v1", console.KeySize)
		if err != nil {
			return nil, fmt.Errorf("console key: %w", err)
		}
		key = k
	}
	var engine http.Handler
	c, err := console.New(console.Options{
		Engine:  http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { engine.ServeHTTP(w, r) }),
		BaseURL: baseURL, Key: key, Logger: logger, Shutdown: ctx.Done(), WorkflowUI: workflowUI, Namespace: namespace,
	})
	if err != nil {
		return nil, err
	}
	engine = router(c)
	return engine, nil
}

// ensureConsoleClient registers the console's OAuth2 client unless it
// exists: public and first-party (no consent step), authorization code with
// PKCE, sent back to baseURL's /console/callback. A client registered
// earlier for another address is left alone, and said so.
func ensureConsoleClient(ctx context.Context, store *postgres.OAuthStore, baseURL string, logger *slog.Logger) error {
	redirect := baseURL + console.CallbackPath
	c, err := auth.NewAppClient(auth.AppClient{ID: console.ClientID, Name: "ZARISH clinical console", RedirectURIs: []string{redirect},
		FirstParty: true, Scopes: console.Scopes})
	if err != nil {
		return fmt.Errorf("console client: %w", err)
	}
	created, err := store.EnsureClient(ctx, c)
	if err != nil {
		return fmt.Errorf("console client: %w", err)
	}
	if created {
		logger.Info("created OAuth2 client", "client", console.ClientID, "redirect", redirect)
		return nil
	}
	have, err := store.GetOAuthClient(ctx, console.ClientID)
	if err != nil {
		return fmt.Errorf("console client: %w", err)
	}
	if !slices.Contains(have.RedirectURIs, redirect) {
		logger.Warn("the console's OAuth2 client sends sign-ins elsewhere: signing in to the console here will fail",
			"client", console.ClientID, "registered", have.RedirectURIs, "here", redirect)
	}
	// A console of a newer version asks for more: the client registered
	// by an older one gets the scopes its pages call the API with.
	if missing := slices.DeleteFunc(slices.Clone(console.Scopes), func(sc string) bool { return slices.Contains(have.Scopes, sc) }); len(missing) > 0 {
		if err := store.SetClientAccess(ctx, console.ClientID, slices.Concat(have.Scopes, missing), have.Roles); err != nil {
			return fmt.Errorf("console client scopes: %w", err)
		}
		logger.Info("gave the console's OAuth2 client the scopes it asks for", "client", console.ClientID, "added", missing)
	}
	return nil
}
