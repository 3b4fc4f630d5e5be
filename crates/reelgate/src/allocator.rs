//! The process's memory allocator: mimalloc instead of glibc's malloc.
//!
//! A request allocates and frees many small values (headers, JSON, rows) on whichever worker
//! thread it runs; profiled at 3,900 submissions a second, glibc's malloc, free and their
//! consolidation were a seventh of the server's CPU (docs/PERFORMANCE.md). mimalloc's
//! thread-local free lists make the same work cheaper, and every binary built on this crate
//! (the server, the benchmark, the tests) uses it.

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;
