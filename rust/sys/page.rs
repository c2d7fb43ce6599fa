// SPDX-License-Identifier: GPL-2.0

//! Pages the module owns: allocated, written and read only through a
//! [`OwnedPage`], so that the borrow checker rules out a read racing with
//! a write.

use kernel::alloc::{flags::__GFP_ZERO, AllocError, Flags};
use kernel::bindings;
use kernel::page::{Page, PAGE_SIZE};

/// The content of one page.
pub(crate) type PageBytes = [u8; PAGE_SIZE];

/// A page that nothing but its owner can reach: it is never mapped to
/// user space nor handed to another subsystem. Reads take `&self` and
/// writes `&mut self`, so they cannot overlap.
pub(crate) struct OwnedPage(Page);

impl OwnedPage {
    /// Allocates a zeroed page: `read` must never see memory nobody wrote.
    pub(crate) fn alloc(flags: Flags) -> Result<Self, AllocError> {
        Page::alloc_page(flags | __GFP_ZERO).map(Self)
    }

    /// Maps the page into the kernel and runs `f` on its address.
    fn with_mapped<R>(&self, f: impl FnOnce(*mut PageBytes) -> R) -> R {
        // SAFETY: `self.0` is a valid page that `Page` owns.
        let addr = unsafe { bindings::kmap_local_page(self.0.as_ptr()) };
        let r = f(addr.cast());
        // SAFETY: unmaps the mapping made above, the only one of this
        // function, in reverse order as `kmap_local` requires.
        unsafe { bindings::kunmap_local(addr) };
        r
    }

    /// Runs `f` on the content of the page.
    pub(crate) fn read<R>(&self, f: impl FnOnce(&PageBytes) -> R) -> R {
        // SAFETY: the mapping is valid for `PAGE_SIZE` bytes during `f`.
        // Nothing writes the page meanwhile: writes need `&mut self`, and
        // the page is reachable through `self` only (see the type).
        self.with_mapped(|p| f(unsafe { &*p }))
    }

    /// Runs `f` on the content of the page, for writing.
    pub(crate) fn write<R>(&mut self, f: impl FnOnce(&mut PageBytes) -> R) -> R {
        // SAFETY: as in `read`; `&mut self` is the only access to the page.
        self.with_mapped(|p| f(unsafe { &mut *p }))
    }
}
