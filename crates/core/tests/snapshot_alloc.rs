//! Decoding snapshot bytes never reserves much more memory than the bytes themselves: a forged
//! list length followed by filler must not make the decoder reserve `length × element size`.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

use switchyard_core::snapshot::Snapshot;

/// The system allocator, remembering the largest single request while armed.
struct LargestRequest;

static ARMED: AtomicUsize = AtomicUsize::new(0);
static LARGEST: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for LargestRequest {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if ARMED.load(Ordering::Relaxed) == 1 {
            LARGEST.fetch_max(layout.size(), Ordering::Relaxed);
        }
        // SAFETY: forwarded unchanged to the system allocator.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from `alloc` above, with this layout.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOCATOR: LargestRequest = LargestRequest;

#[test]
fn a_forged_list_length_with_filler_reserves_at_most_a_small_fixed_amount() {
    // Version 1, four zero fields, then the first list claiming 2^63 - 1 entries, then 64 KiB
    // of 0xff: every element fails at its first varint, so only the up-front reservation counts.
    let mut forged = vec![1u8, 0, 0, 0, 0];
    forged.extend([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f]);
    forged.extend(std::iter::repeat_n(0xff, 64 * 1024));
    ARMED.store(1, Ordering::Relaxed);
    let decoded = Snapshot::<String>::from_bytes(&forged);
    ARMED.store(0, Ordering::Relaxed);
    assert!(decoded.is_err(), "forged bytes are refused");
    let largest = LARGEST.load(Ordering::Relaxed);
    assert!(
        largest <= 128 * 1024,
        "largest single allocation while decoding 64 KiB: {largest} bytes"
    );
}
