package api

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestHealthReusesOnlyHealthyResults(t *testing.T) {
	calls := 0
	var fail error
	h := NewHealth(map[string]Check{"database": func(context.Context) error { calls++; return fail }}, time.Second).
		ReuseHealthy(time.Hour)
	h.run(context.Background())
	h.run(context.Background())
	if calls != 1 {
		t.Fatalf("healthy result checked %d times, want reused", calls)
	}
	h = NewHealth(map[string]Check{"database": func(context.Context) error { calls++; return fail }}, time.Second).
		ReuseHealthy(time.Hour)
	calls, fail = 0, errors.New("down")
	h.run(context.Background())
	fail = nil
	if res := h.run(context.Background()); calls != 2 || res["database"] != nil {
		t.Fatalf("a failure must be checked again: calls %d, result %v", calls, res)
	}
}
