package console

import (
	"strings"
	"testing"
	"time"
)

func testSealer(t *testing.T) *sealer {
	t.Helper()
	key, err := NewKey()
	if err != nil {
		t.Fatal(err)
	}
	s, err := newSealer(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestSealedCookieOpensOnlyAsSealed(t *testing.T) {
	s := testSealer(t)
	now := time.Date(2026, 11, 25, 8, 0, 0, 0, time.UTC)
	in := session{ID: "sid", Access: "token-a", Refresh: "token-r", Practitioner: "p-1", Name: "Nadia"}
	v, err := s.seal(sessionCookie, in, now.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(v, "token-a") {
		t.Fatalf("the cookie shows its token: %s", v)
	}
	var out session
	if err := s.open(sessionCookie, v, now, &out); err != nil || out != in {
		t.Fatalf("open: %+v, %v", out, err)
	}

	flipped := []byte(v)
	flipped[len(flipped)/2] ^= 1
	other := testSealer(t)
	for name, open := range map[string]func() error{
		"altered":         func() error { return s.open(sessionCookie, string(flipped), now, &out) },
		"as another name": func() error { return s.open(loginCookie, v, now, &out) },
		"expired":         func() error { return s.open(sessionCookie, v, now.Add(time.Hour), &out) },
		"another key":     func() error { return other.open(sessionCookie, v, now, &out) },
		"not base64":      func() error { return s.open(sessionCookie, "!!!", now, &out) },
		"too short":       func() error { return s.open(sessionCookie, "AAAA", now, &out) },
		"empty":           func() error { return s.open(sessionCookie, "", now, &out) },
	} {
		if err := open(); err != errSealed {
			t.Errorf("%s: %v, want errSealed", name, err)
		}
	}
	if _, err := newSealer(make([]byte, 16)); err == nil {
		t.Error("a 128-bit key was accepted")
	}
}

func TestSealsDifferEachTime(t *testing.T) {
	s := testSealer(t)
	exp := time.Now().Add(time.Hour)
	a, _ := s.seal(loginCookie, pendingLogin{State: "x"}, exp)
	b, _ := s.seal(loginCookie, pendingLogin{State: "x"}, exp)
	if a == b {
		t.Fatal("two seals of one value are equal: the nonce repeats")
	}
}

func TestCSRFTokenIsTheSessions(t *testing.T) {
	s := testSealer(t)
	tok := s.csrfToken("session-1")
	switch {
	case !s.checkCSRF("session-1", tok):
		t.Error("the session's own token is refused")
	case s.checkCSRF("session-2", tok):
		t.Error("another session's token is accepted")
	case s.checkCSRF("session-1", ""), s.checkCSRF("", s.csrfToken("")):
		t.Error("an empty token or session is accepted")
	case testSealer(t).checkCSRF("session-1", tok):
		t.Error("a token from another key is accepted")
	}
}

func TestLocalPathKeepsSignInOnTheConsole(t *testing.T) {
	for in, want := range map[string]string{
		"/console/wards/ward-3":         "/console/wards/ward-3",
		"":                              "/console/",
		"https://evil.example/":         "/console/",
		"//evil.example/":               "/console/",
		"/console/\\evil":               "/console/",
		"/v1/patients":                  "/console/",
		"/console/x\r\nSet-Cookie: a=b": "/console/",
	} {
		if got := localPath(in); got != want {
			t.Errorf("localPath(%q) = %q, want %q", in, got, want)
		}
	}
}
