package plugins

import (
	"testing"

	"github.com/fedele-crm/fedele/schemas"
)

// Every kind has both contracts in schemas/plugins/, and there is no
// contract of a kind the code does not know.
func TestKindsHaveContracts(t *testing.T) {
	for _, k := range Kinds {
		if err := schemas.ValidatePluginInput(string(k), []byte(`[]`)); err != nil {
			t.Errorf("%s input contract: %v", k, err)
		}
		if err := schemas.ValidatePluginOutput(string(k), []byte(`[]`), 0); err != nil {
			t.Errorf("%s output contract: %v", k, err)
		}
	}
	contracts, err := schemas.PluginContractKinds()
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range contracts {
		if !Kind(c).Valid() {
			t.Errorf("schemas/plugins has contracts of %q, which is not a plugins.Kind", c)
		}
	}
	if got, want := KindChoice(), "score, route or campaign"; got != want {
		t.Errorf("KindChoice() = %q, want %q", got, want)
	}
}
