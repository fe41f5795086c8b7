package console

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
)

// pharmacyPath is the pharmacist's queue.
const pharmacyPath = "/console/pharmacy"

// reasonField prefixes the override form's fields: reason:<finding id>.
const reasonField = "reason:"

// override serves a held prescription's Override form: a CSRF-protected
// POST that overrides its standing findings at the engine (POST
// /v1/medications/prescriptions/{id}/override with a reason per finding)
// with the user's token. The engine names who acted from the token and
// decides what they may override (a contraindicated finding needs a
// pharmacist). Done, the browser goes back to the queue; refused, the
// queue shows why and keeps what was typed.
func (c *Console) override(w http.ResponseWriter, r *http.Request) {
	s, ok := c.signedIn(w, r, true)
	if !ok {
		return
	}
	if !c.csrfOK(r, s) {
		c.showQueue(w, r, http.StatusForbidden, "This form has expired or did not come from this console: nothing was overridden. Try again.", "", nil)
		return
	}
	id := r.PathValue("id")
	if !validID.MatchString(id) {
		c.showQueue(w, r, http.StatusNotFound, "There is no such prescription.", "", nil)
		return
	}
	reasons := map[string]string{}
	for k, v := range r.PostForm {
		if fid, ok := strings.CutPrefix(k, reasonField); ok && fid != "" && len(v) > 0 {
			if reason := strings.TrimSpace(v[0]); reason != "" {
				reasons[fid] = reason
			}
		}
	}
	if len(reasons) == 0 {
		c.showQueue(w, r, http.StatusBadRequest, "Give a reason for each finding you override: nothing was overridden.", id, nil)
		return
	}
	body, err := json.Marshal(map[string]any{"reasons": reasons})
	if err != nil {
		c.serverError(w, r, err)
		return
	}
	err = c.api.postJSON(r, "/v1/medications/prescriptions/"+url.PathEscape(id)+"/override", s.Access, string(body), nil)
	if err != nil {
		c.stepRefused(w, r, "override", id, err, reasons)
		return
	}
	http.Redirect(w, r, pharmacyPath, http.StatusSeeOther)
}

// verify serves an active prescription's Verify button: a CSRF-protected
// POST to the engine's verify step (POST …/{id}/verify), which only a
// pharmacist may take and which runs the checks again first.
func (c *Console) verify(w http.ResponseWriter, r *http.Request) {
	s, ok := c.signedIn(w, r, true)
	if !ok {
		return
	}
	if !c.csrfOK(r, s) {
		c.showQueue(w, r, http.StatusForbidden, "This form has expired or did not come from this console: nothing was verified. Try again.", "", nil)
		return
	}
	id := r.PathValue("id")
	if !validID.MatchString(id) {
		c.showQueue(w, r, http.StatusNotFound, "There is no such prescription.", "", nil)
		return
	}
	if err := c.api.postJSON(r, "/v1/medications/prescriptions/"+url.PathEscape(id)+"/verify", s.Access, "{}", nil); err != nil {
		c.stepRefused(w, r, "verify", id, err, nil)
		return
	}
	http.Redirect(w, r, pharmacyPath, http.StatusSeeOther)
}

// stepRefused shows the queue with why the engine refused step on
// prescription id, at the refusal's status; the reasons typed stay in
// the form. The engine's error code says which refusal it is, never its
// words, which are shown beside the console's.
func (c *Console) stepRefused(w http.ResponseWriter, r *http.Request, step, id string, err error, typed map[string]string) {
	done := map[string]string{"override": "overridden", "verify": "verified"}[step]
	status, msg := http.StatusBadGateway, "The prescription could not be "+done+" just now. Try again."
	if ae, ok := err.(*apiError); ok {
		status = ae.Status
		switch {
		case ae.Status == http.StatusUnauthorized:
			c.clearSession(w, r)
			http.Redirect(w, r, "/console/login?next="+url.QueryEscape(pharmacyPath), http.StatusSeeOther)
			return
		case ae.Code == "PHARMACIST_REQUIRED" && step == "verify":
			msg = "The engine refused: only a pharmacist verifies a prescription."
		case ae.Code == "PHARMACIST_REQUIRED":
			msg = "The engine refused: a contraindicated finding is overridden by a pharmacist only. Nothing was overridden."
		case ae.Status == http.StatusForbidden:
			msg = "The engine refused: your role does not allow this. Nothing was " + done + "."
		case ae.Code == "NEW_FINDINGS":
			msg = "Verification ran the checks again and found something new: the prescription is on hold again. Review its findings below."
		case ae.Status == http.StatusConflict:
			msg = "The prescription has changed since the page was shown: it cannot be " + done + " now. The queue below is as it is now."
		case ae.Status == http.StatusBadRequest:
			msg = "The engine refused: nothing was " + done + "."
		case ae.Status == http.StatusNotFound:
			msg = "There is no such prescription."
		case ae.Status >= 500:
			status = http.StatusBadGateway
		}
		if ae.Message != "" {
			msg += " (" + ae.Message + ")"
		}
	}
	c.log.InfoContext(r.Context(), "console prescription step refused", "step", step, "prescriptionId", id, "status", status)
	c.showQueue(w, r, status, msg, id, typed)
}
