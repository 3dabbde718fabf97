// Package schemas holds the JSON Schemas of Fedele's contracts — every event
// detail in events/, and the API's openapi.json — and validates documents
// against them. The files are the source of truth that integrators read; this
// package only embeds and compiles them, and must never generate them.
package schemas

import (
	"bytes"
	"embed"
	"encoding/json"
	"fmt"
	"path"
	"slices"
	"strings"
	"sync"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

//go:embed events/*.json plugins/*.json
var files embed.FS

var (
	compileOnce sync.Once
	compiled    map[string]*jsonschema.Schema
	compileErr  error
)

func compile() {
	compiled = map[string]*jsonschema.Schema{}
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	for _, dir := range []string{"events", "plugins"} {
		entries, err := files.ReadDir(dir)
		if err != nil {
			compileErr = err
			return
		}
		for _, e := range entries {
			file := path.Join(dir, e.Name())
			raw, err := files.ReadFile(file)
			if err != nil {
				compileErr = err
				return
			}
			doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
			if err != nil {
				compileErr = fmt.Errorf("%s: %w", file, err)
				return
			}
			url := "https://fedele.dev/schemas/" + file
			if err := c.AddResource(url, doc); err != nil {
				compileErr = fmt.Errorf("%s: %w", file, err)
				return
			}
			s, err := c.Compile(url)
			if err != nil {
				compileErr = fmt.Errorf("%s: %w", file, err)
				return
			}
			compiled[strings.TrimSuffix(file, ".json")] = s
		}
	}
}

// EventTypes lists the detail types that have a schema.
func EventTypes() ([]string, error) {
	compileOnce.Do(compile)
	if compileErr != nil {
		return nil, compileErr
	}
	var out []string
	for name := range compiled {
		if t, ok := strings.CutPrefix(name, "events/"); ok {
			out = append(out, t)
		}
	}
	return out, nil
}

// ValidateEventDetail checks the JSON detail of an event of detailType
// against its schema; a type without a schema is an error.
func ValidateEventDetail(detailType string, detail []byte) error {
	compileOnce.Do(compile)
	if compileErr != nil {
		return fmt.Errorf("compile event schemas: %w", compileErr)
	}
	s, ok := compiled["events/"+detailType]
	if !ok {
		return fmt.Errorf("no schema for detail-type %q", detailType)
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(detail))
	if err != nil {
		return fmt.Errorf("%s detail is not JSON: %w", detailType, err)
	}
	if err := s.Validate(doc); err != nil {
		return fmt.Errorf("%s detail breaks its schema: %w", detailType, err)
	}
	return nil
}

// ValidateEvent checks a whole envelope given as JSON.
func ValidateEvent(envelope []byte) error {
	var env struct {
		Source     string          `json:"source"`
		DetailType string          `json:"detail-type"`
		Detail     json.RawMessage `json:"detail"`
	}
	if err := json.Unmarshal(envelope, &env); err != nil {
		return fmt.Errorf("envelope: %w", err)
	}
	if env.Source != "fedele.crm" {
		return fmt.Errorf("envelope source %q, want fedele.crm", env.Source)
	}
	return ValidateEventDetail(env.DetailType, env.Detail)
}

// PluginContractKinds lists the plugin kinds with a contract in plugins/
// (core/plugins.Kinds is the list of kinds; a test holds the two together).
func PluginContractKinds() ([]string, error) {
	compileOnce.Do(compile)
	if compileErr != nil {
		return nil, compileErr
	}
	var out []string
	for name := range compiled {
		if k, ok := strings.CutPrefix(name, "plugins/"); ok {
			if k, ok := strings.CutSuffix(k, ".output"); ok {
				out = append(out, k)
			}
		}
	}
	slices.Sort(out)
	return out, nil
}

// ValidatePluginOutput checks what a plugin of kind returned for a batch of
// n records: JSON, the kind's output schema, and one result per record.
func ValidatePluginOutput(kind string, output []byte, n int) error {
	compileOnce.Do(compile)
	if compileErr != nil {
		return fmt.Errorf("compile schemas: %w", compileErr)
	}
	s, ok := compiled["plugins/"+kind+".output"]
	if !ok {
		return fmt.Errorf("no plugin kind %q", kind)
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(output))
	if err != nil {
		return fmt.Errorf("%s output is not JSON: %w", kind, err)
	}
	if err := s.Validate(doc); err != nil {
		return fmt.Errorf("%s output breaks its contract: %w", kind, err)
	}
	if got := len(doc.([]any)); got != n {
		return fmt.Errorf("%s output has %d results for %d records", kind, got, n)
	}
	return nil
}

// ValidatePluginInput checks a batch the host is about to send a plugin.
func ValidatePluginInput(kind string, input []byte) error {
	compileOnce.Do(compile)
	if compileErr != nil {
		return fmt.Errorf("compile schemas: %w", compileErr)
	}
	s, ok := compiled["plugins/"+kind+".input"]
	if !ok {
		return fmt.Errorf("no plugin kind %q", kind)
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(input))
	if err != nil {
		return fmt.Errorf("%s input is not JSON: %w", kind, err)
	}
	if err := s.Validate(doc); err != nil {
		return fmt.Errorf("%s input breaks its contract: %w", kind, err)
	}
	return nil
}
