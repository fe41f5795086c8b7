//go:build record

package alert_test

// Recording the replay test's history needs a real Temporal server:
//
//	go test -tags record -run TestRecordHistory ./workflows/alert/
//
// runs the escalation on the embedded dev server (with the real activities
// over an in-memory store) and rewrites testdata/escalation_acknowledged.json.
// Record again only when the workflow changes in a way old histories cannot
// replay, and guard that change with workflow.GetVersion.

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"go.temporal.io/sdk/worker"

	activities "github.com/zarish-sphere/zarish/activities/alert"
	"github.com/zarish-sphere/zarish/domain/alert"
	"github.com/zarish-sphere/zarish/domain/careteam"
	"github.com/zarish-sphere/zarish/integrations/temporal/temporaltest"
	alertwf "github.com/zarish-sphere/zarish/workflows/alert"
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
func (m *memoryStore) RecordAcknowledged(context.Context, uuid.UUID, uuid.UUID, string, time.Time) error {
	return nil
}
func (m *memoryStore) RecordResolved(context.Context, uuid.UUID, uuid.UUID, string, string, time.Time) error {
	return nil
}
func (m *memoryStore) RecordExhausted(context.Context, uuid.UUID, time.Time) error { return nil }

func TestRecordHistory(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
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
	alertwf.Register(w, activities.New(&memoryStore{policy: policy, team: team}))
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	defer w.Stop()

	in := testInput()
	run, err := alertwf.Raise(ctx, c, nil, in)
	if err != nil {
		t.Fatal(err)
	}
	// Let level 1 time out, so the history holds an escalation.
	time.Sleep(3 * time.Second)
	if _, err := alertwf.Acknowledge(ctx, c, in.AlertID, alertwf.AcknowledgeRequest{PractitionerID: stranger}); err == nil {
		t.Fatal("a stranger acknowledged")
	}
	if _, err := alertwf.Acknowledge(ctx, c, in.AlertID, alertwf.AcknowledgeRequest{PractitionerID: nurse}); err != nil {
		t.Fatal(err)
	}
	if _, err := alertwf.Resolve(ctx, c, in.AlertID, alertwf.ResolveRequest{PractitionerID: doctor, Note: "reviewed"}); err != nil {
		t.Fatal(err)
	}
	var final alertwf.State
	if err := run.Get(ctx, &final); err != nil || final.Status != alertwf.StatusResolved {
		t.Fatalf("final %s, %v", final.Status, err)
	}

	temporaltest.SaveHistory(ctx, t, c, run, historyFile)
}
