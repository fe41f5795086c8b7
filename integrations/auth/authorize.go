package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
	"github.com/ory/fosite"

	"github.com/zarish-sphere/zarish/domain"
	"github.com/zarish-sphere/zarish/domain/identity"
	"github.com/zarish-sphere/zarish/integrations/auth/access"
	"github.com/zarish-sphere/zarish/integrations/postgres"
)

// authorizePath is the authorization endpoint; the sign-in page posts to it.
const authorizePath = "/v1/auth/oauth2/authorize"

// signInCookie holds the secret of the browser's sign-in in progress.
const signInCookie = "zarish_signin"

// AuthorizeHandler serves GET and POST /v1/auth/oauth2/authorize: the
// authorization code grant (RFC 6749 §4.1) with PKCE S256 required
// (RFC 7636; plain and a missing challenge are refused), and OpenID
// Connect. The user signs in on server-rendered pages — password, then a
// TOTP code when enrolled (or enrolment when their role requires a second
// factor), then consent for a third-party client — and is sent back to
// the client with a code. Every step is a plain HTML form carrying the
// flow's CSRF token; the flow itself lives in PostgreSQL, named by a cookie.
func (s *Server) AuthorizeHandler() http.Handler { return http.HandlerFunc(s.authorize) }

func (s *Server) authorize(w http.ResponseWriter, r *http.Request) {
	switch r.Method {
	case http.MethodGet:
		s.startSignIn(w, r)
	case http.MethodPost:
		if err := r.ParseForm(); err != nil {
			renderMessage(w, http.StatusBadRequest, "Sign-in failed", "The form could not be read.")
			return
		}
		if r.PostForm.Get("step") == "" {
			// An authorization request sent as a form post (OpenID Connect
			// Core §3.1.2.1 allows it).
			s.startSignIn(w, r)
			return
		}
		s.continueSignIn(w, r)
	default:
		w.Header().Set("Allow", "GET, POST")
		http.Error(w, http.StatusText(http.StatusMethodNotAllowed), http.StatusMethodNotAllowed)
	}
}

// startSignIn checks an authorization request and shows the password page.
func (s *Server) startSignIn(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	note := access.NoteOf(ctx)
	note.Action = access.NoteLogin
	ar, err := s.provider.NewAuthorizeRequest(ctx, r)
	if err != nil {
		s.authorizeError(w, r, ar, err)
		return
	}
	client := ar.GetClient()
	note.ClientID = client.GetID()
	if err := checkAuthorizeRequest(ar); err != nil {
		s.authorizeError(w, r, ar, err)
		return
	}
	if s.users == nil {
		renderMessage(w, http.StatusServiceUnavailable, "Sign-in unavailable", "This server does not sign people in.")
		return
	}
	secret, err := randomToken()
	if err != nil {
		s.pageFailed(w, r, err)
		return
	}
	csrf, err := randomToken()
	if err != nil {
		s.pageFailed(w, r, err)
		return
	}
	now := s.now()
	flow := postgres.SignInFlow{
		ID: flowID(secret), CSRFToken: csrf, Query: r.Form.Encode(), ClientID: client.GetID(),
		Step: stepPassword, CreatedAt: now, ExpiresAt: now.Add(signInTTL),
	}
	if err := s.store.CreateSignInFlow(ctx, flow); err != nil {
		s.pageFailed(w, r, err)
		return
	}
	http.SetCookie(w, &http.Cookie{
		Name: signInCookie, Value: secret, Path: authorizePath, MaxAge: int(signInTTL.Seconds()),
		HttpOnly: true, Secure: s.secureCookies, SameSite: http.SameSiteLaxMode,
	})
	note.Description = "sign-in started"
	render(w, http.StatusOK, stepPassword, pageData{CSRF: csrf, Client: clientName(client)}, origin(ar.GetRedirectURI().String()))
}

// checkAuthorizeRequest refuses, before anyone signs in, what the code
// exchange would refuse later: a missing or plain PKCE challenge, and
// prompt=none (this server keeps no sign-in between requests).
func checkAuthorizeRequest(ar fosite.AuthorizeRequester) error {
	form := ar.GetRequestForm()
	if !ar.GetResponseTypes().ExactOne("code") {
		return fosite.ErrUnsupportedResponseType.WithHint("Only response_type=code is supported.")
	}
	if form.Get("code_challenge") == "" {
		return fosite.ErrInvalidRequest.WithHint("A PKCE code_challenge is required (RFC 7636), with code_challenge_method=S256.")
	}
	if form.Get("code_challenge_method") != "S256" {
		return fosite.ErrInvalidRequest.WithHint("code_challenge_method must be S256; plain is not allowed.")
	}
	if slices.Contains(strings.Fields(form.Get("prompt")), "none") {
		return fosite.ErrLoginRequired.WithHint("The user must sign in: prompt=none cannot be honoured.")
	}
	return nil
}

// flowState is one step of a sign-in in progress.
type flowState struct {
	flow   postgres.SignInFlow
	ar     fosite.AuthorizeRequester
	client fosite.Client
	cred   postgres.UserCredentials // loaded once the password step passed
}

// continueSignIn handles the post of one step.
func (s *Server) continueSignIn(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	note := access.NoteOf(ctx)
	note.Action = access.NoteLogin
	if s.users == nil {
		renderMessage(w, http.StatusServiceUnavailable, "Sign-in unavailable", "This server does not sign people in.")
		return
	}
	cookie, err := r.Cookie(signInCookie)
	if err != nil {
		note.Description = "sign-in refused: no sign-in in progress"
		renderMessage(w, http.StatusBadRequest, "Sign-in expired", "This sign-in has expired or was opened elsewhere. Go back to the app and sign in again.")
		return
	}
	flow, err := s.store.GetSignInFlow(ctx, flowID(cookie.Value), s.now())
	if errors.Is(err, domain.ErrNotFound) {
		note.Description = "sign-in refused: the sign-in expired"
		renderMessage(w, http.StatusBadRequest, "Sign-in expired", "This sign-in has expired. Go back to the app and sign in again.")
		return
	}
	if err != nil {
		s.pageFailed(w, r, err)
		return
	}
	note.ClientID = flow.ClientID
	if subtle.ConstantTimeCompare([]byte(r.PostForm.Get("csrf")), []byte(flow.CSRFToken)) != 1 {
		note.Description = "sign-in refused: CSRF token mismatch"
		renderMessage(w, http.StatusForbidden, "Sign-in refused", "This form is out of date or did not come from this sign-in page. Go back to the app and sign in again.")
		return
	}
	ar, err := s.replayAuthorizeRequest(ctx, r, flow.Query)
	if err != nil {
		s.authorizeError(w, r, ar, err)
		return
	}
	st := &flowState{flow: flow, ar: ar, client: ar.GetClient()}
	if flow.UserID != nil {
		if st.cred, err = s.users.CredentialsOf(ctx, *flow.UserID); err != nil {
			s.pageFailed(w, r, err)
			return
		}
		u := st.cred.User
		note.About(u.ID.String(), u.Username, practitionerOf(u), u.Roles)
		if !u.Active() {
			note.Description = "sign-in refused: user disabled"
			s.endFlow(ctx, w, flow)
			renderMessage(w, http.StatusForbidden, "Account disabled", "This account is disabled. Ask an administrator.")
			return
		}
	}
	if step := r.PostForm.Get("step"); step != flow.Step {
		// A page from earlier in this flow (the back button): show the
		// current step again.
		s.showStep(w, r, st, http.StatusConflict, "That page was out of date; continue here.", nil)
		return
	}
	switch flow.Step {
	case stepPassword:
		s.passwordStep(w, r, st)
	case stepOTP:
		s.otpStep(w, r, st)
	case stepEnrol:
		s.enrolStep(w, r, st)
	case stepRecoveryCodes:
		s.afterAuthentication(w, r, st)
	case stepConsent:
		s.consentStep(w, r, st)
	default:
		s.pageFailed(w, r, fmt.Errorf("sign-in flow in unknown step %q", flow.Step))
	}
}

// replayAuthorizeRequest rebuilds, from the query the flow saved, the
// authorization request it serves, checked by fosite again.
func (s *Server) replayAuthorizeRequest(ctx context.Context, r *http.Request, query string) (fosite.AuthorizeRequester, error) {
	r2 := r.Clone(ctx)
	r2.Method = http.MethodGet
	r2.URL = &url.URL{Path: r.URL.Path, RawQuery: query}
	r2.Body, r2.ContentLength = http.NoBody, 0
	r2.Form, r2.PostForm = nil, nil
	r2.Header.Del("Content-Type")
	ar, err := s.provider.NewAuthorizeRequest(ctx, r2)
	if err != nil {
		return ar, err
	}
	return ar, checkAuthorizeRequest(ar)
}

// passwordStep checks the username and password.
func (s *Server) passwordStep(w http.ResponseWriter, r *http.Request, st *flowState) {
	ctx := r.Context()
	note := access.NoteOf(ctx)
	username := identity.NormalizeUsername(r.PostForm.Get("username"))
	password := r.PostForm.Get("password")
	shown := username
	if utf8.RuneCountInString(shown) > identity.MaxUsernameLen || !utf8.ValidString(shown) {
		shown = ""
	}
	note.Username = shown
	retry := func(status int, msg string) {
		render(w, status, stepPassword, pageData{CSRF: st.flow.CSRFToken, Client: clientName(st.client), Username: shown, Error: msg},
			origin(st.ar.GetRedirectURI().String()))
	}
	const wrong = "The username or password is not right."
	cred, err := s.users.SignInRecord(ctx, username)
	if errors.Is(err, domain.ErrNotFound) || username == "" {
		// Spend what a real check costs, so timing does not tell which
		// usernames exist.
		_ = access.CheckPassword(ctx, s.decoyHash, password)
		note.Description = "sign-in failed: unknown username"
		retry(http.StatusUnauthorized, wrong)
		return
	}
	if err != nil {
		s.pageFailed(w, r, err)
		return
	}
	u := cred.User
	note.About(u.ID.String(), u.Username, practitionerOf(u), u.Roles)
	now := s.now()
	if u.LockedUntil != nil && now.Before(*u.LockedUntil) {
		note.Description = "sign-in refused: account locked until " + u.LockedUntil.UTC().Format(time.RFC3339)
		s.lockedPage(w, *u.LockedUntil, now)
		return
	}
	if err := access.CheckPassword(ctx, cred.PasswordHash, password); err != nil {
		if !errors.Is(err, access.ErrPasswordMismatch) {
			s.pageFailed(w, r, err)
			return
		}
		if s.recordFailure(w, r, st, u, "wrong password") {
			retry(http.StatusUnauthorized, wrong)
		}
		return
	}
	if !u.Active() {
		note.Description = "sign-in refused: user disabled"
		s.endFlow(ctx, w, st.flow)
		renderMessage(w, http.StatusForbidden, "Account disabled", "This account is disabled. Ask an administrator.")
		return
	}
	st.cred = cred
	st.flow.UserID, st.flow.AMR, st.flow.AuthTime = &u.ID, []string{"pwd"}, &now
	switch {
	case cred.TOTPSecret != nil:
		st.flow.Step = stepOTP
		note.Description = "password accepted; TOTP code required"
		s.saveAndShow(w, r, st, http.StatusOK, "")
	case mfaRequired(s.cfg.mfaRoles(), u.Roles):
		key, err := newTOTPKey(s.totpIssuer, u.Username)
		if err != nil {
			s.pageFailed(w, r, err)
			return
		}
		if st.flow.PendingTOTP, err = s.sealer.seal(key.Secret()); err != nil {
			s.pageFailed(w, r, err)
			return
		}
		st.flow.Step = stepEnrol
		note.Description = "password accepted; TOTP enrolment required by role"
		s.saveAndShow(w, r, st, http.StatusOK, "")
	default:
		note.Description = "password accepted"
		s.afterAuthentication(w, r, st)
	}
}

// otpStep checks a TOTP code or a recovery code.
func (s *Server) otpStep(w http.ResponseWriter, r *http.Request, st *flowState) {
	ctx := r.Context()
	note := access.NoteOf(ctx)
	u := st.cred.User
	now := s.now()
	if u.LockedUntil != nil && now.Before(*u.LockedUntil) {
		note.Description = "sign-in refused: account locked until " + u.LockedUntil.UTC().Format(time.RFC3339)
		s.lockedPage(w, *u.LockedUntil, now)
		return
	}
	code := strings.TrimSpace(r.PostForm.Get("code"))
	if st.cred.TOTPSecret == nil {
		s.pageFailed(w, r, errors.New("TOTP step without an enrolled key"))
		return
	}
	if looksLikeRecoveryCode(code) {
		ok, remaining, err := s.users.UseRecoveryCode(ctx, u.ID, recoveryHash(code))
		if err != nil {
			s.pageFailed(w, r, err)
			return
		}
		if ok {
			note.Action = access.NoteSecurity
			note.Description = fmt.Sprintf("signed in with a recovery code; %d left", remaining)
			st.flow.AMR = appendNew(st.flow.AMR, "otp")
			s.afterAuthentication(w, r, st)
			return
		}
		if s.recordFailure(w, r, st, u, "wrong recovery code") {
			s.showStep(w, r, st, http.StatusUnauthorized, "That code is not right.", nil)
		}
		return
	}
	secret, err := s.sealer.open(st.cred.TOTPSecret)
	if err != nil {
		s.pageFailed(w, r, err)
		return
	}
	step, ok := checkTOTP(secret, code, now)
	if ok {
		fresh, err := s.users.UseTOTPStep(ctx, u.ID, step)
		if err != nil {
			s.pageFailed(w, r, err)
			return
		}
		if !fresh {
			if s.recordFailure(w, r, st, u, "TOTP code already used") {
				s.showStep(w, r, st, http.StatusUnauthorized, "That code was already used; wait for the next one.", nil)
			}
			return
		}
		note.Description = "TOTP code accepted"
		st.flow.AMR = appendNew(st.flow.AMR, "otp")
		s.afterAuthentication(w, r, st)
		return
	}
	if s.recordFailure(w, r, st, u, "wrong TOTP code") {
		s.showStep(w, r, st, http.StatusUnauthorized, "That code is not right. Check that your phone's clock is correct.", nil)
	}
}

// enrolStep confirms a new authenticator with its first code.
func (s *Server) enrolStep(w http.ResponseWriter, r *http.Request, st *flowState) {
	ctx := r.Context()
	note := access.NoteOf(ctx)
	u := st.cred.User
	if st.flow.PendingTOTP == nil {
		s.pageFailed(w, r, errors.New("enrolment step without a pending key"))
		return
	}
	secret, err := s.sealer.open(st.flow.PendingTOTP)
	if err != nil {
		s.pageFailed(w, r, err)
		return
	}
	step, ok := checkTOTP(secret, r.PostForm.Get("code"), s.now())
	if !ok {
		note.Description = "TOTP enrolment: the code did not match"
		s.showStep(w, r, st, http.StatusBadRequest, "That code does not match. Check the key you entered and your phone's clock, then try the next code.", nil)
		return
	}
	codes, hashes, err := newRecoveryCodes()
	if err != nil {
		s.pageFailed(w, r, err)
		return
	}
	if err := s.users.EnrolTOTP(ctx, u.ID, st.flow.PendingTOTP, step, hashes); err != nil {
		s.pageFailed(w, r, err)
		return
	}
	st.flow.PendingTOTP = nil
	st.flow.AMR = appendNew(st.flow.AMR, "otp")
	st.flow.Step = stepRecoveryCodes
	note.Action = access.NoteSecurity
	note.Description = fmt.Sprintf("TOTP authenticator enrolled; %d recovery codes issued", len(codes))
	if err := s.store.UpdateSignInFlow(ctx, st.flow); err != nil {
		s.pageFailed(w, r, err)
		return
	}
	s.showStep(w, r, st, http.StatusOK, "", codes)
}

// consentStep records the user's answer to a third-party client.
func (s *Server) consentStep(w http.ResponseWriter, r *http.Request, st *flowState) {
	ctx := r.Context()
	note := access.NoteOf(ctx)
	if r.PostForm.Get("decision") != "allow" {
		note.Description = "consent refused"
		s.endFlow(ctx, w, st.flow)
		s.provider.WriteAuthorizeError(ctx, w, st.ar, fosite.ErrAccessDenied.WithHint("The user refused access."))
		return
	}
	note.Description = "consent given"
	s.finish(w, r, st)
}

// afterAuthentication asks for consent when the client is not ours, else
// issues the code.
func (s *Server) afterAuthentication(w http.ResponseWriter, r *http.Request, st *flowState) {
	if rc, ok := st.client.(roleClient); ok && rc.FirstParty {
		s.finish(w, r, st)
		return
	}
	st.flow.Step = stepConsent
	s.saveAndShow(w, r, st, http.StatusOK, "")
}

// finish opens the session, issues the authorization code and sends the
// user back to the client.
func (s *Server) finish(w http.ResponseWriter, r *http.Request, st *flowState) {
	ctx := r.Context()
	note := access.NoteOf(ctx)
	u := st.cred.User
	now := s.now()
	// A SMART launch context confines the sign-in's patient/ scopes to the
	// patient the launching app named; without one they are not granted.
	var patient string
	if v := launchValue(st.ar); v != "" {
		l, err := s.store.UseLaunch(ctx, v, now)
		if errors.Is(err, domain.ErrNotFound) {
			s.endFlow(ctx, w, st.flow)
			s.authorizeError(w, r, st.ar, fosite.ErrInvalidRequest.WithHint("The launch context is unknown, expired or already used; open the app from the launching application again."))
			return
		}
		if err != nil {
			s.pageFailed(w, r, err)
			return
		}
		patient = l.PatientID.String()
	}
	granted := access.UserScopes(st.ar.GetRequestedScopes(), u.Roles, patient != "")
	for _, sc := range granted {
		st.ar.GrantScope(sc)
	}
	for _, a := range st.ar.GetRequestedAudience() {
		st.ar.GrantAudience(a)
	}
	st.ar.GrantAudience(s.cfg.audience())

	sid, err := uuid.NewV7()
	if err != nil {
		s.pageFailed(w, r, err)
		return
	}
	authTime := now
	if st.flow.AuthTime != nil {
		authTime = *st.flow.AuthTime
	}
	if err := s.store.CreateAuthSession(ctx, identity.Session{
		ID: sid, UserID: u.ID, ClientID: st.client.GetID(), AMR: st.flow.AMR,
		SourceIP: note.SourceIP, UserAgent: truncateText(r.UserAgent(), 512),
		CreatedAt: now, ExpiresAt: now.Add(s.cfg.sessionTTL()),
	}); err != nil {
		s.pageFailed(w, r, err)
		return
	}
	sess := newSession()
	sess.ClientID, sess.UserID, sess.Roles, sess.SessionID = st.client.GetID(), u.ID.String(), u.Roles, sid.String()
	sess.PractitionerID, sess.PatientID = practitionerOf(u), patient
	claims := sess.IDTokenClaims()
	claims.Subject = u.ID.String()
	claims.AuthTime = authTime.UTC()
	claims.RequestedAt = st.flow.CreatedAt.UTC()
	claims.AuthenticationMethodsReferences = st.flow.AMR
	claims.Extra = map[string]any{"sid": sid.String()}
	if slices.Contains(granted, access.ScopeFHIRUser) && sess.PractitionerID != "" {
		claims.Extra["fhirUser"] = "Practitioner/" + sess.PractitionerID
	}
	if slices.Contains(granted, access.ScopeProfile) {
		claims.Extra["name"] = u.DisplayName
		claims.Extra["preferred_username"] = u.Username
	}
	resp, err := s.provider.NewAuthorizeResponse(ctx, st.ar, sess)
	if err != nil {
		s.authorizeError(w, r, st.ar, err)
		return
	}
	if err := s.users.RecordSignIn(ctx, u.ID, now); err != nil {
		s.logger.WarnContext(ctx, "sign-in not recorded on the user", "user", u.ID, "error", err)
	}
	s.endFlow(ctx, w, st.flow)
	note.SessionID = sid.String()
	if note.Action == "" {
		note.Action = access.NoteLogin
	}
	note.Description = strings.TrimSpace(note.Description + "; signed in (" + strings.Join(st.flow.AMR, "+") + "), session " + sid.String())
	s.logger.InfoContext(ctx, "user signed in", "user", u.ID, "client", st.client.GetID(), "session", sid, "amr", st.flow.AMR)
	s.provider.WriteAuthorizeResponse(ctx, w, st.ar, resp)
}

// recordFailure counts a failed attempt against the user, shows the locked
// page when it locked the account, and reports whether the caller should
// show the step again (false: a page was written).
func (s *Server) recordFailure(w http.ResponseWriter, r *http.Request, st *flowState, u identity.User, what string) bool {
	ctx := r.Context()
	note := access.NoteOf(ctx)
	now := s.now()
	failures, lockedUntil, err := s.users.RecordSignInFailure(ctx, u.ID, now, s.cfg.lockout())
	if err != nil {
		s.pageFailed(w, r, err)
		return false
	}
	if lockedUntil != nil {
		note.Action = access.NoteSecurity
		note.Description = fmt.Sprintf("sign-in failed: %s (%d consecutive failures); account locked until %s",
			what, failures, lockedUntil.UTC().Format(time.RFC3339))
		s.logger.WarnContext(ctx, "account locked", "user", u.ID, "failures", failures, "until", lockedUntil)
		s.lockedPage(w, *lockedUntil, now)
		return false
	}
	note.Description = fmt.Sprintf("sign-in failed: %s (%d consecutive failures)", what, failures)
	return true
}

// lockedPage says the account is locked and until when.
func (s *Server) lockedPage(w http.ResponseWriter, until, now time.Time) {
	wait := max(until.Sub(now).Round(time.Second), time.Second)
	w.Header().Set("Retry-After", strconv.Itoa(int(wait.Seconds())))
	renderMessage(w, http.StatusForbidden, "Account locked",
		"Too many failed sign-in attempts. Try again in "+wait.String()+", or ask an administrator to unlock the account.")
}

// saveAndShow stores the flow's progress and shows its step.
func (s *Server) saveAndShow(w http.ResponseWriter, r *http.Request, st *flowState, status int, msg string) {
	if err := s.store.UpdateSignInFlow(r.Context(), st.flow); err != nil {
		s.pageFailed(w, r, err)
		return
	}
	s.showStep(w, r, st, status, msg, nil)
}

// showStep renders the page of the flow's current step.
func (s *Server) showStep(w http.ResponseWriter, r *http.Request, st *flowState, status int, msg string, codes []string) {
	d := pageData{CSRF: st.flow.CSRFToken, Client: clientName(st.client), Username: st.cred.User.Username, Error: msg}
	switch st.flow.Step {
	case stepEnrol:
		secret, err := s.sealer.open(st.flow.PendingTOTP)
		if err != nil {
			s.pageFailed(w, r, err)
			return
		}
		uri, err := totpURI(s.totpIssuer, st.cred.User.Username, secret)
		if err != nil {
			s.pageFailed(w, r, err)
			return
		}
		d.Secret, d.OTPURI = secret, uri
		if png, err := totpQRCode(uri); err == nil {
			d.QR = pngDataURI(png)
		}
	case stepRecoveryCodes:
		d.RecoveryCodes = codes
	case stepConsent:
		d.Scopes = describeScopes(access.UserScopes(st.ar.GetRequestedScopes(), st.cred.User.Roles, launchValue(st.ar) != ""))
	}
	render(w, status, st.flow.Step, d, origin(st.ar.GetRedirectURI().String()))
}

// endFlow deletes the flow and its cookie.
func (s *Server) endFlow(ctx context.Context, w http.ResponseWriter, flow postgres.SignInFlow) {
	if err := s.store.DeleteSignInFlow(ctx, flow.ID); err != nil {
		s.logger.WarnContext(ctx, "sign-in flow not deleted", "error", err)
	}
	http.SetCookie(w, &http.Cookie{Name: signInCookie, Value: "", Path: authorizePath, MaxAge: -1,
		HttpOnly: true, Secure: s.secureCookies, SameSite: http.SameSiteLaxMode})
}

// authorizeError answers a refused authorization request: back to the
// client when its redirect URI is known good, else on a page.
func (s *Server) authorizeError(w http.ResponseWriter, r *http.Request, ar fosite.AuthorizeRequester, err error) {
	ctx := r.Context()
	rfc := fosite.ErrorToRFC6749Error(err)
	note := access.NoteOf(ctx)
	note.Description = "authorization refused: " + rfc.ErrorField + " " + rfc.GetDescription()
	if rfc.CodeField >= http.StatusInternalServerError {
		s.logger.ErrorContext(ctx, "authorization request failed", "error", rfc.ErrorField, "cause", err)
	} else {
		s.logger.InfoContext(ctx, "authorization request refused", "error", rfc.ErrorField, "hint", rfc.HintField)
	}
	if ar != nil && ar.IsRedirectURIValid() {
		s.provider.WriteAuthorizeError(ctx, w, ar, err)
		return
	}
	status := rfc.CodeField
	if status < 400 {
		status = http.StatusBadRequest
	}
	renderMessage(w, status, "Sign-in request refused", firstLine(rfc.GetDescription()))
}

// pageFailed answers a failure of ours.
func (s *Server) pageFailed(w http.ResponseWriter, r *http.Request, err error) {
	s.logger.ErrorContext(r.Context(), "sign-in failed", "error", err)
	access.NoteOf(r.Context()).Description = "sign-in failed: server error"
	renderMessage(w, http.StatusInternalServerError, "Something went wrong", "The sign-in could not continue because of an error on our side. Try again shortly.")
}

// randomToken returns 32 random bytes, base64url.
func randomToken() (string, error) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("random token: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b[:]), nil
}

// flowID is how a flow is stored: the SHA-256 of the cookie's secret.
func flowID(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}

// launchValue is the SMART launch parameter of an authorization request:
// the opaque launch context an EHR launch hands the app.
func launchValue(ar fosite.AuthorizeRequester) string {
	return strings.TrimSpace(ar.GetRequestForm().Get("launch"))
}

func clientName(c fosite.Client) string {
	if rc, ok := c.(roleClient); ok && rc.Name != "" {
		return rc.Name
	}
	return c.GetID()
}

func practitionerOf(u identity.User) string {
	if u.PractitionerID == nil {
		return ""
	}
	return u.PractitionerID.String()
}

func appendNew(list []string, v string) []string {
	if slices.Contains(list, v) {
		return list
	}
	return append(list, v)
}

// truncateText cuts s to at most n bytes on a character boundary.
func truncateText(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
