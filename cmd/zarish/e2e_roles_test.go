package main

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/zarish-sphere/zarish/domain"
)

// TestEndToEndNurseRole registers a nurse client with `zarish admin
// create-client --roles nurse`, then uses its token on the real stack: it
// runs an encounter, is refused prescribing scopes at the token endpoint and
// the audit trail at the API, and its accesses are recorded under its role;
// then `set-client-access` turns it into an auditor and `disable-client`
// stops it.
func TestEndToEndNurseRole(t *testing.T) {
	e := startE2E(t, devConfig(t))
	ctx := context.Background()
	logger := slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))

	// An unknown role is a usage error naming it; nothing is created.
	var out bytes.Buffer
	err := runAdmin(ctx, e.cfg, []string{"create-client", "--id", "ward-7", "--secret", "ward-7-secret", "--roles", "nurse,surgeon"}, logger, &out)
	var usage usageError
	if !errors.As(err, &usage) || !strings.Contains(err.Error(), `role "surgeon"`) {
		t.Fatalf("create-client with an unknown role = %v, want a usage error naming it", err)
	}
	// The tablets act for the nurse on shift, so they may name her.
	err = runAdmin(ctx, e.cfg, []string{"create-client", "--id", "ward-7", "--secret", "ward-7-secret", "--name", "Ward 7 tablets", "--roles", "nurse",
		"--scopes", "system/Practitioner.act"}, logger, &out)
	if err != nil {
		t.Fatalf("create-client --roles nurse: %v", err)
	}
	if !strings.Contains(out.String(), "created client ward-7 with roles [nurse]") || !strings.Contains(out.String(), "system/Encounter.write") {
		t.Errorf("create-client said %q", out.String())
	}

	// Asking for more than the role grants is refused.
	form := url.Values{"grant_type": {"client_credentials"}, "scope": {"system/MedicationRequest.write"}}
	req, _ := http.NewRequest(http.MethodPost, e.stack.APIURL+"/v1/auth/oauth2/token", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth("ward-7", "ward-7-secret")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusBadRequest {
		t.Fatalf("token beyond the nurse role: %d, want 400", res.StatusCode)
	}

	nurse := e.token("ward-7", "ward-7-secret", "")
	r := e.do(http.MethodPost, "/v1/patients", nurse, amina())
	var p patientJSON
	r.json(t, &p)
	if r.status != http.StatusCreated {
		t.Fatalf("nurse registers a patient: %d %s", r.status, r.body)
	}
	r = e.do(http.MethodPost, "/v1/clinical/encounters", nurse, map[string]any{
		"patientId": p.ID, "class": "emergency", "reason": "fall", "location": "ed-triage", "triageDeadlineMinutes": 15})
	var enc struct {
		ID string `json:"id"`
	}
	r.json(t, &enc)
	if r.status != http.StatusCreated {
		t.Fatalf("nurse starts an encounter: %d %s", r.status, r.body)
	}
	if r := e.do(http.MethodPost, "/v1/clinical/encounters/"+enc.ID+"/arrive", nurse, map[string]any{},
		onBehalfOf(demoPractitionerID("nurse.nadia").String())...); r.status != http.StatusOK {
		t.Fatalf("nurse marks arrival: %d %s", r.status, r.body)
	}
	if r := e.do(http.MethodGet, "/v1/clinical/encounters/"+enc.ID, nurse, nil); r.status != http.StatusOK {
		t.Fatalf("nurse reads the encounter: %d %s", r.status, r.body)
	}
	r = e.do(http.MethodGet, "/v1/audit/events", nurse, nil)
	var env errorJSON
	r.json(t, &env)
	if r.status != http.StatusForbidden || env.Error != "FORBIDDEN" {
		t.Fatalf("nurse reads the audit trail: %d %s, want 403 FORBIDDEN", r.status, r.body)
	}

	// The administrator sees the nurse's accesses, each under its role.
	admin := e.token(devClientID, "dev-secret", "")
	r = e.do(http.MethodGet, "/v1/audit/events?actor=ward-7&limit=500", admin, nil)
	var page struct {
		Data []struct {
			Actor struct {
				ClientID string   `json:"clientId"`
				Roles    []string `json:"roles"`
			} `json:"actor"`
			Route   string `json:"route"`
			Outcome string `json:"outcome"`
		} `json:"data"`
	}
	r.json(t, &page)
	if r.status != http.StatusOK {
		t.Fatalf("audit events of ward-7: %d %s", r.status, r.body)
	}
	var denied, succeeded int
	for _, rec := range page.Data {
		if rec.Route == "/v1/auth/oauth2/token" {
			continue // the token request is recorded before any token names the role
		}
		if rec.Actor.ClientID != "ward-7" || !slices.Equal(rec.Actor.Roles, []string{"nurse"}) {
			t.Errorf("record of %s: actor %+v, want ward-7 as nurse", rec.Route, rec.Actor)
		}
		switch rec.Outcome {
		case "denied":
			denied++
		case "success":
			succeeded++
		}
	}
	if denied != 1 || succeeded != 4 {
		t.Errorf("ward-7 records: %d denied, %d succeeded; want 1 and 4: %s", denied, succeeded, r.body)
	}

	// The tablets move to the privacy office: new tokens carry the new role.
	out.Reset()
	if err := runAdmin(ctx, e.cfg, []string{"set-client-access", "--id", "ward-7", "--roles", "auditor"}, logger, &out); err != nil {
		t.Fatalf("set-client-access: %v", err)
	}
	if !strings.Contains(out.String(), "client ward-7 now has roles [auditor]") {
		t.Errorf("set-client-access said %q", out.String())
	}
	auditor := e.token("ward-7", "ward-7-secret", "")
	if r := e.do(http.MethodGet, "/v1/audit/events?actor=ward-7", auditor, nil); r.status != http.StatusOK {
		t.Fatalf("auditor reads the audit trail: %d %s", r.status, r.body)
	}
	if r := e.do(http.MethodGet, "/v1/clinical/encounters/"+enc.ID, auditor, nil); r.status != http.StatusForbidden {
		t.Fatalf("auditor reads an encounter: %d, want 403", r.status)
	}
	if err := runAdmin(ctx, e.cfg, []string{"set-client-access", "--id", "nobody", "--roles", "auditor"}, logger, &out); !errors.Is(err, domain.ErrNotFound) {
		t.Fatalf("set-client-access of an unknown client = %v", err)
	}

	// Disabled, the client gets no more tokens.
	if err := runAdmin(ctx, e.cfg, []string{"disable-client", "--id", "ward-7"}, logger, &out); err != nil {
		t.Fatalf("disable-client: %v", err)
	}
	req, _ = http.NewRequest(http.MethodPost, e.stack.APIURL+"/v1/auth/oauth2/token", strings.NewReader("grant_type=client_credentials"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth("ward-7", "ward-7-secret")
	if res, err = http.DefaultClient.Do(req); err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusUnauthorized {
		t.Fatalf("token for a disabled client: %d, want 401", res.StatusCode)
	}
}
