package hl7v2

import (
	"testing"
	"unicode/utf8"
)

func TestUnescape(t *testing.T) {
	std := &codec{d: StandardDelimiters, cs: charsetDefault}
	latin1 := &codec{d: StandardDelimiters, cs: charsetLatin1}
	ascii := &codec{d: StandardDelimiters, cs: charsetASCII}
	trunc := &codec{d: Delimiters{'|', '^', '~', '\\', '&', '#'}}
	tests := []struct {
		name string
		c    *codec
		raw  string
		want string
	}{
		{"plain", std, "no escapes", "no escapes"},
		{"field separator", std, `a\F\b`, "a|b"},
		{"component separator", std, `a\S\b`, "a^b"},
		{"sub-component separator", std, `a\T\b`, "a&b"},
		{"repetition separator", std, `a\R\b`, "a~b"},
		{"escape character", std, `C:\E\dir`, `C:\dir`},
		{"escaped escape sequence stays text", std, `\E\F\E\`, `\F\`},
		{"line break", std, `one\.br\two`, "one\ntwo"},
		{"hex ASCII", std, `\X41\\X4243\`, "ABC"},
		{"hex lower case digits", std, `\X6a\`, "j"},
		{"hex UTF-8", std, `\XC3A9\`, "é"},
		{"hex control character", std, `a\X0D0A\b`, "a\r\nb"},
		{"hex invalid UTF-8 kept", std, `\XE9\`, `\XE9\`},
		{"hex Latin-1", latin1, `\XE9\`, "é"},
		{"hex non-ASCII in ASCII kept", ascii, `\XC3A9\`, `\XC3A9\`},
		{"hex odd digits kept", std, `\X414\`, `\X414\`},
		{"hex not hex kept", std, `\XZZ\`, `\XZZ\`},
		{"hex empty kept", std, `\X\`, `\X\`},
		{"truncation character", trunc, `cut\P\`, "cut#"},
		{"truncation undeclared kept", std, `cut\P\`, `cut\P\`},
		{"highlighting kept", std, `\H\bold\N\`, `\H\bold\N\`},
		{"formatting command kept", std, `a\.sp2\b\.in+4\c`, `a\.sp2\b\.in+4\c`},
		{"character set switch kept", std, `\C2842\x`, `\C2842\x`},
		{"local escape kept", std, `\Zfoo\`, `\Zfoo\`},
		{"lower-case name kept", std, `\f\`, `\f\`},
		{"unclosed kept", std, `50\ percent`, `50\ percent`},
		{"two escape characters kept", std, `a\\b`, `a\\b`},
		{"sequence after kept one", std, `\Q\\S\`, `\Q\^`},
		{"no escape character declared", &codec{d: Delimiters{Field: '|', Component: '^'}}, `a\S\b`, `a\S\b`},
		{"sub-component undeclared keeps \\T\\", &codec{d: Delimiters{'|', '^', '~', '\\', 0, 0}}, `a\T\b`, `a\T\b`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.c.unescape(tt.raw); got != tt.want {
				t.Errorf("unescape(%q) = %q, want %q", tt.raw, got, tt.want)
			}
		})
	}
}

func TestEscape(t *testing.T) {
	tests := []struct {
		name string
		d    Delimiters
		text string
		want string
	}{
		{"plain", StandardDelimiters, "Glucose 5.4", "Glucose 5.4"},
		{"delimiters", StandardDelimiters, `a|b^c~d\e&f`, `a\F\b\S\c\R\d\E\e\T\f`},
		{"line breaks", StandardDelimiters, "one\r\ntwo", `one\X0D\\X0A\two`},
		{"framing bytes", StandardDelimiters, "\x0bx\x1c", `\X0B\x\X1C\`},
		{"tab kept", StandardDelimiters, "a\tb", "a\tb"},
		{"NUL", StandardDelimiters, "a\x00b", `a\X00\b`},
		{"NUL with undeclared delimiters", Delimiters{'|', '^', '~', '\\', 0, 0}, "\x00&#", `\X00\&#`},
		{"truncation", Delimiters{'|', '^', '~', '\\', '&', '#'}, "#1", `\P\1`},
		{"# without truncation", StandardDelimiters, "#1", "#1"},
		{"UTF-8 kept", StandardDelimiters, "Renée", "Renée"},
		{"other delimiters", Delimiters{'#', '$', '*', '@', '!', 0}, "a#b$c*d@e!f|g", `a@F@b@S@c@R@d@E@e@T@f|g`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Escape(tt.text, tt.d)
			if got != tt.want {
				t.Errorf("Escape(%q) = %q, want %q", tt.text, got, tt.want)
			}
			c := &codec{d: tt.d, cs: charsetUTF8}
			if back := c.unescape(got); back != tt.text {
				t.Errorf("unescape(Escape(%q)) = %q", tt.text, back)
			}
		})
	}
}

func FuzzEscape(f *testing.F) {
	for _, s := range []string{"", `a|b^c~d\e&f`, "x\r\ny", `\F\`, "#", "é"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if !utf8.ValidString(s) {
			return
		}
		for _, d := range []Delimiters{StandardDelimiters, {'|', '^', '~', '\\', '&', '#'}, {'#', '$', '*', '@', '!', 0}} {
			c := &codec{d: d, cs: charsetUTF8}
			if back := c.unescape(Escape(s, d)); back != s {
				t.Errorf("%+v: unescape(Escape(%q)) = %q", d, s, back)
			}
		}
	})
}
