//! Rust: `use` trees (braces, globs, renames, `self`), `pub use` as re-export, `mod x;` (with
//! `#[path]`), `extern crate`, and inline `crate::`/`self::`/`super::` paths in code.

use tree_sitter::Node;

use super::{text, Captures, Import, ImportKind, Spec};

pub(super) fn collect(matches: &[Captures], src: &[u8]) -> Vec<Import> {
    let mut out = Vec::new();
    for m in matches {
        if let Some(decl) = m.get("use") {
            let kind = if has_child(decl, "visibility_modifier") {
                ImportKind::ReExport
            } else {
                ImportKind::Static
            };
            if let Some(argument) = decl.child_by_field_name("argument") {
                use_tree(argument, &[], src, kind, &mut out);
            }
        } else if let Some(item) = m.get("mod") {
            out.extend(mod_item(item, src));
        } else if let Some(decl) = m.get("extern_crate") {
            out.extend(extern_crate(decl, src));
        } else if let Some(path) = m.get("path") {
            out.extend(inline_path(path, src));
        } else if let Some(tokens) = m.get("tokens") {
            macro_paths(tokens, src, &mut out);
        }
    }
    out
}

fn has_child(node: Node, kind: &str) -> bool {
    let mut cursor = node.walk();
    let found = node.children(&mut cursor).any(|c| c.kind() == kind);
    found
}

/// Flatten a use tree into one import per leaf path.
fn use_tree(node: Node, prefix: &[String], src: &[u8], kind: ImportKind, out: &mut Vec<Import>) {
    match node.kind() {
        "use_list" => {
            let mut cursor = node.walk();
            for child in node.named_children(&mut cursor) {
                use_tree(child, prefix, src, kind, out);
            }
        }
        "scoped_use_list" => {
            let mut inner = prefix.to_vec();
            if let Some(path) = node.child_by_field_name("path") {
                inner.extend(segments(text(path, src)));
            }
            if let Some(list) = node.child_by_field_name("list") {
                use_tree(list, &inner, src, kind, out);
            }
        }
        "use_as_clause" => {
            if let Some(path) = node.child_by_field_name("path") {
                leaf(path, prefix, segments(text(path, src)), kind, out);
            }
        }
        "use_wildcard" => {
            let mut cursor = node.walk();
            let mut path: Vec<String> = node
                .named_children(&mut cursor)
                .next()
                .map(|p| segments(text(p, src)))
                .unwrap_or_default();
            path.push("*".to_string());
            leaf(node, prefix, path, kind, out);
        }
        "crate" | "self" | "super" | "identifier" | "scoped_identifier" | "metavariable" => {
            leaf(node, prefix, segments(text(node, src)), kind, out);
        }
        _ => {}
    }
}

fn leaf(node: Node, prefix: &[String], tail: Vec<String>, kind: ImportKind, out: &mut Vec<Import>) {
    let mut all = prefix.to_vec();
    all.extend(tail);
    // `use a::{self}` names `a` itself.
    if all.len() > 1 && all.last().map(String::as_str) == Some("self") {
        all.pop();
    }
    let text = all.join("::");
    out.push(Import::at(
        node,
        text,
        kind,
        Spec::RustPath { segments: all },
    ));
}

fn segments(path: &str) -> Vec<String> {
    path.split("::")
        .map(|s| s.chars().filter(|c| !c.is_whitespace()).collect::<String>())
        .filter(|s| !s.is_empty())
        .collect()
}

/// `mod x;` with an optional `#[path = "..."]` among the attributes just above it.
fn mod_item(item: Node, src: &[u8]) -> Option<Import> {
    let name_node = item.child_by_field_name("name")?;
    let name = text(name_node, src).to_string();
    let mut path = None;
    let mut sibling = item.prev_named_sibling();
    while let Some(attr) = sibling.filter(|s| s.kind() == "attribute_item") {
        if let Some(p) = path_attribute(text(attr, src)) {
            path = Some(p);
        }
        sibling = attr.prev_named_sibling();
    }
    Some(Import::at(
        name_node,
        format!("mod {name}"),
        ImportKind::Static,
        Spec::RustMod { name, path },
    ))
}

/// `#[path = "foo/bar.rs"]` -> `foo/bar.rs`.
fn path_attribute(attr: &str) -> Option<String> {
    let inner = attr.trim().strip_prefix("#[")?.strip_suffix(']')?.trim();
    let value = inner
        .strip_prefix("path")?
        .trim_start()
        .strip_prefix('=')?
        .trim();
    let value = value.strip_prefix('"')?.strip_suffix('"')?;
    Some(value.to_string())
}

fn extern_crate(decl: Node, src: &[u8]) -> Option<Import> {
    let name_node = decl.child_by_field_name("name")?;
    let name = text(name_node, src).to_string();
    if name == "self" {
        return None;
    }
    Some(Import::at(
        name_node,
        format!("extern crate {name}"),
        ImportKind::Static,
        Spec::RustCrate { name },
    ))
}

/// `crate::cli::run()` written in code: an edge like a `use`. Only the outermost path node,
/// only paths rooted at `crate`/`self`/`super`, and not inside `use` or `pub(in ...)`.
fn inline_path(node: Node, src: &[u8]) -> Option<Import> {
    let parent = node.parent()?;
    if matches!(
        parent.kind(),
        "scoped_identifier" | "scoped_type_identifier" | "scoped_use_list" | "use_as_clause"
    ) && parent.child_by_field_name("path") == Some(node)
    {
        return None;
    }
    let mut ancestor = Some(parent);
    while let Some(a) = ancestor {
        if matches!(a.kind(), "use_declaration" | "visibility_modifier") {
            return None;
        }
        ancestor = a.parent();
    }
    let all = segments(text(node, src));
    let plain: Vec<String> = all.into_iter().take_while(|s| !s.contains('<')).collect();
    let root = plain.first()?;
    if !matches!(root.as_str(), "crate" | "self" | "super") || plain.len() < 2 {
        return None;
    }
    Some(Import::at(
        node,
        plain.join("::"),
        ImportKind::Static,
        Spec::RustPath { segments: plain },
    ))
}

/// `format!("{}", crate::cli::x(1))`: macro arguments are token trees, not expressions,
/// so `crate`/`self`/`super`-rooted paths are found by scanning the tokens. Only direct
/// children: nested token trees are captured (and scanned) on their own.
fn macro_paths(tokens: Node, src: &[u8], out: &mut Vec<Import>) {
    let mut cursor = tokens.walk();
    let children: Vec<Node> = tokens.children(&mut cursor).collect();
    let mut i = 0;
    while i < children.len() {
        let root = children[i];
        let preceded_by_path = i > 0 && children[i - 1].kind() == "::";
        if preceded_by_path || !matches!(text(root, src), "crate" | "self" | "super") {
            i += 1;
            continue;
        }
        let mut segments = vec![text(root, src).to_string()];
        let mut end = i;
        while end + 2 < children.len()
            && children[end + 1].kind() == "::"
            && children[end + 2].kind() == "identifier"
        {
            segments.push(text(children[end + 2], src).to_string());
            end += 2;
        }
        if segments.len() >= 2 {
            out.push(Import::at(
                root,
                segments.join("::"),
                ImportKind::Static,
                Spec::RustPath { segments },
            ));
        }
        i = end + 1;
    }
}

#[cfg(test)]
mod tests {
    use crate::boundary::imports::{extract, ImportKind, Lang, Spec};

    #[test]
    fn rust_every_form() {
        let source = r#"use std::collections::HashMap;
use crate::a::{b, c::d as e, f::*, self};
pub use super::g::H;
pub(crate) use self::i;
use ::serde::Serialize;
use other_crate::{x::{y, z}, w as v};
mod m;
#[cfg(unix)]
#[path = "impl/unix.rs"]
mod platform;
mod inline { use super::m; }
extern crate alloc;
fn f() -> crate::cli::Out { crate::cli::run(); let _ = std::mem::size_of::<u8>(); self::m::go() }
"#;
        use ImportKind::*;
        let path = |s: &str| Spec::RustPath {
            segments: s.split("::").map(String::from).collect(),
        };
        let got: Vec<_> = extract(Lang::Rust, source)
            .into_iter()
            .map(|i| (i.line, i.col, i.text, i.kind, i.spec))
            .collect();
        let expected = vec![
            (
                1,
                5,
                "std::collections::HashMap".to_string(),
                Static,
                path("std::collections::HashMap"),
            ),
            (2, 16, "crate::a::b".into(), Static, path("crate::a::b")),
            (
                2,
                19,
                "crate::a::c::d".into(),
                Static,
                path("crate::a::c::d"),
            ),
            (
                2,
                30,
                "crate::a::f::*".into(),
                Static,
                path("crate::a::f::*"),
            ),
            (2, 36, "crate::a".into(), Static, path("crate::a")),
            (3, 9, "super::g::H".into(), ReExport, path("super::g::H")),
            (4, 16, "self::i".into(), ReExport, path("self::i")),
            (
                5,
                5,
                "serde::Serialize".into(),
                Static,
                path("serde::Serialize"),
            ),
            (
                6,
                23,
                "other_crate::x::y".into(),
                Static,
                path("other_crate::x::y"),
            ),
            (
                6,
                26,
                "other_crate::x::z".into(),
                Static,
                path("other_crate::x::z"),
            ),
            (
                6,
                30,
                "other_crate::w".into(),
                Static,
                path("other_crate::w"),
            ),
            (
                7,
                5,
                "mod m".into(),
                Static,
                Spec::RustMod {
                    name: "m".into(),
                    path: None,
                },
            ),
            (
                10,
                5,
                "mod platform".into(),
                Static,
                Spec::RustMod {
                    name: "platform".into(),
                    path: Some("impl/unix.rs".into()),
                },
            ),
            (11, 18, "super::m".into(), Static, path("super::m")),
            (
                12,
                14,
                "extern crate alloc".into(),
                Static,
                Spec::RustCrate {
                    name: "alloc".into(),
                },
            ),
            (
                13,
                11,
                "crate::cli::Out".into(),
                Static,
                path("crate::cli::Out"),
            ),
            (
                13,
                29,
                "crate::cli::run".into(),
                Static,
                path("crate::cli::run"),
            ),
            (13, 83, "self::m::go".into(), Static, path("self::m::go")),
        ];
        assert_eq!(got, expected);
    }

    #[test]
    fn rust_paths_inside_macro_arguments() {
        let source = "fn f() {\n    println!(\"{}\", crate::cli::format::short(x, self::y::z()));\n    vec![super::a::b, other::c];\n}\n";
        let got: Vec<_> = extract(Lang::Rust, source)
            .into_iter()
            .map(|i| (i.line, i.col, i.text))
            .collect();
        assert_eq!(
            got,
            vec![
                (2, 20, "crate::cli::format::short".to_string()),
                (2, 49, "self::y::z".to_string()),
                (3, 10, "super::a::b".to_string()),
            ]
        );
    }
}
