//! The one thing boundarytrace-sys cannot do for this cdylib: its rpath.
//! Link arguments do not pass from a dependency to the final library, so the
//! directories boundarytrace-sys found (DEP_BOUNDARYTRACE_RPATH:
//! `$ORIGIN/../boundarytrace`, the `boundarytrace` package beside the
//! extension in site-packages, and the directory it was linked against) are
//! emitted here. Importing `bt_pyo3_demo` imports `boundarytrace` first
//! regardless; the rpath lets the module load on its own too.
fn main() {
    println!("cargo:rerun-if-env-changed=DEP_BOUNDARYTRACE_RPATH");
    let rpath = std::env::var("DEP_BOUNDARYTRACE_RPATH").unwrap_or_default();
    for dir in rpath.split(':').filter(|d| !d.is_empty()) {
        println!("cargo:rustc-cdylib-link-arg=-Wl,-rpath,{}", dir);
    }
}
