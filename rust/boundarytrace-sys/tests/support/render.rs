//! Renders the items of bt.h (cheader.rs) as
//! - src/bindings.rs: the Rust declarations (committed; compared by
//!   tests/bindings_match_header.rs),
//! - tests/support/layout_table.rs: every struct's size, alignment and field
//!   offsets, every integer constant, and every function's address, as Rust
//!   sees them (committed; compared the same way),
//! - a C probe printing the same table as the C compiler sees it
//!   (tests/layout_matches_c.rs compiles and runs it).
#![allow(dead_code)]

use super::cheader::{Const, Field, Item};

pub const REGENERATE: &str =
    "BT_SYS_REGENERATE=1 cargo test -p boundarytrace-sys --test bindings_match_header (or rust/regenerate-bindings)";

/// The Rust type of a C type (`const char * *` -> `*mut *const c_char`).
pub fn rust_type(c_type: &str) -> String {
    let mut ty: Option<String> = None;
    let mut konst = false;
    let mut words: Vec<&str> = Vec::new();
    let flush = |words: &mut Vec<&str>, ty: &mut Option<String>| {
        if !words.is_empty() {
            *ty = Some(base_type(&words.join(" ")).to_string());
            words.clear();
        }
    };
    for t in c_type.split_whitespace() {
        match t {
            "const" => konst = true,
            "*" => {
                flush(&mut words, &mut ty);
                let inner = ty.take().expect("pointer to nothing");
                let inner = if inner == "()" { "c_void".to_string() } else { inner };
                ty = Some(format!("*{} {}", if konst { "const" } else { "mut" }, inner));
                konst = false;
            }
            w => words.push(w),
        }
    }
    flush(&mut words, &mut ty);
    ty.expect("empty type")
}

fn base_type(c: &str) -> &str {
    match c {
        "void" => "()",
        "char" => "c_char",
        "int" => "c_int",
        "unsigned" | "unsigned int" => "c_uint",
        "double" => "f64",
        "size_t" => "usize",
        "uint64_t" => "u64",
        "uint32_t" => "u32",
        "int64_t" => "i64",
        "int32_t" => "i32",
        t if t.starts_with("bt_") => t,
        t => panic!("no Rust type for the C type `{}`: add it to base_type() in tests/support/render.rs", t),
    }
}

/// The header's comment as `///` lines; `[`, `]` and `<` escaped so that
/// rustdoc reads C's `@param[out]` or `<pid>` as text, not links or HTML.
fn doc(out: &mut String, indent: &str, text: &str) {
    let text = text.replace('[', "\\[").replace(']', "\\]").replace('<', "\\<");
    for line in text.lines() {
        if line.is_empty() {
            out.push_str(&format!("{}///\n", indent));
        } else {
            out.push_str(&format!("{}/// {}\n", indent, line));
        }
    }
}

fn constant(out: &mut String, c: &Const) {
    doc(out, "", &c.doc);
    out.push_str(&format!("pub const {}: {} = {};\n", c.name, c.ty, c.value));
}

fn field_type(f: &Field) -> String {
    match &f.array {
        Some(n) => format!("[{}; {}]", rust_type(&f.c_type), n),
        None => rust_type(&f.c_type),
    }
}

/// src/bindings.rs.
pub fn bindings(items: &[Item], version: &str) -> String {
    let mut out = format!(
        "// @generated from boundarytrace/bt.h {} by tests/support (cheader.rs, render.rs).\n\
         // Do not edit: regenerate with\n//   {}\n\n\
         use std::marker::{{PhantomData, PhantomPinned}};\n\
         #[allow(unused_imports)]\nuse std::os::raw::{{c_char, c_int, c_uint, c_void}};\n",
        version, REGENERATE
    );
    for item in items {
        if let Item::Function { .. } = item {
            continue; // all in one extern block below
        }
        out.push('\n');
        match item {
            Item::Const(c) => constant(&mut out, c),
            Item::Alias { name, doc: d, c_type } => {
                doc(&mut out, "", d);
                out.push_str(&format!("pub type {} = {};\n", name, rust_type(c_type)));
            }
            Item::Enum { name, doc: d, values } => {
                doc(&mut out, "", d);
                if !d.is_empty() {
                    out.push_str("///\n");
                }
                out.push_str("/// A C enum: an `int` here, so that any value the library returns is valid.\n");
                out.push_str(&format!("pub type {} = c_int;\n", name));
                for v in values {
                    constant(&mut out, v);
                }
            }
            Item::Opaque { name, doc: d } => {
                doc(&mut out, "", d);
                out.push_str("///\n/// Opaque: only pointers to it cross the ABI.\n");
                out.push_str(&format!(
                    "#[repr(C)]\npub struct {} {{\n    _private: [u8; 0],\n    _marker: PhantomData<(*mut u8, PhantomPinned)>,\n}}\n",
                    name
                ));
            }
            Item::Struct { name, doc: d, fields } => {
                doc(&mut out, "", d);
                out.push_str(&format!("#[repr(C)]\n#[derive(Debug, Clone, Copy)]\npub struct {} {{\n", name));
                for f in fields {
                    doc(&mut out, "    ", &f.doc);
                    out.push_str(&format!("    pub {}: {},\n", f.name, field_type(f)));
                }
                out.push_str("}\n");
                if fields.first().map_or(false, |f| f.name == "struct_size") {
                    out.push_str(&format!(
                        "\nimpl {0} {{\n    /// All zeroes (NULL pointers) with `struct_size` set to this size: C's\n    \
                         /// `BT_..._INIT`.\n    pub fn new() -> Self {{\n        \
                         // SAFETY: integers and raw pointers, for which all zeroes is valid.\n        \
                         let mut v: Self = unsafe {{ std::mem::zeroed() }};\n        \
                         v.struct_size = std::mem::size_of::<Self>();\n        v\n    }}\n}}\n\n\
                         impl Default for {0} {{\n    fn default() -> Self {{\n        Self::new()\n    }}\n}}\n",
                        name
                    ));
                }
            }
            Item::Function { .. } => {}
        }
    }
    out.push_str("\nextern \"C\" {\n");
    let mut first = true;
    for item in items {
        if let Item::Function { name, doc: d, ret, params } = item {
            if !first {
                out.push('\n');
            }
            first = false;
            doc(&mut out, "    ", d);
            let params: Vec<String> =
                params.iter().map(|p| format!("{}: {}", p.name, rust_type(&p.c_type))).collect();
            let ret = rust_type(ret);
            let ret = if ret == "()" { String::new() } else { format!(" -> {}", ret) };
            out.push_str(&format!("    pub fn {}({}){};\n", name, params.join(", "), ret));
        }
    }
    out.push_str("}\n");
    out
}

/// (key, Rust expression, C expression) of every checked figure.
pub fn layout_entries(items: &[Item]) -> Vec<(String, String, String)> {
    let mut v = Vec::new();
    let int_const = |v: &mut Vec<(String, String, String)>, c: &Const| {
        if c.ty != "&str" {
            v.push((c.name.clone(), format!("{} as i128", c.name), c.name.clone()));
        }
    };
    for item in items {
        match item {
            Item::Const(c) => int_const(&mut v, c),
            Item::Enum { name, values, .. } => {
                v.push((format!("sizeof({})", name), format!("size_of::<{}>() as i128", name), format!("sizeof({})", name)));
                for c in values {
                    int_const(&mut v, c);
                }
            }
            Item::Alias { name, .. } => {
                v.push((format!("sizeof({})", name), format!("size_of::<{}>() as i128", name), format!("sizeof({})", name)));
            }
            Item::Struct { name, fields, .. } => {
                v.push((format!("sizeof({})", name), format!("size_of::<{}>() as i128", name), format!("sizeof({})", name)));
                v.push((format!("alignof({})", name), format!("align_of::<{}>() as i128", name), format!("_Alignof({})", name)));
                for f in fields {
                    let key = format!("offsetof({}, {})", name, f.name);
                    v.push((key.clone(), format!("field_offset!({}, {}) as i128", name, f.name), key.clone()));
                    let key = format!("sizeof({}.{})", name, f.name);
                    v.push((key, format!("field_size!({}, {}) as i128", name, f.name), format!("sizeof(((const {} *)0)->{})", name, f.name)));
                }
            }
            Item::Opaque { .. } | Item::Function { .. } => {}
        }
    }
    v
}

/// tests/support/layout_table.rs: the macros field_offset! and field_size!
/// come from the test that includes it.
pub fn layout_table(items: &[Item], version: &str) -> String {
    let mut out = format!(
        "// @generated from boundarytrace/bt.h {} by tests/support (cheader.rs, render.rs).\n\
         // Do not edit: regenerate with\n//   {}\n\n\
         use boundarytrace_sys::*;\nuse std::mem::{{align_of, size_of}};\n\n\
         /// (figure, value) as Rust sees them; the C probe prints the same figures.\n\
         pub fn rust_layout() -> Vec<(&'static str, i128)> {{\n    vec![\n",
        version, REGENERATE
    );
    for (key, rust, _) in layout_entries(items) {
        out.push_str(&format!("        ({:?}, {}),\n", key, rust));
    }
    out.push_str("    ]\n}\n\n/// Every function's address: linking this fails on a missing symbol.\n");
    out.push_str("pub fn function_addresses() -> Vec<(&'static str, usize)> {\n    vec![\n");
    for item in items {
        if let Item::Function { name, .. } = item {
            out.push_str(&format!("        ({:?}, {} as *const () as usize),\n", name, name));
        }
    }
    out.push_str("    ]\n}\n");
    out
}

/// A C program printing "figure value" per line, as the C compiler sees them.
pub fn c_probe(items: &[Item]) -> String {
    let mut out = String::from(
        "#include <stddef.h>\n#include <stdio.h>\n#include <boundarytrace/bt.h>\n\nint main(void) {\n",
    );
    for (key, _, c) in layout_entries(items) {
        out.push_str(&format!("  printf(\"%s %lld\\n\", \"{}\", (long long)({}));\n", key, c));
    }
    out.push_str("  return 0;\n}\n");
    out
}
