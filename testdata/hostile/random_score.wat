;; Not hostile: answers a score from WASI's random_get, to show that the
;; guest's randomness is the host's seed and a call replays.
(module
  (import "wasi_snapshot_preview1" "random_get" (func $random_get (param i32 i32) (result i32)))
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
  (data (i32.const 0) "[{\"score\":00}]")
  (func (export "score") (result i32)
    (local $r i32)
    (drop (call $random_get (i32.const 100) (i32.const 1)))
    (local.set $r (i32.rem_u (i32.load8_u (i32.const 100)) (i32.const 100)))
    (i32.store8 (i32.const 10) (i32.add (i32.const 48) (i32.div_u (local.get $r) (i32.const 10))))
    (i32.store8 (i32.const 11) (i32.add (i32.const 48) (i32.rem_u (local.get $r) (i32.const 10))))
    (call $out (i32.const 0) (i32.const 14))
    (i32.const 0)))
