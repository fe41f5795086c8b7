#!/bin/sh
# Registers the engine's Temporal namespace and the search attributes its
# workflows set (integrations/temporal.SearchAttributes, every one a
# Keyword, and integrations/temporal.StartSearchAttributes, set only at a
# workflow's start, each name:type): a workflow started with an attribute
# the namespace lacks is refused. Compose service temporal-namespace; on another cluster run the
# same commands once (docs/runbook.md). Safe to run again.
set -eu
ns="${TEMPORAL_NAMESPACE:?TEMPORAL_NAMESPACE is required}"
attributes="PatientId Status EncounterStatus AlertStatus PrescriptionStatus DiagnosticStatus ProcedureStatus"
start_attributes="OwnerId:Keyword Deadline:Datetime"
until temporal operator cluster health >/dev/null 2>&1; do
  echo "waiting for Temporal at $TEMPORAL_ADDRESS"
  sleep 2
done
temporal operator namespace describe --namespace "$ns" >/dev/null 2>&1 ||
  temporal operator namespace create --namespace "$ns" --retention "${TEMPORAL_RETENTION:-30d}"
have="$(temporal operator search-attribute list --namespace "$ns")"
for a in $attributes; do
  if ! printf '%s\n' "$have" | grep -qw "$a"; then
    temporal operator search-attribute create --namespace "$ns" --name "$a" --type Keyword
  fi
done
for a in $start_attributes; do
  name="${a%%:*}"
  if ! printf '%s\n' "$have" | grep -qw "$name"; then
    temporal operator search-attribute create --namespace "$ns" --name "$name" --type "${a#*:}"
  fi
done
echo "namespace $ns ready with search attributes: $attributes $start_attributes"
