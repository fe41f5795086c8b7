package api

import (
	"context"
	"slices"

	"github.com/zarish-sphere/zarish/domain/observation"
)

// withDelta applies the delta rules to new versions before they are stored
// (observation.WithDeltas): each result is compared with the patient's
// stored results of its code and with the earlier results of the same
// batch, within the code's lookback. The stored results are read in one
// query for the whole batch, and only when a code has a delta rule.
func (s *observationRoutes) withDelta(ctx context.Context, obs []observation.Observation) ([]observation.Observation, error) {
	if !slices.ContainsFunc(obs, observation.Observation.HasDeltaRule) {
		return obs, nil
	}
	stored, err := s.store.PreviousResults(ctx, obs)
	if err != nil {
		return nil, err
	}
	return observation.WithDeltas(obs, stored), nil
}
