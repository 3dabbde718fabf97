;; Grows memory a page at a time until the cap refuses, then traps.
(module
  (memory (export "memory") 1)
  (func (export "score") (result i32)
    (loop $grow
      (br_if $grow (i32.ne (memory.grow (i32.const 1)) (i32.const -1))))
    unreachable))
