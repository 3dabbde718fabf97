package wasm

import (
	"context"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/fedele-crm/fedele/core/plugins"
	"github.com/fedele-crm/fedele/infra/wasm/wasmbin"
)

// MaxModuleBytes is the largest module Prepare reads: a Go-built plugin is
// a few MiB.
const MaxModuleBytes = 20 << 20

//go:embed fixtures/*.json
var fixtures embed.FS

// Fixture is the built-in input a module of kind must handle at upload.
func Fixture(kind plugins.Kind) ([]byte, int, error) {
	b, err := fixtures.ReadFile("fixtures/" + string(kind) + ".json")
	if err != nil {
		return nil, 0, fmt.Errorf("no fixture for kind %q: %w", kind, err)
	}
	var recs []json.RawMessage
	if err := json.Unmarshal(b, &recs); err != nil {
		return nil, 0, fmt.Errorf("fixture %s: %w", kind, err)
	}
	return b, len(recs), nil
}

// Limits are the structural limits of an upload, with the host's import
// allow-list.
func Limits() wasmbin.Limits {
	l := wasmbin.DefaultLimits()
	l.AllowImport = allowImport
	return l
}

// allowImport is what the host provides: extism's kernel without its HTTP
// functions, WASI without sockets, and the bulk copies of bulk.go. What WASI offers is empty anyway —
// no preopened directories, arguments or environment — but refusing the
// network at upload gives its author a clear answer.
func allowImport(module, name string) bool {
	switch module {
	case "extism:host/env":
		return !strings.HasPrefix(name, "http_") && extismEnv[name]
	case "wasi_snapshot_preview1":
		return !strings.HasPrefix(name, "sock_") && wasiPreview1[name]
	case userNamespace:
		return name == readInputName || name == writeOutputName
	}
	return false
}

var extismEnv = set("alloc", "free", "load_u8", "load_u64", "store_u8", "store_u64",
	"input_load_u8", "input_load_u64", "input_set", "input_length", "input_offset",
	"output_set", "output_length", "output_offset", "length", "length_unsafe", "reset",
	"error_set", "error_get", "memory_bytes", "config_get", "var_get", "var_set",
	"get_log_level", "log_trace", "log_debug", "log_info", "log_warn", "log_error")

var wasiPreview1 = set("args_get", "args_sizes_get", "environ_get", "environ_sizes_get",
	"clock_res_get", "clock_time_get", "fd_advise", "fd_allocate", "fd_close", "fd_datasync",
	"fd_fdstat_get", "fd_fdstat_set_flags", "fd_fdstat_set_rights", "fd_filestat_get",
	"fd_filestat_set_size", "fd_filestat_set_times", "fd_pread", "fd_prestat_get",
	"fd_prestat_dir_name", "fd_pwrite", "fd_read", "fd_readdir", "fd_renumber", "fd_seek",
	"fd_sync", "fd_tell", "fd_write", "path_create_directory", "path_filestat_get",
	"path_filestat_set_times", "path_link", "path_open", "path_readlink",
	"path_remove_directory", "path_rename", "path_symlink", "path_unlink_file",
	"poll_oneoff", "proc_exit", "proc_raise", "sched_yield", "random_get")

func set(names ...string) map[string]bool {
	m := make(map[string]bool, len(names))
	for _, n := range names {
		m[n] = true
	}
	return m
}

// Prepare validates an upload of kind and returns it metered, addressed by
// the SHA-256 of raw: structural limits and imports on the bytes, the
// kind's export, a compile bounded in time and memory (in a child process
// unless the host was told otherwise), and a run on the kind's fixture
// whose output must keep the contract. A refusal is a *Failure whose class
// and message name what is at fault.
func (h *Host) Prepare(ctx context.Context, kind plugins.Kind, raw []byte) (*Module, error) {
	if !kind.Valid() {
		return nil, fail(ClassMissingExport, nil, "no plugin kind %q", kind)
	}
	if len(raw) > MaxModuleBytes {
		return nil, fail(ClassLimit, nil, "module of %d bytes, over the limit of %d", len(raw), MaxModuleBytes)
	}
	if _, err := wasmbin.Check(raw, Limits()); err != nil {
		return nil, refusal(err)
	}
	exports, err := wasmbin.Exports(raw)
	if err != nil {
		return nil, refusal(err)
	}
	if k, ok := exports[string(kind)]; !ok || k != wasmbin.ExportFunc {
		return nil, fail(ClassMissingExport, nil, "a %s plugin must export a function named %q", kind, kind)
	}
	code, err := wasmbin.Instrument(raw)
	if err != nil {
		return nil, refusal(err)
	}
	sum := sha256.Sum256(raw)
	m := &Module{ID: hex.EncodeToString(sum[:]), Kind: kind, Code: code}
	if h.cfg.CompileInProcess {
		if _, err := h.compile(ctx, m); err != nil {
			return nil, err
		}
	} else if err := h.compileInChild(ctx, code); err != nil {
		return nil, err
	}
	if err := h.tryFixture(ctx, m); err != nil {
		h.Forget(ctx, m.ID)
		return nil, err
	}
	return m, nil
}

// validateTenant owns the instances that run fixtures: no tenant's pool.
const validateTenant = "\x00validate"

func (h *Host) tryFixture(ctx context.Context, m *Module) error {
	in, n, err := Fixture(m.Kind)
	if err != nil {
		return err
	}
	_, err = h.Run(ctx, Call{Tenant: validateTenant, Module: m, Input: in, Records: n,
		Now: time.Date(2026, 11, 2, 12, 0, 0, 0, time.UTC), Seed: 1})
	h.mu.Lock()
	p := h.pools[poolKey{tenant: validateTenant, module: m.ID}]
	delete(h.pools, poolKey{tenant: validateTenant, module: m.ID})
	h.mu.Unlock()
	if p != nil {
		p.drain(ctx)
	}
	if f, ok := errors.AsType[*Failure](err); ok {
		f.Message = "on the built-in " + string(m.Kind) + " fixture: " + f.Message
		return f
	}
	return err
}

// refusal classes what wasmbin says about a module.
func refusal(err error) *Failure {
	var lim *wasmbin.LimitError
	switch {
	case errors.As(err, &lim), errors.Is(err, wasmbin.ErrForbiddenImport):
		return fail(ClassLimit, err, "%v", err)
	case errors.Is(err, wasmbin.ErrUnsupported):
		return fail(ClassLimit, err, "%v", err)
	default:
		return fail(ClassMalformed, err, "%v", err)
	}
}
