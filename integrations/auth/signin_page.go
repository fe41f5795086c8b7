package auth

import (
	"bytes"
	"embed"
	"encoding/base64"
	"fmt"
	"github.com/zarish-sphere/zarish/integrations/auth/access"
	"html/template"
	"net/http"
	"net/url"
	"strings"
)

//go:embed pages/signin.html
var pageFiles embed.FS

// The steps of a sign-in, each a page of its own.
const (
	stepPassword      = "password"
	stepOTP           = "otp"
	stepEnrol         = "enrol"
	stepRecoveryCodes = "recovery-codes"
	stepConsent       = "consent"
	stepMessage       = "message"
)

var pageTitles = map[string]string{
	stepPassword:      "Sign in",
	stepOTP:           "Second factor",
	stepEnrol:         "Set up your authenticator",
	stepRecoveryCodes: "Save your recovery codes",
	stepConsent:       "Allow access?",
}

// pages holds one template per step: the layout with that step's body.
var pages = func() map[string]*template.Template {
	base := template.Must(template.ParseFS(pageFiles, "pages/signin.html"))
	out := map[string]*template.Template{}
	for _, step := range []string{stepPassword, stepOTP, stepEnrol, stepRecoveryCodes, stepConsent, stepMessage} {
		t := template.Must(base.Clone())
		template.Must(t.New("body").Parse(`{{template "` + step + `" .}}`))
		out[step] = t
	}
	return out
}()

// pageData is what a sign-in page shows. Plain HTML forms: the page works
// without JavaScript, every input has a label, errors are announced
// (role=alert) and tied to their inputs.
type pageData struct {
	Title, Error, Message string
	Action, CSRF          string
	Client, Username      string
	// Enrolment: the QR code (a data: URI of a PNG), the key and its URI.
	QR             template.URL
	Secret, OTPURI string
	RecoveryCodes  []string
	Scopes         []string
}

// render writes the page of step with status, and the headers that keep it
// out of frames and caches and confine what it may load. redirectOrigin is
// where the form's answer may redirect (the client), if known.
func render(w http.ResponseWriter, status int, step string, d pageData, redirectOrigin string) {
	if d.Title == "" {
		d.Title = pageTitles[step]
	}
	if d.Action == "" {
		d.Action = authorizePath
	}
	var buf bytes.Buffer
	if err := pages[step].ExecuteTemplate(&buf, "page", d); err != nil {
		http.Error(w, "The sign-in page could not be shown.", http.StatusInternalServerError)
		return
	}
	formAction := "'self'"
	if redirectOrigin != "" {
		formAction += " " + redirectOrigin
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; frame-ancestors 'none'; form-action "+formAction)
	h.Set("X-Frame-Options", "DENY")
	h.Set("Cache-Control", "no-store")
	h.Set("Referrer-Policy", "no-referrer")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// renderMessage shows a page with a title and one sentence.
func renderMessage(w http.ResponseWriter, status int, title, message string) {
	render(w, status, stepMessage, pageData{Title: title, Message: message}, "")
}

// pngDataURI embeds a PNG in the page.
func pngDataURI(png []byte) template.URL {
	return template.URL("data:image/png;base64," + base64.StdEncoding.EncodeToString(png))
}

// origin returns scheme://host of a URI, for the form-action policy.
func origin(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme == "" || u.Host == "" {
		return ""
	}
	return u.Scheme + "://" + u.Host
}

// describeScopes says in words what each granted scope lets the client do.
func describeScopes(scopes []string) []string {
	var out []string
	for _, s := range scopes {
		switch s {
		case access.ScopeOpenID:
			out = append(out, "Know who you are")
		case access.ScopeProfile:
			out = append(out, "See your name and username")
		case access.ScopeFHIRUser:
			out = append(out, "See your practitioner record")
		case access.ScopeOfflineAccess:
			out = append(out, "Stay signed in for the rest of your session")
		default:
			sc, err := access.ParseScope(s)
			if err != nil {
				out = append(out, s)
				continue
			}
			what := sc.ResourceType + " records"
			if sc.ResourceType == access.AnyResource {
				what = "every kind of record"
			}
			whose := "you may access"
			if sc.Context == access.ContextPatient {
				whose = "of the patient this app was opened for"
			}
			out = append(out, fmt.Sprintf("%s %s %s (%s)", permissionWords(sc.Perms), what, whose, s))
		}
	}
	return out
}

// permissionWords says what a scope's permissions allow, e.g. "Read and
// search".
func permissionWords(p access.Permission) string {
	var words []string
	for _, w := range []struct {
		bit  access.Permission
		word string
	}{{access.PermCreate, "create"}, {access.PermRead, "read"}, {access.PermUpdate, "change"}, {access.PermDelete, "delete"}, {access.PermSearch, "search"}} {
		if p&w.bit != 0 {
			words = append(words, w.word)
		}
	}
	text := strings.Join(words, ", ")
	if i := strings.LastIndex(text, ", "); i >= 0 {
		text = text[:i] + " and " + text[i+2:]
	}
	if text == "" {
		return text
	}
	return strings.ToUpper(text[:1]) + text[1:]
}

// firstLine trims a message for a page.
func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	return s
}
