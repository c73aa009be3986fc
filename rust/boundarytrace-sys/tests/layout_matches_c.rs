//! Every struct's size, alignment, field offsets and field sizes, every enum
//! and typedef size, and every integer constant, as Rust sees them
//! (tests/support/layout_table.rs) and as the C compiler sees bt.h (a probe
//! compiled here with $CC, else `cc`). Also links every function.
use std::collections::BTreeMap;
use std::process::Command;

/// Offset of `field` in `ty`, without std::mem::offset_of! (Rust 1.77).
macro_rules! field_offset {
    ($ty:ty, $field:ident) => {{
        let v = std::mem::MaybeUninit::<$ty>::uninit();
        let base = v.as_ptr();
        // SAFETY: addr_of! computes the address without reading the field.
        let field = unsafe { std::ptr::addr_of!((*base).$field) };
        field as usize - base as usize
    }};
}

/// Size of `field` in `ty`.
macro_rules! field_size {
    ($ty:ty, $field:ident) => {{
        fn size_of_pointee<T>(_: *const T) -> usize {
            std::mem::size_of::<T>()
        }
        let v = std::mem::MaybeUninit::<$ty>::uninit();
        // SAFETY: as in field_offset!.
        size_of_pointee(unsafe { std::ptr::addr_of!((*v.as_ptr()).$field) })
    }};
}

#[allow(dead_code)]
mod support;
#[path = "support/layout_table.rs"]
mod layout_table;

fn c_layout() -> BTreeMap<String, i128> {
    let (items, _) = support::parsed_header();
    let dir = std::env::temp_dir().join(format!("boundarytrace-sys-probe-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let src = dir.join("probe.c");
    let exe = dir.join("probe");
    std::fs::write(&src, support::render::c_probe(&items)).unwrap();
    let cc = std::env::var("CC").unwrap_or_else(|_| "cc".to_string());
    let out = Command::new(&cc)
        .arg("-std=c11")
        .arg("-I")
        .arg(support::include_dir())
        .arg(&src)
        .arg("-o")
        .arg(&exe)
        .output()
        .unwrap_or_else(|e| panic!("cannot run the C compiler {}: {}", cc, e));
    assert!(out.status.success(), "compiling the probe failed:\n{}", String::from_utf8_lossy(&out.stderr));
    let out = Command::new(&exe).output().expect("run the probe");
    assert!(out.status.success());
    std::fs::remove_dir_all(&dir).ok();
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| {
            let (k, v) = l.rsplit_once(' ').unwrap();
            (k.to_string(), v.parse().unwrap())
        })
        .collect()
}

#[test]
fn rust_layout_matches_the_c_compiler() {
    let c = c_layout();
    let rust: BTreeMap<String, i128> =
        layout_table::rust_layout().into_iter().map(|(k, v)| (k.to_string(), v)).collect();
    let keys: Vec<&String> = c.keys().collect();
    assert_eq!(keys, rust.keys().collect::<Vec<_>>(), "the figures differ: regenerate the bindings");
    let wrong: Vec<String> = c
        .iter()
        .filter(|(k, v)| rust[*k] != **v)
        .map(|(k, v)| format!("{}: C {}, Rust {}", k, v, rust[k]))
        .collect();
    assert!(wrong.is_empty(), "layout or constants differ:\n{}", wrong.join("\n"));
    assert!(c.len() > 100, "too few figures: {}", c.len());
}

#[test]
fn every_function_links() {
    let fns = layout_table::function_addresses();
    assert!(fns.len() >= 50);
    for (name, addr) in fns {
        assert_ne!(addr, 0, "{}", name);
    }
}
