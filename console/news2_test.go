package console

import "testing"

func TestNEWS2BandSaysItInColourAndWords(t *testing.T) {
	for _, tc := range []struct {
		risk, class, label string
	}{
		{"high", "news2-high", "High risk"},
		{"medium", "news2-medium", "Medium risk"},
		{"low-medium", "news2-low-medium", "Low–medium risk (a 3 in one parameter)"},
		{"low", "news2-low", "Low risk"},
		{"", "news2-none", "No complete set"},
		{"unheard-of", "news2-none", "No complete set"},
	} {
		b := news2Band(tc.risk)
		if b.Class != tc.class || b.Label != tc.label {
			t.Errorf("news2Band(%q) = %+v, want %s %q", tc.risk, b, tc.class, tc.label)
		}
	}
	ranks := []int{news2Band("high").Rank, news2Band("medium").Rank, news2Band("low-medium").Rank, news2Band("low").Rank, news2Band("").Rank}
	for i := 1; i < len(ranks); i++ {
		if ranks[i] >= ranks[i-1] {
			t.Fatalf("bands out of order: %v", ranks)
		}
	}
	if (NEWS2{Complete: false, Risk: "high"}).Band().Class != "news2-none" {
		t.Error("an incomplete set is coloured by a risk it does not have")
	}
}
