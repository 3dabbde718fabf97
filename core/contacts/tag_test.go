package contacts_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/fedele-crm/fedele/core"
	"github.com/fedele-crm/fedele/core/contacts"
	"github.com/fedele-crm/fedele/core/store"
	"github.com/fedele-crm/fedele/core/store/memstore"
	"github.com/fedele-crm/fedele/core/tenancy"
)

// countingStore counts the reads a list asks of the store, the way the
// DynamoDB engine bills them: one Query, one GetMany (BatchGetItem).
type countingStore struct {
	store.Store
	queries, getManys atomic.Int64
}

func (s *countingStore) Query(ctx context.Context, q store.Query) (store.Page, error) {
	s.queries.Add(1)
	return s.Store.Query(ctx, q)
}

func (s *countingStore) GetMany(ctx context.Context, keys []store.Key) ([]store.Item, error) {
	s.getManys.Add(1)
	return s.Store.GetMany(ctx, keys)
}

// A page of contacts by tag is one query of the tag's partition and one
// batch read of its contacts, whatever the page's direction or position:
// tag entries are one partition per tag, not a sharded collection.
func TestPageByTagIsOneQueryAndOneBatchRead(t *testing.T) {
	ctx := context.Background()
	mem := memstore.New()
	t.Cleanup(func() { mem.Close() })
	st := &countingStore{Store: mem}
	now := time.Date(2025, 3, 4, 5, 6, 7, 0, time.UTC)
	clock := func() time.Time { now = now.Add(time.Millisecond); return now }
	tenants := tenancy.NewTenants(st, clock)
	people := contacts.NewContacts(st, tenants, clock)
	if _, err := tenants.Create(ctx, "acme", "Acme", "IT"); err != nil {
		t.Fatal(err)
	}
	var tagged []string // ids in creation order
	for i := range 30 {
		tags := []string{"vip"}
		if i%3 == 0 {
			tags = []string{"other"}
		}
		c, err := people.Create(ctx, "acme", core.ContactFields{FirstName: fmt.Sprint("c", i), Tags: tags})
		if err != nil {
			t.Fatal(err)
		}
		if i%3 != 0 {
			tagged = append(tagged, c.ID)
		}
	}

	for _, tt := range []struct {
		sort string
		want []string
	}{
		{"created", tagged},
		{"-created", reversed(tagged)},
	} {
		t.Run(tt.sort, func(t *testing.T) {
			var got []string
			cursor := ""
			for page := 0; ; page++ {
				q0, g0 := st.queries.Load(), st.getManys.Load()
				items, next, err := people.List(ctx, "acme", contacts.ContactFilter{Tag: "VIP", Sort: tt.sort}, 7, cursor)
				if err != nil {
					t.Fatal(err)
				}
				if q, g := st.queries.Load()-q0, st.getManys.Load()-g0; q != 1 || g > 1 || (len(items) > 0 && g != 1) {
					t.Errorf("page %d: %d queries and %d batch reads, want 1 and 1", page, q, g)
				}
				for _, c := range items {
					got = append(got, c.ID)
				}
				if next == "" {
					break
				}
				cursor = next
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("contacts tagged vip, by %s (-want +got):\n%s", tt.sort, diff)
			}
		})
	}
}

func reversed(s []string) []string {
	out := make([]string, len(s))
	for i, v := range s {
		out[len(s)-1-i] = v
	}
	return out
}
