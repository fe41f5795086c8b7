package auth

import (
	"context"
	"errors"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/zarish-sphere/zarish/integrations/postgres"
)

// RevocationSource is where the revocation list lives: the OAuth store.
type RevocationSource interface {
	Revocations(ctx context.Context) ([]postgres.Revocation, error)
	WatchRevocations() *postgres.RevocationWatcher
}

// revocationPoll is how often the list is reloaded when no notification
// comes: the longest a missed NOTIFY (a dropped LISTEN connection) can delay
// a revocation on one replica.
const revocationPoll = 10 * time.Second

// revocationSet is one immutable snapshot of the list, by kind then subject.
type revocationSet struct {
	session, user, client, token map[string]time.Time
}

// RevocationList is the in-memory copy of the revocation list every
// verifier checks on every request: a map lookup against an immutable
// snapshot swapped atomically, reloaded from PostgreSQL on each NOTIFY and
// every revocationPoll. It stays small because an entry lives only as long
// as the tokens it covers (postgres.RevocationKeep).
type RevocationList struct {
	set    atomic.Pointer[revocationSet]
	src    RevocationSource
	logger *slog.Logger
}

// NewRevocationList returns an empty list over src; Load or Run fill it.
func NewRevocationList(src RevocationSource, logger *slog.Logger) *RevocationList {
	if logger == nil {
		logger = slog.Default()
	}
	l := &RevocationList{src: src, logger: logger.With("component", "revocations")}
	l.set.Store(&revocationSet{})
	return l
}

// Load replaces the snapshot with the list as stored now.
func (l *RevocationList) Load(ctx context.Context) error {
	entries, err := l.src.Revocations(ctx)
	if err != nil {
		return err
	}
	l.Replace(entries)
	return nil
}

// Replace installs entries as the snapshot.
func (l *RevocationList) Replace(entries []postgres.Revocation) {
	s := &revocationSet{session: map[string]time.Time{}, user: map[string]time.Time{},
		client: map[string]time.Time{}, token: map[string]time.Time{}}
	for _, e := range entries {
		switch e.Kind {
		case postgres.RevokeSession:
			s.session[e.Subject] = e.RevokedAt
		case postgres.RevokeUser:
			s.user[e.Subject] = e.RevokedAt
		case postgres.RevokeClient:
			s.client[e.Subject] = e.RevokedAt
		case postgres.RevokeToken:
			s.token[e.Subject] = e.RevokedAt
		}
	}
	l.set.Store(s)
}

// Len returns the number of entries in the snapshot.
func (l *RevocationList) Len() int {
	s := l.set.Load()
	return len(s.session) + len(s.user) + len(s.client) + len(s.token)
}

// Run keeps the snapshot current until ctx ends: a reload on every
// notification and at least every revocationPoll. A failed reload keeps the
// last snapshot and is retried.
func (l *RevocationList) Run(ctx context.Context) error {
	w := l.src.WatchRevocations()
	defer w.Close()
	for {
		if err := l.Load(ctx); err != nil && ctx.Err() == nil {
			l.logger.Warn("revocation list not reloaded; keeping the last one", "error", err)
		}
		err := w.Wait(ctx, revocationPoll)
		if ctx.Err() != nil {
			return nil
		}
		if err != nil {
			l.logger.Warn("revocation notifications interrupted; polling", "error", err)
			select {
			case <-ctx.Done():
				return nil
			case <-time.After(time.Second):
			}
		}
	}
}

// errRevoked is why a revoked token is refused.
var errRevoked = errors.New("token revoked")

// check refuses a token of session sid, subject user, client and jti
// issued at iat when the list covers it. A session or token entry refuses
// all its tokens; a user or client entry those issued at or before it.
func (l *RevocationList) check(sid, user, client, jti string, iat time.Time) error {
	s := l.set.Load()
	if sid != "" {
		if _, ok := s.session[sid]; ok {
			return errors.Join(errRevoked, errors.New("its session was revoked"))
		}
	}
	if jti != "" {
		if _, ok := s.token[jti]; ok {
			return errors.Join(errRevoked, errors.New("it was revoked"))
		}
	}
	if user != "" {
		if at, ok := s.user[user]; ok && !iat.After(at) {
			return errors.Join(errRevoked, errors.New("its user's tokens were revoked"))
		}
	}
	if at, ok := s.client[client]; ok && !iat.After(at) {
		return errors.Join(errRevoked, errors.New("its client's tokens were revoked"))
	}
	return nil
}
