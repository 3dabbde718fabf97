// Package dynamotest gives tests a fresh DynamoDB table on the real DynamoDB
// Local (started once per test process by dynamolocal). It is for tests
// only and must never be imported by production code.
package dynamotest

import (
	"context"
	"fmt"
	"os"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/fedele-crm/fedele/infra/dynamo"
	"github.com/fedele-crm/fedele/internal/testsupport/dynamolocal"
)

var tables atomic.Int64

// OpenTable creates a table on the shared DynamoDB Local and drops it when
// the test ends. When Java or npm is missing the test fails, saying what to
// install: DynamoDB tests are never skipped silently.
func OpenTable(tb testing.TB) (*dynamo.Store, *dynamodb.Client) {
	tb.Helper()
	ctx := context.Background()
	local, err := dynamolocal.Shared(ctx)
	if err != nil {
		tb.Fatalf("DynamoDB Local: %v", err)
	}
	client, err := dynamo.Connect(ctx, local.Endpoint)
	if err != nil {
		tb.Fatal(err)
	}
	name := fmt.Sprintf("fedele-test-%d-%d", os.Getpid(), tables.Add(1))
	if err := dynamo.CreateTable(ctx, client, name); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		if err := dynamo.DeleteTable(context.Background(), client, name); err != nil {
			tb.Errorf("drop table %s: %v", name, err)
		}
	})
	return dynamo.New(client, name), client
}

// OpenFreshTable is OpenTable on a DynamoDB Local of its own, stopped when
// the test ends: for a scenario whose timing must not depend on what the
// package's other tests left in the shared instance. DynamoDB Local slows
// down as a process serves more writes (the package's 10 000 timers in
// one minute took 34 s on a fresh instance and over 6 minutes on the
// shared one after the journey and campaign scenarios).
func OpenFreshTable(tb testing.TB) (*dynamo.Store, *dynamodb.Client) {
	tb.Helper()
	ctx := context.Background()
	local, err := dynamolocal.Start(ctx)
	if err != nil {
		tb.Fatalf("DynamoDB Local: %v", err)
	}
	tb.Cleanup(func() { local.Stop() })
	client, err := dynamo.Connect(ctx, local.Endpoint)
	if err != nil {
		tb.Fatal(err)
	}
	name := fmt.Sprintf("fedele-test-%d-%d", os.Getpid(), tables.Add(1))
	if err := dynamo.CreateTable(ctx, client, name); err != nil {
		tb.Fatal(err)
	}
	return dynamo.New(client, name), client
}
