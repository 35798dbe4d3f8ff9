//! The counting global allocator of the heap measurements (`tests/idle_memory.rs`,
//! `tests/package_blocks.rs`, `examples/load.rs`). Included with `#[path]` by exactly the
//! binaries that measure: a global allocator is one per binary, so it is not part of
//! `common/mod.rs`, which other tests include.

#![allow(dead_code)] // each binary uses a part

use std::alloc::System;

use stats_alloc::{INSTRUMENTED_SYSTEM, StatsAlloc};

/// Counts every allocation of the process, on every thread.
#[global_allocator]
pub(crate) static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

/// Bytes allocated and not yet freed since the process started.
pub(crate) fn live_bytes() -> i64 {
    let s = GLOBAL.stats();
    // stats_alloc already adds a realloc's growth to `bytes_allocated` (and its shrink to
    // `bytes_deallocated`); `bytes_reallocated` is the same delta again, not to be added.
    s.bytes_allocated as i64 - s.bytes_deallocated as i64
}
