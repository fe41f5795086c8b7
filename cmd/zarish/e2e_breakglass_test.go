package main

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/zarish-sphere/zarish/domain/alert"
	"github.com/zarish-sphere/zarish/domain/careteam"
	"github.com/zarish-sphere/zarish/integrations/postgres"
)

// TestEndToEndBreakGlassReachesThePrivacyOfficer: an emergency app breaks
// the glass to read a patient it may not normally see; the access reaches
// the privacy officer `zarish dev` puts on call (audit.sara), in her in-app
// inbox and by email, as a review alert naming who, whose record and why.
// The same person's next access joins that alert. With nobody on call for
// the role, another's access ends in the operator's alarm.
func TestEndToEndBreakGlassReachesThePrivacyOfficer(t *testing.T) {
	e := startE2E(t, devConfig(t))
	admin := e.token(devClientID, "dev-secret", "")
	r := e.do(http.MethodPost, "/v1/patients", admin, amina())
	var p patientJSON
	r.json(t, &p)
	if r.status != http.StatusCreated {
		t.Fatalf("register: %d %s", r.status, r.body)
	}
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	emergencyApp := func(id string) string {
		err := runAdmin(context.Background(), e.cfg, []string{"create-client", "--id", id, "--secret", id + "-secret", "--scopes", "emergency"},
			logger, io.Discard)
		if err != nil {
			t.Fatalf("create %s: %v", id, err)
		}
		return e.token(id, id+"-secret", "")
	}
	breakGlass := func(token, reason string) {
		t.Helper()
		if r := e.do(http.MethodGet, "/v1/patients/"+p.ID, token, nil, "X-Break-Glass", reason); r.status != http.StatusOK {
			t.Fatalf("break-the-glass read: %d %s", r.status, r.body)
		}
	}
	reviews := func() []alert.Record {
		r := e.do(http.MethodGet, "/v1/notifications/alerts?patientId="+p.ID, admin, nil)
		var page struct {
			Data []alert.Record `json:"data"`
		}
		r.json(t, &page)
		var out []alert.Record
		for _, a := range page.Data {
			if a.Category == alert.CategoryBreakGlass {
				out = append(out, a)
			}
		}
		return out
	}

	er := emergencyApp("er-app")
	breakGlass(er, "unconscious patient in resus")
	officer := demoPractitionerID("audit.sara").String()
	var review alert.Record
	eventually(t, 30*time.Second, "the review alert in the privacy officer's inbox", func() bool {
		r := e.do(http.MethodGet, "/v1/notifications/inbox", e.actingToken(), nil, onBehalfOf(officer)...)
		var page struct {
			Data []struct {
				AlertID string `json:"alertId"`
			} `json:"data"`
		}
		r.json(t, &page)
		rs := reviews()
		if len(rs) != 1 || len(page.Data) == 0 {
			return false
		}
		review = rs[0]
		return page.Data[0].AlertID == review.ID.String()
	})
	if review.PolicyID != alert.PolicyBreakGlass || review.Unit != alert.UnitHospital ||
		!strings.Contains(review.Message, `"unconscious patient in resus"`) || !strings.Contains(review.Message, "client er-app") {
		t.Fatalf("review alert: %+v", review)
	}
	eventually(t, 30*time.Second, "the review by email", func() bool {
		return mailTo(e, "audit.sara@zarish.invalid", "[warning] break-glass alert on hospital")
	})

	// The same person again: the open review alert, not a second one.
	breakGlass(er, "still in resus")
	r = e.do(http.MethodGet, "/v1/audit/reports/break-glass", admin, nil)
	if !strings.Contains(string(r.body), `"count":2`) {
		t.Fatalf("break-glass report: %d %s", r.status, r.body)
	}
	time.Sleep(2 * time.Second) // the consumer raises within milliseconds
	if rs := reviews(); len(rs) != 1 || rs[0].ID != review.ID {
		t.Fatalf("reviews after the second access: %+v", rs)
	}

	// Nobody on call: the privacy officer's shift ended an hour ago.
	pool, err := openDatabase(context.Background(), e.cfg.Database, logger)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	ended, err := careteam.NewOnCall(demoOnCallID(careteam.RolePrivacyOfficer, "audit.sara"), demoPractitionerID("audit.sara"),
		careteam.RolePrivacyOfficer, "", time.Now().Add(-2*time.Hour), time.Now().Add(-time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if err := postgres.NewCareTeamStore(pool).SetOnCall(context.Background(), nil, ended); err != nil {
		t.Fatal(err)
	}
	breakGlass(emergencyApp("er-app-2"), "cardiac arrest on arrival")
	var alarmed alert.Record
	eventually(t, 30*time.Second, "the second review undeliverable", func() bool {
		for _, a := range reviews() {
			if a.ID != review.ID && a.Status == alert.StatusUndeliverable {
				alarmed = a
				return true
			}
		}
		return false
	})
	eventually(t, 30*time.Second, "the operator's alarm", func() bool {
		return mailTo(e, devFallbackContact, alarmed.ID.String(), "UNDELIVERABLE", "no privacy-officer on call")
	})
}
