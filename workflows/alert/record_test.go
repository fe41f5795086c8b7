//go:build record

package alert_test

// Recording the replay test's histories needs a real Temporal server:
//
//	go test -tags record -run TestRecordHistory ./workflows/alert/
//
// runs escalations on the embedded dev server (with the real activities
// over an in-memory store) and rewrites the histories recorded since the
// reach-a-human version; historyFile, recorded before it, is kept as it is.
// Record again only when the workflow changes in a way old histories cannot
// replay, guard that change with workflow.GetVersion, and keep the older
// files beside the new ones.

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"

	activities "github.com/zarish-sphere/zarish/activities/alert"
	"github.com/zarish-sphere/zarish/domain/alert"
	"github.com/zarish-sphere/zarish/domain/audit"
	"github.com/zarish-sphere/zarish/domain/careteam"
	"github.com/zarish-sphere/zarish/integrations/temporal/temporaltest"
	alertwf "github.com/zarish-sphere/zarish/workflows/alert"
	"github.com/zarish-sphere/zarish/workflows/process"
)

// memoryStore is the activities' store kept in memory.
type memoryStore struct {
	mu     sync.Mutex
	policy alert.Policy
	team   map[careteam.Role]careteam.Practitioner
}

func (m *memoryStore) GetPolicy(context.Context, string) (alert.Policy, error) { return m.policy, nil }
func (m *memoryStore) SelectPolicy(context.Context, string, alert.Severity) (alert.Policy, error) {
	return m.policy, nil
}
func (m *memoryStore) ResolveRecipients(_ context.Context, unit string, l alert.Level, at time.Time) ([]careteam.Practitioner, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var dir []careteam.Practitioner
	for _, p := range m.team {
		dir = append(dir, p)
	}
	return alert.ResolveRecipients(l, unit, at, dir, nil), nil
}
func (m *memoryStore) RecordAlertRaised(context.Context, alert.Raise, string, time.Time) error {
	return nil
}
func (m *memoryStore) RecordNotifications(context.Context, uuid.UUID, alert.Step, *alert.Event, []alert.Notification, time.Time) error {
	return nil
}
func (m *memoryStore) RecordUnreachable(context.Context, uuid.UUID, alert.Step, *alert.Event, alert.Event) error {
	return nil
}
func (m *memoryStore) RecordAcknowledged(context.Context, uuid.UUID, uuid.UUID, string, time.Time, *audit.Record) error {
	return nil
}
func (m *memoryStore) RecordResolved(context.Context, uuid.UUID, uuid.UUID, string, string, time.Time, *audit.Record) error {
	return nil
}
func (m *memoryStore) RecordExhausted(context.Context, uuid.UUID, time.Time) error { return nil }
func (m *memoryStore) RecordUndeliverable(context.Context, uuid.UUID, alert.Event, []alert.Notification) error {
	return nil
}

func TestRecordHistory(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	c := temporaltest.Start(ctx, t)

	team := map[careteam.Role]careteam.Practitioner{}
	for role, id := range map[careteam.Role]uuid.UUID{careteam.RoleNurse: nurse, careteam.RoleChargeNurse: charge, careteam.RolePhysician: doctor} {
		p, err := careteam.NewPractitioner(id, names[id], []careteam.Role{role}, []string{"ward-3"},
			[]careteam.ContactPoint{{System: careteam.ContactPush, Value: "push-token-" + string(role)}})
		if err != nil {
			t.Fatal(err)
		}
		team[role] = p
	}
	policy := testPolicy(0)
	for i := range policy.Levels {
		policy.Levels[i].AckTimeout = 2 * time.Second
		policy.Levels[i].Channels = []alert.Channel{alert.ChannelInApp, alert.ChannelPush}
	}
	w := worker.New(c, alertwf.TaskQueue, worker.Options{})
	alertwf.Register(w, activities.New(&memoryStore{policy: policy, team: team}, activities.WithFallbackContact("operator@localhost")))
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	defer w.Stop()

	start := func(t *testing.T, in alertwf.Input) client.WorkflowRun {
		t.Helper()
		run, err := alertwf.Start(ctx, c, in)
		if err != nil {
			t.Fatal(err)
		}
		return run
	}
	final := func(t *testing.T, run client.WorkflowRun, want alert.Status) {
		t.Helper()
		var s alertwf.State
		if err := run.Get(ctx, &s); err != nil || s.Status != want {
			t.Fatalf("final %s, %v; want %s", s.Status, err, want)
		}
	}

	t.Run("level 2 acknowledges", func(t *testing.T) {
		in := testInput()
		in.AlertID = uuid.MustParse("0193a000-0000-7000-8000-00000000a102")
		run := start(t, in)
		// Level 1 times out, so the charge nurse at level 2 is notified.
		time.Sleep(3 * time.Second)
		if _, err := alertwf.Acknowledge(ctx, c, in.AlertID, alertwf.AcknowledgeRequest{PractitionerID: stranger}); err == nil {
			t.Fatal("a stranger acknowledged")
		}
		rec := &audit.Record{ID: uuid.MustParse("0193a000-0000-7000-8000-0000000a0d17"), Action: audit.ActionUpdate, EntityType: "Flag"}
		if _, err := alertwf.Update(ctx, c, in.AlertID, process.WithAudit(&alertwf.AcknowledgeRequest{PractitionerID: charge}, rec)); err != nil {
			t.Fatal(err)
		}
		if _, err := alertwf.Resolve(ctx, c, in.AlertID, alertwf.ResolveRequest{PractitionerID: doctor, Note: "reviewed"}); err != nil {
			t.Fatal(err)
		}
		final(t, run, alertwf.StatusResolved)
		temporaltest.SaveHistory(ctx, t, c, run, level2HistoryFile)
	})

	t.Run("exhausted", func(t *testing.T) {
		in := testInput()
		in.AlertID = uuid.MustParse("0193a000-0000-7000-8000-00000000a103")
		run := start(t, in)
		final(t, run, alertwf.StatusExhausted)
		temporaltest.SaveHistory(ctx, t, c, run, exhaustedHistoryFile)
	})

	t.Run("undeliverable", func(t *testing.T) {
		in := testInput()
		in.AlertID = uuid.MustParse("0193a000-0000-7000-8000-00000000a104")
		in.Unit = "ward-9" // nobody works there
		run := start(t, in)
		final(t, run, alertwf.StatusUndeliverable)
		temporaltest.SaveHistory(ctx, t, c, run, undeliverableHistoryFile)
	})
}
