package procedure_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/zarish-sphere/zarish/domain/procedure"
)

func TestDefaultChecklistFollowsTheWHOChecklist(t *testing.T) {
	items := procedure.DefaultChecklist()
	// WHO Surgical Safety Checklist (2009): 7 items at sign in, 7 at time
	// out, 5 at sign out, 19 in all; the three pre-procedure items are ours.
	want := map[procedure.Phase]int{procedure.PhasePreProcedure: 3, procedure.PhaseSignIn: 7, procedure.PhaseTimeOut: 7, procedure.PhaseSignOut: 5}
	got := map[procedure.Phase]int{}
	who := 0
	last := 0
	seen := map[string]bool{}
	for _, it := range items {
		got[it.Phase]++
		if it.Phase != procedure.PhasePreProcedure {
			who++
			if !strings.HasPrefix(it.Code, string(it.Phase)+".") {
				t.Errorf("%s is not named after its phase %s", it.Code, it.Phase)
			}
		}
		if i := slices.Index(procedure.Phases, it.Phase); i < last {
			t.Errorf("%s (%s) is out of phase order", it.Code, it.Phase)
		} else {
			last = i
		}
		if seen[it.Code] || it.Text == "" || it.DoneAt != nil || !it.Phase.Valid() {
			t.Errorf("item %+v", it)
		}
		seen[it.Code] = true
	}
	if who != 19 {
		t.Errorf("%d WHO items, want 19", who)
	}
	for ph, n := range want {
		if got[ph] != n {
			t.Errorf("%s: %d items, want %d", ph, got[ph], n)
		}
	}
	for _, code := range []string{"consent", "fasting", "site-marking", "sign-in.identity", "sign-in.pulse-oximeter",
		"sign-in.blood-loss", "time-out.team", "time-out.antibiotic", "time-out.imaging", "sign-out.counts", "sign-out.specimen"} {
		if !seen[code] {
			t.Errorf("no item %s", code)
		}
	}
	if procedure.Phase("induction").Valid() {
		t.Error("induction is not a phase")
	}
}

func TestDefaultChecklistIsAFreshCopy(t *testing.T) {
	a := procedure.DefaultChecklist()
	a[0].Note = "changed"
	if b := procedure.DefaultChecklist(); b[0].Note != "" {
		t.Fatal("a caller changed the default checklist")
	}
}

func TestUndoneAndItem(t *testing.T) {
	p := fxMust(t)(procedure.NewProcedure(fxRequest(), nil))
	p = fxMust(t)(p.Check("consent", fxNurse, "", fxT0))
	if u := p.Undone(procedure.PhasePreProcedure); !slices.Equal(u, []string{"fasting", "site-marking"}) {
		t.Fatalf("undone %v", u)
	}
	if n := len(p.Undone()); n != 21 {
		t.Fatalf("%d undone in all", n)
	}
	if it, ok := p.Item("consent"); !ok || it.DoneAt == nil || it.DoneBy != fxNurse {
		t.Fatalf("consent %+v", it)
	}
	if _, ok := p.Item("sign-in.unknown"); ok {
		t.Fatal("an unknown item")
	}
}
