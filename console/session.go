package console

import (
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Cookie names. Both live under /console only.
const (
	sessionCookie = "zarish_console"
	loginCookie   = "zarish_console_login"
)

// loginTTL bounds a sign-in in progress: from /console/login to the callback.
const loginTTL = 10 * time.Minute

// refreshMargin is how long before its expiry an access token is refreshed.
const refreshMargin = 30 * time.Second

// session is what the session cookie holds: the user's tokens and who they
// are. ID ties the session's CSRF token to it.
type session struct {
	ID           string    `json:"id"`
	Access       string    `json:"at"`
	Refresh      string    `json:"rt,omitempty"`
	Expiry       time.Time `json:"exp"`
	Practitioner string    `json:"pr,omitempty"`
	Name         string    `json:"name,omitempty"`
	Username     string    `json:"user,omitempty"`
}

// pendingLogin is what the login cookie holds between /console/login and
// the callback.
type pendingLogin struct {
	State    string `json:"state"`
	Verifier string `json:"verifier"`
	Next     string `json:"next,omitempty"`
}

// tokenAnswer is the token endpoint's answer.
type tokenAnswer struct {
	Access    string `json:"access_token"`
	Refresh   string `json:"refresh_token"`
	ExpiresIn int    `json:"expires_in"`
}

// setCookie writes a sealed cookie; an empty value with maxAge < 0 clears it.
func (c *Console) setCookie(w http.ResponseWriter, r *http.Request, name, value string, sameSite http.SameSite, maxAge int) {
	http.SetCookie(w, &http.Cookie{Name: name, Value: value, Path: "/console", HttpOnly: true, Secure: c.secureCookies(r),
		SameSite: sameSite, MaxAge: maxAge})
}

// saveSession seals s into the session cookie: HttpOnly, SameSite=Strict.
func (c *Console) saveSession(w http.ResponseWriter, r *http.Request, s session) error {
	v, err := c.seal.seal(sessionCookie, s, c.now().Add(c.ttl))
	if err != nil {
		return err
	}
	c.setCookie(w, r, sessionCookie, v, http.SameSiteStrictMode, 0)
	return nil
}

func (c *Console) clearSession(w http.ResponseWriter, r *http.Request) {
	c.setCookie(w, r, sessionCookie, "", http.SameSiteStrictMode, -1)
}

// currentSession opens the session cookie; false when there is none or it
// does not open.
func (c *Console) currentSession(r *http.Request) (session, bool) {
	var s session
	ck, err := r.Cookie(sessionCookie)
	if err != nil || c.seal.open(sessionCookie, ck.Value, c.now(), &s) != nil || s.Access == "" {
		return session{}, false
	}
	return s, true
}

// signedIn is the request's session with a live access token, refreshed
// (and the cookie rewritten) when it is about to expire. Without one it
// answers — a page is sent to sign in, a fragment or stream gets 401 — and
// reports false.
func (c *Console) signedIn(w http.ResponseWriter, r *http.Request, page bool) (session, bool) {
	s, ok := c.currentSession(r)
	if ok && c.now().Add(refreshMargin).After(s.Expiry) {
		ok = c.refresh(w, r, &s)
	}
	if ok {
		return s, true
	}
	c.clearSession(w, r)
	if page && r.Method == http.MethodGet {
		http.Redirect(w, r, "/console/login?next="+url.QueryEscape(r.URL.Path), http.StatusSeeOther)
	} else {
		http.Error(w, "Signed out: sign in again.", http.StatusUnauthorized)
	}
	return session{}, false
}

// refresh trades the session's refresh token for new tokens and rewrites
// the cookie; false when the engine refuses (the session was revoked).
func (c *Console) refresh(w http.ResponseWriter, r *http.Request, s *session) bool {
	if s.Refresh == "" {
		return false
	}
	var t tokenAnswer
	err := c.api.postForm(r, "/v1/auth/oauth2/token", url.Values{"grant_type": {"refresh_token"}, "client_id": {ClientID},
		"refresh_token": {s.Refresh}}, &t)
	if err != nil || t.Access == "" {
		c.log.InfoContext(r.Context(), "console session not refreshed", "status", statusOf(err))
		return false
	}
	s.Access, s.Expiry = t.Access, c.now().Add(time.Duration(t.ExpiresIn)*time.Second)
	if t.Refresh != "" {
		s.Refresh = t.Refresh
	}
	if err := c.saveSession(w, r, *s); err != nil {
		return false
	}
	return true
}

// csrfOK reports whether the form's csrf field is the session's token.
func (c *Console) csrfOK(r *http.Request, s session) bool {
	return c.seal.checkCSRF(s.ID, r.PostFormValue("csrf"))
}

// localPath is next when it is a path of the console, else /console/: a
// sign-in never sends anyone elsewhere.
func localPath(next string) string {
	if strings.HasPrefix(next, "/console/") && !strings.HasPrefix(next, "//") && !strings.Contains(next, "\\") &&
		!strings.ContainsAny(next, "\r\n") {
		return next
	}
	return "/console/"
}
