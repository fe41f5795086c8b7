package console

import (
	"net/http"
	"net/url"
	"regexp"
)

// validID is an alert id as the ack route takes it (a UUID).
var validID = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

// acknowledge serves the board's Acknowledge button: a CSRF-protected form
// POST that acknowledges the alert at the engine (POST
// /v1/notifications/alerts/{id}/acknowledge) with the user's token — the
// engine names the acting practitioner from it, and refuses anyone the
// alert did not reach (403). Done, the browser goes back to the board;
// refused, the board shows why.
func (c *Console) acknowledge(w http.ResponseWriter, r *http.Request) {
	s, ok := c.signedIn(w, r, true)
	if !ok {
		return
	}
	unit := r.PostFormValue("unit")
	if !validUnit.MatchString(unit) {
		c.errorPage(w, r, http.StatusBadRequest, "This form names no ward.")
		return
	}
	if !c.csrfOK(r, s) {
		c.showBoard(w, r, unit, http.StatusForbidden, "This form has expired or did not come from this console: nothing was acknowledged. Try again.")
		return
	}
	id := r.PathValue("id")
	if !validID.MatchString(id) {
		c.showBoard(w, r, unit, http.StatusNotFound, "There is no such alert.")
		return
	}
	err := c.api.postJSON(r, "/v1/notifications/alerts/"+url.PathEscape(id)+"/acknowledge", s.Access, "{}", nil)
	if err != nil {
		status, msg := http.StatusBadGateway, "The alert could not be acknowledged just now. Try again."
		if ae, ok := err.(*apiError); ok {
			status = ae.Status
			switch ae.Status {
			case http.StatusForbidden:
				msg = "The engine refused: you are not one of this alert's recipients, so you cannot acknowledge it."
			case http.StatusConflict:
				msg = "The alert was already acknowledged or closed."
			case http.StatusNotFound:
				msg = "There is no such alert."
			case http.StatusUnauthorized:
				c.clearSession(w, r)
				http.Redirect(w, r, "/console/login?next="+url.QueryEscape("/console/wards/"+unit), http.StatusSeeOther)
				return
			}
			if ae.Message != "" && ae.Status != http.StatusUnauthorized {
				msg += " (" + ae.Message + ")"
			}
		}
		c.log.InfoContext(r.Context(), "console acknowledgement refused", "alertId", id, "status", status)
		c.showBoard(w, r, unit, status, msg)
		return
	}
	http.Redirect(w, r, "/console/wards/"+url.PathEscape(unit), http.StatusSeeOther)
}
