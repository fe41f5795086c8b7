package console

import (
	"bytes"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// pageData is what every page's template gets.
type pageData struct {
	Title string
	// User is the signed-in user's name; empty on the pages before sign-in.
	User string
	CSRF string
	// Error is shown at the top of the page, announced to screen readers.
	Error string
	Board *Board
	// Queue is the pharmacist's queue, on its page.
	Queue *Queue
	// Patient is the patient page's content.
	Patient *PatientPage
	// ReadBack is a critical result's read-back form.
	ReadBack *ReadBack
	// Lab is the laboratory's queue, on its page.
	Lab *LabQueue
	// Schedule is the scheduler's day view, on its page.
	Schedule *DayView
	Now      time.Time
}

// statusLabels are the encounter statuses in words.
var statusLabels = map[string]string{"planned": "Planned", "arrived": "Arrived", "triaged": "Triaged", "in-progress": "In progress"}

// parsePages parses the embedded templates with the board's functions.
func parsePages() (*template.Template, error) {
	return template.New("console").Funcs(template.FuncMap{
		"news2Band": news2Band,
		"status": func(s string) string {
			if l, ok := statusLabels[s]; ok {
				return l
			}
			return s
		},
		"ago":      ago,
		"iso":      func(t time.Time) string { return t.UTC().Format(time.RFC3339) },
		"clock":    func(t time.Time) string { return t.UTC().Format("15:04 UTC") },
		"title":    func(s string) string { return strings.ToUpper(s[:min(1, len(s))]) + s[min(1, len(s)):] },
		"pathPart": url.PathEscape,
		"add":      func(a, b float64) float64 { return a + b },
		"half":     func(a float64) float64 { return a / 2 },
		"stamp":    func(t time.Time) string { return t.UTC().Format("2 Jan 15:04 UTC") },
	}).ParseFS(templateFS, "templates/*.html")
}

// ago is how long ago t was before now, in the words a ward uses.
func ago(now, t time.Time) string {
	d := now.Sub(t)
	switch {
	case d < time.Minute:
		return "under a minute"
	case d < time.Hour:
		return fmt.Sprintf("%d min", int(d/time.Minute))
	case d < 48*time.Hour:
		return fmt.Sprintf("%d h %02d min", int(d/time.Hour), int(d%time.Hour/time.Minute))
	}
	return fmt.Sprintf("%d days", int(d/(24*time.Hour)))
}

// render writes the template name with status.
func (c *Console) render(w http.ResponseWriter, r *http.Request, status int, name string, d pageData) {
	if d.Now.IsZero() {
		d.Now = c.now()
	}
	var buf bytes.Buffer
	if err := c.pages.ExecuteTemplate(&buf, name, d); err != nil {
		c.log.ErrorContext(r.Context(), "console page not rendered", "page", name, "error", err)
		http.Error(w, "The page could not be shown.", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// errorPage shows msg on a page of its own.
func (c *Console) errorPage(w http.ResponseWriter, r *http.Request, status int, msg string) {
	d := pageData{Title: "Something went wrong", Error: msg}
	if s, ok := c.currentSession(r); ok {
		d.User, d.CSRF = s.Name, c.seal.csrfToken(s.ID)
	}
	c.render(w, r, status, "error", d)
}

// serverError logs err and shows a page that says the console failed.
func (c *Console) serverError(w http.ResponseWriter, r *http.Request, err error) {
	c.log.ErrorContext(r.Context(), "console request failed", "path", r.URL.Path, "error", err)
	c.errorPage(w, r, http.StatusInternalServerError, "The console could not do this just now. Try again in a moment.")
}

// home is the start page: sign in, or choose a ward.
func (c *Console) home(w http.ResponseWriter, r *http.Request) {
	d := pageData{Title: "Clinical console"}
	if s, ok := c.currentSession(r); ok {
		d.User, d.CSRF = s.Name, c.seal.csrfToken(s.ID)
	}
	c.render(w, r, http.StatusOK, "home", d)
}

// pickWard sends the ward chooser's answer to the ward's board.
func (c *Console) pickWard(w http.ResponseWriter, r *http.Request) {
	unit := strings.TrimSpace(r.URL.Query().Get("unit"))
	if !validUnit.MatchString(unit) {
		c.errorPage(w, r, http.StatusBadRequest, "A ward is named with letters, digits, dots, dashes and underscores, such as ward-3.")
		return
	}
	http.Redirect(w, r, "/console/wards/"+url.PathEscape(unit), http.StatusSeeOther)
}

// board serves the ward board page.
func (c *Console) board(w http.ResponseWriter, r *http.Request) {
	c.showBoard(w, r, r.PathValue("unit"), http.StatusOK, "")
}

// showBoard renders the board of unit, with msg above it when an action
// failed.
func (c *Console) showBoard(w http.ResponseWriter, r *http.Request, unit string, status int, msg string) {
	if !validUnit.MatchString(unit) {
		c.errorPage(w, r, http.StatusNotFound, "There is no such ward.")
		return
	}
	s, ok := c.signedIn(w, r, true)
	if !ok {
		return
	}
	b, err := c.loadBoard(r, s, unit)
	if statusOf(err) == http.StatusUnauthorized {
		c.clearSession(w, r)
		http.Redirect(w, r, "/console/login?next="+url.QueryEscape("/console/wards/"+unit), http.StatusSeeOther)
		return
	}
	d := pageData{Title: "Ward board: " + unit, User: s.Name, CSRF: c.seal.csrfToken(s.ID), Board: &b, Error: msg}
	if err != nil {
		d.Board, status, d.Error = nil, http.StatusBadGateway, "The ward's encounters could not be read: "+unavailable(err)+"."
	}
	c.render(w, r, status, "board", d)
}

// rows serves the board's table body alone, for the page's live refresh.
func (c *Console) rows(w http.ResponseWriter, r *http.Request) {
	unit := r.PathValue("unit")
	if !validUnit.MatchString(unit) {
		http.NotFound(w, r)
		return
	}
	s, ok := c.signedIn(w, r, false)
	if !ok {
		return
	}
	b, err := c.loadBoard(r, s, unit)
	switch {
	case statusOf(err) == http.StatusUnauthorized:
		c.clearSession(w, r)
		http.Error(w, "Signed out: sign in again.", http.StatusUnauthorized)
		return
	case err != nil:
		http.Error(w, "The ward's encounters could not be read.", http.StatusBadGateway)
		return
	}
	c.render(w, r, http.StatusOK, "rows", pageData{User: s.Name, CSRF: c.seal.csrfToken(s.ID), Board: &b})
}
