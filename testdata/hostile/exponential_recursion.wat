;; 2^60 calls and not a single loop: wazero's context cancellation, checked at
;; loop headers only, would never stop it. The fuel at function entry does.
(module
  (func $f (param $n i32) (result i32)
    (if (result i32) (i32.eqz (local.get $n))
      (then (i32.const 1))
      (else
        (i32.add
          (call $f (i32.sub (local.get $n) (i32.const 1)))
          (call $f (i32.sub (local.get $n) (i32.const 1)))))))
  (func (export "score") (result i32)
    (drop (call $f (i32.const 60)))
    (i32.const 0)))
