package httpapi_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/fedele-crm/fedele/app"
	"github.com/fedele-crm/fedele/core"
	"github.com/fedele-crm/fedele/core/contacts"
	"github.com/fedele-crm/fedele/core/events"
	"github.com/fedele-crm/fedele/core/ratelimit"
	"github.com/fedele-crm/fedele/core/store"
	"github.com/fedele-crm/fedele/core/tenancy"
	"github.com/fedele-crm/fedele/infra/embedded"
)

const crashChildEnv = "FEDELE_CRASH_CHILD_DATA"

// effectConsumer records one effect item per contact.created event, in the
// same transaction as its processed marker.
var effectConsumer = events.Handler{Name: "effect", Types: []events.Type{events.ContactCreated},
	Handle: func(_ context.Context, ev events.Envelope) ([]store.Write, error) {
		return []store.Write{{Op: store.OpPut, Cond: store.Cond{MustNotExist: true}, Item: store.Item{
			Key: store.Key{PK: "T#" + ev.Detail.Tenant + "#effect", SK: ev.Detail.EventID}, Version: 1, Data: []byte(ev.Detail.Entity.ID)}}}, nil
	}}

// TestCrashChild is not a test of its own: it is the server process that
// TestRelayCrash starts and kills (the usual re-exec of the test binary).
func TestCrashChild(t *testing.T) {
	dir := os.Getenv(crashChildEnv)
	if dir == "" {
		t.Skip("the server process of TestRelayCrash")
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
	defer stop()
	st, err := embedded.Open(filepath.Join(dir, "fedele.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	log := slog.New(slog.DiscardHandler)
	cons := events.NewConsumers(st, log, time.Now)
	cons.Register(effectConsumer)
	relay := &events.Relay{Store: st, Publisher: cons, Log: log, Interval: 5 * time.Millisecond, Batch: 50}
	var wg sync.WaitGroup
	defer wg.Wait()
	wg.Go(func() { relay.Run(ctx) })

	mux := http.NewServeMux()
	a, err := app.New(app.Ports{Store: st, Log: log, Limiter: generous{ratelimit.NewMemory(time.Now)}}) // 5 000 writes as fast as they go
	if err != nil {
		t.Fatal(err)
	}
	mux.Handle("/", a.Handler())
	mux.HandleFunc("/test/pending", func(w http.ResponseWriter, r *http.Request) {
		n := 0
		for shard := range events.PendingShards {
			page, err := st.Query(r.Context(), store.Query{Index: events.PendingIndex, PK: events.PendingPK(shard), Limit: 1})
			if err != nil {
				http.Error(w, err.Error(), 500)
				return
			}
			n += len(page.Items)
		}
		fmt.Fprint(w, n)
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: mux}
	go func() { _ = srv.Serve(ln) }()
	fmt.Printf("ADDR http://%s\n", ln.Addr())
	<-ctx.Done()
	_ = srv.Shutdown(context.Background())
}

// child is one run of the server process.
type child struct {
	cmd *exec.Cmd
	url string
}

func startChild(t *testing.T, dir string) *child {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashChild$")
	cmd.Env = append(os.Environ(), crashChildEnv+"="+dir)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := bufio.NewScanner(out)
	for lines.Scan() {
		if u, ok := strings.CutPrefix(lines.Text(), "ADDR "); ok {
			go func() { _, _ = io.Copy(io.Discard, out) }()
			return &child{cmd: cmd, url: u}
		}
	}
	_ = cmd.Process.Kill()
	t.Fatalf("server process printed no address: %v", lines.Err())
	return nil
}

// TestRelayCrash streams 5 000 writes into a server process that is killed
// (SIGKILL: no deferred code runs) twice along the way and restarted on the
// same data. Afterwards every committed contact has exactly one
// contact.created event and that event exactly one effect in an idempotent
// consumer: no event lost, none invented, none applied twice.
func TestRelayCrash(t *testing.T) {
	if testing.Short() {
		t.Skip("5 000 writes")
	}
	dir := t.TempDir()
	st, err := embedded.Open(filepath.Join(dir, "fedele.db"))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := tenancy.NewTenants(st, time.Now).Create(ctx, "acme", "Acme", "US"); err != nil {
		t.Fatal(err)
	}
	secret, _, err := tenancy.NewAPIKeys(st, time.Now).Create(ctx, "acme", "crash", []core.Scope{core.ScopeWrite})
	if err != nil {
		t.Fatal(err)
	}
	st.Close()

	const total, writers = 5000, 4
	var (
		cur       atomic.Pointer[child]
		next      atomic.Int64
		confirmed sync.Map // contact ids answered 201
		lost      atomic.Int64
	)
	cur.Store(startChild(t, dir))
	httpc := &http.Client{Timeout: 10 * time.Second}
	var wg sync.WaitGroup
	for range writers {
		wg.Go(func() {
			var err error
			for {
				n := next.Add(1)
				if n > total {
					return
				}
				body := fmt.Sprintf(`{"first_name":"w%d"}`, n)
				var res *http.Response
				for {
					url := cur.Load().url
					req, _ := http.NewRequest("POST", url+"/v1/contacts", strings.NewReader(body))
					req.Header.Set("Authorization", "Bearer "+secret)
					req.Header.Set("Content-Type", "application/json")
					res, err = httpc.Do(req)
					if err == nil || !errors.Is(err, syscall.ECONNREFUSED) {
						break
					}
					// Never sent: the server is down. Send it to the next one.
					for cur.Load().url == url {
						time.Sleep(time.Millisecond) // polling for the restarted server
					}
				}
				if err != nil {
					lost.Add(1) // the server died under it: committed or not, the store will tell
					continue
				}
				var c core.Contact
				_ = json.NewDecoder(res.Body).Decode(&c)
				res.Body.Close()
				if res.StatusCode == 201 {
					confirmed.Store(c.ID, true)
				}
			}
		})
	}
	for _, at := range []int64{1500, 3500} {
		deadline := time.Now().Add(2 * time.Minute)
		for next.Load() < at {
			if time.Now().After(deadline) {
				t.Fatalf("writes stalled at %d", next.Load())
			}
			time.Sleep(time.Millisecond) // polling the writers' progress
		}
		old := cur.Load()
		_ = old.cmd.Process.Kill()
		_ = old.cmd.Wait()
		cur.Store(startChild(t, dir))
	}
	wg.Wait()

	// Let the relay catch up, then stop the server cleanly.
	deadline := time.Now().Add(2 * time.Minute)
	for {
		res, err := httpc.Get(cur.Load().url + "/test/pending")
		if err == nil {
			b, _ := io.ReadAll(res.Body)
			res.Body.Close()
			if string(b) == "0" {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatal("outbox did not drain")
		}
		time.Sleep(10 * time.Millisecond) // polling the relay's progress
	}
	last := cur.Load()
	_ = last.cmd.Process.Signal(syscall.SIGTERM)
	if err := last.cmd.Wait(); err != nil {
		t.Fatalf("server process: %v", err)
	}

	st, err = embedded.Open(filepath.Join(dir, "fedele.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	all := func(pks []string) []store.Item {
		var out []store.Item
		cursor := ""
		for {
			page, err := store.QueryMerged(ctx, st, store.Query{}, pks, store.MaxPageItems, cursor)
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, page.Items...)
			if page.Next == "" {
				return out
			}
			cursor = page.Next
		}
	}
	stored := map[string]bool{}
	for _, it := range all(contacts.ContactPKs("acme")) {
		stored[it.SK] = true
	}
	createdEvent := map[string]string{} // event id -> contact id
	perContact := map[string]int{}
	for _, it := range all(events.EventsPKs("acme")) {
		ev, err := events.Decode(it)
		if err != nil {
			t.Fatal(err)
		}
		if ev.DetailType == events.ContactCreated {
			createdEvent[ev.Detail.EventID] = ev.Detail.Entity.ID
			perContact[ev.Detail.Entity.ID]++
		}
	}
	effects := map[string]string{}
	for _, it := range all([]string{"T#acme#effect"}) {
		effects[it.SK] = string(it.Data)
	}
	for id := range stored {
		if perContact[id] != 1 {
			t.Errorf("contact %s has %d contact.created events", id, perContact[id])
		}
	}
	for evID, contactID := range createdEvent {
		if !stored[contactID] {
			t.Errorf("event %s is about contact %s, which was never committed", evID, contactID)
		}
		if effects[evID] != contactID {
			t.Errorf("event %s (contact %s) has effect %q", evID, contactID, effects[evID])
		}
	}
	if len(effects) != len(createdEvent) {
		t.Errorf("%d effects for %d events", len(effects), len(createdEvent))
	}
	confirmed.Range(func(k, _ any) bool {
		if !stored[k.(string)] {
			t.Errorf("contact %s answered 201 but is not stored", k)
		}
		return true
	})
	t.Logf("%d contacts committed, %d writes cut off by the kills, %d effects", len(stored), lost.Load(), len(effects))
	if len(stored) < total-int(lost.Load()) {
		t.Errorf("%d contacts for %d writes of which %d were cut off", len(stored), total, lost.Load())
	}
}
