// Package enginetest opens each storage engine for tests that must pass on
// all of them: the embedded file and DynamoDB (on DynamoDB Local). It is for
// tests only and must never be imported by production code.
package enginetest

import (
	"path/filepath"
	"testing"

	"github.com/fedele-crm/fedele/core/store"
	"github.com/fedele-crm/fedele/infra/embedded"
	"github.com/fedele-crm/fedele/internal/testsupport/dynamotest"
)

// Engines opens a fresh, empty store of each engine, closed when the test
// ends. A test binary that uses the dynamodb one calls
// dynamolocal.StopShared in TestMain.
var Engines = map[string]func(t testing.TB) store.Store{
	"embedded": func(t testing.TB) store.Store {
		st, err := embedded.Open(filepath.Join(t.TempDir(), "fedele.db"))
		if err != nil {
			t.Fatalf("open embedded store: %v", err)
		}
		t.Cleanup(func() { st.Close() })
		return st
	},
	"dynamodb": func(t testing.TB) store.Store {
		st, _ := dynamotest.OpenTable(t)
		return st
	},
}
