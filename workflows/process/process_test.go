package process_test

import (
	"errors"
	"fmt"
	"testing"

	"go.temporal.io/sdk/temporal"

	"github.com/zarish-sphere/zarish/workflows/process"
)

var (
	errClosed = errors.New("closed")
	errOther  = errors.New("other")
)

// A refusal's type comes from its sentinel, found through any wrapping; the
// words are kept for people, and nothing matches on them.
func TestRefuseTypesBySentinel(t *testing.T) {
	kinds := []process.Refusal{{Err: errClosed, Type: "demo.Closed"}}
	cases := []struct {
		name string
		err  error
		want string
	}{
		{"wrapped sentinel", fmt.Errorf("alert 7 is %w (since 09:00)", errClosed), "demo.Closed"},
		{"reworded sentinel", fmt.Errorf("entirely new words: %w", errClosed), "demo.Closed"},
		{"unknown error", errOther, process.TypeInvalidInput},
		{"already typed", temporal.NewApplicationError("x", "demo.Kept"), "demo.Kept"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := process.Refuse(tc.err, kinds...)
			if got := process.ErrorType(err); got != tc.want {
				t.Fatalf("type %q, want %q", got, tc.want)
			}
			var app *temporal.ApplicationError
			if errors.As(err, &app) && app.Type() != "demo.Kept" && !app.NonRetryable() {
				t.Fatal("a refusal must not be retried")
			}
		})
	}
	if process.Refuse(nil, kinds...) != nil {
		t.Fatal("nil refused")
	}
	if process.ErrorType(errOther) != "" || process.ErrorType(nil) != "" {
		t.Fatal("a plain error has no type")
	}
}

// The retry policy ends: a bounded number of attempts, never retrying
// invalid input.
func TestRetryPolicyIsBounded(t *testing.T) {
	p := process.RetryPolicy()
	if p.MaximumAttempts <= 0 || p.MaximumInterval <= 0 {
		t.Fatalf("unbounded retry policy %+v", p)
	}
	found := false
	for _, typ := range p.NonRetryableErrorTypes {
		found = found || typ == process.TypeInvalidInput
	}
	if !found {
		t.Fatal("invalid input is retried")
	}
	if err := process.InvalidInput(errOther); !errors.Is(err, errOther) || process.ErrorType(err) != process.TypeInvalidInput {
		t.Fatalf("InvalidInput(%v) = %v", errOther, err)
	}
}
