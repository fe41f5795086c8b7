package postgres

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// sessionConn opens a connection of its own with pool's settings, outside
// the pool: the session a leader lock or a LISTEN keeps for as long as its
// role runs. Held in the pool, those sessions would take the connections
// the statements share — the relay's four locks and two LISTENs once took
// every one of a small pool's, and it stopped publishing without an error.
func sessionConn(ctx context.Context, pool *pgxpool.Pool) (*pgx.Conn, error) {
	cfg := pool.Config()
	conn, err := pgx.ConnectConfig(ctx, cfg.ConnConfig)
	if err != nil {
		return nil, fmt.Errorf("open a session connection: %w", err)
	}
	if cfg.AfterConnect != nil {
		if err := cfg.AfterConnect(ctx, conn); err != nil {
			closeSession(conn)
			return nil, fmt.Errorf("set up a session connection: %w", err)
		}
	}
	return conn, nil
}

// closeSession ends conn's session, and with it any lock or LISTEN it held.
func closeSession(conn *pgx.Conn) {
	ctx, cancel := context.WithTimeout(context.Background(), leadCheckTimeout)
	defer cancel()
	_ = conn.Close(ctx)
}
