package patient

import (
	"reflect"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestNameKey(t *testing.T) {
	tests := []struct {
		name string
		in   Name
		want string
	}{
		{"accents and doubled space", Name{Given: []string{"José", "María"}, Family: "Muñoz  Ñandú"}, "jose maria munoz nandu"},
		{"capitals", Name{Given: []string{"RAHIMA"}, Family: "KHATUN"}, "rahima khatun"},
		{"surrounding and inner whitespace", Name{Given: []string{"  Abdul\t", " Karim "}, Family: "\nHossain  "}, "abdul karim hossain"},
		{"empty given names are skipped", Name{Given: []string{"", "Ali"}, Family: "Khan"}, "ali khan"},
		{"no given names", Name{Family: "Begum"}, "begum"},
		{"Vietnamese stacked marks", Name{Given: []string{"Thị"}, Family: "Nguyễn"}, "thi nguyen"},
		{"Turkish dotted capital I", Name{Given: []string{"İlkay"}, Family: "Gündoğan"}, "ilkay gundogan"},
		{"French cedilla and diaeresis", Name{Given: []string{"Françoise"}, Family: "Loïc"}, "francoise loic"},
		{"already decomposed input", Name{Given: []string{"Jose\u0301"}, Family: "Mun\u0303oz"}, "jose munoz"},
		// Letters that are not a base letter plus an accent stay as they are.
		{"stroke and sharp s", Name{Given: []string{"Søren"}, Family: "Groß"}, "søren groß"},
		// Vowel signs and the virama spell a Bengali name; folding must keep them.
		{"Bengali", Name{Given: []string{"রহিমা"}, Family: "খাতুন"}, "রহিমা খাতুন"},
		{"Bengali conjunct", Name{Given: []string{"উদ্দিন"}, Family: "মোহাম্মদ"}, "উদ্দিন মোহাম্মদ"},
		{"Arabic", Name{Given: []string{"محمد"}, Family: "علي"}, "محمد علي"},
		// Hangul decomposes under NFD and must come back composed.
		{"Korean", Name{Given: []string{"민준"}, Family: "김"}, "민준 김"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := NameKey(tt.in); got != tt.want {
				t.Errorf("NameKey(%+v) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestNormalizeQuery(t *testing.T) {
	tests := []struct {
		in, want string
	}{
		{"  MUÑOZ   nandu ", "munoz nandu"},
		{"José\tMaría\n", "jose maria"},
		{"Ñandú", "nandu"},
		{"", ""},
		{"   ", ""},
		{"o'brien-smith", "o'brien-smith"},
	}
	for _, tt := range tests {
		if got := NormalizeQuery(tt.in); got != tt.want {
			t.Errorf("NormalizeQuery(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}

	// A query typed without accents finds a name stored with them.
	stored := NameKey(Name{Given: []string{"José", "María"}, Family: "Muñoz Ñandú"})
	if query := NormalizeQuery("jose MARIA munoz"); !strings.Contains(stored, query) {
		t.Errorf("key %q does not contain query %q", stored, query)
	}
}

func TestPhoneDigits(t *testing.T) {
	tests := []struct {
		in, want string
	}{
		{"+880 1712-345678", "8801712345678"},
		{"(02) 9876.5432", "0298765432"},
		{"01712345678", "01712345678"},
		{"tel: 123", "123"},
		{"", ""},
		{"১২৩", ""}, // Bengali digits are not indexed
	}
	for _, tt := range tests {
		if got := PhoneDigits(tt.in); got != tt.want {
			t.Errorf("PhoneDigits(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestIdentifierKey(t *testing.T) {
	tests := []struct {
		system, value, want string
	}{
		{"urn:bd:nid", "1987123456789", "urn:bd:nid|1987123456789"},
		{" urn:bd:nid ", " 123 ", "urn:bd:nid|123"},
		{"urn:unhcr:progres", "A|B", "urn:unhcr:progres|A|B"},
	}
	for _, tt := range tests {
		if got := IdentifierKey(tt.system, tt.value); got != tt.want {
			t.Errorf("IdentifierKey(%q, %q) = %q, want %q", tt.system, tt.value, got, tt.want)
		}
	}
}

func TestCriteriaValidate(t *testing.T) {
	yes := true
	tests := []struct {
		name        string
		criteria    Criteria
		want        []string
		wantMessage map[string]string
	}{
		{name: "no filters lists everyone", criteria: Criteria{}},
		{
			name: "every filter at once",
			criteria: Criteria{
				Name: "José Muñoz", BirthDate: "1990-05-01", MRN: "0005724", Identifier: "urn:bd:nid|123",
				Phone: "+880 1712", Active: &yes, Limit: 50, Cursor: "opaque",
			},
		},

		{name: "two-letter name", criteria: Criteria{Name: "Li"}},
		{name: "blank name is no filter", criteria: Criteria{Name: "   "}},
		{name: "one-letter name", criteria: Criteria{Name: " J "}, want: []string{"name"}, wantMessage: map[string]string{"name": "at least 2"}},
		{name: "one accented letter", criteria: Criteria{Name: "É"}, want: []string{"name"}},
		{name: "one letter plus a combining accent", criteria: Criteria{Name: "e\u0301"}, want: []string{"name"}},
		{name: "name of 100 characters", criteria: Criteria{Name: strings.Repeat("a", 100)}},
		{name: "name of 101 characters", criteria: Criteria{Name: strings.Repeat("a", 101)}, want: []string{"name"}},
		{name: "long name whose whitespace collapses", criteria: Criteria{Name: "ab" + strings.Repeat(" ", 200) + "cd"}},

		{name: "birth date", criteria: Criteria{BirthDate: "2024-02-29"}},
		{
			name:        "impossible birth date",
			criteria:    Criteria{BirthDate: "2023-02-30"},
			want:        []string{"birthDate"},
			wantMessage: map[string]string{"birthDate": "not a real date"},
		},
		{
			name:        "birth date day first",
			criteria:    Criteria{BirthDate: "30/01/2023"},
			want:        []string{"birthDate"},
			wantMessage: map[string]string{"birthDate": "YYYY-MM-DD"},
		},

		{
			name:        "mistyped MRN",
			criteria:    Criteria{MRN: "0007524"},
			want:        []string{"mrn"},
			wantMessage: map[string]string{"mrn": "check digit is wrong — the MRN was probably mistyped"},
		},
		{
			name:        "MRN too short",
			criteria:    Criteria{MRN: "5724"},
			want:        []string{"mrn"},
			wantMessage: map[string]string{"mrn": "7 to 15 digits"},
		},
		{name: "MRN with letters", criteria: Criteria{MRN: "MRN0005724"}, want: []string{"mrn"}},
		{name: "MRN with surrounding space", criteria: Criteria{MRN: " 0005724 "}},

		{name: "identifier value only", criteria: Criteria{Identifier: "1987123456789"}, want: []string{"identifier"}, wantMessage: map[string]string{"identifier": "system|value"}},
		{name: "identifier without system", criteria: Criteria{Identifier: "|123"}, want: []string{"identifier"}},
		{name: "identifier without value", criteria: Criteria{Identifier: "urn:bd:nid| "}, want: []string{"identifier"}},
		{name: "identifier value with separator", criteria: Criteria{Identifier: "urn:x|a|b"}},
		{name: "identifier too long", criteria: Criteria{Identifier: "urn:x|" + strings.Repeat("9", 400)}, want: []string{"identifier"}},

		{name: "four phone digits", criteria: Criteria{Phone: "5678"}},
		{name: "three phone digits", criteria: Criteria{Phone: "+1-23"}, want: []string{"phone"}, wantMessage: map[string]string{"phone": "at least 4"}},
		{name: "phone without digits", criteria: Criteria{Phone: "abcd"}, want: []string{"phone"}},
		{name: "phone of sixteen digits", criteria: Criteria{Phone: "1234567890123456"}, want: []string{"phone"}},

		{name: "limit 1", criteria: Criteria{Limit: 1}},
		{name: "limit 100", criteria: Criteria{Limit: MaxLimit}},
		{name: "limit 101", criteria: Criteria{Limit: MaxLimit + 1}, want: []string{"limit"}},
		{name: "negative limit", criteria: Criteria{Limit: -5}, want: []string{"limit"}},

		{name: "cursor too long", criteria: Criteria{Cursor: strings.Repeat("c", 2000)}, want: []string{"cursor"}},

		{
			name:     "every problem is reported together",
			criteria: Criteria{Name: "x", BirthDate: "2023-13-01", MRN: "1234567", Identifier: "nid", Phone: "12", Limit: 1000},
			want:     []string{"birthDate", "identifier", "limit", "mrn", "name", "phone"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.criteria.Validate()
			fields := fieldsOf(t, err)
			want := slices.Clone(tt.want)
			slices.Sort(want)
			if got := fieldNames(fields); !slices.Equal(got, want) {
				t.Fatalf("Validate reported %v, want %v", fields, want)
			}
			if len(want) == 0 && err != nil {
				t.Fatalf("Validate = %#v, want untyped nil", err)
			}
			for field, phrase := range tt.wantMessage {
				if msg := messageFor(fields, field); !strings.Contains(msg, phrase) {
					t.Errorf("message for %s = %q, want it to mention %q", field, msg, phrase)
				}
			}
		})
	}
}

func TestCriteriaPageSize(t *testing.T) {
	tests := []struct {
		limit, want int
	}{
		{0, DefaultLimit},
		{1, 1},
		{20, 20},
		{MaxLimit, MaxLimit},
		{MaxLimit + 1, MaxLimit},
		{-3, 1},
	}
	for _, tt := range tests {
		if got := (Criteria{Limit: tt.limit}).PageSize(); got != tt.want {
			t.Errorf("Criteria{Limit: %d}.PageSize() = %d, want %d", tt.limit, got, tt.want)
		}
	}
}

func TestCriteriaNormalized(t *testing.T) {
	active := false
	in := Criteria{
		Name:       "  José  MUÑOZ ",
		BirthDate:  " 1990-05-01 ",
		MRN:        " 0005724 ",
		Identifier: " urn:bd:nid | 123 ",
		Phone:      "+880 1712-345678",
		Active:     &active,
		Limit:      10,
		Cursor:     " next ",
	}
	got := in.Normalized()
	want := Criteria{
		Name:       "jose munoz",
		BirthDate:  "1990-05-01",
		MRN:        "0005724",
		Identifier: "urn:bd:nid|123",
		Phone:      "8801712345678",
		Active:     &active,
		Limit:      10,
		Cursor:     "next",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Normalized() = %+v, want %+v", got, want)
	}
	if got.Active == in.Active {
		t.Error("Normalized shares the Active pointer with its receiver")
	}
	if stored := IdentifierKey(" urn:bd:nid ", "123"); got.Identifier != stored {
		t.Errorf("normalized identifier %q does not match the stored key %q", got.Identifier, stored)
	}
}

func FuzzNameKey(f *testing.F) {
	for _, seed := range []string{"José María", "Muñoz  Ñandú", "İlkay", "রহিমা খাতুন", "김민준", "\xff\xfe", "a\u0301\u0302 \t b"} {
		f.Add(seed, "Family")
	}
	f.Fuzz(func(t *testing.T, given, family string) {
		key := NameKey(Name{Given: []string{given}, Family: family})
		if NormalizeQuery(key) != key {
			t.Errorf("NameKey is not a fixed point of NormalizeQuery: %q → %q", key, NormalizeQuery(key))
		}
		if key != strings.TrimSpace(key) || strings.Contains(key, "  ") {
			t.Errorf("NameKey %q has stray whitespace", key)
		}
		if !utf8.ValidString(key) {
			t.Errorf("NameKey %q is not valid UTF-8", key)
		}
	})
}
