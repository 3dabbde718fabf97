package dynamolocal

import (
	"os/exec"
	"syscall"
)

// killWithParent makes the kernel kill DynamoDB Local when the process that
// started it dies (a test binary that panics, times out or forgets
// StopShared), so that no orphaned JVM is left holding memory and a port.
//
// Linux delivers the signal when the OS thread that started the child
// exits; the Go runtime does not retire ordinary threads, so in practice
// this is when the test process exits.
func killWithParent(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
