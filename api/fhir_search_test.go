package api

import (
	"bytes"
	"context"
	"errors"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/zarish-sphere/zarish/domain"
)

// row is a record of a store that lists newest first by (at, id).
type row struct {
	status string
	at     time.Time
	id     uuid.UUID
}

// fakeList is a newest-first keyset list of rows in one status, as the
// stores page: the cursor is the position after the last row returned.
func fakeList(rows []row) func(ctx context.Context, status string, cursor string, limit int) ([]row, string, error) {
	sorted := slices.Clone(rows)
	slices.SortFunc(sorted, func(a, b row) int {
		if c := b.at.Compare(a.at); c != 0 {
			return c
		}
		return bytes.Compare(b.id[:], a.id[:])
	})
	return func(_ context.Context, status, cursor string, limit int) ([]row, string, error) {
		from := 0
		if cursor != "" {
			n, err := strconv.Atoi(cursor)
			if err != nil {
				return nil, "", domain.ErrBadCursor
			}
			from = n
		}
		var out []row
		i := 0
		for _, r := range sorted {
			if r.status != status && status != "" {
				continue
			}
			if i >= from && len(out) <= limit {
				out = append(out, r)
			}
			i++
		}
		if len(out) > limit {
			return out[:limit], strconv.Itoa(from + limit), nil
		}
		return out, "", nil
	}
}

// A search of several statuses pages through every match once, newest
// first, whatever the page size; a cursor naming another status is refused.
func TestFHIRMergedPageListsEveryMatchOnce(t *testing.T) {
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var rows []row
	statuses := []string{"registered", "partial", "preliminary", "final"}
	for i := range 23 {
		// Some rows share their time: the id orders them.
		rows = append(rows, row{status: statuses[(i*7)%4], at: base.Add(time.Duration(i/2) * time.Minute), id: uuid.Must(uuid.NewV7())})
	}
	fetch := fakeList(rows)
	order := func(r row) (time.Time, uuid.UUID) { return r.at, r.id }
	want, _, _ := fetch(context.Background(), "", "", 100)
	want = slices.DeleteFunc(want, func(r row) bool { return r.status == "final" })
	asked := statuses[:3]
	for _, size := range []int{1, 2, 5, 50} {
		var got []row
		cursor := ""
		for pages := 0; ; pages++ {
			if pages > 30 {
				t.Fatalf("size %d: the pages do not end", size)
			}
			page, next, err := mergedPage(context.Background(), asked, size, cursor, fetch, order)
			if err != nil {
				t.Fatal(err)
			}
			if len(page) > size || (next != "" && len(page) != size) {
				t.Fatalf("size %d: a page of %d, next %q", size, len(page), next)
			}
			got = append(got, page...)
			if next == "" {
				break
			}
			cursor = next
		}
		if !slices.Equal(got, want) {
			t.Errorf("size %d: %d rows, want %d in order", size, len(got), len(want))
		}
	}
	if _, _, err := mergedPage(context.Background(), asked, 2, "eyJmaW5hbCI6IiJ9", fetch, order); !errors.Is(err, domain.ErrBadCursor) {
		t.Errorf("a cursor of another status: %v", err)
	}
	if _, _, err := mergedPage(context.Background(), asked, 2, "not base64!", fetch, order); !errors.Is(err, domain.ErrBadCursor) {
		t.Errorf("a cursor of nothing: %v", err)
	}
}
