//! The snprintf-style calls of bt.h as one loop returning the bytes.
use std::os::raw::c_char;
use std::ptr;

use boundarytrace_sys as sys;

use crate::error::{check, Result};

/// Calls `f(buf, cap, &needed)` until the whole output fits (the size may
/// grow between calls, e.g. a live timeline) and returns it without the NUL.
pub(crate) fn read_text<F>(mut f: F) -> Result<Vec<u8>>
where
    F: FnMut(*mut c_char, usize, *mut usize) -> sys::bt_status,
{
    let mut needed = 0usize;
    check(f(ptr::null_mut(), 0, &mut needed))?;
    loop {
        let mut buf = vec![0u8; needed + 1];
        let cap = buf.len();
        check(f(buf.as_mut_ptr() as *mut c_char, cap, &mut needed))?;
        if needed < cap {
            buf.truncate(needed);
            return Ok(buf);
        }
    }
}
