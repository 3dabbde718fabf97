package app_test

import (
	"bufio"
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/fedele-crm/fedele/app"
	"github.com/fedele-crm/fedele/core"
	"github.com/fedele-crm/fedele/core/store"
	"github.com/fedele-crm/fedele/core/timers"
	"github.com/fedele-crm/fedele/core/timers/timerstest"
	"github.com/fedele-crm/fedele/infra/dynamo"
	"github.com/fedele-crm/fedele/infra/embedded"
	"github.com/fedele-crm/fedele/infra/wasm"
	"github.com/fedele-crm/fedele/internal/testsupport/dynamolocal"
	"github.com/fedele-crm/fedele/internal/testsupport/dynamotest"
	"github.com/fedele-crm/fedele/internal/testsupport/enginetest"
)

func TestMain(m *testing.M) {
	wasm.RunCompilerIfChild() // a plugin upload compiles in a child: this binary
	code := m.Run()
	dynamolocal.StopShared()
	os.Exit(code)
}

// The timer scenarios of core/timers/timerstest, on each real engine —
// DynamoDB Local on an instance of their own, so that the 10 000 timers of
// one minute measure the timer service, not what the package's journey and
// campaign scenarios left the shared instance to carry.
func TestTimersOnEveryEngine(t *testing.T) {
	engines := map[string]func(t testing.TB) store.Store{
		"embedded": enginetest.Engines["embedded"],
		"dynamodb": func(t testing.TB) store.Store { st, _ := dynamotest.OpenFreshTable(t); return st },
	}
	for name, open := range engines {
		t.Run(name, func(t *testing.T) {
			t.Run("fires once", func(t *testing.T) { timerstest.FiresOnce(t, open(t)) })
			t.Run("cancel and reschedule race firing", func(t *testing.T) { timerstest.RaceFiring(t, open(t)) })
			t.Run("10 000 due in one minute", func(t *testing.T) { timerstest.SameMinute(t, open(t), 10_000) })
			t.Run("an hour down, then catching up", func(t *testing.T) { timerstest.CatchUp(t, open(t)) })
		})
	}
}

const (
	timerChildStore = "FEDELE_TIMER_CHILD_STORE" // "embedded:<path>" or "dynamodb:<endpoint>|<table>"
	timerChildRun   = "FEDELE_TIMER_CHILD_RUN"
	crashTimers     = 200
	crashAt         = 50 // the handler call the first run never finishes
)

// TestTimerCrashChild is not a test of its own: it is the `fedele serve`
// stand-in that TestTimerCrash starts and kills (the test binary
// re-executed). Its "crash" handler puts one effect item per call, at a key
// of its own, so that a timer acted on twice would show two.
func TestTimerCrashChild(t *testing.T) {
	spec := os.Getenv(timerChildStore)
	if spec == "" {
		t.Skip("the server process of TestTimerCrash")
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
	defer stop()
	st := openSpec(t, spec)
	defer st.Close()
	var calls atomic.Int64
	first := os.Getenv(timerChildRun) == "1"
	h := timers.Handler{Kind: "crash", Handle: func(ctx context.Context, tm core.Timer) ([]store.Write, error) {
		if first && calls.Add(1) == crashAt {
			fmt.Printf("FIRING %s\n", tm.ID)
			<-ctx.Done() // killed here: fired, not committed
		}
		return []store.Write{{Op: store.OpPut, Item: store.Item{
			Key: store.Tenant(tm.Tenant).Key(tm.ID+"#"+core.NewID(time.Now()), "effect"), Version: 1}}}, nil
	}}
	a, err := app.New(app.Ports{Store: st, Log: slog.New(slog.DiscardHandler), TimerHandlers: []timers.Handler{h}})
	if err != nil {
		t.Fatal(err)
	}
	if !first {
		go func() {
			deadline := time.Now().Add(2 * time.Minute)
			for time.Now().Before(deadline) {
				if _, due, err := a.Timers.NextDue(ctx); err == nil && !due {
					fmt.Println("IDLE")
					return
				}
				time.Sleep(10 * time.Millisecond) // polling its own store, with a deadline
			}
		}()
	}
	a.Timers.Run(ctx)
}

func openSpec(t testing.TB, spec string) store.Store {
	engine, where, _ := strings.Cut(spec, ":")
	if engine == "embedded" {
		st, err := embedded.Open(where)
		if err != nil {
			t.Fatal(err)
		}
		return st
	}
	endpoint, table, _ := strings.Cut(where, "|")
	client, err := dynamo.Connect(context.Background(), endpoint)
	if err != nil {
		t.Fatal(err)
	}
	return dynamo.New(client, table)
}

// TestTimerCrash schedules 200 timers due now and starts a server process
// that fires them; while its 50th handler call is running — fired, not
// committed — the process is killed (SIGKILL: no deferred code runs). A new
// process on the same store fires what is left: every timer is fired, and
// each has exactly one effect. On both engines.
func TestTimerCrash(t *testing.T) {
	ctx := context.Background()
	specs := map[string]func(t *testing.T) string{
		"embedded": func(t *testing.T) string { return "embedded:" + filepath.Join(t.TempDir(), "fedele.db") },
		"dynamodb": func(t *testing.T) string {
			local, err := dynamolocal.Shared(ctx)
			if err != nil {
				t.Fatalf("DynamoDB Local: %v", err)
			}
			client, err := dynamo.Connect(ctx, local.Endpoint)
			if err != nil {
				t.Fatal(err)
			}
			name := fmt.Sprintf("timer-crash-%d", os.Getpid())
			if err := dynamo.CreateTable(ctx, client, name); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = dynamo.DeleteTable(context.Background(), client, name) })
			return "dynamodb:" + local.Endpoint + "|" + name
		},
	}
	for name, mk := range specs {
		t.Run(name, func(t *testing.T) {
			spec := mk(t)
			st := openSpec(t, spec)
			noop := timers.Handler{Kind: "crash", Handle: func(context.Context, core.Timer) ([]store.Write, error) { return nil, nil }}
			a, err := app.New(app.Ports{Store: st, Log: slog.New(slog.DiscardHandler), TimerHandlers: []timers.Handler{noop}})
			if err != nil {
				t.Fatal(err)
			}
			reqs := make([]core.TimerRequest, crashTimers)
			for i := range reqs {
				reqs[i] = core.TimerRequest{Kind: "crash", Subject: fmt.Sprint(i), Due: time.Now().Add(-time.Minute + time.Duration(i)*time.Millisecond)}
			}
			scheduled, err := a.Timers.ScheduleMany(ctx, "acme", reqs)
			if err != nil {
				t.Fatal(err)
			}
			if strings.HasPrefix(spec, "embedded:") {
				st.Close() // one process at a time holds the file
			}

			first := startTimerChild(t, spec, "1", "FIRING ")
			if err := first.Process.Kill(); err != nil {
				t.Fatal(err)
			}
			_ = first.Wait()

			// The second run says IDLE once nothing is due any more.
			second := startTimerChild(t, spec, "2", "IDLE")
			_ = second.Process.Signal(syscall.SIGTERM)
			_ = second.Wait()
			st2 := st
			if strings.HasPrefix(spec, "embedded:") {
				st2 = openSpec(t, spec)
				defer st2.Close()
			}
			a2, _ := app.New(app.Ports{Store: st2, TimerHandlers: []timers.Handler{noop}})
			effects := map[string]int{}
			cursor := ""
			for {
				page, err := st2.Query(ctx, store.Query{PK: store.Tenant("acme").PK("effect"), Cursor: cursor})
				if err != nil {
					t.Fatal(err)
				}
				for _, it := range page.Items {
					id, _, _ := strings.Cut(it.SK, "#")
					effects[id]++
				}
				if cursor = page.Next; cursor == "" {
					break
				}
			}
			for _, tm := range scheduled {
				got, err := a2.Timers.Get(ctx, "acme", tm.ID)
				if err != nil || got.State != core.TimerFired {
					t.Errorf("timer %s: %s %v, want fired", tm.Subject, got.State, err)
				}
				if effects[tm.ID] != 1 {
					t.Errorf("timer %s: %d effects, want 1", tm.Subject, effects[tm.ID])
				}
			}
		})
	}
}

func startTimerChild(t *testing.T, spec, run, until string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestTimerCrashChild$")
	cmd.Env = append(os.Environ(), timerChildStore+"="+spec, timerChildRun+"="+run)
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
		if strings.HasPrefix(lines.Text(), until) {
			go func() {
				for lines.Scan() {
				}
			}()
			return cmd
		}
	}
	_ = cmd.Process.Kill()
	t.Fatalf("timer process printed no %q: %v", until, lines.Err())
	return nil
}
