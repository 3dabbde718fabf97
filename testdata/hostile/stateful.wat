;; Counts its calls in a global and answers the count as its score: state
;; that survives between calls on one instance, and must never cross from
;; one tenant to another. An input over 1000 bytes makes it trap.
(module
  (import "extism:host/env" "input_length" (func $input_length (result i64)))
  (import "extism:host/env" "alloc" (func $alloc (param i64) (result i64)))
  (import "extism:host/env" "store_u8" (func $store_u8 (param i64 i32)))
  (import "extism:host/env" "output_set" (func $output_set (param i64 i64)))
  (memory (export "memory") 1)
  (func $out (param $ptr i32) (param $len i32)
    (local $k i64) (local $i i32)
    (local.set $k (call $alloc (i64.extend_i32_u (local.get $len))))
    (block $done
      (loop $copy
        (br_if $done (i32.ge_u (local.get $i) (local.get $len)))
        (call $store_u8 (i64.add (local.get $k) (i64.extend_i32_u (local.get $i)))
                        (i32.load8_u (i32.add (local.get $ptr) (local.get $i))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $copy)))
    (call $output_set (local.get $k) (i64.extend_i32_u (local.get $len))))
  (global $calls (mut i32) (i32.const 0))
  (data (i32.const 0) "[{\"score\":0}]")
  (func (export "score") (result i32)
    (if (i64.gt_u (call $input_length) (i64.const 1000)) (then unreachable))
    (global.set $calls (i32.add (global.get $calls) (i32.const 1)))
    (i32.store8 (i32.const 10) (i32.add (i32.const 48) (global.get $calls)))
    (call $out (i32.const 0) (i32.const 13))
    (i32.const 0)))
