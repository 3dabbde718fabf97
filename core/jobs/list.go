package jobs

import (
	"context"
	"encoding/base64"
	"fmt"

	"github.com/fedele-crm/fedele/core"
	"github.com/fedele-crm/fedele/core/record"
	"github.com/fedele-crm/fedele/core/store"
)

// List returns a tenant's jobs newest first — of one kind when kind is
// not empty — up to limit, after cursor (a next cursor List returned, or
// ""), and the cursor of the rest ("" at the end). Jobs are kept 30 days,
// in one partition by id, so a page is one query or a few when a kind is
// rare among them. The cursor is the last job's id: it only positions a
// listing within the caller's own partition, so another tenant's cursor
// shows nothing of that tenant.
func (s *Service) List(ctx context.Context, tenant, kind string, limit int, cursor string) ([]Job, string, error) {
	q := store.Query{PK: store.Tenant(tenant).PK("jobs"), Desc: true, Limit: min(max(limit, 1), store.MaxPageItems)}
	after := ""
	if cursor != "" {
		b, err := base64.RawURLEncoding.DecodeString(cursor)
		if err != nil || !core.ValidID(string(b)) {
			return nil, "", core.Invalid("cursor", "is not a cursor of this list", cursor)
		}
		after = string(b)
		q.To = after
	}
	var out []Job
	for {
		page, err := s.store.Query(ctx, q)
		if err != nil {
			return nil, "", fmt.Errorf("list jobs: %w", record.StoreError(err))
		}
		for _, it := range page.Items {
			if it.SK == after || it.Expired(s.now()) {
				continue
			}
			j, err := jobDoc.Decode(it)
			if err != nil {
				return nil, "", err
			}
			if kind != "" && j.Kind != kind {
				continue
			}
			out = append(out, j.Job)
			if len(out) == limit {
				return out, base64.RawURLEncoding.EncodeToString([]byte(j.ID)), nil
			}
		}
		if q.Cursor = page.Next; q.Cursor == "" {
			return out, "", nil
		}
	}
}
