package dynamolocal_test

import (
	"context"
	"errors"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/fedele-crm/fedele/infra/dynamo/dynamolocal"
)

func answers(endpoint string) bool {
	c, err := net.DialTimeout("tcp", endpoint[len("http://"):], time.Second)
	if err != nil {
		return false
	}
	c.Close()
	return true
}

func TestStartStopRestart(t *testing.T) {
	ctx := context.Background()
	in, err := dynamolocal.Start(ctx, dynamolocal.Options{DBPath: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = in.Stop() })
	if in.Endpoint != "http://127.0.0.1:"+strconv.Itoa(in.Port) || !answers(in.Endpoint) {
		t.Fatalf("instance at %s does not answer", in.Endpoint)
	}
	if err := in.Stop(); err != nil {
		t.Fatal(err)
	}
	if answers(in.Endpoint) {
		t.Fatal("still answering after Stop")
	}
	if err := in.Stop(); err != nil {
		t.Errorf("second Stop: %v", err)
	}
	if err := in.Restart(ctx); err != nil {
		t.Fatal(err)
	}
	if !answers(in.Endpoint) {
		t.Fatal("not answering on the same port after Restart")
	}
}

func TestMissingToolsSaySoInsteadOfSkipping(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	_, err := dynamolocal.Start(context.Background(), dynamolocal.Options{})
	if !errors.Is(err, dynamolocal.ErrMissingTools) || !strings.Contains(err.Error(), "apt-get install") {
		t.Fatalf("Start without java and npm: %v", err)
	}
}
