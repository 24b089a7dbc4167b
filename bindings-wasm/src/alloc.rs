//! The global allocator: talc, over memory it grows geometrically.
//!
//! talc's own `WasmGrowAndExtend` grows the module's memory by just what each allocation needs,
//! so building a large profile grew it thousands of times; every `memory.grow` is accounted by the
//! JavaScript engine as new external memory, and V8 answered many of them with a full garbage
//! collection of the page's heap (which holds the profile objects being converted): quadratic in
//! the number of events (80,000 events took 10 s, a million never finished). Here memory grows by
//! at least half of what it already has (and at least 1 MiB), so a profile of any size costs a
//! logarithmic number of grows.

use core::alloc::Layout;
use core::ptr::NonNull;

use talc::base::binning::Binning;
use talc::base::{Talc, CHUNK_UNIT};
use talc::source::Source;

/// WebAssembly's page size.
const PAGE: usize = 64 * 1024;
/// Smallest growth, in pages (1 MiB).
const MIN_GROW_PAGES: usize = 16;

/// A heap that extends itself at the end of the module's memory (as talc's `WasmGrowAndExtend`)
/// by geometrically growing steps.
#[derive(Debug, Default)]
pub struct GrowGeometric {
    end: Option<NonNull<u8>>,
}

impl GrowGeometric {
    pub const fn new() -> GrowGeometric {
        GrowGeometric { end: None }
    }
}

// SAFETY: does not allocate; touches the allocator only through `talc`.
unsafe impl Source for GrowGeometric {
    fn acquire<B: Binning>(talc: &mut Talc<Self, B>, layout: Layout) -> Result<(), ()> {
        // Enough for this allocation with the allocator's metadata (generously), or more.
        let required = talc::min_first_heap_size::<B>() + layout.size() + layout.align() + 4 * CHUNK_UNIT;
        let needed = required.div_ceil(PAGE);
        let current = core::arch::wasm32::memory_size(0);
        let wanted = needed.max(current / 2).max(MIN_GROW_PAGES);
        let (prev, grown) = match core::arch::wasm32::memory_grow(0, wanted) {
            usize::MAX => match core::arch::wasm32::memory_grow(0, needed) {
                usize::MAX => return Err(()),
                prev => (prev, needed),
            },
            prev => (prev, wanted),
        };
        let base = (prev * PAGE) as *mut u8;
        let size = grown * PAGE;
        if let Some(old_end) = talc.source.end.take() {
            if old_end.as_ptr() == base {
                // SAFETY: the memory from the old end to the new one was just grown for the heap.
                talc.source.end = Some(unsafe { talc.extend(old_end, base.wrapping_add(size)) });
                return Ok(());
            }
        }
        // SAFETY: freshly grown memory nobody else uses.
        talc.source.end = unsafe { talc.claim(base, size) };
        Ok(())
    }
}

/// The allocator (single-threaded WebAssembly only).
pub type Allocator = talc::cell::TalcSyncCell<GrowGeometric, talc::wasm::WasmBinning>;

pub const fn new() -> Allocator {
    talc::cell::TalcSyncCell::new_wasm(GrowGeometric::new())
}
