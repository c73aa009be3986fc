//! Raw FFI declarations of boundarytrace's C API, `boundarytrace/bt.h`, and
//! the link to `libboundarytrace`.
//!
//! Every `BT_API` function, struct, constant and `bt_status` value of the
//! header, one to one, with the header's own comments. They are generated
//! from bt.h and committed ([`bindings`](self) needs no libclang); the
//! crate's tests check them against the bt.h it is built with (a changed
//! declaration fails `cargo test`) and every struct's layout against the C
//! compiler.
//!
//! Prefer the safe crate, `boundarytrace`. Calling these is `unsafe`: the
//! header's rules hold (handles from their constructors, `struct_size` set
//! — the structs' `new()` does it —, one thread at a time per `bt_tracer`).
//!
//! The build script finds the library (README.md): `BOUNDARYTRACE_LIB_DIR`
//! and `BOUNDARYTRACE_INCLUDE_DIR`, else the `boundarytrace` Python package
//! of the interpreter the extension is built for, else pkg-config
//! (`boundarytrace >= 0.1.0`). It exports `DEP_BOUNDARYTRACE_LIB_DIR`,
//! `DEP_BOUNDARYTRACE_INCLUDE` and `DEP_BOUNDARYTRACE_RPATH` to dependents'
//! build scripts (`links = "boundarytrace"`).
//!
//! ```
//! let v = unsafe { boundarytrace_sys::bt_version() };
//! assert_eq!(v / 10000, boundarytrace_sys::BT_VERSION_MAJOR);
//! let name = unsafe { std::ffi::CStr::from_ptr(boundarytrace_sys::bt_status_name(-4)) };
//! assert_eq!(name.to_str(), Ok("BT_E_UNKNOWN_PHASE"));
//! ```
#![allow(non_camel_case_types)]
#![allow(clippy::all)]

mod bindings;
pub use bindings::*;

/// The directory holding the libboundarytrace this crate was linked with.
pub const LINKED_LIB_DIR: &str = env!("BOUNDARYTRACE_SYS_LIB_DIR");

/// How the build script found it: "env", "python" or "pkg-config".
pub const FOUND_BY: &str = env!("BOUNDARYTRACE_SYS_FOUND_BY");
