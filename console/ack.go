package console

import (
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"
)

// validID is an alert id as the ack route takes it (a UUID).
var validID = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

// alertForm checks a board form's ward, CSRF token and alert id; false:
// the answer is written.
func (c *Console) alertForm(w http.ResponseWriter, r *http.Request, what string) (session, string, string, bool) {
	s, ok := c.signedIn(w, r, true)
	if !ok {
		return s, "", "", false
	}
	unit := r.PostFormValue("unit")
	if !validUnit.MatchString(unit) {
		c.errorPage(w, r, http.StatusBadRequest, "This form names no ward.")
		return s, "", "", false
	}
	if !c.csrfOK(r, s) {
		c.showBoard(w, r, unit, http.StatusForbidden, "This form has expired or did not come from this console: nothing was "+what+". Try again.")
		return s, "", "", false
	}
	id := r.PathValue("id")
	if !validID.MatchString(id) {
		c.showBoard(w, r, unit, http.StatusNotFound, "There is no such alert.")
		return s, "", "", false
	}
	return s, unit, id, true
}

// acknowledge serves the board's Acknowledge button: a CSRF-protected form
// POST that acknowledges the alert at the engine (POST
// /v1/notifications/alerts/{id}/acknowledge) with the user's token — the
// engine names the acting practitioner from it, and refuses anyone the
// alert did not reach (403). Done, the browser goes back to the board;
// refused, the board shows why.
func (c *Console) acknowledge(w http.ResponseWriter, r *http.Request) {
	s, unit, id, ok := c.alertForm(w, r, "acknowledged")
	if !ok {
		return
	}
	err := c.api.postJSON(r, "/v1/notifications/alerts/"+url.PathEscape(id)+"/acknowledge", s.Access, "{}", nil)
	if err != nil {
		c.alertRefused(w, r, unit, id, "acknowledged", err)
		return
	}
	http.Redirect(w, r, "/console/wards/"+url.PathEscape(unit), http.StatusSeeOther)
}

// resolve serves Resolve with a note: the engine resolves the alert in the
// user's name with the note, which ends its escalation.
func (c *Console) resolve(w http.ResponseWriter, r *http.Request) {
	s, unit, id, ok := c.alertForm(w, r, "resolved")
	if !ok {
		return
	}
	note := strings.TrimSpace(r.PostFormValue("note"))
	if note == "" {
		c.showBoard(w, r, unit, http.StatusBadRequest, "Say what was done in the note: the alert was not resolved.")
		return
	}
	body, err := json.Marshal(map[string]string{"note": note})
	if err != nil {
		c.serverError(w, r, err)
		return
	}
	if err := c.api.postJSON(r, "/v1/notifications/alerts/"+url.PathEscape(id)+"/resolve", s.Access, string(body), nil); err != nil {
		c.alertRefused(w, r, unit, id, "resolved", err)
		return
	}
	http.Redirect(w, r, "/console/wards/"+url.PathEscape(unit), http.StatusSeeOther)
}

// alertRefused shows on the board why the engine refused to change the
// alert; an expired session signs in again.
func (c *Console) alertRefused(w http.ResponseWriter, r *http.Request, unit, id, what string, err error) {
	status, msg := http.StatusBadGateway, "The alert could not be "+what+" just now. Try again."
	if ae, ok := err.(*apiError); ok {
		status = ae.Status
		switch ae.Status {
		case http.StatusForbidden:
			msg = "The engine refused: you are not one of this alert's recipients, so it was not " + what + "."
		case http.StatusConflict:
			msg = "The alert was already acknowledged or closed."
		case http.StatusNotFound:
			msg = "There is no such alert."
		case http.StatusBadRequest:
			msg = "The engine refused the form: the alert was not " + what + "."
		case http.StatusUnauthorized:
			c.clearSession(w, r)
			http.Redirect(w, r, "/console/login?next="+url.QueryEscape("/console/wards/"+unit), http.StatusSeeOther)
			return
		}
		if ae.Message != "" {
			msg += " (" + ae.Message + ")"
		}
	}
	c.log.InfoContext(r.Context(), "console alert step refused", "alertId", id, "step", what, "status", status)
	c.showBoard(w, r, unit, status, msg)
}

// ReadBack is the read-back page: a critical laboratory value's alert, and
// the report's callbacks still waiting for the value read back.
type ReadBack struct {
	AlertID, Unit, Message string
	ReportID               string
	RaisedAt               time.Time
	Callbacks              []Callback
	// Typed is the value typed before a refusal, by observation id.
	Typed map[string]string
}

// Callback is one critical result waiting for its read-back.
type Callback struct {
	ObservationID, Code, Test string
	RaisedAt                  time.Time
	Attempts                  int
}

// callbackJSON is one critical-result callback of a report.
type callbackJSON struct {
	ObservationID string            `json:"observationId"`
	Code          string            `json:"code"`
	RaisedAt      time.Time         `json:"raisedAt"`
	Attempts      []json.RawMessage `json:"attempts"`
	Outcome       string            `json:"outcome"`
}

// reportOf is the diagnostic report a critical-result alert is about: its
// source names it ("diagnostic/<report id>").
func reportOf(a alertJSON) (string, bool) {
	id, ok := strings.CutPrefix(a.Source, "diagnostic/")
	return id, ok && a.Category == criticalResult && validID.MatchString(id)
}

// readBackPage serves the form that asks a critical laboratory value's
// recipient for the value as they read it back, before the alert closes.
func (c *Console) readBackPage(w http.ResponseWriter, r *http.Request) {
	c.showReadBack(w, r, r.PathValue("id"), r.URL.Query().Get("unit"), http.StatusOK, "", nil)
}

// showReadBack renders the read-back form of alert id, with msg above it
// when the engine refused the last one.
func (c *Console) showReadBack(w http.ResponseWriter, r *http.Request, id, unit string, status int, msg string, typed map[string]string) {
	s, ok := c.signedIn(w, r, true)
	if !ok {
		return
	}
	if !validUnit.MatchString(unit) {
		c.errorPage(w, r, http.StatusBadRequest, "This page names no ward.")
		return
	}
	if !validID.MatchString(id) {
		c.errorPage(w, r, http.StatusNotFound, "There is no such alert.")
		return
	}
	var a alertJSON
	if err := c.api.get(r, "/v1/notifications/alerts/"+url.PathEscape(id), s.Access, &a); err != nil {
		c.readBackUnavailable(w, r, unit, err)
		return
	}
	reportID, ok := reportOf(a)
	if !ok {
		c.errorPage(w, r, http.StatusNotFound, "This alert is not about a critical laboratory result: acknowledge it on the board.")
		return
	}
	var rep labReportJSON
	if err := c.api.get(r, "/v1/diagnostics/reports/"+url.PathEscape(reportID), s.Access, &rep); err != nil {
		c.readBackUnavailable(w, r, unit, err)
		return
	}
	rb := ReadBack{AlertID: a.ID, Unit: unit, Message: a.Message, ReportID: reportID, RaisedAt: a.RaisedAt, Typed: typed}
	rb.Callbacks = labReport(rep).Callbacks
	c.render(w, r, status, "readback", pageData{Title: "Read back a critical result", User: s.Name, CSRF: c.seal.csrfToken(s.ID),
		Error: msg, ReadBack: &rb})
}

// readBackUnavailable says why the read-back form cannot be shown.
func (c *Console) readBackUnavailable(w http.ResponseWriter, r *http.Request, unit string, err error) {
	if statusOf(err) == http.StatusUnauthorized {
		c.clearSession(w, r)
		http.Redirect(w, r, "/console/login?next="+url.QueryEscape("/console/wards/"+unit), http.StatusSeeOther)
		return
	}
	status := statusOf(err)
	if status == 0 {
		status = http.StatusBadGateway
	}
	c.errorPage(w, r, status, "The critical result "+unavailable(err)+".")
}

// readBack posts the value the user reads back to the report's callback
// (POST /v1/diagnostics/reports/{id}/callbacks/{observation}/read-back): the
// engine takes the user as the receiver when they are the orderer, a
// physician or a nurse, compares the value with the result, refuses a
// mismatch (422: the form says so and keeps what was typed), and on a
// match closes the callback, which resolves the alert. Done, the browser
// goes back to the board.
func (c *Console) readBack(w http.ResponseWriter, r *http.Request) {
	s, unit, id, ok := c.alertForm(w, r, "read back")
	if !ok {
		return
	}
	report, obs := r.PostFormValue("report"), r.PostFormValue("observation")
	value := strings.TrimSpace(r.PostFormValue("value"))
	if !validID.MatchString(report) || !validID.MatchString(obs) {
		c.showReadBack(w, r, id, unit, http.StatusBadRequest, "This form names no result.", nil)
		return
	}
	typed := map[string]string{obs: value}
	if value == "" {
		c.showReadBack(w, r, id, unit, http.StatusBadRequest, "Type the value as you read it back, with its unit.", typed)
		return
	}
	body, err := json.Marshal(map[string]string{"value": value})
	if err != nil {
		c.serverError(w, r, err)
		return
	}
	err = c.api.postJSON(r, "/v1/diagnostics/reports/"+url.PathEscape(report)+"/callbacks/"+url.PathEscape(obs)+"/read-back", s.Access, string(body), nil)
	if err != nil {
		status, msg := http.StatusBadGateway, "The read-back could not be recorded just now. Try again."
		if ae, ok := err.(*apiError); ok {
			status = ae.Status
			switch {
			case ae.Code == "READBACK_MISMATCH":
				msg = "The value read back does not match the result: check it with the laboratory."
			case ae.Status == http.StatusForbidden:
				msg = "The engine refused: only the orderer, a physician or a nurse takes a critical result."
			case ae.Status == http.StatusConflict || ae.Status == http.StatusBadRequest:
				msg = "The callback is already closed or the engine refused the form."
			case ae.Status == http.StatusUnauthorized:
				c.clearSession(w, r)
				http.Redirect(w, r, "/console/login?next="+url.QueryEscape("/console/wards/"+unit), http.StatusSeeOther)
				return
			}
			if ae.Message != "" {
				msg += " (" + ae.Message + ")"
			}
		}
		c.log.InfoContext(r.Context(), "console read-back refused", "alertId", id, "reportId", report, "status", status)
		c.showReadBack(w, r, id, unit, status, msg, typed)
		return
	}
	http.Redirect(w, r, "/console/wards/"+url.PathEscape(unit), http.StatusSeeOther)
}
