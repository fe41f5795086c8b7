package subscription_test

import (
	"context"
	"errors"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/zarish-sphere/zarish/domain"
	"github.com/zarish-sphere/zarish/domain/subscription"
)

func valid() subscription.Subscription {
	return subscription.Subscription{Name: "Registry feed", EventTypes: []string{"observation.*"},
		Endpoint: "https://registry.example.org/hooks/zarish", Secret: "0123456789abcdef", Status: subscription.StatusActive}
}

func TestValidate(t *testing.T) {
	nilPatient := uuid.Nil
	for name, tt := range map[string]struct {
		change func(*subscription.Subscription)
		field  string
	}{
		"valid":                 {func(*subscription.Subscription) {}, ""},
		"plain http":            {func(s *subscription.Subscription) { s.Endpoint = "http://registry.example.org/h" }, ""},
		"no name":               {func(s *subscription.Subscription) { s.Name = " " }, "name"},
		"long name":             {func(s *subscription.Subscription) { s.Name = strings.Repeat("n", 201) }, "name"},
		"no event types":        {func(s *subscription.Subscription) { s.EventTypes = nil }, "eventTypes"},
		"21 event types":        {func(s *subscription.Subscription) { s.EventTypes = make([]string, 21) }, "eventTypes"},
		"a malformed type":      {func(s *subscription.Subscription) { s.EventTypes = []string{"observation..x"} }, "eventTypes[0]"},
		"a type twice":          {func(s *subscription.Subscription) { s.EventTypes = []string{"a.b", "a.b"} }, "eventTypes[1]"},
		"ftp":                   {func(s *subscription.Subscription) { s.Endpoint = "ftp://example.org/x" }, "endpoint"},
		"relative":              {func(s *subscription.Subscription) { s.Endpoint = "/hooks" }, "endpoint"},
		"credentials":           {func(s *subscription.Subscription) { s.Endpoint = "https://u:p@example.org/" }, "endpoint"},
		"short secret":          {func(s *subscription.Subscription) { s.Secret = "short" }, "secret"},
		"the nil patient":       {func(s *subscription.Subscription) { s.PatientID = &nilPatient }, "patientId"},
		"category with a space": {func(s *subscription.Subscription) { s.Category = " vital-signs" }, "category"},
		"unknown status":        {func(s *subscription.Subscription) { s.Status = "gone" }, "status"},
	} {
		t.Run(name, func(t *testing.T) {
			s := valid()
			tt.change(&s)
			err := s.Validate()
			var verr *domain.ValidationError
			switch {
			case tt.field == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case tt.field == "":
			case !errors.As(err, &verr) || verr.Fields[0].Field != tt.field:
				t.Fatalf("want %s refused, got %v", tt.field, err)
			}
		})
	}
}

func TestMatches(t *testing.T) {
	patient, other := uuid.New(), uuid.New()
	s := valid()
	s.EventTypes = []string{"observation.*", "note.created"}
	for _, tt := range []struct {
		typ      string
		patient  uuid.UUID
		category string
		want     bool
	}{
		{"observation.recorded", patient, "", true},
		{"observation.amended", uuid.Nil, "", true},
		{"observation", patient, "", false},
		{"observationx.recorded", patient, "", false},
		{"note.created", patient, "", true},
		{"note.amended", patient, "", false},
	} {
		if got := s.Matches(tt.typ, tt.patient, tt.category); got != tt.want {
			t.Errorf("Matches(%s) = %v", tt.typ, got)
		}
	}
	s.PatientID, s.Category = &patient, "vital-signs"
	if !s.Matches("observation.recorded", patient, "vital-signs") || s.Matches("observation.recorded", other, "vital-signs") ||
		s.Matches("observation.recorded", patient, "laboratory") || s.Matches("observation.recorded", uuid.Nil, "vital-signs") {
		t.Error("the patient and category filters do not hold")
	}
	s = valid()
	s.EventTypes = []string{"*"}
	if !s.Matches("anything.at.all", uuid.Nil, "") {
		t.Error("* does not match everything")
	}
}

func TestPolicy(t *testing.T) {
	p := subscription.DefaultPolicy
	now := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	want := []time.Duration{10 * time.Second, 30 * time.Second, 2 * time.Minute, 10 * time.Minute, 30 * time.Minute, time.Hour, time.Hour}
	for i, d := range want {
		status, next := p.Failed(i+1, now)
		if status != subscription.DeliveryFailed || next.Sub(now) != d {
			t.Errorf("after attempt %d: %s at +%s, want failed at +%s", i+1, status, next.Sub(now), d)
		}
	}
	if status, _ := p.Failed(p.MaxAttempts, now); status != subscription.DeliveryDead {
		t.Errorf("the last attempt leaves it %s", status)
	}
	if subscription.Succeeded(302) || subscription.Succeeded(500) || !subscription.Succeeded(204) {
		t.Error("only a 2xx is delivered")
	}
}

func TestSignature(t *testing.T) {
	body := []byte(`{"id":"1","type":"observation.recorded"}`)
	at := time.Unix(1700000000, 0)
	h := subscription.Sign("0123456789abcdef", at, body)
	if !strings.HasPrefix(h, "t=1700000000,v1=") || len(h) != len("t=1700000000,v1=")+64 {
		t.Fatalf("header %q", h)
	}
	if err := subscription.Verify("0123456789abcdef", h, body, at.Add(time.Minute), subscription.SignatureTolerance); err != nil {
		t.Fatal(err)
	}
	if err := subscription.Verify("another secret!!", h, body, at, time.Minute); !errors.Is(err, subscription.ErrBadSignature) {
		t.Errorf("another secret: %v", err)
	}
	if err := subscription.Verify("0123456789abcdef", h, append(body, ' '), at, time.Minute); !errors.Is(err, subscription.ErrBadSignature) {
		t.Errorf("another body: %v", err)
	}
	if err := subscription.Verify("0123456789abcdef", h, body, at.Add(time.Hour), time.Minute); !errors.Is(err, subscription.ErrStaleSignature) {
		t.Errorf("an hour later: %v", err)
	}
}

// fakeResolver answers every host with its addresses.
type fakeResolver map[string][]netip.Addr

func (f fakeResolver) LookupNetIP(_ context.Context, _, host string) ([]netip.Addr, error) {
	if a, ok := f[host]; ok {
		return a, nil
	}
	return nil, errors.New("no such host")
}

func TestCheckEndpoint(t *testing.T) {
	r := fakeResolver{
		"hooks.example.org":  {netip.MustParseAddr("93.184.216.34")},
		"rebind.example.org": {netip.MustParseAddr("93.184.216.34"), netip.MustParseAddr("10.1.2.3")},
	}
	for _, url := range []string{
		"https://127.0.0.1/h", "https://10.0.0.1/h", "https://172.16.5.4/h", "https://192.168.1.1/h",
		"http://169.254.169.254/latest/meta-data", "https://[::1]/h", "https://[fd00::1]/h", "https://[fe80::1]/h",
		"https://100.64.0.1/h", "https://0.0.0.0/h", "https://224.0.0.1/h", "https://[::ffff:127.0.0.1]/h",
		"https://rebind.example.org/h",
	} {
		if err := subscription.CheckEndpoint(context.Background(), r, url, false); !errors.Is(err, subscription.ErrForbiddenAddress) {
			t.Errorf("%s: %v", url, err)
		}
	}
	// The system resolver: localhost is loopback.
	if err := subscription.CheckEndpoint(context.Background(), nil, "http://localhost:8080/h", false); !errors.Is(err, subscription.ErrForbiddenAddress) {
		t.Errorf("localhost: %v", err)
	}
	for _, url := range []string{"https://hooks.example.org/h", "https://93.184.216.34/h"} {
		if err := subscription.CheckEndpoint(context.Background(), r, url, false); err != nil {
			t.Errorf("%s: %v", url, err)
		}
	}
	if err := subscription.CheckEndpoint(context.Background(), r, "http://127.0.0.1:9/h", true); err != nil {
		t.Errorf("a private address when allowed: %v", err)
	}
	if err := subscription.CheckEndpoint(context.Background(), r, "https://unknown.example.org/h", false); err == nil {
		t.Error("a host that does not resolve was accepted")
	}
}
