package httpapi_test

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/fedele-crm/fedele/core"
	"github.com/fedele-crm/fedele/infra/dynamo"
	"github.com/fedele-crm/fedele/internal/testsupport/dynamolocal"
)

// TestDynamoOutage stops DynamoDB Local in the middle of a batch of writes.
// Every call meanwhile must answer a clean 503 problem (never a 500), no
// contact may be half-written (a record without its e-mail marker or the
// reverse), and once DynamoDB Local is back the same server carries on.
func TestDynamoOutage(t *testing.T) {
	ctx := context.Background()
	local, err := dynamolocal.Start(ctx, dynamolocal.Options{DBPath: t.TempDir()}) // on disk: data outlives the restart
	if err != nil {
		t.Fatalf("DynamoDB Local: %v", err)
	}
	t.Cleanup(func() { _ = local.Stop() })
	client, err := dynamo.Connect(ctx, local.Endpoint)
	if err != nil {
		t.Fatal(err)
	}
	if err := dynamo.CreateTable(ctx, client, "fedele"); err != nil {
		t.Fatal(err)
	}
	e := newEnv(t, dynamo.New(client, "fedele"))

	emails := make([]string, 100)
	items := make([]map[string]any, len(emails))
	for i := range emails {
		emails[i] = fmt.Sprintf("outage%d@example.com", i)
		items[i] = map[string]any{"emails": []map[string]any{{"address": emails[i]}}}
	}
	var (
		wg      sync.WaitGroup
		results struct {
			Results []struct {
				Status int      `json:"status"`
				Error  *problem `json:"error"`
			} `json:"results"`
		}
	)
	wg.Go(func() {
		e.a.do("POST", "/v1/contacts/batch", map[string]any{"items": items}).want(t, 200, &results)
	})
	// Take DynamoDB away once the batch has begun writing.
	deadline := time.Now().Add(30 * time.Second)
	for {
		var page contactPage
		if e.a.do("GET", "/v1/contacts?limit=1", nil).want(t, 200, &page); len(page.Items) > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the batch wrote nothing in 30 s")
		}
	}
	if err := local.Stop(); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	created := map[string]bool{}
	unavailable := 0
	for i, r := range results.Results {
		switch r.Status {
		case 201:
			created[emails[i]] = true
		case 503:
			unavailable++
			if r.Error == nil || r.Error.Type != "https://fedele.dev/problems/unavailable" {
				t.Errorf("item %d: 503 without its problem: %+v", i, r.Error)
			}
		default:
			t.Errorf("item %d answered %d during the outage", i, r.Status)
		}
	}
	if unavailable == 0 {
		t.Fatal("the outage did not reach the batch: no item answered 503")
	}

	// While it is down, every door answers 503 with Retry-After.
	for _, req := range []struct{ method, path string }{
		{"GET", "/v1/contacts?limit=5"}, {"GET", "/v1/contacts/" + core.NewID(time.Now())},
		{"POST", "/v1/contacts"}, {"PUT", "/v1/contacts-by-email/down@example.com"},
	} {
		res := e.a.do(req.method, req.path, map[string]any{"first_name": "down"})
		if res.Status != http.StatusServiceUnavailable || res.Header.Get("Retry-After") == "" {
			t.Errorf("%s %s during the outage: %d %s", req.method, req.path, res.Status, res.Body)
			continue
		}
		res.problem(t)
	}

	// Back up: the same server carries on, without a restart.
	if err := local.Restart(ctx); err != nil {
		t.Fatal(err)
	}
	e.a.do("POST", "/v1/contacts", map[string]any{"first_name": "after"}).want(t, 201, nil)

	// Nothing half-written: the contacts listed and the e-mail markers agree,
	// and every create that answered 201 is there.
	var listed []string
	cursor := ""
	for {
		var page contactPage
		e.a.do("GET", "/v1/contacts?limit=200&cursor="+cursor, nil).want(t, 200, &page)
		for _, c := range page.Items {
			if a := c.PrimaryEmail(); a != "" {
				listed = append(listed, a)
			}
		}
		if cursor = page.NextCursor; cursor == "" {
			break
		}
	}
	var byMarker []string
	for _, a := range emails {
		var page contactPage
		if e.a.do("GET", "/v1/contacts?email="+a, nil).want(t, 200, &page); len(page.Items) == 1 {
			byMarker = append(byMarker, a)
		}
	}
	slices.Sort(listed)
	slices.Sort(byMarker)
	if !slices.Equal(listed, byMarker) {
		t.Errorf("contacts and e-mail markers disagree:\nlisted   %v\nmarkers  %v", listed, byMarker)
	}
	for a := range created {
		if !slices.Contains(listed, a) {
			t.Errorf("%s answered 201 but is not stored", a)
		}
	}
	t.Logf("%d created before the outage, %d refused with 503, %d stored in all", len(created), unavailable, len(listed))
}
