//! Shared by the header checks: find, read and parse the bt.h the crate
//! was built against (the build script's include directory).
#![allow(dead_code)]

pub mod cheader;
pub mod render;

use std::path::PathBuf;

/// `<include dir>/boundarytrace/bt.h` of the library this crate links.
pub fn header_path() -> PathBuf {
    PathBuf::from(env!("BOUNDARYTRACE_SYS_INCLUDE_DIR")).join("boundarytrace").join("bt.h")
}

/// The include directory the build script found (for the C probe).
pub fn include_dir() -> PathBuf {
    PathBuf::from(env!("BOUNDARYTRACE_SYS_INCLUDE_DIR"))
}

/// The parsed header and its BT_VERSION_STRING.
pub fn parsed_header() -> (Vec<cheader::Item>, String) {
    let path = header_path();
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {}", path.display(), e));
    let items = cheader::parse(&text);
    let version = items
        .iter()
        .find_map(|i| match i {
            cheader::Item::Const(c) if c.name == "BT_VERSION_STRING" => {
                Some(c.value.trim_matches('"').to_string())
            }
            _ => None,
        })
        .expect("BT_VERSION_STRING in bt.h");
    (items, version)
}

/// The crate's own directory (for the committed generated files).
pub fn crate_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}
