package httpapi_test

import (
	"fmt"
	"net/url"
	"slices"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/fedele-crm/fedele/core"
)

func TestContactLifecycle(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e *env) {
		var co core.Company
		e.a.do("POST", "/v1/companies", map[string]any{"name": "Initech", "domain": "https://www.Initech.com/about"}).want(t, 201, &co)
		if co.Domain != "initech.com" {
			t.Errorf("domain %q, want initech.com", co.Domain)
		}

		var rep core.User
		e.a.do("POST", "/v1/users", map[string]any{"name": "Rep", "email": "rep@example.com"}).want(t, 201, &rep)
		body := map[string]any{
			"first_name": " Ada ", "last_name": "Lovelace",
			"emails":          []map[string]any{{"address": " Ada@Example.COM "}, {"address": "ada@work.example.com", "label": "work"}},
			"phones":          []map[string]any{{"number": "(415) 555-2671", "label": "mobile"}},
			"company_id":      co.ID,
			"owner_id":        rep.ID,
			"tags":            []string{"VIP", "vip", " Newsletter "},
			"birthday":        "1815-12-10",
			"lifecycle_stage": "mql",
			"source":          "web",
			"consent":         map[string]any{"email": map[string]any{"status": "granted", "source": "signup form"}},
			"address":         map[string]any{"city": "London", "country": "gb"},
		}
		// 1815 is before 1900: refused, naming the field.
		p := e.a.do("POST", "/v1/contacts", body).want(t, 422, nil).problem(t)
		if diff := cmp.Diff([]string{"body.birthday"}, p.locations()); diff != "" {
			t.Fatalf("problem locations (-want +got):\n%s", diff)
		}
		body["birthday"] = "1985-12-10"
		var c core.Contact
		res := e.a.do("POST", "/v1/contacts", body).want(t, 201, &c)
		if res.Header.Get("Location") != "/v1/contacts/"+c.ID || res.Header.Get("ETag") != `"1"` {
			t.Errorf("Location %q ETag %q", res.Header.Get("Location"), res.Header.Get("ETag"))
		}
		want := core.ContactFields{
			FirstName: "Ada", LastName: "Lovelace",
			Emails:    []core.Email{{Address: "ada@example.com", Primary: true}, {Address: "ada@work.example.com", Label: "work"}},
			Phones:    []core.Phone{{Number: "+14155552671", Label: "mobile"}},
			CompanyID: co.ID, OwnerID: rep.ID, Tags: []string{"vip", "newsletter"}, Birthday: "1985-12-10",
			LifecycleStage: core.StageMQL, Source: "web",
			Address: &core.Address{City: "London", Country: "GB"},
			Consent: &core.Consent{Email: &core.ChannelConsent{Status: core.ConsentGranted, Source: "signup form"}},
		}
		ignoreAt := cmpopts.IgnoreFields(core.ChannelConsent{}, "At")
		if diff := cmp.Diff(want, c.ContactFields, ignoreAt); diff != "" {
			t.Errorf("stored contact (-want +got):\n%s", diff)
		}
		if c.Version != 1 || c.Consent.Email.At.IsZero() || !core.ValidID(c.ID) {
			t.Errorf("version %d, consent time %v, id %q", c.Version, c.Consent.Email.At, c.ID)
		}

		var got core.Contact
		e.a.do("GET", "/v1/contacts/"+c.ID, nil).want(t, 200, &got)
		if diff := cmp.Diff(c, got); diff != "" {
			t.Errorf("get (-created +got):\n%s", diff)
		}

		// Merge patch: change one field, remove another, leave the rest.
		var patched core.Contact
		res = e.a.do("PATCH", "/v1/contacts/"+c.ID, `{"last_name":"King","owner_id":null,"tags":["vip"]}`, "If-Match", `"1"`).want(t, 200, &patched)
		if patched.LastName != "King" || patched.OwnerID != "" || patched.FirstName != "Ada" || !slices.Equal(patched.Tags, []string{"vip"}) || patched.Version != 2 {
			t.Errorf("patched: %+v", patched)
		}
		if res.Header.Get("ETag") != `"2"` {
			t.Errorf("ETag %q after patch", res.Header.Get("ETag"))
		}
		// A patch that changes nothing keeps the version.
		e.a.do("PATCH", "/v1/contacts/"+c.ID, `{"last_name":"King"}`).want(t, 200, &patched)
		if patched.Version != 2 {
			t.Errorf("no-op patch moved version to %d", patched.Version)
		}
		// The tag entry went with the tag.
		var page contactPage
		e.a.do("GET", "/v1/contacts?tag=newsletter", nil).want(t, 200, &page)
		if len(page.Items) != 0 {
			t.Errorf("tag newsletter still lists %d contacts", len(page.Items))
		}
		e.a.do("GET", "/v1/contacts?tag=VIP&company_id="+co.ID, nil).want(t, 200, &page)
		if len(page.Items) != 1 || page.Items[0].ID != c.ID {
			t.Errorf("tag vip lists %+v", page.Items)
		}

		// The company cannot go while it has a contact.
		e.a.do("DELETE", "/v1/companies/"+co.ID, nil).want(t, 409, nil).problem(t)

		e.a.do("DELETE", "/v1/contacts/"+c.ID, nil, "If-Match", `"1"`).want(t, 412, nil).problem(t)
		e.a.do("DELETE", "/v1/contacts/"+c.ID, nil, "If-Match", `"2"`).want(t, 204, nil)
		e.a.do("GET", "/v1/contacts/"+c.ID, nil).want(t, 404, nil).problem(t)
		e.a.do("DELETE", "/v1/contacts/"+c.ID, nil).want(t, 404, nil)
		// Its e-mail is free again.
		e.a.do("POST", "/v1/contacts", map[string]any{"emails": []map[string]any{{"address": "ada@example.com"}}}).want(t, 201, nil)
		e.a.do("DELETE", "/v1/companies/"+co.ID, nil).want(t, 204, nil)
	})
}

func TestPaginationUnderConcurrentInserts(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e *env) {
		const existing = 60
		ids := map[string]bool{}
		for i := range existing {
			var c core.Contact
			e.a.do("POST", "/v1/contacts", map[string]any{"first_name": fmt.Sprint("c", i), "tags": []string{"load"}}).want(t, 201, &c)
			ids[c.ID] = true
		}
		for _, query := range []string{"sort=created", "sort=-created", "sort=updated", "tag=load", "lifecycle_stage=lead&sort=created"} {
			t.Run(query, func(t *testing.T) {
				stop := make(chan struct{})
				var wg sync.WaitGroup
				wg.Add(1)
				go func() { // keep inserting while the pages are read
					defer wg.Done()
					for i := 0; ; i++ {
						select {
						case <-stop:
							return
						default:
						}
						e.a.do("POST", "/v1/contacts", map[string]any{"first_name": "late", "tags": []string{"load"}}).want(t, 201, nil)
					}
				}()
				seen := map[string]int{}
				cursor := ""
				for pages := 0; ; pages++ {
					if pages > 100 {
						t.Fatal("more than 100 pages")
					}
					var page contactPage
					e.a.do("GET", "/v1/contacts?limit=7&"+query+"&cursor="+url.QueryEscape(cursor), nil).want(t, 200, &page)
					if len(page.Items) > 7 {
						t.Fatalf("page of %d items with limit 7", len(page.Items))
					}
					for _, c := range page.Items {
						seen[c.ID]++
					}
					if page.NextCursor == "" {
						break
					}
					cursor = page.NextCursor
				}
				close(stop)
				wg.Wait()
				for id, n := range seen {
					if n != 1 {
						t.Errorf("contact %s listed %d times", id, n)
					}
				}
				for id := range ids {
					if seen[id] != 1 {
						t.Errorf("contact %s that existed before the listing was listed %d times", id, seen[id])
					}
				}
			})
		}
	})
}

func TestConcurrentIfMatchOneWins(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e *env) {
		var c core.Contact
		e.a.do("POST", "/v1/contacts", map[string]any{"first_name": "Race"}).want(t, 201, &c)
		const writers = 8
		statuses := make([]int, writers)
		var wg sync.WaitGroup
		for i := range writers {
			wg.Go(func() {
				statuses[i] = e.a.do("PATCH", "/v1/contacts/"+c.ID, fmt.Sprintf(`{"last_name":"W%d"}`, i), "If-Match", `"1"`).Status
			})
		}
		wg.Wait()
		ok, stale := 0, 0
		for _, s := range statuses {
			switch s {
			case 200:
				ok++
			case 412:
				stale++
			}
		}
		if ok != 1 || stale != writers-1 {
			t.Fatalf("statuses %v: want exactly one 200 and %d 412", statuses, writers-1)
		}
		var got core.Contact
		e.a.do("GET", "/v1/contacts/"+c.ID, nil).want(t, 200, &got)
		if got.Version != 2 {
			t.Errorf("version %d after one winning write", got.Version)
		}
	})
}

func TestIdempotentPost(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e *env) {
		body := `{"first_name":"Once","emails":[{"address":"once@example.com"}]}`
		var first, second core.Contact
		r1 := e.a.do("POST", "/v1/contacts", body, "Idempotency-Key", "k-1").want(t, 201, &first)
		r2 := e.a.do("POST", "/v1/contacts", body, "Idempotency-Key", "k-1").want(t, 201, &second)
		if first.ID != second.ID || string(r1.Body) != string(r2.Body) || r2.Header.Get("Idempotent-Replayed") != "true" {
			t.Fatalf("replay differs: %s vs %s (replayed %q)", r1.Body, r2.Body, r2.Header.Get("Idempotent-Replayed"))
		}
		if r2.Header.Get("ETag") != r1.Header.Get("ETag") || r2.Header.Get("Location") != r1.Header.Get("Location") {
			t.Errorf("replayed headers differ")
		}
		p := e.a.do("POST", "/v1/contacts", `{"first_name":"Other"}`, "Idempotency-Key", "k-1").want(t, 422, nil).problem(t)
		if diff := cmp.Diff([]string{"header.Idempotency-Key"}, p.locations()); diff != "" {
			t.Errorf("locations (-want +got):\n%s", diff)
		}
		// A refused request is not remembered: its corrected retry runs.
		e.a.do("POST", "/v1/contacts", `{"emails":[{"address":"nope"}]}`, "Idempotency-Key", "k-2").want(t, 422, nil)
		e.a.do("POST", "/v1/contacts", `{"emails":[{"address":"fixed@example.com"}]}`, "Idempotency-Key", "k-2").want(t, 201, nil)
		// A conflict is: the same request would meet it again.
		r409 := e.a.do("POST", "/v1/contacts", `{"emails":[{"address":"fixed@example.com"}]}`, "Idempotency-Key", "k-3").want(t, 409, nil)
		if r := e.a.do("POST", "/v1/contacts", `{"emails":[{"address":"fixed@example.com"}]}`, "Idempotency-Key", "k-3").want(t, 409, nil); r.Header.Get("Idempotent-Replayed") != "true" || string(r.Body) != string(r409.Body) {
			t.Errorf("conflict not replayed: %s", r.Body)
		}
		// Keys belong to a tenant: the same key elsewhere is a new request.
		var other core.Contact
		e.b.do("POST", "/v1/contacts", body, "Idempotency-Key", "k-1").want(t, 201, &other)
		if other.ID == first.ID {
			t.Error("tenant B replayed tenant A's response")
		}
		var page contactPage
		e.a.do("GET", "/v1/contacts?email=once@example.com", nil).want(t, 200, &page)
		if len(page.Items) != 1 {
			t.Errorf("%d contacts after a replayed create", len(page.Items))
		}
	})
}

func TestUpsertByEmail(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e *env) {
		var c1, c2 core.Contact
		e.a.do("PUT", "/v1/contacts-by-email/Grace@Example.com", map[string]any{"first_name": "Grace"}).want(t, 201, &c1)
		if c1.PrimaryEmail() != "grace@example.com" {
			t.Fatalf("upserted emails %+v", c1.Emails)
		}
		e.a.do("PUT", "/v1/contacts-by-email/grace@example.com", map[string]any{"first_name": "Grace", "last_name": "Hopper"}).want(t, 200, &c2)
		if c2.ID != c1.ID || c2.LastName != "Hopper" || c2.Version != 2 || c2.PrimaryEmail() != "grace@example.com" {
			t.Fatalf("second upsert: %+v", c2)
		}
		e.a.do("PUT", "/v1/contacts-by-email/grace@example.com", map[string]any{"first_name": "G"}, "If-Match", `"1"`).want(t, 412, nil).problem(t)
		e.a.do("PUT", "/v1/contacts-by-email/not-an-email", map[string]any{}).want(t, 422, nil).problem(t)

		// Racing upserts of a new address end with one contact.
		var wg sync.WaitGroup
		statuses := make([]int, 6)
		for i := range statuses {
			wg.Go(func() {
				statuses[i] = e.a.do("PUT", "/v1/contacts-by-email/race@example.com", map[string]any{"first_name": fmt.Sprint("R", i)}).Status
			})
		}
		wg.Wait()
		created := 0
		for _, s := range statuses {
			if s == 201 {
				created++
			} else if s != 200 {
				t.Errorf("racing upsert answered %d", s)
			}
		}
		var page contactPage
		e.a.do("GET", "/v1/contacts?email=race@example.com", nil).want(t, 200, &page)
		if created != 1 || len(page.Items) != 1 {
			t.Errorf("%d creates and %d contacts for one address (statuses %v)", created, len(page.Items), statuses)
		}
	})
}

func TestBatchCreatePartialFailure(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e *env) {
		e.a.do("POST", "/v1/contacts", map[string]any{"emails": []map[string]any{{"address": "taken@example.com"}}}).want(t, 201, nil)
		var out struct {
			Results []struct {
				Index  int           `json:"index"`
				Status int           `json:"status"`
				Record *core.Contact `json:"record"`
				Error  *problem      `json:"error"`
			} `json:"results"`
		}
		e.a.do("POST", "/v1/contacts/batch", map[string]any{"items": []map[string]any{
			{"first_name": "ok"},
			{"emails": []map[string]any{{"address": "bad"}}},
			{"emails": []map[string]any{{"address": "taken@example.com"}}},
			{"first_name": "also ok", "phones": []map[string]any{{"number": "+39 06 6982"}}},
		}}).want(t, 200, &out)
		var got []string
		for _, r := range out.Results {
			loc := ""
			if r.Error != nil && len(r.Error.Errors) > 0 {
				loc = r.Error.Errors[0].Location
			}
			got = append(got, fmt.Sprintf("%d %d %s", r.Index, r.Status, loc))
		}
		want := []string{"0 201 ", "1 422 body.items[1].emails[0].address", "2 409 body.items[2].emails[0].address", "3 201 "}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Fatalf("batch results (-want +got):\n%s", diff)
		}
		e.a.do("POST", "/v1/contacts/batch", map[string]any{"items": make([]map[string]any, 101)}).want(t, 422, nil).problem(t)
	})
}

func TestCompanies(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e *env) {
		var c core.Company
		e.a.do("POST", "/v1/companies", map[string]any{"name": "Umbrella", "domain": "umbrella.example", "size": "51-200"}).want(t, 201, &c)
		e.a.do("POST", "/v1/companies", map[string]any{"name": "Umbrella 2", "domain": "UMBRELLA.example"}).want(t, 409, nil).problem(t)
		var patched core.Company
		e.a.do("PATCH", "/v1/companies/"+c.ID, `{"domain":"umbrella.test"}`, "If-Match", `"1"`).want(t, 200, &patched)
		// The old domain is free, the new one taken.
		e.a.do("POST", "/v1/companies", map[string]any{"name": "Other", "domain": "umbrella.example"}).want(t, 201, nil)
		e.a.do("POST", "/v1/companies", map[string]any{"name": "Other", "domain": "umbrella.test"}).want(t, 409, nil)
		var page struct {
			Items []core.Company `json:"items"`
		}
		e.a.do("GET", "/v1/companies?domain=umbrella.test", nil).want(t, 200, &page)
		if len(page.Items) != 1 || page.Items[0].ID != c.ID {
			t.Errorf("by domain: %+v", page.Items)
		}
		e.a.do("DELETE", "/v1/companies/"+c.ID, nil).want(t, 204, nil)
		e.a.do("GET", "/v1/companies/"+c.ID, nil).want(t, 404, nil)
	})
}

// TestNoLostUpdates: two writers each add one to a counter 200 times, each
// read-modify-write guarded by If-Match and retried on 412. Every increment
// must land: the counter ends at 400 and the version at 401.
func TestNoLostUpdates(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e *env) {
		e.a.do("PUT", "/v1/custom-fields/contact/counter", map[string]any{"label": "Counter", "type": "number"}).want(t, 200, nil)
		var c core.Contact
		e.a.do("POST", "/v1/contacts", map[string]any{"first_name": "Counter", "custom": map[string]any{"counter": 0}}).want(t, 201, &c)
		const writers, updates = 2, 200
		var wg sync.WaitGroup
		retries := make([]int, writers)
		for w := range writers {
			wg.Go(func() {
				for done := 0; done < updates; {
					var cur core.Contact
					res := e.a.do("GET", "/v1/contacts/"+c.ID, nil).want(t, 200, &cur)
					next := cur.Custom["counter"].(float64) + 1
					res = e.a.do("PATCH", "/v1/contacts/"+c.ID, fmt.Sprintf(`{"custom":{"counter":%v}}`, next), "If-Match", res.Header.Get("ETag"))
					switch res.Status {
					case 200:
						done++
					case 412:
						retries[w]++
					default:
						t.Errorf("writer %d: status %d: %s", w, res.Status, res.Body)
						return
					}
				}
			})
		}
		wg.Wait()
		var got core.Contact
		e.a.do("GET", "/v1/contacts/"+c.ID, nil).want(t, 200, &got)
		if got.Version != writers*updates+1 || got.Custom["counter"] != float64(writers*updates) {
			t.Errorf("version %d and counter %v, want %d and %d (retries %v)", got.Version, got.Custom["counter"], writers*updates+1, writers*updates, retries)
		}
	})
}
