//! Finds libboundarytrace and its headers, in this order:
//!
//! 1. `BOUNDARYTRACE_LIB_DIR` (and `BOUNDARYTRACE_INCLUDE_DIR`, else
//!    `<lib dir>/../include`): a build tree or an unpacked install.
//! 2. The `boundarytrace` Python package of the interpreter the extension is
//!    built for (`BT_PYTHON`, else `PYO3_PYTHON`, else
//!    `PYTHON_SYS_EXECUTABLE`, else `python3`): `get_library_dir()` and
//!    `get_include()`. That is the copy `import boundarytrace` loads, which
//!    an extension must share (one library, one process-wide registry).
//!    `BT_PKG_CONFIG=system` skips this step.
//! 3. pkg-config: `boundarytrace >= 0.1.0` (an installed C library).
//!
//! It links `-lboundarytrace` dynamically and tells dependents' build scripts
//! (`links = "boundarytrace"`) DEP_BOUNDARYTRACE_LIB_DIR, _INCLUDE, _VERSION
//! and _RPATH (`$ORIGIN/../boundarytrace` for a Python package, and the lib
//! dir): link arguments such as an rpath do not pass from a dependency to the
//! final cdylib, so a PyO3 extension's own build script emits them.
use std::env;
use std::path::PathBuf;
use std::process::Command;

const MIN_VERSION: &str = "0.1.0";

struct Found {
    lib_dir: String,
    include_dir: String,
    version: String,
    by: &'static str,
    rpath: Vec<String>,
}

fn var(name: &str) -> Option<String> {
    println!("cargo:rerun-if-env-changed={}", name);
    env::var(name).ok().filter(|v| !v.is_empty())
}

fn from_env() -> Option<Found> {
    let lib_dir = var("BOUNDARYTRACE_LIB_DIR")?;
    let include_dir = var("BOUNDARYTRACE_INCLUDE_DIR").unwrap_or_else(|| {
        PathBuf::from(&lib_dir).join("..").join("include").display().to_string()
    });
    Some(Found {
        rpath: vec![lib_dir.clone()],
        lib_dir,
        include_dir,
        version: String::new(),
        by: "env",
    })
}

fn python() -> String {
    ["BT_PYTHON", "PYO3_PYTHON", "PYTHON_SYS_EXECUTABLE"]
        .iter()
        .find_map(|v| var(v))
        .unwrap_or_else(|| "python3".to_string())
}

fn from_python() -> Result<Found, String> {
    let py = python();
    let out = Command::new(&py)
        .args([
            "-c",
            "import boundarytrace as b; print(b.get_include()); print(b.get_library_dir()); \
             print(b.__version__)",
        ])
        .output()
        .map_err(|e| format!("cannot run {}: {}", py, e))?;
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        return Err(format!("{} cannot import boundarytrace: {}", py, err.trim().lines().last().unwrap_or("")));
    }
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    let lines: Vec<&str> = text.lines().map(str::trim).collect();
    match lines.as_slice() {
        [inc, lib, ver, ..] => Ok(Found {
            rpath: vec!["$ORIGIN/../boundarytrace".to_string(), lib.to_string()],
            lib_dir: lib.to_string(),
            include_dir: inc.to_string(),
            version: ver.to_string(),
            by: "python",
        }),
        _ => Err(format!("unexpected answer from {}: {:?}", py, text)),
    }
}

fn pkg_config(args: &[&str]) -> Result<String, String> {
    let exe = var("PKG_CONFIG").unwrap_or_else(|| "pkg-config".to_string());
    let out = Command::new(&exe)
        .args(args)
        .output()
        .map_err(|e| format!("cannot run {}: {}", exe, e))?;
    if !out.status.success() {
        return Err(String::from_utf8_lossy(&out.stderr).trim().to_string());
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
}

fn from_pkg_config() -> Result<Found, String> {
    var("PKG_CONFIG_PATH");
    let at_least = format!("--atleast-version={}", MIN_VERSION);
    pkg_config(&[&at_least, "boundarytrace"])
        .map_err(|e| format!("pkg-config: no boundarytrace >= {} ({})", MIN_VERSION, e))?;
    let lib_dir = pkg_config(&["--variable=libdir", "boundarytrace"])?;
    Ok(Found {
        rpath: vec![lib_dir.clone()],
        lib_dir,
        include_dir: pkg_config(&["--variable=includedir", "boundarytrace"])?,
        version: pkg_config(&["--modversion", "boundarytrace"])?,
        by: "pkg-config",
    })
}

fn find() -> Found {
    if let Some(f) = from_env() {
        return f;
    }
    let mut why = Vec::new();
    if var("BT_PKG_CONFIG").as_deref() != Some("system") {
        match from_python() {
            Ok(f) => return f,
            Err(e) => why.push(e),
        }
    }
    match from_pkg_config() {
        Ok(f) => return f,
        Err(e) => why.push(e),
    }
    panic!(
        "\nlibboundarytrace not found:\n  {}\n\
         Set BOUNDARYTRACE_LIB_DIR (and BOUNDARYTRACE_INCLUDE_DIR), install the boundarytrace \
         Python package into the interpreter you build for (BT_PYTHON / PYO3_PYTHON), or put a \
         boundarytrace.pc on PKG_CONFIG_PATH.\n",
        why.join("\n  ")
    );
}

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    let f = find();
    let header = PathBuf::from(&f.include_dir).join("boundarytrace").join("bt.h");
    if !header.is_file() {
        panic!("{} not found (include dir from {})", header.display(), f.by);
    }
    println!("cargo:rerun-if-changed={}", header.display());
    println!("cargo:rustc-link-search=native={}", f.lib_dir);
    println!("cargo:rustc-link-lib=dylib=boundarytrace");
    // Metadata for dependents' build scripts: DEP_BOUNDARYTRACE_*.
    println!("cargo:lib_dir={}", f.lib_dir);
    println!("cargo:include={}", f.include_dir);
    println!("cargo:version={}", f.version);
    println!("cargo:rpath={}", f.rpath.join(":"));
    // For this crate's code and tests (LINKED_LIB_DIR, the header checks).
    println!("cargo:rustc-env=BOUNDARYTRACE_SYS_LIB_DIR={}", f.lib_dir);
    println!("cargo:rustc-env=BOUNDARYTRACE_SYS_INCLUDE_DIR={}", f.include_dir);
    println!("cargo:rustc-env=BOUNDARYTRACE_SYS_FOUND_BY={}", f.by);
}
