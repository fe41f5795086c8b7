package auth

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/zarish-sphere/zarish/integrations/postgres"
)

// The figures in the README's Performance section come from
//
//	go test -run '^$' -bench . -benchtime 2s ./integrations/auth/

// BenchmarkTokenClientCredentials issues client_credentials tokens through
// the token endpoint: a bcrypt check of the client secret (cost 10), an
// ES256 signature and the issuance record in PostgreSQL. Machine clients
// keep a token for its lifetime, so this is paid once an hour per client.
func BenchmarkTokenClientCredentials(b *testing.B) {
	f := newFixture(b)
	form := url.Values{"grant_type": {"client_credentials"}}.Encode()
	h := f.server.TokenHandler()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			req := httptest.NewRequest(http.MethodPost, tokenPath, strings.NewReader(form))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.SetBasicAuth("lab", "lab-secret")
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != http.StatusOK {
				b.Fatalf("token: %d %s", rec.Code, rec.Body)
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "tokens/s")
}

// BenchmarkTokenRefresh rotates refresh tokens of signed-in users (a public
// app: no secret to check): the session and user checks, the rotation, the
// new access token (ES256) and refresh token in one transaction.
func BenchmarkTokenRefresh(b *testing.B) {
	f := newSignInFixture(b)
	h := f.server.TokenHandler()
	// One chain of refresh tokens per goroutine; each refresh uses the last.
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		refresh := f.freshRefresh(b)
		for pb.Next() {
			form := url.Values{"grant_type": {"refresh_token"}, "client_id": {wardApp}, "refresh_token": {refresh}}.Encode()
			req := httptest.NewRequest(http.MethodPost, tokenPath, strings.NewReader(form))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != http.StatusOK {
				b.Fatalf("refresh: %d %s", rec.Code, rec.Body)
			}
			refresh = jsonField(b, rec.Body.String(), "refresh_token")
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "tokens/s")
}

// BenchmarkVerify is the cost of authenticating one request: verifying the
// bearer token and checking the revocation list (holding 10,000 entries).
// "first" is a token's first request (ECDSA P-256 signature check);
// "repeat" every later one (the verified-token cache).
func BenchmarkVerify(b *testing.B) {
	f := newFixture(b)
	ctx := context.Background()
	var entries []postgres.Revocation
	for i := range 10_000 {
		entries = append(entries, postgres.Revocation{Kind: postgres.RevokeSession, Subject: fmt.Sprint("s-", i), RevokedAt: time.Now()},
			postgres.Revocation{Kind: postgres.RevokeToken, Subject: uuid.NewString(), RevokedAt: time.Now()})
	}
	f.server.revoked.Replace(entries)
	tok := f.issue(b, "")
	v := f.server.verifier
	b.Run("first", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			p, err := v.verify(tok, time.Now())
			if err != nil {
				b.Fatal(err)
			}
			if err := v.revoked.check(p.SessionID, p.UserID, p.ClientID, p.TokenID, p.IssuedAt); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("repeat", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := v.Verify(ctx, "Bearer "+tok); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("repeat-parallel", func(b *testing.B) {
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, err := v.Verify(ctx, tok); err != nil {
					b.Fatal(err)
				}
			}
		})
	})
}

// freshRefresh signs the nurse in once more and returns the refresh token.
func (f *signInFixture) freshRefresh(b *testing.B) string {
	br := f.browser(b)
	return f.exchange(b, wardApp, br.signIn(wardApp, nurseUsername, nursePassword), testPKCEVerify).Refresh
}

func jsonField(b *testing.B, body, name string) string {
	b.Helper()
	i := strings.Index(body, `"`+name+`":"`)
	if i < 0 {
		b.Fatalf("no %s in %s", name, body)
	}
	rest := body[i+len(name)+4:]
	return rest[:strings.IndexByte(rest, '"')]
}
