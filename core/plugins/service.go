package plugins

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/fedele-crm/fedele/core"
	"github.com/fedele-crm/fedele/schemas"
)

// Validator checks an upload and returns it metered (infra/wasm implements
// it). A refusal is a *RunError whose class and message name the limit,
// import or export at fault.
type Validator interface {
	Validate(ctx context.Context, kind Kind, raw []byte) (Module, error)
}

// Module is a validated module: ID is the SHA-256 of the upload, Code its
// metered form.
type Module struct {
	ID   string
	Code []byte
}

// Service is a tenant developer's view of plugins: upload, try, activate,
// shadow, roll back, delete.
type Service struct {
	*Registry
	blobs     Blobs
	validator Validator
	engine    Engine
}

// NewService wires the lifecycle.
func NewService(reg *Registry, blobs Blobs, validator Validator, engine Engine) *Service {
	return &Service{Registry: reg, blobs: blobs, validator: validator, engine: engine}
}

// Upload validates raw as a plugin of kind and stores it as the next
// version of name, inactive. fields are the input fields the plugin needs
// (its manifest); none means all.
func (s *Service) Upload(ctx context.Context, tenant, name string, kind Kind, fields []string, raw []byte) (Version, error) {
	var p core.Problems
	if !ValidName(name) {
		p.Add("name", "must be 1-63 lower-case letters, digits, dashes or underscores")
	}
	if !kind.Valid() {
		p.Add("kind", "must be %s", KindChoice())
	}
	if err := p.Err(); err != nil {
		return Version{}, err
	}
	m, err := s.validator.Validate(ctx, kind, raw)
	if re, ok := errors.AsType[*RunError](err); ok {
		return Version{}, &core.Error{Code: core.CodeInvalid, Message: "the module was refused (" + re.Class + ")",
			Fields: []core.FieldError{{Path: "body", Message: re.Message, Value: re.Class}}}
	}
	if err != nil {
		return Version{}, fmt.Errorf("validate plugin %s: %w", name, err)
	}
	if err := s.blobs.Put(ctx, ModuleKey(tenant, m.ID), m.Code); err != nil {
		return Version{}, fmt.Errorf("store module %s: %w", m.ID, err)
	}
	return s.Registry.Add(ctx, tenant, name, kind, m.ID, len(raw), fields)
}

// DryRun is what a version answered on a caller's input, and what it cost.
type DryRun struct {
	Output      json.RawMessage `json:"output,omitempty"`
	Error       *RunFailure     `json:"error,omitempty"`
	DurationMs  float64         `json:"duration_ms"`
	MemoryBytes uint64          `json:"memory_bytes"`
	Fuel        int64           `json:"fuel"`
	Logs        []string        `json:"logs"`
}

// RunFailure is a failed call as a caller sees it.
type RunFailure struct {
	Class       string `json:"class"`
	Message     string `json:"message"`
	PluginError string `json:"plugin_error,omitempty"`
}

// DryRun runs a version on input (a batch of the kind's contract) under the
// same limits and checks as live calls, changing nothing.
func (s *Service) DryRun(ctx context.Context, tenant, name string, number int, input []byte) (DryRun, error) {
	v, _, err := s.version(ctx, tenant, name, number)
	if err != nil {
		return DryRun{}, err
	}
	var records []json.RawMessage
	if err := json.Unmarshal(input, &records); err != nil {
		return DryRun{}, &core.Error{Code: core.CodeInvalid, Message: "the input must be a JSON array of records",
			Fields: []core.FieldError{{Path: "body", Message: err.Error()}}}
	}
	if err := schemas.ValidatePluginInput(string(v.Kind), input); err != nil {
		return DryRun{}, &core.Error{Code: core.CodeInvalid, Message: "the input breaks the " + string(v.Kind) + " contract",
			Fields: []core.FieldError{{Path: "body", Message: err.Error()}}}
	}
	if len(v.Fields) > 0 {
		if input, err = Project(input, v.Fields); err != nil {
			return DryRun{}, err
		}
	}
	now := s.now()
	res, err := s.engine.Run(ctx, Request{Tenant: tenant, Kind: v.Kind, ModuleID: v.ModuleID, Input: input,
		Records: len(records), Now: now, Seed: uint64(now.UnixNano())})
	out := DryRun{Output: res.Output, DurationMs: ms(res.Duration), MemoryBytes: res.MemoryBytes, Fuel: res.Fuel, Logs: res.Logs}
	if re, ok := errors.AsType[*RunError](err); ok {
		out.Output, out.Logs, out.Fuel, out.DurationMs = nil, re.Logs, re.Fuel, ms(re.Duration)
		out.Error = &RunFailure{Class: re.Class, Message: re.Message, PluginError: re.PluginError}
		return out, nil
	}
	if err != nil {
		return out, &core.Error{Code: core.CodeUnavailable, Message: "the plugin could not run: " + err.Error()}
	}
	if out.Logs == nil {
		out.Logs = []string{}
	}
	return out, nil
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// Delete removes a version that is neither active nor in shadow, and still
// at revision (0: any), and its module's bytes when no other version uses
// them.
func (s *Service) Delete(ctx context.Context, tenant, name string, number int, revision int64) error {
	v, _, err := s.version(ctx, tenant, name, number)
	if err != nil {
		return err
	}
	inUse, err := s.Registry.Delete(ctx, tenant, name, number, revision)
	if err != nil || inUse {
		return err
	}
	if f, ok := s.engine.(Forgetter); ok {
		f.Forget(ctx, tenant, v.ModuleID)
	}
	if err := s.blobs.Delete(ctx, ModuleKey(tenant, v.ModuleID)); err != nil {
		// The version is gone; an orphaned blob only costs space.
		return fmt.Errorf("delete module %s: %w", v.ModuleID, err)
	}
	return nil
}

// Warm readies the modules a tenant runs — each kind's active version and
// the one in shadow — on an engine that can (a Warmer), so that the
// tenant's first calls in this process do not compile them. It is for a
// process's start, off any request's path; it costs 2 reads a kind.
func (s *Service) Warm(ctx context.Context, tenant string) error {
	w, ok := s.engine.(Warmer)
	if !ok {
		return nil
	}
	var errs []error
	for _, k := range Kinds {
		for _, get := range []func(context.Context, string, Kind) (Active, int64, error){s.Active, s.Shadow} {
			a, _, err := get(ctx, tenant, k)
			if core.ErrorCode(err) == core.CodeNotFound {
				continue
			}
			if err == nil {
				err = w.Warm(ctx, tenant, k, a.ModuleID)
			}
			if err != nil {
				errs = append(errs, fmt.Errorf("warm the %s plugin of %s: %w", k, tenant, err))
			}
		}
	}
	return errors.Join(errs...)
}
