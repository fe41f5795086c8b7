package postgres

import (
	"encoding/base64"
	"encoding/json"
	"github.com/zarish-sphere/zarish/domain"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
)

// ErrBadCursor means a pagination cursor was not one this store issued.
var ErrBadCursor = domain.ErrBadCursor

// encodeCursor renders a keyset position as an opaque URL-safe string.
func encodeCursor[T any](position T) string {
	b, _ := json.Marshal(position)
	return base64.RawURLEncoding.EncodeToString(b)
}

// decodeCursor reads a cursor encodeCursor made; "" means the first page
// (nil). A cursor that does not decode, or whose position valid rejects, is
// ErrBadCursor.
func decodeCursor[T any](s string, valid func(T) bool) (*T, error) {
	if s == "" {
		return nil, nil
	}
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return nil, ErrBadCursor
	}
	var position T
	if err := json.Unmarshal(b, &position); err != nil || !valid(position) {
		return nil, ErrBadCursor
	}
	return &position, nil
}

// pageQuery builds one page of a newest-first list ordered by a time column
// and then id: the filters, each value a numbered argument, and the position
// the page starts after.
type pageQuery struct {
	conds []string
	args  []any
	limit int
}

// newPageQuery starts a page of limit rows (50 when not positive, at most 200).
func newPageQuery(limit int) *pageQuery {
	if limit <= 0 {
		limit = 50
	}
	return &pageQuery{conds: []string{"true"}, limit: min(limit, 200)}
}

// arg adds v as the next argument and returns its placeholder.
func (q *pageQuery) arg(v any) string {
	q.args = append(q.args, v)
	return "$" + strconv.Itoa(len(q.args))
}

// where adds a condition; its values go through arg.
func (q *pageQuery) where(cond string) { q.conds = append(q.conds, cond) }

// within keeps rows whose column is at or after from and before to; a zero
// bound is open.
func (q *pageQuery) within(column string, from, to time.Time) {
	if !from.IsZero() {
		q.where(column + " >= " + q.arg(from))
	}
	if !to.IsZero() {
		q.where(column + " < " + q.arg(to))
	}
}

// after starts the page after the row at (at, id) in column's order.
func (q *pageQuery) after(column string, at time.Time, id uuid.UUID) {
	q.where("(" + column + ", id) < (" + q.arg(at) + ", " + q.arg(id) + ")")
}

// sql completes selectFrom ("SELECT … FROM table") with the conditions, the
// order newest first by column then id, and one row more than the page, which
// tells whether another page follows.
func (q *pageQuery) sql(selectFrom, column string) string {
	return selectFrom + ` WHERE ` + strings.Join(q.conds, " AND ") +
		` ORDER BY ` + column + ` DESC, id DESC LIMIT ` + q.arg(q.limit+1)
}

// cutPage drops the extra row sql asked for and returns the page and the
// cursor of the next one, made from the page's last row ("" on the last page).
func cutPage[T any](q *pageQuery, rows []T, cursor func(last T) string) ([]T, string) {
	if len(rows) <= q.limit {
		return rows, ""
	}
	rows = rows[:q.limit]
	return rows, cursor(rows[q.limit-1])
}
