package main

import (
	"net/http"
	"testing"
	"time"

	"github.com/zarish-sphere/zarish/domain/alert"
)

// TestEndToEndObservationsReachAHuman: on the embedded stack, a critical
// potassium recorded for a patient on ward 3 starts an alert escalation that
// reaches the ward's nurse, who acknowledges it; seven NEWS2 readings
// recorded minutes apart combine into one high score that raises an
// emergency alert; a newer set that scores low resolves it, in the name of
// the nurse who recorded it.
func TestEndToEndObservationsReachAHuman(t *testing.T) {
	e := startE2E(t, devConfig(t))
	admin := e.token(devClientID, "dev-secret", "")
	acting := e.actingToken()
	nurse := demoPractitionerID("nurse.nadia").String()
	asNurse := onBehalfOf(nurse)

	r := e.do(http.MethodPost, "/v1/patients", admin, amina())
	var p patientJSON
	r.json(t, &p)
	if r.status != http.StatusCreated {
		t.Fatalf("register: %d %s", r.status, r.body)
	}
	r = e.do(http.MethodPost, "/v1/clinical/encounters", admin, map[string]any{
		"patientId": p.ID, "class": "emergency", "reason": "fever", "location": "ward-3"})
	var enc struct {
		ID string `json:"id"`
	}
	r.json(t, &enc)
	if r.status != http.StatusCreated {
		t.Fatalf("encounter: %d %s", r.status, r.body)
	}
	alertsOf := func(category string) []alert.Record {
		r := e.do(http.MethodGet, "/v1/notifications/alerts?patientId="+p.ID, admin, nil)
		var page struct {
			Data []alert.Record `json:"data"`
		}
		r.json(t, &page)
		var out []alert.Record
		for _, a := range page.Data {
			if a.Category == category {
				out = append(out, a)
			}
		}
		return out
	}

	// A critical value.
	r = e.do(http.MethodPost, "/v1/observations", acting, map[string]any{
		"patientId": p.ID, "code": "2823-3", "value": map[string]any{"value": 7.1, "unit": "mmol/L"},
		"effectiveAt": time.Now().Add(-time.Minute).UTC().Format(time.RFC3339)}, asNurse...)
	if r.status != http.StatusCreated {
		t.Fatalf("record potassium: %d %s", r.status, r.body)
	}
	var critical alert.Record
	eventually(t, 60*time.Second, "the critical-value alert acknowledged by the ward's nurse", func() bool {
		as := alertsOf("critical-value")
		if len(as) != 1 {
			return false
		}
		critical = as[0]
		r := e.do(http.MethodPost, "/v1/notifications/alerts/"+critical.ID.String()+"/acknowledge", acting, map[string]any{}, asNurse...)
		return r.status == http.StatusOK
	})
	if critical.Unit != "ward-3" || critical.Severity != alert.SeverityCritical {
		t.Errorf("critical alert %+v: want ward-3, critical", critical)
	}

	// Seven readings minutes apart: RR 25 (3), SpO2 91 (3), on oxygen (2),
	// systolic 90 (3), pulse 131 (3), alert (0), 39.2 °C (2) — NEWS2 16.
	set := func(at time.Time, rr, spo2, o2, sys, pulse float64, avpu string, temp float64) []map[string]any {
		item := func(i int, code string, value map[string]any) map[string]any {
			return map[string]any{"patientId": p.ID, "encounterId": enc.ID, "code": code, "value": value,
				"effectiveAt": at.Add(time.Duration(i) * 2 * time.Minute).UTC().Format(time.RFC3339)}
		}
		q := func(v float64, unit string) map[string]any { return map[string]any{"value": v, "unit": unit} }
		return []map[string]any{
			item(0, "9279-1", q(rr, "/min")), item(1, "59408-5", q(spo2, "%")), item(2, "3150-0", q(o2, "%")),
			item(3, "8480-6", q(sys, "mm[Hg]")), item(4, "8867-4", q(pulse, "/min")),
			item(5, "67775-7", map[string]any{"code": avpu}), item(6, "8310-5", q(temp, "Cel")),
		}
	}
	record := func(items []map[string]any) {
		t.Helper()
		if r := e.do(http.MethodPost, "/v1/observations/batch", acting, map[string]any{"items": items}, asNurse...); r.status != http.StatusCreated {
			t.Fatalf("record the set: %d %s", r.status, r.body)
		}
	}
	record(set(time.Now().Add(-30*time.Minute), 25, 91, 28, 90, 131, "A", 39.2))
	var high alert.Record
	eventually(t, 60*time.Second, "NEWS2 16 scored and its emergency alert raised", func() bool {
		var n struct {
			Total  int    `json:"total"`
			Risk   string `json:"risk"`
			Status string `json:"status"`
		}
		r := e.do(http.MethodGet, "/v1/observations/news2?patientId="+p.ID, admin, nil)
		r.json(t, &n)
		as := alertsOf("news2-high")
		if len(as) == 1 {
			high = as[0]
		}
		return r.status == http.StatusOK && n.Total == 16 && n.Risk == "high" && len(as) == 1
	})
	if high.Severity != alert.SeverityCritical || high.Unit != "ward-3" {
		t.Errorf("NEWS2 alert %+v", high)
	}

	// Better: every parameter scores 0. The emergency alert is resolved.
	record(set(time.Now().Add(-15*time.Minute), 16, 97, 21, 125, 80, "A", 37.0))
	eventually(t, 60*time.Second, "the NEWS2 alert resolved once the score fell", func() bool {
		r := e.do(http.MethodGet, "/v1/notifications/alerts/"+high.ID.String(), admin, nil)
		var a alert.Record
		r.json(t, &a)
		return a.Status == alert.StatusResolved && a.ResolvedBy != nil && a.ResolvedBy.String() == nurse
	})
	if as := alertsOf("news2-medium"); len(as) != 0 {
		t.Errorf("a low score raised %d medium alerts", len(as))
	}
}
