package dynamolocal_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/fedele-crm/fedele/internal/testsupport/dynamolocal"
)

// call sends one DynamoDB JSON request with plain net/http, signed just
// enough for DynamoDB Local (it checks that a SigV4 header is there, not the
// signature), and returns the status and body.
func call(t *testing.T, endpoint, credential, target, body string) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, endpoint+"/", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("X-Amz-Target", "DynamoDB_20120810."+target)
	req.Header.Set("Content-Type", "application/x-amz-json-1.0")
	req.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential="+credential+"/dynamodb/aws4_request, SignedHeaders=host, Signature=0")
	client := http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	res, err := client.Do(req)
	if err != nil {
		t.Fatalf("%s: %v", target, err)
	}
	defer res.Body.Close()
	out, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatalf("%s: read the answer: %v", target, err)
	}
	return res.StatusCode, out
}

const defaultCredential = "local/20260101/us-east-1"

// tables lists the tables through ListTables and fails unless it answers 200.
func tables(t *testing.T, endpoint, credential string) []string {
	t.Helper()
	status, body := call(t, endpoint, credential, "ListTables", "{}")
	if status != http.StatusOK {
		t.Fatalf("ListTables: %d %s", status, body)
	}
	var out struct{ TableNames []string }
	if err := json.Unmarshal(body, &out); err != nil {
		t.Fatalf("ListTables answered %s: %v", body, err)
	}
	return out.TableNames
}

func createTable(t *testing.T, endpoint, name string) {
	t.Helper()
	status, body := call(t, endpoint, defaultCredential, "CreateTable", `{"TableName":"`+name+`",
		"AttributeDefinitions":[{"AttributeName":"pk","AttributeType":"S"}],
		"KeySchema":[{"AttributeName":"pk","KeyType":"HASH"}],
		"BillingMode":"PAY_PER_REQUEST"}`)
	if status != http.StatusOK {
		t.Fatalf("CreateTable %s: %d %s", name, status, body)
	}
}

// listening reports whether something accepts TCP connections on the port.
func listening(port int) bool {
	c, err := net.DialTimeout("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), time.Second)
	if err != nil {
		return false
	}
	_ = c.Close()
	return true
}

// start starts an instance and stops it when the test ends. Without Java or
// npm it fails (never skips) with the message saying what to install.
func start(t *testing.T, opts ...dynamolocal.Options) *dynamolocal.Instance {
	t.Helper()
	began := time.Now()
	in, err := dynamolocal.Start(context.Background(), opts...)
	if err != nil {
		t.Fatalf("DynamoDB Local: %v", err)
	}
	t.Logf("DynamoDB Local answered on port %d after %s", in.Port, time.Since(began).Round(time.Millisecond))
	t.Cleanup(func() {
		if err := in.Stop(); err != nil {
			t.Errorf("Stop: %v", err)
		}
	})
	return in
}

func TestStartStopRestart(t *testing.T) {
	t.Parallel()
	in := start(t)
	if want := "http://127.0.0.1:" + strconv.Itoa(in.Port); in.Endpoint != want {
		t.Fatalf("Endpoint %q, want %q", in.Endpoint, want)
	}
	if got := tables(t, in.Endpoint, defaultCredential); len(got) != 0 {
		t.Fatalf("a new instance has tables %v", got)
	}
	createTable(t, in.Endpoint, "before-restart")
	// -sharedDb: other credentials and regions see the same tables, as SDK
	// clients configured in any way must.
	if got := tables(t, in.Endpoint, "SomeoneElse42/20260101/eu-west-1"); !slices.Equal(got, []string{"before-restart"}) {
		t.Fatalf("another access key and region see tables %v, want [before-restart]", got)
	}

	if err := in.Stop(); err != nil {
		t.Fatal(err)
	}
	if listening(in.Port) {
		t.Fatalf("port %d still open after Stop", in.Port)
	}
	if err := in.Stop(); err != nil {
		t.Fatalf("second Stop: %v", err)
	}

	port, endpoint := in.Port, in.Endpoint
	began := time.Now()
	if err := in.Restart(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Logf("Restart answered after %s", time.Since(began).Round(time.Millisecond))
	if in.Port != port || in.Endpoint != endpoint {
		t.Fatalf("Restart moved from %s to %s", endpoint, in.Endpoint)
	}
	// In memory: the restarted process starts empty.
	if got := tables(t, in.Endpoint, defaultCredential); len(got) != 0 {
		t.Fatalf("after Restart an in-memory instance has tables %v", got)
	}

	// Restart also works on a running instance.
	if err := in.Restart(context.Background()); err != nil {
		t.Fatalf("Restart of a running instance: %v", err)
	}
	tables(t, in.Endpoint, defaultCredential)

	if err := in.Stop(); err != nil {
		t.Fatal(err)
	}
	if listening(in.Port) {
		t.Fatalf("port %d still open after the final Stop", in.Port)
	}
}

func TestDataOnDiskSurvivesRestart(t *testing.T) {
	t.Parallel()
	in := start(t, dynamolocal.Options{DBPath: t.TempDir()})
	createTable(t, in.Endpoint, "kept")
	if err := in.Stop(); err != nil {
		t.Fatal(err)
	}
	if err := in.Restart(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := tables(t, in.Endpoint, defaultCredential); !slices.Equal(got, []string{"kept"}) {
		t.Fatalf("after Restart with a DBPath the tables are %v, want [kept]", got)
	}
}

func TestRestartFailsWhenThePortIsTaken(t *testing.T) {
	t.Parallel()
	in := start(t)
	if err := in.Stop(); err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", ":"+strconv.Itoa(in.Port))
	if err != nil {
		t.Fatalf("take port %d: %v", in.Port, err)
	}
	defer l.Close()
	err = in.Restart(context.Background())
	if err == nil || !strings.Contains(err.Error(), strconv.Itoa(in.Port)) {
		t.Fatalf("Restart on a taken port: %v", err)
	}
}

func TestSharedIsOneInstance(t *testing.T) {
	t.Parallel()
	a, err := dynamolocal.Shared(context.Background())
	if err != nil {
		t.Fatalf("DynamoDB Local: %v", err)
	}
	b, err := dynamolocal.Shared(context.Background())
	if err != nil || a != b {
		t.Fatalf("second Shared: %p %v, want %p", b, err, a)
	}
	tables(t, a.Endpoint, defaultCredential)
	dynamolocal.StopShared()
	if listening(a.Port) {
		t.Fatalf("port %d still open after StopShared", a.Port)
	}
	dynamolocal.StopShared() // idempotent
}

// Not parallel: it changes PATH for the whole process. Sequential tests run
// before the parallel ones resume, so no other test sees it.
func TestMissingToolsFailWithWhatToInstall(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	_, err := dynamolocal.Start(context.Background())
	if !errors.Is(err, dynamolocal.ErrMissingTools) {
		t.Fatalf("Start without java and npm: %v, want ErrMissingTools", err)
	}
	const want = "DynamoDB tests need Java 17+ and npm: apt-get install -y default-jre-headless npm (or run .ci/run, which installs them)"
	if msg := err.Error(); !strings.Contains(msg, want) || !strings.Contains(msg, "java") || !strings.Contains(msg, "npm") {
		t.Fatalf("error %q does not say what to install", msg)
	}
	if _, err := dynamolocal.Shared(context.Background()); !errors.Is(err, dynamolocal.ErrMissingTools) {
		t.Fatalf("Shared without java and npm: %v, want ErrMissingTools", err)
	}
	dynamolocal.StopShared() // forget the failure for the other tests
}
