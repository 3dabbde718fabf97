package wasm

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime/debug"
	"strconv"
	"syscall"
	"time"

	"github.com/tetratelabs/wazero"
)

// Compiling an adversarial module can take seconds and hundreds of MiB
// inside the compiler, so an upload compiles in a child process — this same
// binary, started again with compilerEnv set — that the kernel holds to an
// data-segment limit and the parent kills at a deadline. The child writes
// into the same compilation cache, so the parent then loads the module
// instead of compiling it again.

const (
	compilerEnv      = "FEDELE_WASM_COMPILER"
	compilerCacheEnv = "FEDELE_WASM_COMPILER_CACHE"
	compilerMemEnv   = "FEDELE_WASM_COMPILER_MEMORY"
)

// RunCompilerIfChild turns the process into the compiler child when it was
// started as one, and never returns then. Every binary that calls Prepare
// calls it first thing in main (and tests in TestMain).
func RunCompilerIfChild() {
	if os.Getenv(compilerEnv) != "1" {
		return
	}
	os.Exit(compilerChild(os.Stdin, os.Stderr))
}

func compilerChild(in io.Reader, errOut io.Writer) int {
	if limit, err := strconv.ParseUint(os.Getenv(compilerMemEnv), 10, 64); err == nil && limit > 0 {
		// RLIMIT_DATA rather than RLIMIT_AS: wazero and the Go runtime
		// reserve large inaccessible regions up front, which count against
		// the address space but not against the data segment. The soft
		// limit makes the Go heap collect hard before the kernel refuses.
		debug.SetMemoryLimit(int64(limit / 2))
		rl := syscall.Rlimit{Cur: limit, Max: limit}
		if err := syscall.Setrlimit(syscall.RLIMIT_DATA, &rl); err != nil {
			fmt.Fprintf(errOut, "limit the data segment: %v", err)
			return 2
		}
	}
	code, err := io.ReadAll(io.LimitReader(in, MaxModuleBytes*2))
	if err != nil {
		fmt.Fprintf(errOut, "read module: %v", err)
		return 2
	}
	ctx := listenerContext(context.Background())
	cfg := wazero.NewRuntimeConfigCompiler()
	if dir := os.Getenv(compilerCacheEnv); dir != "" {
		cache, err := wazero.NewCompilationCacheWithDir(dir)
		if err != nil {
			fmt.Fprintf(errOut, "compilation cache: %v", err)
			return 2
		}
		cfg = cfg.WithCompilationCache(cache)
	}
	rt := wazero.NewRuntimeWithConfig(ctx, cfg)
	defer rt.Close(ctx)
	if _, err := rt.CompileModule(ctx, code); err != nil {
		fmt.Fprintf(errOut, "%v", err)
		return 1
	}
	return 0
}

func (h *Host) compileInChild(ctx context.Context, code []byte) error {
	exe, err := os.Executable()
	if err != nil {
		return fail(ClassUnavailable, err, "find the compiler: %v", err)
	}
	ctx, cancel := context.WithTimeout(ctx, h.cfg.CompileTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, exe)
	cmd.Env = append(os.Environ(),
		compilerEnv+"=1",
		compilerCacheEnv+"="+h.cfg.CacheDir,
		compilerMemEnv+"="+strconv.FormatUint(h.cfg.CompileMemory, 10))
	cmd.Stdin = bytes.NewReader(code)
	var stderr limitedBuffer
	stderr.max = 4 << 10
	cmd.Stderr = &stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	cmd.WaitDelay = time.Second
	start := time.Now()
	err = cmd.Run()
	switch {
	case err == nil:
		return nil
	case ctx.Err() != nil:
		return fail(ClassCompile, ctx.Err(), "compiling took over %s", h.cfg.CompileTimeout)
	}
	var exit *exec.ExitError
	if errors.As(err, &exit) && exit.ExitCode() == 1 {
		return fail(ClassCompile, err, "the compiler refused it: %s", firstLine(stderr.String()))
	}
	msg := firstLine(stderr.String())
	if msg == "" {
		msg = err.Error()
	}
	return fail(ClassCompile, err, "the compiler failed after %s (over %d MiB of memory?): %s",
		time.Since(start).Round(time.Millisecond), h.cfg.CompileMemory>>20, msg)
}

type limitedBuffer struct {
	bytes.Buffer
	max int
}

func (b *limitedBuffer) Write(p []byte) (int, error) {
	if room := b.max - b.Len(); room > 0 {
		b.Buffer.Write(p[:min(len(p), room)])
	}
	return len(p), nil
}
