//go:build !linux

package dynamolocal

import "os/exec"

// killWithParent does nothing outside Linux: there, a test process that
// dies without calling Stop or StopShared leaves DynamoDB Local running
// until it is killed by hand.
func killWithParent(*exec.Cmd) {}
