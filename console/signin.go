package console

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// login starts the authorization code flow with PKCE (S256): the state and
// verifier go into a short-lived sealed cookie, the browser to the engine's
// sign-in page.
func (c *Console) login(w http.ResponseWriter, r *http.Request) {
	state, err := randomString(24)
	if err != nil {
		c.serverError(w, r, err)
		return
	}
	verifier, err := randomString(48)
	if err != nil {
		c.serverError(w, r, err)
		return
	}
	v, err := c.seal.seal(loginCookie, pendingLogin{State: state, Verifier: verifier, Next: localPath(r.URL.Query().Get("next"))},
		c.now().Add(loginTTL))
	if err != nil {
		c.serverError(w, r, err)
		return
	}
	c.setCookie(w, r, loginCookie, v, http.SameSiteLaxMode, int(loginTTL/time.Second))
	sum := sha256.Sum256([]byte(verifier))
	q := url.Values{
		"response_type": {"code"}, "client_id": {ClientID}, "redirect_uri": {c.redirectURI(r)},
		"scope": {strings.Join(Scopes, " ")}, "state": {state},
		"code_challenge": {base64.RawURLEncoding.EncodeToString(sum[:])}, "code_challenge_method": {"S256"},
	}
	http.Redirect(w, r, "/v1/auth/oauth2/authorize?"+q.Encode(), http.StatusSeeOther)
}

// callback receives the engine's answer to the sign-in: it checks the state
// against the login cookie, exchanges the code with the verifier at the
// token endpoint, reads who signed in from userinfo and starts the session.
func (c *Console) callback(w http.ResponseWriter, r *http.Request) {
	var p pendingLogin
	ck, err := r.Cookie(loginCookie)
	if err != nil || c.seal.open(loginCookie, ck.Value, c.now(), &p) != nil {
		c.errorPage(w, r, http.StatusBadRequest, "This sign-in has expired or was started in another browser. Sign in again.")
		return
	}
	c.setCookie(w, r, loginCookie, "", http.SameSiteLaxMode, -1)
	q := r.URL.Query()
	if subtle.ConstantTimeCompare([]byte(q.Get("state")), []byte(p.State)) != 1 {
		c.errorPage(w, r, http.StatusBadRequest, "This sign-in answer does not belong to the sign-in this browser started. Sign in again.")
		return
	}
	if e := q.Get("error"); e != "" {
		msg := "The sign-in did not complete (" + e + ")."
		if d := q.Get("error_description"); d != "" {
			msg += " " + d
		}
		c.errorPage(w, r, http.StatusForbidden, msg)
		return
	}
	var t tokenAnswer
	err = c.api.postForm(r, "/v1/auth/oauth2/token", url.Values{"grant_type": {"authorization_code"}, "client_id": {ClientID},
		"code": {q.Get("code")}, "redirect_uri": {c.redirectURI(r)}, "code_verifier": {p.Verifier}}, &t)
	if err != nil || t.Access == "" {
		c.log.WarnContext(r.Context(), "console sign-in: code not exchanged", "status", statusOf(err))
		c.errorPage(w, r, http.StatusBadGateway, "The engine did not accept this sign-in. Sign in again.")
		return
	}
	var info struct {
		Sub      string `json:"sub"`
		Name     string `json:"name"`
		Username string `json:"preferred_username"`
		FHIRUser string `json:"fhirUser"`
	}
	if err := c.api.get(r, "/v1/auth/userinfo", t.Access, &info); err != nil {
		c.serverError(w, r, err)
		return
	}
	id, err := randomString(24)
	if err != nil {
		c.serverError(w, r, err)
		return
	}
	s := session{ID: id, Access: t.Access, Refresh: t.Refresh, Expiry: c.now().Add(time.Duration(t.ExpiresIn) * time.Second),
		Practitioner: strings.TrimPrefix(info.FHIRUser, "Practitioner/"), Name: info.Name, Username: info.Username}
	if !strings.HasPrefix(info.FHIRUser, "Practitioner/") {
		s.Practitioner = ""
	}
	if err := c.saveSession(w, r, s); err != nil {
		c.serverError(w, r, err)
		return
	}
	http.Redirect(w, r, localPath(p.Next), http.StatusSeeOther)
}

// logout revokes the session's tokens at the engine and clears the cookie.
// It is a CSRF-protected POST: a link elsewhere cannot sign anyone out.
func (c *Console) logout(w http.ResponseWriter, r *http.Request) {
	s, ok := c.currentSession(r)
	if !ok {
		c.clearSession(w, r)
		http.Redirect(w, r, "/console/", http.StatusSeeOther)
		return
	}
	if !c.csrfOK(r, s) {
		c.errorPage(w, r, http.StatusForbidden, "This form has expired. Reload the page and try again.")
		return
	}
	for _, tok := range []string{s.Refresh, s.Access} {
		if tok == "" {
			continue
		}
		if err := c.api.postForm(r, "/v1/auth/oauth2/revoke", url.Values{"client_id": {ClientID}, "token": {tok}}, nil); err != nil {
			c.log.WarnContext(r.Context(), "console sign-out: token not revoked", "status", statusOf(err))
		}
	}
	c.clearSession(w, r)
	c.render(w, r, http.StatusOK, "signedout", pageData{Title: "Signed out"})
}
