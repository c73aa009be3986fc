//! src/bindings.rs and tests/support/layout_table.rs are exactly what the
//! generator makes of the bt.h the crate is built against: a new, removed or
//! changed function, struct field, constant or status code in bt.h fails here.
//!
//! Regenerate both files (one command, from rust/):
//!   BT_SYS_REGENERATE=1 cargo test -p boundarytrace-sys --test bindings_match_header
//! or rust/regenerate-bindings, which points the build at the repository's
//! header and build tree.
mod support;

use std::fs;
use std::path::Path;

/// Compares `want` with the committed file, or writes it when regenerating.
fn check(rel: &str, want: &str) {
    let path = support::crate_dir().join(rel);
    if std::env::var_os("BT_SYS_REGENERATE").map_or(false, |v| v == "1") {
        fs::write(&path, want).unwrap_or_else(|e| panic!("cannot write {}: {}", path.display(), e));
        eprintln!("regenerated {}", path.display());
        return;
    }
    let have = fs::read_to_string(&path).unwrap_or_default();
    if have != want {
        let line = have
            .lines()
            .zip(want.lines())
            .position(|(a, b)| a != b)
            .unwrap_or_else(|| have.lines().count().min(want.lines().count()));
        panic!(
            "{} does not match {} (first difference at line {}:\n  committed: {:?}\n  generated: {:?}).\n\
             Regenerate: {}",
            rel,
            support::header_path().display(),
            line + 1,
            have.lines().nth(line).unwrap_or("<end of file>"),
            want.lines().nth(line).unwrap_or("<end of file>"),
            support::render::REGENERATE
        );
    }
}

#[test]
fn bindings_rs_matches_bt_h() {
    let (items, version) = support::parsed_header();
    check("src/bindings.rs", &support::render::bindings(&items, &version));
}

#[test]
fn layout_table_matches_bt_h() {
    let (items, version) = support::parsed_header();
    check("tests/support/layout_table.rs", &support::render::layout_table(&items, &version));
}

#[test]
fn the_header_has_what_the_safe_crate_needs() {
    // A parser that silently found nothing would make the checks above vacuous.
    let (items, _) = support::parsed_header();
    let count = |f: fn(&support::cheader::Item) -> bool| items.iter().filter(|i| f(i)).count();
    assert!(count(|i| matches!(i, support::cheader::Item::Function { .. })) >= 50);
    assert!(count(|i| matches!(i, support::cheader::Item::Struct { .. })) >= 6);
    let statuses = items.iter().find_map(|i| match i {
        support::cheader::Item::Enum { name, values, .. } if name == "bt_status" => Some(values.len()),
        _ => None,
    });
    assert_eq!(statuses, Some(15));
    assert!(Path::new(&support::header_path()).is_file());
}
