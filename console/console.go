// Package console is the clinical console: web pages where nurses and
// physicians see their patients' processes live and act on them, served by
// the engine at /console. Pages are rendered on the server with
// html/template and read without JavaScript; a small script refreshes the
// ward board when the signed-in user's inbox stream says something changed.
//
// Everything the console shows comes from the engine's own API, called in
// this process through the API's router with the signed-in user's token; the
// console keeps no state of its own beyond the user's session cookie.
package console

import (
	"cmp"
	"embed"
	"errors"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"strings"
	"time"
)

// ClientID is the OAuth2 client the console signs people in as: public,
// first-party, authorization code with PKCE.
const ClientID = "console"

// CallbackPath is the console's redirect URI, below its base URL.
const CallbackPath = "/console/callback"

// Scopes are what the console asks for at sign-in; a user is granted no more
// than their roles allow.
var Scopes = []string{"openid", "profile", "fhirUser", "offline_access",
	"user/Patient.read", "user/Encounter.read", "user/Observation.read",
	"user/Flag.read", "user/Flag.write", "user/Communication.read",
	"user/MedicationRequest.read", "user/MedicationRequest.write", "user/Practitioner.read",
	"user/AllergyIntolerance.read", "user/DiagnosticReport.read", "user/DiagnosticReport.write", "user/Procedure.read",
	"user/CarePlan.read", "user/ServiceRequest.read", "user/Schedule.read",
	// An operator opens workflow payloads in the Temporal Web UI.
	"user/Task.read", "user/Binary.read"}

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// Options configure the console.
type Options struct {
	// Engine is the API's router: the console calls the API through it.
	Engine http.Handler
	// BaseURL is the public URL of the server (https://api.hospital.example);
	// empty: derived from each request's host.
	BaseURL string
	// Key seals the cookies (KeySize bytes); replicas behind one load
	// balancer share it. Nil: a key generated now, so sessions end with the
	// process.
	Key []byte
	// SessionTTL bounds a session cookie; 0 means 12 hours.
	SessionTTL time.Duration
	Logger     *slog.Logger
	// Shutdown ends the live streams when it is closed, so a draining
	// server is not held open by the boards; nil never ends them.
	Shutdown <-chan struct{}
	// Now is the clock; tests replace it.
	Now func() time.Time
	// WorkflowUI is the Temporal Web UI's base URL (http://127.0.0.1:8233):
	// the patient page links each process to its workflow there. Empty: no
	// links.
	WorkflowUI string
	// Namespace is the workflows' Temporal namespace; empty means "default".
	Namespace string
}

// Console serves the pages under /console.
type Console struct {
	api    engine
	base   string
	seal   *sealer
	ttl    time.Duration
	log    *slog.Logger
	now    func() time.Time
	pages  *template.Template
	static http.Handler
	mux    *http.ServeMux
	secure bool
	stop   <-chan struct{}
	// ui and namespace locate the workflows in the Temporal Web UI.
	ui, namespace string
}

// New returns the console over opts.Engine.
func New(opts Options) (*Console, error) {
	if opts.Engine == nil {
		return nil, errors.New("console: an engine handler is required")
	}
	key := opts.Key
	if key == nil {
		var err error
		if key, err = NewKey(); err != nil {
			return nil, err
		}
	}
	s, err := newSealer(key)
	if err != nil {
		return nil, err
	}
	pages, err := parsePages()
	if err != nil {
		return nil, err
	}
	sub, err := fs.Sub(staticFS, "static")
	if err != nil {
		return nil, err
	}
	c := &Console{api: engine{h: opts.Engine}, base: strings.TrimRight(opts.BaseURL, "/"), seal: s, ttl: opts.SessionTTL,
		log: opts.Logger, now: opts.Now, pages: pages, static: http.StripPrefix("/console/static/", http.FileServerFS(sub)),
		secure: strings.HasPrefix(opts.BaseURL, "https://"), stop: opts.Shutdown,
		ui: strings.TrimRight(opts.WorkflowUI, "/"), namespace: cmp.Or(opts.Namespace, "default")}
	if c.ttl <= 0 {
		c.ttl = 12 * time.Hour
	}
	if c.log == nil {
		c.log = slog.Default()
	}
	c.log = c.log.With("component", "console")
	if c.now == nil {
		c.now = time.Now
	}
	c.mux = http.NewServeMux()
	c.mux.HandleFunc("GET /console", c.home)
	c.mux.HandleFunc("GET /console/{$}", c.home)
	c.mux.HandleFunc("GET /console/wards", c.pickWard)
	c.mux.HandleFunc("GET /console/static/", c.serveStatic)
	c.mux.HandleFunc("GET /console/login", c.login)
	c.mux.HandleFunc("GET /console/callback", c.callback)
	c.mux.HandleFunc("POST /console/logout", c.logout)
	c.mux.HandleFunc("GET /console/wards/{unit}", c.board)
	c.mux.HandleFunc("GET /console/wards/{unit}/rows", c.rows)
	c.mux.HandleFunc("GET /console/wards/{unit}/events", c.events)
	c.mux.HandleFunc("POST /console/alerts/{id}/ack", c.acknowledge)
	c.mux.HandleFunc("POST /console/alerts/{id}/resolve", c.resolve)
	c.mux.HandleFunc("GET /console/alerts/{id}/read-back", c.readBackPage)
	c.mux.HandleFunc("POST /console/alerts/{id}/read-back", c.readBack)
	c.mux.HandleFunc("GET "+labPath, c.lab)
	c.mux.HandleFunc("POST /console/reports/{id}/verify", c.verifyReport)
	c.mux.HandleFunc("POST /console/reports/{id}/flags/{flag}/review", c.reviewFlag)
	c.mux.HandleFunc("GET "+schedulePath, c.schedule)
	c.mux.HandleFunc("GET /console/patients/{id}", c.patient)
	c.mux.HandleFunc("GET "+pharmacyPath, c.pharmacy)
	c.mux.HandleFunc("POST /console/prescriptions/{id}/override", c.override)
	c.mux.HandleFunc("POST /console/prescriptions/{id}/verify", c.verify)
	c.mux.HandleFunc("OPTIONS "+CodecEndpoint+"/decode", c.codecPreflight)
	c.mux.HandleFunc("POST "+CodecEndpoint+"/decode", c.codecDecode)
	return c, nil
}

// ServeHTTP serves a request under /console.
func (c *Console) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	// Scripts and styles from the console itself only; forms post back to
	// it; no frames.
	h.Set("Content-Security-Policy", "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; "+
		"form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "same-origin")
	c.mux.ServeHTTP(w, r)
}

func (c *Console) serveStatic(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "public, max-age=300")
	c.static.ServeHTTP(w, r)
}

// baseURL is the server's public URL: configured, else this request's.
func (c *Console) baseURL(r *http.Request) string {
	if c.base != "" {
		return c.base
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

// redirectURI is the console's OAuth2 redirect URI for this request.
func (c *Console) redirectURI(r *http.Request) string { return c.baseURL(r) + CallbackPath }

// secureCookies says whether cookies are marked Secure: over https only, so
// the dev stack on http://127.0.0.1 signs in too.
func (c *Console) secureCookies(r *http.Request) bool { return c.secure || r.TLS != nil }
