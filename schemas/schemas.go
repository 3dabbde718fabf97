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
	"strings"
	"sync"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

//go:embed events/*.json
var files embed.FS

var (
	compileOnce sync.Once
	compiled    map[string]*jsonschema.Schema
	compileErr  error
)

func compile() {
	compiled = map[string]*jsonschema.Schema{}
	entries, err := files.ReadDir("events")
	if err != nil {
		compileErr = err
		return
	}
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	for _, e := range entries {
		raw, err := files.ReadFile(path.Join("events", e.Name()))
		if err != nil {
			compileErr = err
			return
		}
		doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
		if err != nil {
			compileErr = fmt.Errorf("%s: %w", e.Name(), err)
			return
		}
		url := "https://fedele.dev/schemas/events/" + e.Name()
		if err := c.AddResource(url, doc); err != nil {
			compileErr = fmt.Errorf("%s: %w", e.Name(), err)
			return
		}
		s, err := c.Compile(url)
		if err != nil {
			compileErr = fmt.Errorf("%s: %w", e.Name(), err)
			return
		}
		compiled[strings.TrimSuffix(e.Name(), ".json")] = s
	}
}

// EventTypes lists the detail types that have a schema.
func EventTypes() ([]string, error) {
	compileOnce.Do(compile)
	if compileErr != nil {
		return nil, compileErr
	}
	var out []string
	for t := range compiled {
		out = append(out, t)
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
	s, ok := compiled[detailType]
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
