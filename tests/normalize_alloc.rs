//! The hot path allocates nothing: once a `Normalizer` (and the output `String`) have
//! grown to the largest statement seen, `fingerprint` and `normalize_into` make no heap
//! allocation at all, whatever the statement. Checked with a counting global allocator,
//! so this test lives in its own binary.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

use pgferret::normalize::Normalizer;

struct Counting;

static ALLOCS: AtomicUsize = AtomicUsize::new(0);

// SAFETY: forwards to the system allocator unchanged; only counts calls.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCS.fetch_add(1, Ordering::Relaxed);
        System.alloc(layout)
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        System.dealloc(ptr, layout)
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCS.fetch_add(1, Ordering::Relaxed);
        System.realloc(ptr, layout, new_size)
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

#[test]
fn warm_normalizer_does_not_allocate() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/testdata/normalize/statements.sql0"
    );
    let data = std::fs::read(path).expect("testdata/normalize/statements.sql0");
    let statements: Vec<&[u8]> = data.split(|&b| b == 0).filter(|s| !s.is_empty()).collect();
    let mut norm = Normalizer::new();
    let mut out = String::new();
    for sql in &statements {
        norm.normalize_into(sql, &mut out);
    }

    let before = ALLOCS.load(Ordering::Relaxed);
    let mut acc = 0u64;
    for sql in &statements {
        acc ^= norm.fingerprint(sql);
        acc ^= norm.normalize_into(sql, &mut out);
    }
    let allocations = ALLOCS.load(Ordering::Relaxed) - before;
    assert_eq!(
        allocations,
        0,
        "{} statements, fold {acc:x}",
        statements.len()
    );
}
