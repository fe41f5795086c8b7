package diagnostic_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	activities "github.com/zarish-sphere/zarish/activities/diagnostic"
	"github.com/zarish-sphere/zarish/domain"
	"github.com/zarish-sphere/zarish/domain/alert"
	"github.com/zarish-sphere/zarish/domain/audit"
	"github.com/zarish-sphere/zarish/domain/diagnostic"
	"github.com/zarish-sphere/zarish/domain/observation"
	alertworkflow "github.com/zarish-sphere/zarish/workflows/alert"
	"github.com/zarish-sphere/zarish/workflows/process"
)

var (
	now      = time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	reportID = uuid.MustParse("0193f000-0000-7000-8000-0000000000d1")
	patient  = uuid.MustParse("0193f000-0000-7000-8000-0000000000aa")
	orderer  = uuid.MustParse("0193f000-0000-7000-8000-000000000001")
)

// store keeps what it is asked to record; it fails with err when set.
type store struct {
	err      error
	recorded []diagnostic.Report
	audits   []*audit.Record
}

func (s *store) Record(_ context.Context, r diagnostic.Report, rec *audit.Record) error {
	if s.err != nil {
		return s.err
	}
	s.recorded = append(s.recorded, r)
	s.audits = append(s.audits, rec)
	return nil
}

// resolver records what it resolves, failing when err is set.
type resolver struct {
	err   error
	calls []activities.ResolveRequest
}

func (r *resolver) ResolveAlert(_ context.Context, alertID, by uuid.UUID, note string) error {
	r.calls = append(r.calls, activities.ResolveRequest{AlertID: alertID, By: by, Note: note})
	return r.err
}

// execute runs the activity fn picks of a on its own test environment.
func execute(t *testing.T, a *activities.Activities, fn func(*activities.Activities) any, req any) error {
	t.Helper()
	var suite testsuite.WorkflowTestSuite
	e := suite.NewTestActivityEnvironment()
	e.RegisterActivity(a)
	_, err := e.ExecuteActivity(fn(a), req)
	return err
}

func invalidInput(err error) bool {
	var app *temporal.ApplicationError
	return errors.As(err, &app) && app.NonRetryable() && app.Type() == process.TypeInvalidInput
}

// The activities, as execute picks them.
func recordReport(a *activities.Activities) any { return a.RecordReport }
func resolveAlert(a *activities.Activities) any { return a.ResolveAlert }

// ordered is a routine renal panel as the API stores it.
func ordered(t *testing.T) diagnostic.Report {
	t.Helper()
	cat, err := diagnostic.Embedded()
	if err != nil {
		t.Fatal(err)
	}
	r, err := diagnostic.New(diagnostic.Request{ID: reportID, PatientID: patient, Tests: []string{"24362-6"},
		OrdererID: orderer, CreatedAt: now}, cat)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestRecordReport(t *testing.T) {
	r := ordered(t)
	rec := &audit.Record{ID: uuid.MustParse("0193f000-0000-7000-8000-0000000000f1"), Action: audit.ActionUpdate}
	record := func(s *store, req activities.RecordRequest) error {
		return execute(t, activities.New(s, nil, nil), recordReport, req)
	}

	s := &store{}
	if err := record(s, activities.RecordRequest{Report: r, Audit: rec}); err != nil {
		t.Fatal(err)
	}
	if len(s.recorded) != 1 || s.recorded[0].Version != 1 || s.recorded[0].Order.ID != reportID || s.audits[0] == nil ||
		s.audits[0].ID != rec.ID {
		t.Fatalf("recorded %+v with %+v", s.recorded, s.audits)
	}

	noID := r
	noID.Order.ID = uuid.Nil
	noVersion := r
	noVersion.Version = 0
	torn := r
	torn.Version = 2 // one entry in its timeline
	for name, bad := range map[string]diagnostic.Report{"no id": noID, "no version": noVersion, "version beyond the timeline": torn} {
		s := &store{}
		if err := record(s, activities.RecordRequest{Report: bad}); !invalidInput(err) || len(s.recorded) != 0 {
			t.Errorf("%s: %v", name, err)
		}
	}

	// What no retry can fix is not retried; an outage is.
	for name, tc := range map[string]struct {
		err   error
		final bool
	}{
		"not found":  {domain.ErrNotFound, true},
		"invalid":    {&domain.ValidationError{Fields: []domain.FieldError{{Field: "(body)", Message: "NUL byte"}}}, true},
		"wrapped":    {errors.Join(errors.New("record"), domain.ErrNotFound), true},
		"connection": {errors.New("connection refused"), false},
	} {
		err := record(&store{err: tc.err}, activities.RecordRequest{Report: r})
		if err == nil || invalidInput(err) != tc.final {
			t.Errorf("%s: %v (non-retryable %v, want %v)", name, err, invalidInput(err), tc.final)
		}
	}
}

func TestResolveAlert(t *testing.T) {
	alertID := uuid.MustParse("0193f000-0000-7000-8000-0000000000a1")
	req := activities.ResolveRequest{AlertID: alertID, By: orderer, Note: "The critical result was read back."}

	r := &resolver{}
	if err := execute(t, activities.New(&store{}, r, nil), resolveAlert, req); err != nil {
		t.Fatal(err)
	}
	if len(r.calls) != 1 || r.calls[0] != req {
		t.Fatalf("resolved %+v", r.calls)
	}
	// A failure is returned for the retry, which resolves again harmlessly.
	flaky := &resolver{err: errors.New("temporal unavailable")}
	if err := execute(t, activities.New(&store{}, flaky, nil), resolveAlert, req); err == nil || invalidInput(err) {
		t.Fatalf("failed resolve: %v", err)
	}
	none := &resolver{}
	if err := execute(t, activities.New(&store{}, none, nil), resolveAlert, activities.ResolveRequest{By: orderer}); !invalidInput(err) ||
		len(none.calls) != 0 {
		t.Fatalf("no alert: %v", err)
	}
}

// alertList is the alerts' read model, one page at a time.
type alertList struct {
	pages [][]alert.Record
	err   error
}

func (l alertList) ListAlerts(_ context.Context, f alert.Filter) (alert.Page, error) {
	if l.err != nil {
		return alert.Page{}, l.err
	}
	i := 0
	if f.Cursor != "" {
		i = int(f.Cursor[0] - '0')
	}
	page := alert.Page{Alerts: l.pages[i]}
	if i+1 < len(l.pages) {
		page.Next = string(rune('0' + i + 1))
	}
	return page, nil
}

func yieldCriticalValues(a *activities.Activities) any { return a.YieldCriticalValues }

// The critical-value alerts of the callback's test yield to its alert, on
// every page; other tests' alerts and other categories stay.
func TestYieldCriticalValues(t *testing.T) {
	callback := uuid.MustParse("0193f000-0000-7000-8000-0000000000a9")
	potassium := func(id string) alert.Record {
		return alert.Record{ID: uuid.MustParse(id), PatientID: patient, Category: alertworkflow.CategoryCriticalValue,
			Source: alertworkflow.CriticalValueSource(observation.CodePotassium), Status: alert.StatusOpen}
	}
	sodium := potassium("0193f000-0000-7000-8000-0000000000a2")
	sodium.Source = alertworkflow.CriticalValueSource(observation.CodeSodium)
	news2 := potassium("0193f000-0000-7000-8000-0000000000a3")
	news2.Category = alertworkflow.CategoryNEWS2High
	list := alertList{pages: [][]alert.Record{{potassium("0193f000-0000-7000-8000-0000000000a1"), sodium, news2},
		{potassium("0193f000-0000-7000-8000-0000000000a4")}}}
	req := activities.YieldRequest{PatientID: patient, Code: observation.CodePotassium, ReportID: reportID, AlertID: callback, By: orderer}

	r := &resolver{}
	if err := execute(t, activities.New(&store{}, r, list), yieldCriticalValues, req); err != nil {
		t.Fatal(err)
	}
	if len(r.calls) != 2 || r.calls[0].AlertID.String() != "0193f000-0000-7000-8000-0000000000a1" ||
		r.calls[1].AlertID.String() != "0193f000-0000-7000-8000-0000000000a4" || r.calls[0].By != orderer ||
		!strings.Contains(r.calls[0].Note, "diagnostic/"+reportID.String()) || !strings.Contains(r.calls[0].Note, callback.String()) {
		t.Fatalf("resolved %+v", r.calls)
	}
	if err := execute(t, activities.New(&store{}, &resolver{}, alertList{err: errors.New("database down")}), yieldCriticalValues, req); err == nil || invalidInput(err) {
		t.Fatalf("an unreadable read model: %v", err)
	}
	if err := execute(t, activities.New(&store{}, &resolver{}, list), yieldCriticalValues, activities.YieldRequest{PatientID: patient}); !invalidInput(err) {
		t.Fatalf("no test: %v", err)
	}
}
