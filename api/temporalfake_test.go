package api

import (
	"context"
	"errors"

	"github.com/google/uuid"
	"go.temporal.io/sdk/client"
)

// updateHandle is a completed Update's handle holding its result.
type updateHandle[S any] struct {
	workflowID string
	s          S
}

func (h updateHandle[S]) WorkflowID() string { return h.workflowID }
func (h updateHandle[S]) RunID() string      { return "" }
func (h updateHandle[S]) UpdateID() string   { return "" }
func (h updateHandle[S]) Get(_ context.Context, v any) error {
	*v.(*S) = h.s
	return nil
}

// answerUpdate plays a process's workflow for a fake Temporal client: it
// reads the resource id from the workflow id (idOf, the contract's
// IDFromWorkflowID), checks the request is sent under its own Update name,
// and answers with what play returns.
func answerUpdate[R interface{ UpdateName() string }, S any](opts client.UpdateWorkflowOptions,
	idOf func(string) (uuid.UUID, error), play func(uuid.UUID, R) (S, error)) (client.WorkflowUpdateHandle, error) {
	id, err := idOf(opts.WorkflowID)
	if err != nil {
		return nil, err
	}
	req := opts.Args[0].(R)
	if req.UpdateName() != opts.UpdateName {
		return nil, errors.New("update sent under another name")
	}
	s, err := play(id, req)
	if err != nil {
		return nil, err
	}
	return updateHandle[S]{workflowID: opts.WorkflowID, s: s}, nil
}
