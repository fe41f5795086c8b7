package postgres

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// notifyWaiter waits for notifications on one channel over a session
// connection of its own (sessionConn), opened on the first wait and kept
// until Close.
type notifyWaiter struct {
	pool    *pgxpool.Pool
	channel string

	mu   sync.Mutex // guards conn
	conn *pgx.Conn  // LISTEN channel, opened on first wait
}

// wait blocks until a notification arrives on the channel or timeout
// passes, and returns nil in both cases. Notifications sent while nobody
// waits are delivered on the next call. It returns an error when ctx ends or
// the connection fails (the next call opens a new one).
func (w *notifyWaiter) wait(ctx context.Context, timeout time.Duration) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.conn == nil {
		conn, err := sessionConn(ctx, w.pool)
		if err != nil {
			return fmt.Errorf("listen %s: %w", w.channel, err)
		}
		if _, err := conn.Exec(ctx, "LISTEN "+w.channel); err != nil {
			closeSession(conn)
			return fmt.Errorf("listen %s: %w", w.channel, err)
		}
		w.conn = conn
	}
	waitCtx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	_, err := w.conn.WaitForNotification(waitCtx)
	switch {
	case err == nil:
		return nil
	case ctx.Err() != nil:
		return ctx.Err()
	case waitCtx.Err() != nil && !w.conn.IsClosed():
		return nil // the poll interval passed
	}
	w.closeConn()
	return fmt.Errorf("wait for %s notification: %w", w.channel, err)
}

// closeConn drops the LISTEN connection; w.mu must be held.
func (w *notifyWaiter) closeConn() {
	if w.conn == nil {
		return
	}
	closeSession(w.conn)
	w.conn = nil
}

// close releases the LISTEN connection, if one is open, once any wait in
// progress returns.
func (w *notifyWaiter) close() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.closeConn()
}
