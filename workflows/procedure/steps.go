package procedure

import (
	"fmt"
	"strings"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/zarish-sphere/zarish/domain/audit"
	"github.com/zarish-sphere/zarish/domain/procedure"
)

// update is one Update: its name, handler and validator.
type update struct {
	name      string
	handler   any
	validator any
}

// updates are the steps a procedure takes, each refused by its validator
// before anything reaches the history when the procedure's status or the
// request forbids it, and by the rules again when it runs.
func (r *run) updates() []update {
	return []update{
		{UpdateBook, func(ctx workflow.Context, req BookRequest) (State, error) {
			release, err := r.exclusive(ctx)
			if err != nil {
				return r.p, err
			}
			defer release()
			return r.book(ctx, req.By, req.Audit)
		}, func(ctx workflow.Context, req BookRequest) error {
			_, err := r.current().Book(req.By, workflow.Now(ctx))
			return refuse(err)
		}},
		{UpdateReschedule, func(ctx workflow.Context, req RescheduleRequest) (State, error) {
			return r.reschedule(ctx, req)
		}, func(_ workflow.Context, req RescheduleRequest) error {
			return refuse(canReschedule(r.current(), req))
		}},
		{UpdateCheck, func(ctx workflow.Context, req CheckRequest) (State, error) {
			return r.apply(ctx, req.Audit, func(p State, at time.Time) (State, error) { return p.Check(req.Code, req.By, req.Note, at) })
		}, func(ctx workflow.Context, req CheckRequest) error {
			_, err := r.current().Check(req.Code, req.By, req.Note, workflow.Now(ctx))
			return refuse(err)
		}},
		{UpdateCheckIn, func(ctx workflow.Context, req CheckInRequest) (State, error) {
			return r.apply(ctx, req.Audit, func(p State, at time.Time) (State, error) { return p.CheckIn(req.By, at) })
		}, func(ctx workflow.Context, req CheckInRequest) error {
			_, err := r.current().CheckIn(req.By, workflow.Now(ctx))
			return refuse(err)
		}},
		{UpdateStart, func(ctx workflow.Context, req StartRequest) (State, error) {
			return r.apply(ctx, req.Audit, func(p State, at time.Time) (State, error) { return p.Start(req.By, at) })
		}, func(ctx workflow.Context, req StartRequest) error {
			_, err := r.current().Start(req.By, workflow.Now(ctx))
			return refuse(err)
		}},
		{UpdateComplete, func(ctx workflow.Context, req CompleteRequest) (State, error) {
			release, err := r.exclusive(ctx)
			if err != nil {
				return r.p, err
			}
			defer release()
			next, err := r.p.Complete(req.Completion, workflow.Now(ctx))
			if err != nil {
				return r.p, refuse(err)
			}
			// A closed procedure holds no allocation: the room, the team
			// and the equipment are free once the case ends.
			return r.releaseAndCommit(ctx, next, req.Audit)
		}, func(ctx workflow.Context, req CompleteRequest) error {
			_, err := r.current().Complete(req.Completion, workflow.Now(ctx))
			return refuse(err)
		}},
		{UpdateCancel, func(ctx workflow.Context, req CancelRequest) (State, error) {
			release, err := r.exclusive(ctx)
			if err != nil {
				return r.p, err
			}
			defer release()
			next, err := r.p.Cancel(req.By, req.Reason, workflow.Now(ctx))
			if err != nil {
				return r.p, refuse(err)
			}
			// The saga's compensation: every allocation goes before the
			// cancellation is recorded.
			return r.releaseAndCommit(ctx, next, req.Audit)
		}, func(ctx workflow.Context, req CancelRequest) error {
			_, err := r.current().Cancel(req.By, req.Reason, workflow.Now(ctx))
			return refuse(err)
		}},
	}
}

// releaseAndCommit frees every allocation of the procedure, then records
// next, the procedure closed; a release that fails refuses the step.
func (r *run) releaseAndCommit(ctx workflow.Context, next State, rec *audit.Record) (State, error) {
	if err := r.releaseSlot(ctx); err != nil {
		return r.p, temporal.NewApplicationError("the slot could not be released: "+err.Error(), RefusedRecordUnavailable)
	}
	return r.commit(ctx, next, rec)
}

// canReschedule reports why the procedure may not move to a new window, or
// nil: a booked procedure swaps its slot, an unscheduled one searches
// again; a reason and a window that ends after it starts are required.
func canReschedule(p State, req RescheduleRequest) error {
	switch {
	case p.Status != procedure.StatusBooked && p.Status != procedure.StatusUnscheduled:
		return fmt.Errorf("%w: only a booked or unscheduled procedure is rescheduled; this one is %s",
			procedure.ErrInvalidTransition, p.Status)
	case strings.TrimSpace(req.Reason) == "":
		return fmt.Errorf("%w: reason is required", procedure.ErrInvalidArgument)
	case !req.Window.From.Before(req.Window.To):
		return fmt.Errorf("%w: window.to must be after window.from", procedure.ErrInvalidArgument)
	case req.Window.To.Sub(req.Window.From) > 180*24*time.Hour:
		return fmt.Errorf("%w: the window is at most 180 days long", procedure.ErrInvalidArgument)
	}
	return nil
}

// reschedule moves the procedure to the earliest slot of the new window: a
// booked one swaps its allocations in one transaction (the patient never
// has none or two), an unscheduled one holds what it finds. No slot is a
// RefusedNoSlot refusal naming why, and the procedure stays as it was.
func (r *run) reschedule(ctx workflow.Context, req RescheduleRequest) (State, error) {
	release, err := r.exclusive(ctx)
	if err != nil {
		return r.p, err
	}
	defer release()
	if err := canReschedule(r.p, req); err != nil {
		return r.p, refuse(err)
	}
	booked := r.p.Status == procedure.StatusBooked
	moved := r.p
	moved.Request.Window = req.Window
	res, err := r.search(ctx, req.Window, booked)
	if err != nil {
		return r.p, temporal.NewApplicationError("the search for a new slot failed: "+err.Error(), RefusedRecordUnavailable)
	}
	if !res.Held {
		return r.p, temporal.NewNonRetryableApplicationError(res.NoSlot.Reason, RefusedNoSlot, nil, *res.NoSlot)
	}
	now := workflow.Now(ctx)
	var next State
	if booked {
		next, err = moved.Reschedule(*res.Slot, req.By, req.Reason, now)
	} else {
		next, err = moved.Hold(*res.Slot, now.Add(r.holdFor()), now)
	}
	if err != nil {
		return r.p, refuse(err)
	}
	state, err := r.commit(ctx, next, req.Audit)
	if err != nil && !booked {
		// Compensation: a hold the procedure does not record is let go. A
		// swap that is not recorded leaves the allocations at the new slot
		// while the procedure shows the old one, and the refusal tells the
		// caller to repeat: the repeat searches with the procedure's own
		// allocations free and swaps again.
		_ = r.releaseSlot(ctx)
	}
	return state, err
}
