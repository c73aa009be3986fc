//! A parser for boundarytrace/bt.h, just wide enough for that header: its
//! `#define BT_*` constants, the X-macro of status codes, `typedef enum`,
//! `typedef struct` (opaque and with fields), scalar typedefs and `BT_API`
//! function declarations. Anything else at file scope is an error, so a new
//! kind of declaration fails the check instead of being left out.
//!
//! The parsed items are rendered as Rust (src/bindings.rs) and as a table of
//! struct layouts (tests/support/layout_table.rs, and a C probe printing the
//! same table), see render.rs.
#![allow(dead_code)]

/// A documented constant: `name: ty = value`.
#[derive(Debug, Clone, PartialEq)]
pub struct Const {
    pub name: String,
    pub ty: String,
    pub value: String,
    pub doc: String,
}

/// One field or parameter: its C type (tokens) and name, array length if any.
#[derive(Debug, Clone, PartialEq)]
pub struct Field {
    pub c_type: String,
    pub name: String,
    pub array: Option<String>,
    pub doc: String,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Item {
    Const(Const),
    /// `typedef enum name {...} name;`: an integer type and its constants.
    Enum { name: String, doc: String, values: Vec<Const> },
    /// `typedef struct name name;`
    Opaque { name: String, doc: String },
    Struct { name: String, doc: String, fields: Vec<Field> },
    /// `typedef <scalar> name;`
    Alias { name: String, doc: String, c_type: String },
    Function { name: String, doc: String, ret: String, params: Vec<Field> },
}

/// Strips a comment's delimiters and leading `*`s; lines trimmed, so that
/// rustdoc never sees an indented (code) block.
pub fn doc_text(comment: &str) -> String {
    let body = comment
        .trim_start_matches("/**<")
        .trim_start_matches("/**")
        .trim_start_matches("/*")
        .trim_end_matches("*/");
    let lines: Vec<&str> = body
        .lines()
        .map(|l| l.trim().trim_start_matches('*').trim())
        .collect();
    let first = lines.iter().position(|l| !l.is_empty()).unwrap_or(lines.len());
    let last = lines.iter().rposition(|l| !l.is_empty()).map_or(first, |i| i + 1);
    lines[first..last].join("\n")
}

/// Collapses runs of whitespace to one space.
fn squash(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The text of a C comment starting at `at` (which starts with "/*").
fn comment_at(text: &str, at: usize) -> &str {
    let end = text[at + 2..].find("*/").expect("unterminated comment") + at + 4;
    &text[at..end]
}

/// The Rust type of a `#define` constant, by its name. A constant of a new
/// family fails here: add a rule.
fn define_type(name: &str) -> Option<&'static str> {
    if name.starts_with("BT_PHASE_") {
        Some("bt_phase_id")
    } else if name.starts_with("BT_TIMING_") || name.starts_with("BT_STATS_") {
        Some("u32") // bits of uint32_t flags fields
    } else if name.starts_with("BT_MAX_") || name.ends_with("_MAX") || name.ends_with("_MAX_CAPACITY") {
        Some("usize") // array lengths and size_t capacities
    } else if name.starts_with("BT_VERSION_") || name == "BT_ABI_VERSION" {
        Some("c_uint") // compared with bt_version() / bt_abi_version()
    } else {
        None
    }
}

/// `0x1u`, `(1u << 24)`, `(-1)` as a Rust expression: integer suffixes dropped.
fn rust_expr(c: &str) -> String {
    let mut out = String::new();
    let chars: Vec<char> = c.chars().collect();
    for (i, ch) in chars.iter().enumerate() {
        let prev_digit = i > 0 && chars[i - 1].is_ascii_hexdigit();
        let next_ident = chars.get(i + 1).map_or(false, |n| n.is_alphanumeric() || *n == '_');
        if (*ch == 'u' || *ch == 'U') && prev_digit && !next_ident {
            continue;
        }
        out.push(*ch);
    }
    let out = squash(&out);
    // Outer parentheses are C macro hygiene; Rust warns about them.
    let inner = out.strip_prefix('(').and_then(|s| s.strip_suffix(')'));
    match inner {
        Some(s) if !s.contains(')') || s.find('(') < s.find(')') => s.to_string(),
        _ => out,
    }
}

/// Parses the `#define` line(s) starting at `at`; returns the end offset.
fn parse_directive(text: &str, at: usize, doc: &str, items: &mut Vec<Item>, skip_cpp: &mut bool) -> usize {
    let mut end = at;
    loop {
        let line_end = text[end..].find('\n').map_or(text.len(), |i| end + i);
        let continued = text[end..line_end].trim_end().ends_with('\\');
        end = (line_end + 1).min(text.len());
        if !continued {
            break;
        }
    }
    let line = text[at..end].replace("\\\n", " ");
    let words: Vec<&str> = line.split_whitespace().collect();
    match words.first().copied() {
        Some("#ifdef") if words.get(1) == Some(&"__cplusplus") => *skip_cpp = true,
        Some("#endif") => *skip_cpp = false,
        Some("#define") => {
            let rest = line.trim_start()["#define".len()..].trim_start();
            let name_end = rest.find(|c: char| !(c.is_alphanumeric() || c == '_')).unwrap_or(rest.len());
            let name = &rest[..name_end];
            let function_like = rest[name_end..].starts_with('(');
            // Strip a trailing /* comment */ from the value.
            let mut value = rest[name_end..].to_string();
            if let Some(c) = value.find("/*") {
                value.truncate(c);
            }
            let value = squash(&value);
            let private = name.ends_with('_') || name.ends_with("_H") || name.ends_with("_INIT");
            if function_like || private || name == "BT_API" || value.is_empty() {
                return end;
            }
            let doc = match rest.find("/**<") {
                Some(c) => doc_text(comment_at(rest, c)),
                None => doc.to_string(),
            };
            let (ty, value) = if value.starts_with('"') {
                ("&str".to_string(), value)
            } else {
                let ty = define_type(name)
                    .unwrap_or_else(|| panic!("no Rust type for the new constant {}: add a rule to define_type() in tests/support/cheader.rs", name));
                (ty.to_string(), rust_expr(&value))
            };
            items.push(Item::Const(Const { name: name.to_string(), ty, value, doc }));
        }
        _ => {}
    }
    end
}

/// Splits a `{ ... }` body at `sep`, keeping `/** doc */` (before) and
/// `/**< doc */` (after) comments with their member.
fn split_members(body: &str, sep: char) -> Vec<(String, String)> {
    let mut members: Vec<(String, String)> = Vec::new();
    let (mut cur, mut pending) = (String::new(), String::new());
    let mut i = 0;
    while i < body.len() {
        let rest = &body[i..];
        if rest.starts_with("/*") {
            let c = comment_at(body, i);
            if c.starts_with("/**<") {
                let doc = doc_text(c);
                if cur.trim().is_empty() {
                    if let Some(last) = members.last_mut() {
                        last.1 = join_doc(&last.1, &doc);
                    }
                } else {
                    pending = join_doc(&pending, &doc);
                }
            } else if c.starts_with("/**") {
                pending = join_doc(&pending, &doc_text(c));
            }
            i += c.len();
            continue;
        }
        if rest.starts_with('#') {
            i += rest.find('\n').unwrap_or(rest.len());
            continue;
        }
        let ch = rest.chars().next().unwrap();
        if ch == sep {
            members.push((squash(&cur), std::mem::take(&mut pending)));
            cur.clear();
        } else {
            cur.push(ch);
        }
        i += ch.len_utf8();
    }
    if !cur.trim().is_empty() {
        members.push((squash(&cur), pending));
    }
    members
}

fn join_doc(a: &str, b: &str) -> String {
    if a.is_empty() {
        b.to_string()
    } else {
        format!("{}\n{}", a, b)
    }
}

/// `const char *name` or `uint64_t phase_ns[BT_MAX_PHASES]`.
fn parse_decl(decl: &str, doc: &str) -> Field {
    let decl = decl.trim();
    let (decl, array) = match decl.find('[') {
        Some(b) => (decl[..b].trim(), Some(decl[b + 1..decl.len() - 1].trim().to_string())),
        None => (decl, None),
    };
    let name_start = decl
        .rfind(|c: char| !(c.is_alphanumeric() || c == '_'))
        .map_or(0, |i| i + 1);
    Field {
        c_type: squash(&decl[..name_start].replace('*', " * ")),
        name: decl[name_start..].to_string(),
        array,
        doc: doc.to_string(),
    }
}

/// The X(NAME, value, "message") entries of BT_STATUS_MAP.
fn status_map(text: &str) -> Vec<Const> {
    let at = text.find("#define BT_STATUS_MAP(X)").expect("BT_STATUS_MAP not found");
    let end = text[at..].find("\n\n").map_or(text.len(), |e| at + e);
    let body = text[at..end].replace("\\\n", " ");
    let mut out = Vec::new();
    for entry in body.split("X(").skip(1) {
        let mut parts = entry.splitn(3, ',');
        let name = parts.next().unwrap().trim().to_string();
        let value = parts.next().expect("status value").trim().to_string();
        // The message: the string literals up to the closing parenthesis.
        let msg: String = parts
            .next()
            .expect("status message")
            .split('"')
            .skip(1)
            .step_by(2)
            .collect();
        out.push(Const { name, ty: "bt_status".into(), value, doc: msg });
    }
    out
}

/// One declaration statement (up to its `;`), with the doc comment before it.
fn parse_statement(stmt: &str, doc: &str, header: &str, items: &mut Vec<Item>) {
    let flat = squash(&stmt.replace('\n', " "));
    if let Some(rest) = flat.strip_prefix("BT_API ") {
        let open = rest.find('(').expect("function without (");
        let head = parse_decl(&rest[..open], "");
        let inner = &stmt[stmt.find('(').unwrap() + 1..stmt.rfind(')').unwrap()];
        let params = if squash(inner) == "void" {
            Vec::new()
        } else {
            inner.split(',').map(|p| parse_decl(&squash(p), "")).collect()
        };
        items.push(Item::Function { name: head.name, doc: doc.into(), ret: head.c_type, params });
    } else if flat.starts_with("typedef struct ") || flat.starts_with("typedef enum ") {
        let is_enum = flat.starts_with("typedef enum ");
        let name = flat.rsplit(' ').next().unwrap().trim_end_matches(';').to_string();
        match (stmt.find('{'), stmt.rfind('}')) {
            (None, _) => items.push(Item::Opaque { name, doc: doc.into() }),
            (Some(o), Some(c)) if is_enum => {
                let body = &stmt[o + 1..c];
                let values = if body.contains("BT_STATUS_MAP(") {
                    status_map(header)
                } else {
                    split_members(body, ',')
                        .into_iter()
                        .filter(|(m, _)| !m.is_empty())
                        .map(|(m, d)| {
                            let (n, v) = m.split_once('=').expect("enum value without =");
                            Const { name: n.trim().into(), ty: name.clone(), value: rust_expr(v), doc: d }
                        })
                        .filter(|c| !c.name.ends_with('_'))
                        .collect()
                };
                items.push(Item::Enum { name, doc: doc.into(), values });
            }
            (Some(o), Some(c)) => {
                let fields = split_members(&stmt[o + 1..c], ';')
                    .into_iter()
                    .filter(|(m, _)| !m.is_empty())
                    .map(|(m, d)| parse_decl(&m, &d))
                    .collect();
                items.push(Item::Struct { name, doc: doc.into(), fields });
            }
            _ => panic!("unbalanced braces in {}", flat),
        }
    } else if let Some(rest) = flat.strip_prefix("typedef ") {
        let f = parse_decl(rest.trim_end_matches(';'), "");
        items.push(Item::Alias { name: f.name, doc: doc.into(), c_type: f.c_type });
    } else {
        panic!("bt.h holds a declaration the generator does not know: {}", flat);
    }
}

/// Every item of bt.h, in the order of the header.
pub fn parse(text: &str) -> Vec<Item> {
    let mut items = Vec::new();
    let mut doc = String::new();
    let mut skip_cpp = false; // inside #ifdef __cplusplus (extern "C" braces)
    let mut i = 0;
    while i < text.len() {
        let rest = &text[i..];
        let ch = rest.chars().next().unwrap();
        if ch.is_whitespace() {
            i += ch.len_utf8();
        } else if rest.starts_with("/*") {
            let c = comment_at(text, i);
            doc = if c.starts_with("/**") && !c.starts_with("/**<") { doc_text(c) } else { String::new() };
            i += c.len();
        } else if rest.starts_with("//") {
            i += rest.find('\n').unwrap_or(rest.len());
        } else if ch == '#' {
            i = parse_directive(text, i, &doc, &mut items, &mut skip_cpp);
            doc.clear();
        } else if skip_cpp {
            i += rest.find('\n').unwrap_or(rest.len());
        } else {
            // A statement: up to the `;` outside braces and comments.
            let (mut depth, mut j) = (0i32, i);
            loop {
                let r = &text[j..];
                if r.starts_with("/*") {
                    j += comment_at(text, j).len();
                    continue;
                }
                let c = r.chars().next().expect("statement without ;");
                match c {
                    '{' => depth += 1,
                    '}' => depth -= 1,
                    ';' if depth == 0 => break,
                    _ => {}
                }
                j += c.len_utf8();
            }
            parse_statement(&text[i..=j], &doc, text, &mut items);
            doc.clear();
            i = j + 1;
        }
    }
    items
}
