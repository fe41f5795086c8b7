package diagnostic

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/zarish-sphere/zarish/domain/diagnostic"
	"github.com/zarish-sphere/zarish/domain/observation"
)

// update is one Update: its name, its handler and its validator.
type update struct {
	name      string
	handler   any
	validator any
}

// updates are the report's steps. Each validator asks the rules about the
// state the change being recorded will leave, at the workflow's time; the
// handler asks again when its turn comes (apply).
func (r *run) updates() []update {
	return []update{
		{UpdateCollect, func(ctx workflow.Context, req CollectRequest) (State, error) {
			return r.apply(ctx, req.Audit, func(p State, at time.Time) (State, error) { return p.Collect(req.Collection, at) })
		}, func(ctx workflow.Context, req CollectRequest) error {
			return refuse(r.current().CanCollect(req.Collection, workflow.Now(ctx)))
		}},
		{UpdateReceive, func(ctx workflow.Context, req ReceiveRequest) (State, error) {
			return r.apply(ctx, req.Audit, func(p State, at time.Time) (State, error) { return p.Receive(req.Accession, req.By, at) })
		}, func(ctx workflow.Context, req ReceiveRequest) error {
			return refuse(r.current().CanReceive(req.Accession, req.By, workflow.Now(ctx)))
		}},
		{UpdateReject, func(ctx workflow.Context, req RejectRequest) (State, error) {
			return r.apply(ctx, req.Audit, func(p State, at time.Time) (State, error) {
				return p.Reject(req.Accession, req.Reason, req.Note, req.By, at)
			})
		}, func(ctx workflow.Context, req RejectRequest) error {
			return refuse(r.current().CanReject(req.Accession, req.Reason, req.Note, req.By, workflow.Now(ctx)))
		}},
		{UpdateRecordResults, func(ctx workflow.Context, req RecordResultsRequest) (State, error) {
			return r.apply(ctx, req.Audit, func(p State, at time.Time) (State, error) { return recordAll(p, req.Observations, at) })
		}, func(ctx workflow.Context, req RecordResultsRequest) error {
			// Each observation is judged on the report the ones before it
			// leave (CanRecord, inside Record): a withdrawal then a new
			// result of the same test is one delivery.
			_, err := recordAll(r.current(), req.Observations, workflow.Now(ctx))
			return refuse(err)
		}},
		{UpdateLinkStudy, func(ctx workflow.Context, req LinkStudyRequest) (State, error) {
			return r.apply(ctx, req.Audit, func(p State, at time.Time) (State, error) { return p.LinkStudy(req.Study, at) })
		}, func(_ workflow.Context, req LinkStudyRequest) error {
			return refuse(r.current().CanLinkStudy(req.Study))
		}},
		{UpdateReviewFlag, func(ctx workflow.Context, req ReviewFlagRequest) (State, error) {
			return r.apply(ctx, req.Audit, func(p State, at time.Time) (State, error) { return p.ReviewFlag(req.FlagID, req.By, req.Note, at) })
		}, func(_ workflow.Context, req ReviewFlagRequest) error {
			return refuse(r.current().CanReviewFlag(req.FlagID, req.By, req.Note))
		}},
		{UpdateVerify, func(ctx workflow.Context, req VerifyRequest) (State, error) {
			return r.apply(ctx, req.Audit, func(p State, at time.Time) (State, error) { return r.verified(p, req.Verification, at) })
		}, func(ctx workflow.Context, req VerifyRequest) error {
			v := req.Verification
			v.At = workflow.Now(ctx)
			return refuse(r.current().CanVerify(v))
		}},
		{UpdateRelease, func(ctx workflow.Context, req ReleaseRequest) (State, error) {
			return r.apply(ctx, req.Audit, func(p State, at time.Time) (State, error) { return p.ReleaseNow(req.By, at) })
		}, func(_ workflow.Context, req ReleaseRequest) error {
			return refuse(r.current().CanReleaseNow(req.By))
		}},
		{UpdateOpen, func(ctx workflow.Context, req OpenRequest) (State, error) {
			return r.apply(ctx, req.Audit, func(p State, at time.Time) (State, error) { return p.Open(req.Who, req.Role, at) })
		}, func(ctx workflow.Context, req OpenRequest) error {
			// The rules have no separate check for an opening: Open is it.
			_, err := r.current().Open(req.Who, req.Role, workflow.Now(ctx))
			return refuse(err)
		}},
		{UpdateAmend, func(ctx workflow.Context, req AmendRequest) (State, error) {
			return r.apply(ctx, req.Audit, func(p State, at time.Time) (State, error) {
				next, err := p.Amend(req.Amendment, at)
				if err != nil {
					return p, err
				}
				return notified(next, at), nil
			})
		}, func(_ workflow.Context, req AmendRequest) error {
			return refuse(r.current().CanAmend(req.Amendment))
		}},
		{UpdateCorrect, func(ctx workflow.Context, req CorrectRequest) (State, error) {
			return r.apply(ctx, req.Audit, func(p State, at time.Time) (State, error) {
				next, err := p.Correct(req.Correction, at)
				if err != nil {
					return p, err
				}
				return notified(next, at), nil
			})
		}, func(_ workflow.Context, req CorrectRequest) error {
			return refuse(r.current().CanCorrect(req.Correction))
		}},
		{UpdateWithdraw, func(ctx workflow.Context, req WithdrawRequest) (State, error) {
			return r.apply(ctx, req.Audit, func(p State, at time.Time) (State, error) { return p.Withdraw(req.By, req.Reason, at) })
		}, func(_ workflow.Context, req WithdrawRequest) error {
			return refuse(r.current().CanWithdraw(req.By, req.Reason))
		}},
		{UpdateCancel, func(ctx workflow.Context, req CancelRequest) (State, error) {
			return r.apply(ctx, req.Audit, func(p State, at time.Time) (State, error) { return p.Cancel(req.By, req.Reason, at) })
		}, func(_ workflow.Context, req CancelRequest) error {
			return refuse(r.current().CanCancel(req.By, req.Reason))
		}},
		{UpdateCallbackAttempt, func(ctx workflow.Context, req CallbackAttemptRequest) (State, error) {
			return r.apply(ctx, req.Audit, func(p State, at time.Time) (State, error) { return attempted(p, req, at) })
		}, func(ctx workflow.Context, req CallbackAttemptRequest) error {
			now := workflow.Now(ctx)
			a := req.Attempt
			a.At = dated(a.At, now)
			if err := calling(r.current(), a.At, now); err != nil {
				return refuse(err)
			}
			return refuse(r.current().CanAttempt(req.ObservationID, a))
		}},
		{UpdateCallbackConfirm, func(ctx workflow.Context, req CallbackConfirmRequest) (State, error) {
			return r.apply(ctx, req.Audit, func(p State, at time.Time) (State, error) { return confirmed(p, req, at) })
		}, func(ctx workflow.Context, req CallbackConfirmRequest) error {
			// The rules have no separate check for a read-back: Confirm is it.
			_, err := confirmed(r.current(), req, workflow.Now(ctx))
			return refuse(err)
		}},
		{UpdateCallbackClose, func(ctx workflow.Context, req CallbackCloseRequest) (State, error) {
			return r.apply(ctx, req.Audit, func(p State, at time.Time) (State, error) { return closedCallback(p, req, at) })
		}, func(ctx workflow.Context, req CallbackCloseRequest) error {
			now := workflow.Now(ctx)
			at := dated(req.At, now)
			if err := calling(r.current(), at, now); err != nil {
				return refuse(err)
			}
			return refuse(r.current().CanClose(req.ObservationID, req.Outcome, req.By, req.Note, at))
		}},
	}
}

// recordAll takes the observations in order.
func recordAll(p State, obs []observation.Observation, at time.Time) (State, error) {
	switch {
	case len(obs) == 0:
		return p, fmt.Errorf("%w: at least one observation is required", diagnostic.ErrInvalidArgument)
	case len(obs) > MaxObservations:
		return p, fmt.Errorf("%w: at most %d observations at once", diagnostic.ErrInvalidArgument, MaxObservations)
	}
	for i, o := range obs {
		next, err := p.Record(o, at)
		if err != nil {
			return p, fmt.Errorf("observations[%d]: %w", i, err)
		}
		p = next
	}
	return p, nil
}

// verified is p verified as v says, dated at, with its release scheduled
// after the run's delay (a negative one is taken as none), and sent to its
// orderer.
func (r *run) verified(p State, v diagnostic.Verification, at time.Time) (State, error) {
	v.At = at
	delay := DefaultReleaseDelay
	if r.in.ReleaseDelay != nil {
		delay = max(*r.in.ReleaseDelay, 0)
	}
	next, err := p.Verify(v, delay)
	if err != nil {
		return p, err
	}
	return notified(next, at), nil
}

// notified is p, as it stands, sent at at to its orderer and again to
// everyone it was sent to before. A recipient the rules refuse (the report
// already sent MaxRecipients times) is left out: the change itself stands,
// and the report's events still tell the notification system of it.
func notified(p State, at time.Time) State {
	to := []diagnostic.Recipient{{Who: p.Order.OrdererID, Role: diagnostic.ReaderClinician, Channel: ChannelInApp}}
	for _, rc := range p.Recipients {
		if !slices.ContainsFunc(to, func(x diagnostic.Recipient) bool {
			return x.Who == rc.Who && x.Role == rc.Role && x.Channel == rc.Channel
		}) {
			to = append(to, diagnostic.Recipient{Who: rc.Who, Role: rc.Role, Channel: rc.Channel})
		}
	}
	for _, rc := range to {
		rc.At = at
		if next, err := p.Notify(rc); err == nil {
			p = next
		}
	}
	return p
}

// dated is t, or now when the caller gave no time.
func dated(t, now time.Time) time.Time {
	if t.IsZero() {
		return now
	}
	return t
}

// calling reports why a callback step dated at may not be taken on p now,
// or nil: a cancelled or withdrawn report's callbacks end with it, and a
// call is recorded after it was made, not before.
func calling(p State, at, now time.Time) error {
	switch {
	case p.Status.Closed():
		return fmt.Errorf("%w: the report is %s", diagnostic.ErrInvalidTransition, p.Status)
	case at.After(now.Add(diagnostic.MaxFuture)):
		return fmt.Errorf("%w: at must not be in the future", diagnostic.ErrInvalidArgument)
	}
	return nil
}

// attempted is p with the attempt, dated now when the caller gave no time.
func attempted(p State, req CallbackAttemptRequest, now time.Time) (State, error) {
	a := req.Attempt
	a.At = dated(a.At, now)
	if err := calling(p, a.At, now); err != nil {
		return p, err
	}
	return p.Attempt(req.ObservationID, a)
}

// confirmed is p with the callback confirmed by its read-back. A read-back
// that does not match is refused with both values in the refusal's details.
func confirmed(p State, req CallbackConfirmRequest, now time.Time) (State, error) {
	rb := req.ReadBack
	rb.At = dated(rb.At, now)
	if err := calling(p, rb.At, now); err != nil {
		return p, err
	}
	var next State
	var err error
	if req.InPerson {
		next, err = p.ConfirmInPerson(req.ObservationID, rb.Entered, req.By, rb.At)
	} else {
		next, err = p.Confirm(req.ObservationID, rb, req.By)
	}
	if err == nil || !errors.Is(err, diagnostic.ErrReadBackMismatch) {
		return next, err
	}
	mismatch := ReadBackMismatch{ReadBack: strings.TrimSpace(rb.Entered)}
	if i := slices.IndexFunc(p.Results, func(res diagnostic.Result) bool { return res.ObservationID == req.ObservationID }); i >= 0 {
		mismatch.Result = p.Results[i].Text()
	}
	return p, temporal.NewNonRetryableApplicationError(err.Error(), RefusedReadBackMismatch, err, mismatch)
}

// closedCallback is p with the callback ended without a read-back.
func closedCallback(p State, req CallbackCloseRequest, now time.Time) (State, error) {
	at := dated(req.At, now)
	if err := calling(p, at, now); err != nil {
		return p, err
	}
	return p.Close(req.ObservationID, req.Outcome, req.By, req.Note, at)
}

// actor is who took the report's last step, or its orderer for the process's
// own steps: the name an alert the step made moot is resolved in.
func actor(p State) uuid.UUID {
	if by := p.Last().By; by != uuid.Nil {
		return by
	}
	return p.Order.OrdererID
}
