package dynamo_test

import (
	"context"
	"errors"
	"os"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/fedele-crm/fedele/core/store"
	"github.com/fedele-crm/fedele/core/store/storetest"
	"github.com/fedele-crm/fedele/infra/dynamo"
	"github.com/fedele-crm/fedele/internal/testsupport/dynamolocal"
	"github.com/fedele-crm/fedele/internal/testsupport/dynamotest"
)

func TestMain(m *testing.M) {
	code := m.Run()
	dynamolocal.StopShared()
	os.Exit(code)
}

func openTable(t *testing.T) (*dynamo.Store, *dynamodb.Client) { return dynamotest.OpenTable(t) }

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		s, _ := openTable(t)
		return s
	})
}

func TestTableDefinition(t *testing.T) {
	_, client := openTable(t)
	def := dynamo.TableDefinition("x")
	if len(def.GlobalSecondaryIndexes) != len(store.Indexes) {
		t.Fatalf("%d GSIs for %d indexes", len(def.GlobalSecondaryIndexes), len(store.Indexes))
	}
	out, err := client.ListTables(context.Background(), &dynamodb.ListTablesInput{})
	if err != nil || len(out.TableNames) == 0 {
		t.Fatalf("list tables: %v %v", out, err)
	}
}

func TestUsageIsCounted(t *testing.T) {
	s, _ := openTable(t)
	ctx := context.Background()
	before := s.Usage()
	it := store.Item{Key: store.Key{PK: "T#a", SK: "1"}, Version: 1, Data: []byte(`{}`)}
	if err := s.Put(ctx, it, store.Cond{MustNotExist: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Get(ctx, it.Key); err != nil {
		t.Fatal(err)
	}
	d := s.Usage().Sub(before)
	if d.Requests["write"] != 1 || d.Requests["get"] != 1 || d.WriteUnits <= 0 || d.ReadUnits <= 0 {
		t.Errorf("usage %+v", d)
	}
}

func TestUnavailableIsClassified(t *testing.T) {
	client, err := dynamo.Connect(context.Background(), "http://127.0.0.1:1")
	if err != nil {
		t.Fatal(err)
	}
	s := dynamo.New(client, "nowhere")
	_, err = s.Get(context.Background(), store.Key{PK: "a", SK: "b"})
	if !errors.Is(err, store.ErrUnavailable) {
		t.Fatalf("get from a closed port: %v, want ErrUnavailable", err)
	}
}
