;; Imports a function the host does not provide.
(module
  (import "env" "launch_missiles" (func $launch (result i32)))
  (func (export "score") (result i32) (call $launch)))
