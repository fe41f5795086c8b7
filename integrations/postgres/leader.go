package postgres

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// leadWithLock takes the session advisory lock key on a session connection
// of its own (sessionConn), trying again every second while another session holds
// it, and calls run while holding it. The lock is released when run
// returns. If the lock connection breaks, run's context is cancelled and
// leadWithLock returns an error wrapping lost. If ctx ends before the lock
// is taken, it returns ctx's error.
func leadWithLock(ctx context.Context, pool *pgxpool.Pool, key int64, lost error, run func(ctx context.Context) error) error {
	conn, err := acquireAdvisoryLock(ctx, pool, key)
	if err != nil {
		return err
	}
	defer closeSession(conn) // ending the session releases the lock

	runCtx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var watch sync.WaitGroup
	watch.Go(func() { watchLock(runCtx, conn, lost, cancel) })

	err = run(runCtx)
	cancel(nil)
	watch.Wait()
	if cause := context.Cause(runCtx); errors.Is(cause, lost) {
		if err != nil && !errors.Is(err, context.Canceled) {
			return fmt.Errorf("%w (run: %v)", cause, err)
		}
		return cause
	}
	return err
}

// watchLock pings the lock connection until ctx ends; a failed ping means the
// session, and with it the lock, is gone.
func watchLock(ctx context.Context, conn *pgx.Conn, lost error, cancel context.CancelCauseFunc) {
	t := time.NewTicker(leadCheckInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		pingCtx, done := context.WithTimeout(ctx, leadCheckTimeout)
		err := conn.Ping(pingCtx)
		done()
		if err != nil && ctx.Err() == nil {
			cancel(fmt.Errorf("%w: %v", lost, err))
			return
		}
	}
}
