package api

import (
	"context"
	"slices"
	"sort"

	"github.com/google/uuid"

	"github.com/zarish-sphere/zarish/domain/observation"
)

// withDelta applies the delta rules to new versions before they are stored
// (observation.WithDelta): each result is compared with the patient's
// stored results of its code and with the earlier results of the same
// batch, within the code's lookback — as if the batch had been recorded item
// by item in effective-time order. The stored results are read in one
// query for the whole batch, and only for codes that have a delta rule.
func (s *observationRoutes) withDelta(ctx context.Context, obs []observation.Observation) ([]observation.Observation, error) {
	type key struct {
		patient uuid.UUID
		code    string
	}
	history := map[key][]observation.Result{}
	for _, o := range obs {
		for _, r := range o.Results() {
			if observation.DeltaLookback(r.Code) > 0 {
				k := key{o.PatientID, r.Code}
				history[k] = append(history[k], r)
			}
		}
	}
	if len(history) == 0 {
		return obs, nil
	}
	stored, err := s.store.PreviousResults(ctx, obs)
	if err != nil {
		return nil, err
	}
	for patient, results := range stored {
		for _, r := range results {
			k := key{patient, r.Code}
			history[k] = append(history[k], r)
		}
	}
	for _, h := range history {
		slices.SortStableFunc(h, func(a, b observation.Result) int { return a.Time.Compare(b.Time) })
	}
	for i, o := range obs {
		var previous []observation.Result
		for _, r := range o.Results() {
			lookback := observation.DeltaLookback(r.Code)
			if lookback <= 0 {
				continue
			}
			h := history[key{o.PatientID, r.Code}]
			// The window the rules look at: from lookback before the result
			// (inclusive) to the result (exclusive).
			from := r.Time.Add(-lookback)
			lo := sort.Search(len(h), func(j int) bool { return !h[j].Time.Before(from) })
			hi := sort.Search(len(h), func(j int) bool { return !h[j].Time.Before(r.Time) })
			previous = append(previous, h[lo:hi]...)
		}
		if len(previous) > 0 {
			obs[i] = o.WithDelta(previous)
		}
	}
	return obs, nil
}
