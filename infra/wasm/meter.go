package wasm

import (
	"context"
	"reflect"

	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/experimental"

	"github.com/fedele-crm/fedele/core/plugins"
	"github.com/fedele-crm/fedele/infra/wasm/wasmbin"
)

// The fuel tank is a global inside the guest, and extism hands the host no
// handle on the guest's module instance. A function listener does: wazero
// calls it with the instance at the entry and exit of the functions it is
// attached to. Listeners sit only on the entry points extism calls (the
// kind's export and the guest runtime's initialisers) and on the kernel's
// output_set, so the rest of the module runs without them.
//
// The listener is part of the compiled code, and wazero's compilation cache
// does not key on it: every compile of a guest module, in this process or in
// the compiler child, must go through listenerContext.

// entryPoints are the exports extism may call: the kinds' functions and the
// initialisers of the guest languages' runtimes.
var entryPoints = func() map[string]bool {
	m := map[string]bool{"_initialize": true, "_start": true, "hs_init": true}
	for _, k := range plugins.Kinds {
		m[string(k)] = true
	}
	return m
}()

type stateKey struct{}

// callState is one plugin call as the listeners see it.
type callState struct {
	remaining int64 // fuel not yet used
	depth     int   // nesting of entry points: only the outermost refuels
	tankSeen  bool  // an entry point had a tank to fill
	outOfFuel bool
	peakPages uint32
	outputLen uint64 // the length the guest gave output_set or fedele_write_output
	guest     api.Module

	input     []byte // what fedele_read_input copies in
	output    []byte // what fedele_write_output copied out
	maxOutput uint64
}

func withCall(ctx context.Context, st *callState) context.Context {
	return context.WithValue(ctx, stateKey{}, st)
}

func listenerContext(ctx context.Context) context.Context {
	return experimental.WithFunctionListenerFactory(ctx, experimental.FunctionListenerFactoryFunc(newListener))
}

func newListener(def api.FunctionDefinition) experimental.FunctionListener {
	for _, name := range def.ExportNames() {
		if entryPoints[name] {
			return entryListener{}
		}
		if name == "output_set" && len(def.ParamTypes()) == 2 {
			return outputListener{}
		}
	}
	return nil
}

type entryListener struct{}

func (entryListener) Before(ctx context.Context, mod api.Module, _ api.FunctionDefinition, _ []uint64, _ experimental.StackIterator) {
	st, _ := ctx.Value(stateKey{}).(*callState)
	if st == nil {
		return
	}
	tank, ok := mod.ExportedGlobal(wasmbin.ExportName).(api.MutableGlobal)
	if !ok {
		if st.guest == nil {
			st.guest = mod // an unmetered module, which only the metering benchmark runs
		}
		return
	}
	st.depth++
	if st.depth > 1 {
		return
	}
	st.tankSeen = true
	st.guest = mod
	tank.Set(uint64(st.remaining))
}

func (entryListener) After(ctx context.Context, mod api.Module, _ api.FunctionDefinition, _ []uint64) {
	leave(ctx, mod)
}

func (entryListener) Abort(ctx context.Context, mod api.Module, _ api.FunctionDefinition, _ error) {
	leave(ctx, mod)
}

func leave(ctx context.Context, mod api.Module) {
	st, _ := ctx.Value(stateKey{}).(*callState)
	if st == nil {
		return
	}
	st.leave(mod)
}

// settle reads the tank after a call that trapped where wazero could not
// unwind to the entry point's listener.
func (st *callState) settle() {
	if st.depth > 0 && st.guest != nil {
		st.depth = 1
		st.leave(st.guest)
	}
}

func (st *callState) leave(mod api.Module) {
	tank, ok := mod.ExportedGlobal(wasmbin.ExportName).(api.MutableGlobal)
	if !ok {
		return
	}
	st.depth--
	if st.depth > 0 {
		return
	}
	if mem := mod.Memory(); mem != nil && !reflect.ValueOf(mem).IsNil() { // a module without memory gives a typed nil
		st.peakPages = max(st.peakPages, mem.Size()/pageSize)
	}
	left := int64(tank.Get())
	if left < 0 {
		st.outOfFuel = true
		left = 0
	}
	st.remaining = left
}

type outputListener struct{}

func (outputListener) Before(ctx context.Context, _ api.Module, _ api.FunctionDefinition, params []uint64, _ experimental.StackIterator) {
	if st, _ := ctx.Value(stateKey{}).(*callState); st != nil && len(params) == 2 {
		st.outputLen = max(st.outputLen, params[1])
	}
}

func (outputListener) After(context.Context, api.Module, api.FunctionDefinition, []uint64) {}

func (outputListener) Abort(context.Context, api.Module, api.FunctionDefinition, error) {}
