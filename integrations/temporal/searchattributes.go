package temporal

import (
	"context"
	"fmt"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/sdk/client"
)

// StartSearchAttributes are the search attributes a workflow is given when
// it starts and never after: its workflow code does not upsert them, so the
// recorded histories replay unchanged. OwnerId is the practitioner
// responsible when the process starts (the prescriber, the orderer, the
// requester, the plan's author, the alert's first recipient); Deadline the
// first deadline it runs against, when known at the start (a diagnostic
// order's first turnaround target, a care plan's first activity due).
// Every namespace carries them beside SearchAttributes.
var StartSearchAttributes = map[string]enumspb.IndexedValueType{
	"OwnerId":  enumspb.INDEXED_VALUE_TYPE_KEYWORD,
	"Deadline": enumspb.INDEXED_VALUE_TYPE_DATETIME,
}

// searchAttributeKind is the type name is registered with; Keyword for a
// name that is not registered (Temporal then refuses the start).
func searchAttributeKind(name string) enumspb.IndexedValueType {
	if kind, ok := StartSearchAttributes[name]; ok {
		return kind
	}
	if kind, ok := SearchAttributes[name]; ok {
		return kind
	}
	return enumspb.INDEXED_VALUE_TYPE_KEYWORD
}

// EnsureSearchAttributes registers on namespace every one of
// SearchAttributes and StartSearchAttributes it lacks. A dev server's
// namespace gets SearchAttributes when its database file is created; one
// created by an older build lacks those added since (AlertStatus), and a
// workflow started with an unknown attribute is refused.
func EnsureSearchAttributes(ctx context.Context, c client.Client, namespace string) error {
	missing, err := missingSearchAttributes(ctx, c, namespace)
	if err != nil || len(missing) == 0 {
		return err
	}
	return addSearchAttributes(ctx, c, namespace, missing)
}

// missingSearchAttributes are those of SearchAttributes and
// StartSearchAttributes the frontend does not list for namespace.
func missingSearchAttributes(ctx context.Context, c client.Client, namespace string) (map[string]enumspb.IndexedValueType, error) {
	have, err := c.OperatorService().ListSearchAttributes(ctx, &operatorservice.ListSearchAttributesRequest{Namespace: namespace})
	if err != nil {
		return nil, fmt.Errorf("list search attributes: %w", err)
	}
	missing := map[string]enumspb.IndexedValueType{}
	for _, set := range []map[string]enumspb.IndexedValueType{SearchAttributes, StartSearchAttributes} {
		for name, kind := range set {
			if _, ok := have.GetCustomAttributes()[name]; !ok {
				missing[name] = kind
			}
		}
	}
	return missing, nil
}

func addSearchAttributes(ctx context.Context, c client.Client, namespace string, missing map[string]enumspb.IndexedValueType) error {
	_, err := c.OperatorService().AddSearchAttributes(ctx, &operatorservice.AddSearchAttributesRequest{
		Namespace: namespace, SearchAttributes: missing,
	})
	if err != nil {
		return fmt.Errorf("add search attributes %v: %w", missing, err)
	}
	return nil
}
