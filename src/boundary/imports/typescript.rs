//! TypeScript / TSX / JavaScript: ES imports and re-exports (incl. `import type`,
//! `export type *`), side-effect imports, `import x = require()`, `import()` and `require()`
//! calls (literal or not; `import("x")` in a type is type-only), triple-slash references.

use tree_sitter::Node;

use super::{text, Captures, Import, ImportKind, Spec};

pub(super) fn collect(matches: &[Captures], src: &[u8]) -> Vec<Import> {
    let mut out = Vec::new();
    for m in matches {
        if let Some(stmt) = m.get("import") {
            out.extend(import_statement(stmt, src));
        } else if let Some(stmt) = m.get("reexport") {
            let Some(source) = stmt
                .child_by_field_name("source")
                .filter(|s| s.kind() == "string")
            else {
                continue;
            };
            let kind = if is_type_only_export(stmt, src) {
                ImportKind::TypeOnly
            } else {
                ImportKind::ReExport
            };
            out.push(literal(source, src, kind));
        } else if let Some(expr) = m.get("call") {
            out.extend(import_or_require_call(expr, src));
        } else if let Some(comment) = m.get("reference") {
            out.extend(reference(comment, src));
        }
    }
    out
}

/// `import(x)` (type-only in a type position) or `require(x)`; other calls are no import.
fn import_or_require_call(expr: Node, src: &[u8]) -> Option<Import> {
    let function = expr.child_by_field_name("function")?;
    let args = expr
        .child_by_field_name("arguments")
        .filter(|a| a.kind() == "arguments")?;
    let kind = match function.kind() {
        "import" if in_type_position(expr) => ImportKind::TypeOnly,
        "import" => ImportKind::Dynamic,
        "identifier" if text(function, src) == "require" => ImportKind::Require,
        _ => return None,
    };
    call(args, src, kind)
}

fn import_statement(stmt: Node, src: &[u8]) -> Option<Import> {
    let mut cursor = stmt.walk();
    if let Some(clause) = stmt
        .named_children(&mut cursor)
        .find(|c| c.kind() == "import_require_clause")
    {
        return Some(literal(
            clause.child_by_field_name("source")?,
            src,
            ImportKind::Require,
        ));
    }
    let source = stmt.child_by_field_name("source")?;
    let kind = if has_token(stmt, "type") || only_type_specifiers(stmt) {
        ImportKind::TypeOnly
    } else {
        ImportKind::Static
    };
    Some(literal(source, src, kind))
}

/// `import { type A, type B } from "x"`: every binding is a type, so the import is too.
fn only_type_specifiers(stmt: Node) -> bool {
    let mut cursor = stmt.walk();
    let Some(clause) = stmt
        .named_children(&mut cursor)
        .find(|c| c.kind() == "import_clause")
    else {
        return false;
    };
    let mut inner = clause.walk();
    let parts: Vec<Node> = clause.named_children(&mut inner).collect();
    match parts.as_slice() {
        [named] if named.kind() == "named_imports" => all_typed(*named, "import_specifier"),
        _ => false,
    }
}

/// Whether `list` has specifiers of `kind` and each is marked `type`.
fn all_typed(list: Node, kind: &str) -> bool {
    let mut cursor = list.walk();
    let specifiers: Vec<Node> = list
        .named_children(&mut cursor)
        .filter(|s| s.kind() == kind)
        .collect();
    !specifiers.is_empty() && specifiers.iter().all(|s| has_token(*s, "type"))
}

/// `export type { A } from`, `export { type A } from`, `export type * from` (which this
/// grammar does not know: it parses `type *` as an error node).
fn is_type_only_export(stmt: Node, src: &[u8]) -> bool {
    let mut cursor = stmt.walk();
    let children: Vec<Node> = stmt.named_children(&mut cursor).collect();
    has_token(stmt, "type")
        || children.iter().any(|c| {
            (c.kind() == "export_clause" && all_typed(*c, "export_specifier"))
                || (c.is_error() && text(*c, src).starts_with("type"))
        })
}

/// Nodes below which everything is a type, never a value.
const TYPE_CONTEXTS: [&str; 13] = [
    "type_annotation",
    "opting_type_annotation",
    "omitting_type_annotation",
    "adding_type_annotation",
    "asserts_annotation",
    "type_predicate_annotation",
    "type_query",
    "type_alias_declaration",
    "type_arguments",
    "type_parameters",
    "interface_declaration",
    "implements_clause",
    "extends_type_clause",
];

/// `let v: import("./t").T`, `typeof import("./x")`, `x as import("./t").T`: an `import()`
/// that names a type and loads nothing.
fn in_type_position(node: Node) -> bool {
    let mut current = node;
    while let Some(parent) = current.parent() {
        if TYPE_CONTEXTS.contains(&parent.kind()) {
            return true;
        }
        let cast = matches!(parent.kind(), "as_expression" | "satisfies_expression");
        if cast && parent.named_child(0) != Some(current) {
            return true;
        }
        current = parent;
    }
    false
}

/// `/// <reference path="./x.d.ts" />` (a file, relative to this one even without `./`) and
/// `/// <reference types="pkg" />`; `lib=` names a built-in library and is no import.
fn reference(comment: Node, src: &[u8]) -> Option<Import> {
    let written = text(comment, src);
    let directive = written.strip_prefix("///")?.trim_start();
    if !directive.starts_with("<reference") {
        return None;
    }
    let (attribute, value, at) = ["path", "types"]
        .iter()
        .find_map(|a| attribute_value(written, a).map(|(v, at)| (*a, v, at)))?;
    let specifier = match attribute {
        "path" if !value.starts_with('.') && !value.starts_with('/') => format!("./{value}"),
        _ => value.to_string(),
    };
    let pos = comment.start_position();
    Some(Import {
        line: pos.row as u32 + 1,
        col: (pos.column + at) as u32 + 1,
        text: value.to_string(),
        kind: ImportKind::TypeOnly,
        spec: Spec::Module { specifier },
    })
}

/// The value of `name="..."` (or single-quoted) in a directive, and its byte offset.
fn attribute_value<'a>(directive: &'a str, name: &str) -> Option<(&'a str, usize)> {
    let mut search = 0;
    while let Some(found) = directive[search..].find(name) {
        let start = search + found;
        search = start + name.len();
        let preceded = directive[..start].ends_with(char::is_whitespace);
        let rest = directive[search..].trim_start();
        let Some(rest) = rest.strip_prefix('=').map(str::trim_start) else {
            continue;
        };
        let Some(quote) = rest.chars().next().filter(|q| *q == '"' || *q == '\'') else {
            continue;
        };
        let value_start = directive.len() - rest.len() + 1;
        let end = directive[value_start..].find(quote)?;
        if preceded {
            return Some((&directive[value_start..value_start + end], value_start));
        }
    }
    None
}

/// Whether `node` has a direct anonymous child token `token` (e.g. `type`).
fn has_token(node: Node, token: &str) -> bool {
    let mut cursor = node.walk();
    let found = node
        .children(&mut cursor)
        .any(|c| !c.is_named() && c.kind() == token);
    found
}

/// An import whose source is a string node.
fn literal(source: Node, src: &[u8], kind: ImportKind) -> Import {
    let specifier = string_value(source, src).unwrap_or_default();
    Import::at(source, specifier.clone(), kind, Spec::Module { specifier })
}

/// `import(arg)` / `require(arg)`: literal strings and substitution-free templates resolve;
/// anything else is reported as unresolvable.
fn call(args: Node, src: &[u8], kind: ImportKind) -> Option<Import> {
    let mut cursor = args.walk();
    let first = args.named_children(&mut cursor).next()?;
    Some(match string_value(first, src) {
        Some(specifier) => Import::at(first, specifier.clone(), kind, Spec::Module { specifier }),
        None => Import::at(first, text(first, src).to_string(), kind, Spec::NonLiteral),
    })
}

/// The value of a string literal or a template without substitutions.
fn string_value(node: Node, src: &[u8]) -> Option<String> {
    match node.kind() {
        "string" | "template_string" => {
            let mut cursor = node.walk();
            let mut value = String::new();
            for child in node.named_children(&mut cursor) {
                match child.kind() {
                    "string_fragment" => value.push_str(text(child, src)),
                    "escape_sequence" => value.push_str(text(child, src)),
                    _ => return None,
                }
            }
            Some(value)
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use crate::boundary::imports::{extract, ImportKind, Lang, Spec};

    fn summary(lang: Lang, source: &str) -> Vec<(u32, u32, String, ImportKind, bool)> {
        extract(lang, source)
            .into_iter()
            .map(|i| {
                let literal = i.spec != Spec::NonLiteral;
                (i.line, i.col, i.text, i.kind, literal)
            })
            .collect()
    }

    #[test]
    fn typescript_every_form() {
        let source = r#"import a from "./a";
import { b, c as d } from '../b';
import * as e from "@scope/pkg/sub";
import type { T } from "./types";
import { type U, type V } from "./types2";
import { type W, x } from "./mixed";
import "./side-effect";
export { y } from "./y";
export * from "./all";
export type { Z } from "./z";
import fs = require("fs");
const lazy = import("./lazy");
const dyn = import(name);
const tpl = import(`./tpl`);
const sub = import(`./tpl/${name}`);
const r = require("./req");
const rn = require(path);
function f() { return require("inner"); }
"#;
        use ImportKind::*;
        let expected = vec![
            (1, 15, "./a".to_string(), Static, true),
            (2, 27, "../b".into(), Static, true),
            (3, 20, "@scope/pkg/sub".into(), Static, true),
            (4, 24, "./types".into(), TypeOnly, true),
            (5, 32, "./types2".into(), TypeOnly, true),
            (6, 27, "./mixed".into(), Static, true),
            (7, 8, "./side-effect".into(), Static, true),
            (8, 19, "./y".into(), ReExport, true),
            (9, 15, "./all".into(), ReExport, true),
            (10, 24, "./z".into(), TypeOnly, true),
            (11, 21, "fs".into(), Require, true),
            (12, 21, "./lazy".into(), Dynamic, true),
            (13, 20, "name".into(), Dynamic, false),
            (14, 20, "./tpl".into(), Dynamic, true),
            (15, 20, "`./tpl/${name}`".into(), Dynamic, false),
            (16, 19, "./req".into(), Require, true),
            (17, 20, "path".into(), Require, false),
            (18, 31, "inner".into(), Require, true),
        ];
        assert_eq!(summary(Lang::TypeScript, source), expected);
    }

    #[test]
    fn tsx_and_javascript() {
        let tsx = "import React from 'react';\nimport type { P } from './p';\nexport const A = () => <div>{import('./x')}</div>;\n";
        assert_eq!(
            summary(Lang::Tsx, tsx),
            vec![
                (1, 19, "react".to_string(), ImportKind::Static, true),
                (2, 24, "./p".into(), ImportKind::TypeOnly, true),
                (3, 37, "./x".into(), ImportKind::Dynamic, true),
            ]
        );
        let js = "import x from './x.js';\nconst y = require('./y');\nexport { z } from './z';\nconst C = () => <a/>;\nimport('./d').then(m => m);\n";
        assert_eq!(
            summary(Lang::JavaScript, js),
            vec![
                (1, 15, "./x.js".to_string(), ImportKind::Static, true),
                (2, 19, "./y".into(), ImportKind::Require, true),
                (3, 19, "./z".into(), ImportKind::ReExport, true),
                (5, 8, "./d".into(), ImportKind::Dynamic, true),
            ]
        );
    }
}
