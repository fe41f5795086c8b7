package ingest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/google/uuid"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/zarish-sphere/zarish/domain"
	"github.com/zarish-sphere/zarish/integrations/hl7v2"
)

// errAt is a refusal located at field (and component, 0 for the whole
// field) of seg; seg nil names segment id without a sequence.
func errAt(code hl7v2.ErrorCode, seg *hl7v2.Segment, id string, field, component int, message string) error {
	e := &hl7v2.Error{Code: code, Segment: id, Field: field, Component: component, Message: message}
	if seg != nil {
		e.Segment, e.Sequence = seg.ID(), seg.Sequence()
	}
	return e
}

// practitioner is the practitioner an XCN field names (a repetition's ID
// number, component 1), or, for an NDL field such as OBR-32, its first
// component's ID number (subcomponent 1). The care-team directory holds
// its practitioners by our ids alone, no identifier of another system, so
// the ID number must be the practitioner's id (a UUID) and the practitioner
// active; any other number names nobody we know. named says whether the
// field named anyone at all.
func (i *Ingester) practitioner(ctx context.Context, f hl7v2.Field, ndl bool) (who uuid.UUID, named bool, err error) {
	for _, rep := range f.Reps() {
		raw := rep.Comp(1).Text()
		if ndl {
			raw = rep.Comp(1).Sub(1).Text()
		}
		raw = strings.TrimSpace(raw)
		if raw == "" {
			continue
		}
		named = true
		id, perr := uuid.Parse(raw)
		if perr != nil || i.directory == nil {
			continue
		}
		p, err := i.directory.GetPractitioner(ctx, id)
		switch {
		case errors.Is(err, domain.ErrNotFound):
			continue
		case err != nil:
			return uuid.Nil, named, fmt.Errorf("find practitioner %s: %w", id, err)
		case p.Active:
			return p.ID, true, nil
		}
	}
	return uuid.Nil, named, nil
}

// unknownPractitioner is the refusal of a field that names no active
// practitioner of the care-team directory.
func unknownPractitioner(seg *hl7v2.Segment, id string, field int, role string, named bool) error {
	name := id + "-" + fmt.Sprint(field)
	if !named {
		return errAt(hl7v2.RequiredFieldMissing, seg, id, field, 1, name+" names no "+role+": the engine does not act as nobody")
	}
	return errAt(hl7v2.UnknownKeyIdentifier, seg, id, field, 1, name+" names no active practitioner of the care-team directory "+
		"(its ID number, component 1, must be the practitioner's id there)")
}

// update sends req as Update name of workflow workflowID and reads the
// state it answers into out.
func (i *Ingester) update(ctx context.Context, workflowID, name string, req any, out any) error {
	if i.workflows == nil {
		return errors.New("no Temporal client to send the " + name + " Update with")
	}
	h, err := i.workflows.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{WorkflowID: workflowID, UpdateName: name, Args: []any{req},
		WaitForStage: client.WorkflowUpdateStageCompleted})
	if err != nil {
		return err
	}
	return h.Get(ctx, out)
}

// start starts a workflow the ingest placed, right after its commit, and
// marks its start row; a failure is left to the workflow starter, which
// starts it from the row.
func (i *Ingester) start(ctx context.Context, opts client.StartWorkflowOptions, name string, in any, mark func(context.Context, string) error) {
	if i.workflows == nil {
		return
	}
	if _, err := i.workflows.ExecuteWorkflow(ctx, opts, name, in); err != nil {
		i.log.WarnContext(ctx, "workflow not started now; the workflow starter will start it", "workflowId", opts.ID, "error", err)
		return
	}
	if err := mark(context.WithoutCancel(ctx), opts.ID); err != nil {
		i.log.WarnContext(ctx, "workflow started, start row not marked; the starter will find it running", "workflowId", opts.ID, "error", err)
	}
}

// refusedBy is the rules' refusal in err (an ApplicationError of one of
// types, the workflow's Refused* types), its message; false for any other
// failure, which is the engine's.
func refusedBy(err error, types ...string) (string, bool) {
	var app *temporal.ApplicationError
	if !errors.As(err, &app) || !slices.Contains(types, app.Type()) {
		return "", false
	}
	return app.Message(), true
}
