package auth

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/zarish-sphere/zarish/domain/identity"
	"github.com/zarish-sphere/zarish/domain/patient"
	"github.com/zarish-sphere/zarish/integrations/postgres"
)

// TestLaunchContextConfinesPatientScopes: an app opened with a launch
// context (SMART EHR launch) is granted the patient/ scopes it asks for,
// bounded by the user's roles, its tokens name the launch patient (so the
// API confines them), a refresh keeps it, and a launch value opens one
// sign-in only; without a launch context no patient/ scope is granted.
func TestLaunchContextConfinesPatientScopes(t *testing.T) {
	f := newSignInFixture(t)
	ctx := context.Background()
	d := patient.Details{Name: patient.Name{Given: []string{"Amina"}, Family: "Rahman"}, BirthDate: "1987-04-12", Sex: "female"}
	pt, _, err := postgres.NewPatientStore(f.pool).Register(ctx, nil, nil, func(mrn string) (patient.Patient, error) {
		return patient.NewPatient(uuid.Must(uuid.NewV7()), mrn, d, time.Now())
	})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	const value = "launch-0123456789-abcdefghijklmnop"
	if err := f.store.CreateLaunch(ctx, value, identity.Launch{PatientID: pt.ID, ClientID: "ehr",
		CreatedAt: now, ExpiresAt: now.Add(identity.LaunchTTL)}); err != nil {
		t.Fatal(err)
	}

	launched := func(launch string) (*browser, *http.Response) {
		b := f.browser(t)
		q := authorizeQuery(wardApp)
		q.Set("scope", "openid offline_access launch patient/Observation.rs patient/MedicationRequest.cruds user/Patient.read")
		if launch != "" {
			q.Set("launch", launch)
		}
		if res := b.get(q); res.StatusCode != http.StatusOK {
			t.Fatalf("authorize page: %d %s", res.StatusCode, b.body)
		}
		return b, b.post("password", "username", nurseUsername, "password", nursePassword)
	}

	b, res := launched(value)
	code := b.callback(res).Get("code")
	tk := f.exchange(t, wardApp, code, testPKCEVerify)
	if tk.status != http.StatusOK || tk.Patient != pt.ID.String() {
		t.Fatalf("exchange: %+v, want patient %s", tk, pt.ID)
	}
	granted := strings.Fields(tk.Scope)
	// A nurse reads prescriptions but does not write them.
	for _, want := range []string{"patient/Observation.rs", "patient/MedicationRequest.rs", "user/Patient.read", "launch"} {
		if !slices.Contains(granted, want) {
			t.Errorf("granted %q, want %s among them", granted, want)
		}
	}
	if slices.Contains(granted, "patient/MedicationRequest.cruds") {
		t.Errorf("granted %q: beyond the nurse's role", granted)
	}
	p, err := f.server.Verify(ctx, tk.Access)
	if err != nil {
		t.Fatal(err)
	}
	if p.Patient != pt.ID.String() {
		t.Errorf("principal patient %q, want %s", p.Patient, pt.ID)
	}
	if ok, confined := p.Grant("system/Observation.s"); !ok || !confined {
		t.Errorf("Grant(system/Observation.s) = %v, %v; want allowed, confined", ok, confined)
	}
	if ok, confined := p.Grant("system/Patient.r"); !ok || confined {
		t.Errorf("Grant(system/Patient.r) = %v, %v; the user/ grant covers it unconfined", ok, confined)
	}
	if ok, _ := p.Grant("system/MedicationRequest.c"); ok {
		t.Error("a nurse's launch token may create prescriptions")
	}

	// A refresh keeps the launch patient.
	again := f.refresh(t, wardApp, tk.Refresh)
	if again.status != http.StatusOK || again.Patient != pt.ID.String() {
		t.Errorf("refresh: %+v", again)
	}
	if p, err := f.server.Verify(ctx, again.Access); err != nil || p.Patient != pt.ID.String() {
		t.Errorf("refreshed token: %+v, %v", p, err)
	}

	// The launch value is used up.
	b, res = launched(value)
	if q := b.callback(res); q.Get("error") != "invalid_request" || q.Get("code") != "" {
		t.Errorf("second use of a launch: %v", q)
	}

	// Without a launch context, patient/ scopes are not granted.
	b, res = launched("")
	plain := f.exchange(t, wardApp, b.callback(res).Get("code"), testPKCEVerify)
	if plain.status != http.StatusOK || plain.Patient != "" || strings.Contains(plain.Scope, "patient/") {
		t.Errorf("sign-in without a launch: %+v", plain)
	}
}
