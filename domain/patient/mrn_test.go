package patient

import (
	"errors"
	"math/rand/v2"
	"testing"
)

func TestCheckDigit(t *testing.T) {
	// Each vector is worked through dammTable by hand: start at interim 0 and
	// move to dammTable[interim][digit] for every digit; the last interim is
	// the check digit.
	tests := []struct {
		digits string
		want   byte
	}{
		// The example published with the algorithm: 0→5=9, 9→7=7, 7→2=4.
		{"572", '4'},
		{"0", '0'},
		// 0→1=3.
		{"1", '3'},
		// Leading zeros keep the interim at 0, so padding is free.
		{"000001", '3'},
		{"000572", '4'},
		// 0→1=3, 3→2=5, 5→3=4, 4→4=0, 0→5=9, 9→6=6.
		{"123456", '6'},
		// 0→1=3, 3→1=7, 7→2=4, 4→9=8, 8→4=6, 6→6=0.
		{"112946", '0'},
		// 0→9=2, 2→9=9, 9→9=0, then the same again.
		{"999999", '0'},
		// 0→8=4, 4→0=6, 6→0=5, 5→0=3, 3→0=1, 1→0=7, 7→7=0.
		{"8000007", '0'},
	}
	for _, tt := range tests {
		t.Run(tt.digits, func(t *testing.T) {
			got, err := CheckDigit(tt.digits)
			if err != nil {
				t.Fatalf("CheckDigit(%q) error: %v", tt.digits, err)
			}
			if got != tt.want {
				t.Errorf("CheckDigit(%q) = %c, want %c", tt.digits, got, tt.want)
			}
		})
	}
}

func TestCheckDigitRejectsNonDigits(t *testing.T) {
	for _, digits := range []string{"", "12a4", " 123", "-1", "１２３"} {
		if _, err := CheckDigit(digits); err == nil {
			t.Errorf("CheckDigit(%q) succeeded, want an error", digits)
		}
	}
}

func TestDammTableIsWeaklyTotallyAntiSymmetricQuasigroup(t *testing.T) {
	for i := 0; i < 10; i++ {
		var rowSeen, colSeen [10]bool
		for j := 0; j < 10; j++ {
			rowSeen[dammTable[i][j]] = true
			colSeen[dammTable[j][i]] = true
		}
		for v := 0; v < 10; v++ {
			if !rowSeen[v] || !colSeen[v] {
				t.Fatalf("row or column %d is not a permutation of 0-9", i)
			}
		}
		if dammTable[i][i] != 0 {
			t.Errorf("dammTable[%d][%d] = %d, want 0", i, i, dammTable[i][i])
		}
	}
	for c := 0; c < 10; c++ {
		for x := 0; x < 10; x++ {
			for y := 0; y < 10; y++ {
				if x != y && dammTable[dammTable[c][x]][y] == dammTable[dammTable[c][y]][x] {
					t.Errorf("(%d*%d)*%d == (%d*%d)*%d", c, x, y, c, y, x)
				}
			}
		}
	}
}

func TestFormatMRN(t *testing.T) {
	tests := []struct {
		seq  int64
		want string
	}{
		{1, "0000013"},
		{572, "0005724"},
		{123456, "1234566"},
		{999999, "9999990"},
		{8000000, "80000008"}, // 0→8=4, 4→0=6, 6→0=5, 5→0=3, 3→0=1, 1→0=7, 7→0=8
		// Nines cycle the interim 2, 9, 0; fourteen of them end on 9.
		{MaxMRNSequence, "999999999999999"},
	}
	for _, tt := range tests {
		got := FormatMRN(tt.seq)
		if got != tt.want {
			t.Errorf("FormatMRN(%d) = %q, want %q", tt.seq, got, tt.want)
		}
		if err := ValidateMRN(got); err != nil {
			t.Errorf("ValidateMRN(FormatMRN(%d)) = %v, want nil", tt.seq, err)
		}
	}
}

func TestFormatMRNPanicsOutsideItsRange(t *testing.T) {
	for _, seq := range []int64{0, -1, MaxMRNSequence + 1} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("FormatMRN(%d) did not panic", seq)
				}
			}()
			FormatMRN(seq)
		}()
	}
}

func TestValidateMRN(t *testing.T) {
	tests := []struct {
		name string
		mrn  string
		want error
	}{
		{"published example padded", "0005724", nil},
		{"fifteen digits", "999999999999999", nil},
		{"seven digits", "1234566", nil},
		{"empty", "", ErrMRNFormat},
		{"too short even with a good check digit", "5724", ErrMRNFormat},
		{"six digits", "123456", ErrMRNFormat},
		{"sixteen digits", "1234567890123456", ErrMRNFormat},
		{"letter", "12345a6", ErrMRNFormat},
		{"surrounding space", " 1234566", ErrMRNFormat},
		{"dash", "123-4566", ErrMRNFormat},
		{"full-width digits", "１２３４５６６", ErrMRNFormat},
		{"wrong check digit", "1234567", ErrMRNCheckDigit},
		{"substituted digit", "1334566", ErrMRNCheckDigit},
		{"transposed digits", "2134566", ErrMRNCheckDigit},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ValidateMRN(tt.mrn); !errors.Is(got, tt.want) || (tt.want == nil && got != nil) {
				t.Errorf("ValidateMRN(%q) = %v, want %v", tt.mrn, got, tt.want)
			}
		})
	}
}

// TestMRNCatchesEveryTypo checks the promise the check digit makes: for many
// MRNs, every single-digit substitution and every swap of two adjacent,
// different digits is rejected as a check-digit error.
func TestMRNCatchesEveryTypo(t *testing.T) {
	var sequences []int64
	for seq := int64(1); seq <= 20000; seq++ {
		sequences = append(sequences, seq)
	}
	rng := rand.New(rand.NewPCG(2004, 10))
	for range 5000 {
		sequences = append(sequences, 1+rng.Int64N(MaxMRNSequence))
	}

	for _, seq := range sequences {
		mrn := FormatMRN(seq)
		if err := ValidateMRN(mrn); err != nil {
			t.Fatalf("ValidateMRN(%q) = %v for FormatMRN(%d)", mrn, err, seq)
		}
		typo := []byte(mrn)
		for i := range typo {
			original := typo[i]
			for d := byte('0'); d <= '9'; d++ {
				if d == original {
					continue
				}
				typo[i] = d
				if err := ValidateMRN(string(typo)); !errors.Is(err, ErrMRNCheckDigit) {
					t.Fatalf("substitution %q of %q: ValidateMRN = %v, want ErrMRNCheckDigit", typo, mrn, err)
				}
			}
			typo[i] = original
		}
		for i := 0; i+1 < len(typo); i++ {
			if typo[i] == typo[i+1] {
				continue
			}
			typo[i], typo[i+1] = typo[i+1], typo[i]
			if err := ValidateMRN(string(typo)); !errors.Is(err, ErrMRNCheckDigit) {
				t.Fatalf("transposition %q of %q: ValidateMRN = %v, want ErrMRNCheckDigit", typo, mrn, err)
			}
			typo[i], typo[i+1] = typo[i+1], typo[i]
		}
	}
}
