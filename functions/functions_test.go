package functions_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	lambdaevents "github.com/aws/aws-lambda-go/events"

	"github.com/fedele-crm/fedele/app"
	"github.com/fedele-crm/fedele/core"
	"github.com/fedele-crm/fedele/core/events"
	"github.com/fedele-crm/fedele/core/store"
	"github.com/fedele-crm/fedele/core/timeline"
	"github.com/fedele-crm/fedele/infra/dynamo"
	"github.com/fedele-crm/fedele/internal/testsupport/fakebus"
	"github.com/fedele-crm/fedele/internal/testsupport/fakes3"
)

var tableSeq atomic.Int64

// table creates a table on DynamoDB Local with a tenant and an admin key.
func table(t *testing.T) (name, endpoint, secret string, st store.Store) {
	t.Helper()
	ctx := context.Background()
	endpoint = local(t).Endpoint
	client, err := dynamo.Connect(ctx, endpoint)
	if err != nil {
		t.Fatal(err)
	}
	name = fmt.Sprintf("fn-%d", tableSeq.Add(1))
	if err := dynamo.CreateTable(ctx, client, name); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = dynamo.DeleteTable(context.Background(), client, name) })
	st = dynamo.New(client, name)
	a := appOn(t, st)
	if _, err := a.Tenants.Create(ctx, "acme", "Acme", "US"); err != nil {
		t.Fatal(err)
	}
	secret, _, err = a.APIKeys.Create(ctx, "acme", "lambda", []core.Scope{core.ScopeAdmin})
	if err != nil {
		t.Fatal(err)
	}
	// The key's api_key.created is set-up: each test counts the events it causes.
	page, err := store.QueryMerged(ctx, st, store.Query{Consistent: true}, events.EventsPKs("acme"), store.MaxPageItems, "")
	if err != nil {
		t.Fatal(err)
	}
	for _, it := range page.Items {
		if err := st.Delete(ctx, it.Key, store.Cond{}); err != nil {
			t.Fatal(err)
		}
	}
	return name, endpoint, secret, st
}

// appOn is the service graph on st, as the functions build it.
func appOn(t *testing.T, st store.Store) *app.App {
	t.Helper()
	a, err := app.New(app.Ports{Store: st})
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func httpEvent(method, path, body string, headers map[string]string) lambdaevents.APIGatewayV2HTTPRequest {
	rawPath, query, _ := strings.Cut(path, "?")
	return lambdaevents.APIGatewayV2HTTPRequest{
		Version: "2.0", RouteKey: "$default", RawPath: rawPath, RawQueryString: query, Headers: headers, Body: body,
		RequestContext: lambdaevents.APIGatewayV2HTTPRequestContext{
			RequestID: "gw-1", Stage: "$default", DomainName: "api.example.com",
			HTTP: lambdaevents.APIGatewayV2HTTPRequestContextHTTPDescription{Method: method, Path: rawPath, Protocol: "HTTP/1.1", SourceIP: "203.0.113.9"},
		},
	}
}

func response(t *testing.T, inv *invocation) lambdaevents.APIGatewayV2HTTPResponse {
	t.Helper()
	if inv.errBody != nil {
		t.Fatalf("function error: %s", inv.errBody)
	}
	var res lambdaevents.APIGatewayV2HTTPResponse
	if err := json.Unmarshal(inv.response, &res); err != nil {
		t.Fatalf("response %s: %v", inv.response, err)
	}
	return res
}

func TestAPIFunction(t *testing.T) {
	name, endpoint, secret, _ := table(t)
	r := newRuntime(t)
	r.start("api", "PUBLIC_URL=https://crm.example.test", "TABLE_NAME="+name, "DYNAMODB_ENDPOINT="+endpoint)
	auth := map[string]string{"authorization": "Bearer " + secret, "content-type": "application/json"}

	res := response(t, r.invoke(httpEvent("POST", "/v1/contacts", `{"first_name":"Lambda","emails":[{"address":"l@example.com"}]}`, auth)))
	if res.StatusCode != 201 || res.Headers["Etag"] == "" && res.Headers["ETag"] == "" {
		t.Fatalf("create: %d %v %s", res.StatusCode, res.Headers, res.Body)
	}
	var c core.Contact
	if err := json.Unmarshal([]byte(res.Body), &c); err != nil {
		t.Fatal(err)
	}
	res = response(t, r.invoke(httpEvent("GET", "/v1/contacts/"+c.ID, "", auth)))
	var got core.Contact
	if res.StatusCode != 200 || json.Unmarshal([]byte(res.Body), &got) != nil || got.ID != c.ID || got.PrimaryEmail() != "l@example.com" {
		t.Fatalf("read back: %d %s", res.StatusCode, res.Body)
	}
	res = response(t, r.invoke(httpEvent("GET", "/v1/contacts?email=l@example.com", "", auth)))
	if res.StatusCode != 200 || !strings.Contains(res.Body, c.ID) {
		t.Errorf("list by e-mail: %d %s", res.StatusCode, res.Body)
	}

	// A JWT authorizer's claims name the caller instead of a key.
	jwt := httpEvent("GET", "/v1/contacts/"+c.ID, "", nil)
	jwt.RequestContext.Authorizer = &lambdaevents.APIGatewayV2HTTPRequestContextAuthorizerDescription{
		JWT: &lambdaevents.APIGatewayV2HTTPRequestContextAuthorizerJWTDescription{Claims: map[string]string{"custom:tenant": "acme", "scope": "crm:read", "sub": "u-1"}}}
	if res := response(t, r.invoke(jwt)); res.StatusCode != 200 {
		t.Errorf("JWT read: %d %s", res.StatusCode, res.Body)
	}
	jwt.RequestContext.Authorizer.JWT.Claims["custom:tenant"] = "globex"
	if res := response(t, r.invoke(jwt)); res.StatusCode != 404 {
		t.Errorf("JWT of another tenant: %d %s", res.StatusCode, res.Body)
	}

	// Bad events get the right answer and the loop goes on.
	cases := []struct {
		name   string
		event  any
		status int // 0: a function error report
	}{
		{"unknown route", httpEvent("GET", "/v1/nothing", "", auth), 404},
		{"missing authorization header", httpEvent("GET", "/v1/contacts", "", map[string]string{}), 401},
		{"malformed body", httpEvent("POST", "/v1/contacts", `{"first_name":`, auth), 400},
		{"base64 body", func() lambdaevents.APIGatewayV2HTTPRequest {
			e := httpEvent("POST", "/v1/contacts", base64.StdEncoding.EncodeToString([]byte(`{"first_name":"B64"}`)), auth)
			e.IsBase64Encoded = true
			return e
		}(), 201},
		{"event that is not JSON", "{not json", 0},
	}
	for _, tc := range cases {
		inv := r.invoke(tc.event)
		if tc.status == 0 {
			if inv.errBody == nil {
				t.Errorf("%s: answered %s, want a function error", tc.name, inv.response)
			}
			continue
		}
		if res := response(t, inv); res.StatusCode != tc.status {
			t.Errorf("%s: %d, want %d: %s", tc.name, res.StatusCode, tc.status, res.Body)
		}
	}
	if res := response(t, r.invoke(httpEvent("GET", "/healthz", "", nil))); res.StatusCode != 200 {
		t.Errorf("after bad events the loop is gone: %d", res.StatusCode)
	}
}

// image renders an item as a DynamoDB stream record's NewImage.
func image(it store.Item) map[string]any {
	img := map[string]any{"pk": map[string]string{"S": it.PK}, "sk": map[string]string{"S": it.SK},
		"v": map[string]string{"N": strconv.FormatInt(it.Version, 10)}, "doc": map[string]string{"B": base64.StdEncoding.EncodeToString(it.Data)}}
	for ix, k := range it.IndexKeys {
		img[string(ix)+"pk"], img[string(ix)+"sk"] = map[string]string{"S": k.PK}, map[string]string{"S": k.SK}
	}
	return img
}

// pendingEvents writes contacts through the repositories and returns the
// outbox items they left pending.
func pendingEvents(t *testing.T, st store.Store, n int) []store.Item {
	t.Helper()
	ctx := context.Background()
	contacts := appOn(t, st).Contacts
	for i := range n {
		if _, err := contacts.Create(ctx, "acme", core.ContactFields{FirstName: fmt.Sprint("s", i)}); err != nil {
			t.Fatal(err)
		}
	}
	var items []store.Item
	for shard := range events.PendingShards {
		page, err := st.Query(ctx, store.Query{Index: events.PendingIndex, PK: events.PendingPK(shard)})
		if err != nil {
			t.Fatal(err)
		}
		items = append(items, page.Items...)
	}
	if len(items) != n {
		t.Fatalf("%d pending events, want %d", len(items), n)
	}
	return items
}

func TestRelayFunction(t *testing.T) {
	name, endpoint, _, st := table(t)
	bus := fakebus.New()
	defer bus.Close()
	bus.FailEntry = func(call, i int, _ fakebus.Entry) bool { return call == 1 && i == 0 } // once, then retried inside
	r := newRuntime(t)
	r.start("relay", "TABLE_NAME="+name, "DYNAMODB_ENDPOINT="+endpoint, "EVENT_BUS_NAME=fedele", "EVENTBRIDGE_ENDPOINT="+bus.URL)

	items := pendingEvents(t, st, 3)
	var records []map[string]any
	for i, it := range items {
		records = append(records, map[string]any{"eventID": fmt.Sprint(i), "eventName": "INSERT", "eventSource": "aws:dynamodb",
			"dynamodb": map[string]any{"SequenceNumber": fmt.Sprint(1000 + i), "NewImage": image(it), "StreamViewType": "NEW_IMAGE"}})
	}
	inv := r.invoke(map[string]any{"Records": records})
	if inv.errBody != nil {
		t.Fatalf("relay error: %s", inv.errBody)
	}
	var resp lambdaevents.DynamoDBEventResponse
	if err := json.Unmarshal(inv.response, &resp); err != nil || len(resp.BatchItemFailures) != 0 {
		t.Fatalf("relay answered %s (%v)", inv.response, err)
	}
	if got := bus.EventIDs(); len(got) != 3 {
		t.Fatalf("bus accepted %d events, want 3", len(got))
	}
	// Published events left the pending index: the reconciler will not resend them.
	for shard := range events.PendingShards {
		page, _ := st.Query(context.Background(), store.Query{Index: events.PendingIndex, PK: events.PendingPK(shard)})
		if len(page.Items) != 0 {
			t.Errorf("shard %d still has %d pending events", shard, len(page.Items))
		}
	}
	// A record that is not an event is ignored; a broken batch is reported, not a crash.
	if inv := r.invoke(`{"Records":[{"eventName":"INSERT","dynamodb":{"NewImage":{"pk":{"S":"T#acme#contact"},"sk":{"S":"x"}}}}]}`); inv.errBody != nil {
		t.Errorf("non-event record: %s", inv.errBody)
	}
	if inv := r.invoke(`{"Records": 5}`); inv.errBody == nil {
		t.Errorf("malformed batch answered %s", inv.response)
	}
}

func TestWorkerFunctionHandlesARedeliveryOnce(t *testing.T) {
	name, endpoint, _, st := table(t)
	r := newRuntime(t)
	r.start("worker", "PUBLIC_URL=https://crm.example.test", "TABLE_NAME="+name, "DYNAMODB_ENDPOINT="+endpoint)
	ev, err := events.Decode(pendingEvents(t, st, 1)[0])
	if err != nil {
		t.Fatal(err)
	}
	detail, _ := json.Marshal(ev.Detail)
	bridge := map[string]any{"version": "0", "id": "eb-1", "detail-type": ev.DetailType, "source": ev.Source, "account": "123456789012",
		"time": ev.Detail.Time, "region": "us-east-1", "resources": []string{}, "detail": json.RawMessage(detail)}
	for range 2 { // EventBridge delivers at least once
		if inv := r.invoke(bridge); inv.errBody != nil {
			t.Fatalf("worker error: %s", inv.errBody)
		}
	}
	day := ev.Detail.Time.UTC().Format(time.DateOnly)
	stats, err := timeline.DailyStats(context.Background(), st, "acme", day, day)
	if err != nil || len(stats) != 1 || stats[0].Counts[string(events.ContactCreated)] != 1 {
		t.Fatalf("stats after a double delivery: %+v %v", stats, err)
	}
	bridge["source"] = "somebody.else"
	if inv := r.invoke(bridge); inv.errBody == nil {
		t.Error("an event from another source was accepted")
	}
	if inv := r.invoke(`{"detail": 1}`); inv.errBody == nil {
		t.Error("a malformed event was accepted")
	}
}

func TestSchedulerFunctionRedrivesMissedEvents(t *testing.T) {
	name, endpoint, _, st := table(t)
	bus := fakebus.New()
	defer bus.Close()
	r := newRuntime(t)
	r.start("scheduler", "PUBLIC_URL=https://crm.example.test", "TABLE_NAME="+name, "DYNAMODB_ENDPOINT="+endpoint, "EVENT_BUS_NAME=fedele",
		"EVENTBRIDGE_ENDPOINT="+bus.URL, "REDRIVE_AFTER=1ns")
	pendingEvents(t, st, 2) // the stream relay never saw them
	tick := map[string]any{"version": "0", "id": "tick", "detail-type": "Scheduled Event", "source": "aws.scheduler", "detail": map[string]any{}}
	if inv := r.invoke(tick); inv.errBody != nil {
		t.Fatalf("scheduler error: %s", inv.errBody)
	}
	if got := bus.EventIDs(); len(got) != 2 {
		t.Fatalf("bus got %d events, want the 2 missed ones", len(got))
	}
	if inv := r.invoke(tick); inv.errBody != nil || len(bus.EventIDs()) != 2 {
		t.Errorf("second tick resent events (%d) or failed: %s", len(bus.EventIDs()), inv.errBody)
	}
}

// The api function runs plugins as the local server does: an upload goes
// through S3 (a local endpoint speaking S3's REST protocol: there is no S3
// emulator here) and compiles in a child process of the Lambda binary, and
// the activated version scores a contact.
func TestAPIFunctionRunsPlugins(t *testing.T) {
	name, endpoint, secret, _ := table(t)
	bucket := fakes3.New(t, "plugins")
	r := newRuntime(t)
	r.start("api", "PUBLIC_URL=https://crm.example.test", "TABLE_NAME="+name, "DYNAMODB_ENDPOINT="+endpoint, "PLUGIN_BUCKET=plugins", "S3_ENDPOINT="+bucket.URL)
	auth := map[string]string{"authorization": "Bearer " + secret, "content-type": "application/json"}

	module, err := os.ReadFile(filepath.Join("..", "testdata", "plugins", "flatscore.wasm"))
	if err != nil {
		t.Fatal(err)
	}
	up := httpEvent("POST", "/v1/plugins/flat/versions?kind=score", base64.StdEncoding.EncodeToString(module),
		map[string]string{"authorization": auth["authorization"], "content-type": "application/wasm"})
	up.QueryStringParameters, up.IsBase64Encoded = map[string]string{"kind": "score"}, true
	if res := response(t, r.invoke(up)); res.StatusCode != 201 {
		t.Fatalf("upload: %d %s", res.StatusCode, res.Body)
	}
	if len(bucket.Puts()) != 1 {
		t.Fatalf("%d objects put in S3, want the module", len(bucket.Puts()))
	}
	if res := response(t, r.invoke(httpEvent("POST", "/v1/plugins/flat/versions/1/activate", "", auth))); res.StatusCode != 200 {
		t.Fatalf("activate: %d %s", res.StatusCode, res.Body)
	}
	res := response(t, r.invoke(httpEvent("POST", "/v1/contacts", `{"first_name":"Plug"}`, auth)))
	var c core.Contact
	if res.StatusCode != 201 || json.Unmarshal([]byte(res.Body), &c) != nil {
		t.Fatalf("create: %d %s", res.StatusCode, res.Body)
	}
	res = response(t, r.invoke(httpEvent("POST", "/v1/contacts/"+c.ID+"/score", "", auth)))
	if res.StatusCode != 200 || !strings.Contains(res.Body, `"score":50`) || !strings.Contains(res.Body, `"decided_by":"plugin"`) {
		t.Fatalf("score: %d %s", res.StatusCode, res.Body)
	}
}
