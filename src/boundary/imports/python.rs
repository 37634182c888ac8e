//! Python: `import a.b`, `from M import n` (absolute and relative), imports anywhere in the
//! file, `if TYPE_CHECKING:` blocks as type-only, `__import__` / `importlib.import_module`.

use std::ops::Range;

use tree_sitter::Node;

use super::{text, Captures, Import, ImportKind, Spec};

pub(super) fn collect(matches: &[Captures], src: &[u8]) -> Vec<Import> {
    let type_blocks: Vec<Range<usize>> = matches
        .iter()
        .filter_map(|m| m.get("type_checking"))
        .map(|n| n.byte_range())
        .collect();
    let kind_of = |node: Node| {
        let inside = type_blocks
            .iter()
            .any(|r| r.start <= node.start_byte() && node.end_byte() <= r.end);
        if inside {
            ImportKind::TypeOnly
        } else {
            ImportKind::Static
        }
    };
    let importlib = ImportlibNames::of(matches, src);
    let mut out = Vec::new();
    for m in matches {
        if let Some(stmt) = m.get("import") {
            out.extend(import_statement(stmt, src, kind_of(stmt)));
        } else if let Some(stmt) = m.get("from") {
            out.extend(from_statement(stmt, src, kind_of(stmt)));
        } else if let (Some(_), Some(args)) = (m.get("dynamic"), m.get("args")) {
            out.extend(dynamic(args, src, false));
        } else if let (Some(call), Some(args)) = (m.get("import_module"), m.get("args")) {
            if importlib.calls(call, src) {
                out.extend(dynamic(args, src, true));
            }
        }
    }
    out
}

/// The captures `grammars/python.scm` gives for matches rooted at `node`, found without
/// the query (compiling and running it cost more than the walk): import statements,
/// `TYPE_CHECKING` blocks (the consequence of `if TYPE_CHECKING:`, every `elif`/`else` of
/// `if not TYPE_CHECKING:`), and `__import__`/`import_module` calls with their arguments.
pub(super) fn captures_at<'t>(node: Node<'t>, src: &[u8]) -> Vec<Captures<'t>> {
    let one = |names: Vec<(&'static str, Node<'t>)>| vec![Captures { names }];
    match node.kind() {
        "import_statement" => one(vec![("import", node)]),
        "import_from_statement" => one(vec![("from", node)]),
        "if_statement" => type_checking_blocks(node, src)
            .into_iter()
            .map(|block| Captures {
                names: vec![("type_checking", block)],
            })
            .collect(),
        "call" => match import_call(node, src) {
            Some((capture, args)) => one(vec![(capture, node), ("args", args)]),
            None => Vec::new(),
        },
        _ => Vec::new(),
    }
}

/// `if TYPE_CHECKING:` / `if x.TYPE_CHECKING:`: the consequence block; `if not ...:` the
/// `elif` and `else` clauses.
fn type_checking_blocks<'t>(stmt: Node<'t>, src: &[u8]) -> Vec<Node<'t>> {
    let Some(condition) = stmt.child_by_field_name("condition") else {
        return Vec::new();
    };
    if names_type_checking(condition, src) {
        let block = stmt.child_by_field_name("consequence");
        return block.filter(|b| b.kind() == "block").into_iter().collect();
    }
    let negated = condition.kind() == "not_operator"
        && condition
            .child_by_field_name("argument")
            .is_some_and(|a| names_type_checking(a, src));
    if !negated {
        return Vec::new();
    }
    let mut cursor = stmt.walk();
    stmt.children_by_field_name("alternative", &mut cursor)
        .filter(|c| matches!(c.kind(), "elif_clause" | "else_clause"))
        .collect()
}

/// `TYPE_CHECKING` or `anything.TYPE_CHECKING`.
fn names_type_checking(node: Node, src: &[u8]) -> bool {
    let name = match node.kind() {
        "identifier" => Some(node),
        "attribute" => node
            .child_by_field_name("attribute")
            .filter(|a| a.kind() == "identifier"),
        _ => None,
    };
    name.is_some_and(|n| text(n, src) == "TYPE_CHECKING")
}

/// `__import__(...)` (capture `dynamic`), `import_module(...)` and `x.import_module(...)`
/// (capture `import_module`), with the argument list.
fn import_call<'t>(call: Node<'t>, src: &[u8]) -> Option<(&'static str, Node<'t>)> {
    let function = call.child_by_field_name("function")?;
    let args = call
        .child_by_field_name("arguments")
        .filter(|a| a.kind() == "argument_list")?;
    let capture = match function.kind() {
        "identifier" => match text(function, src) {
            "__import__" => "dynamic",
            "import_module" => "import_module",
            _ => return None,
        },
        "attribute" => {
            let object = function.child_by_field_name("object")?;
            let attribute = function.child_by_field_name("attribute")?;
            let plain = object.kind() == "identifier" && attribute.kind() == "identifier";
            if !plain || text(attribute, src) != "import_module" {
                return None;
            }
            "import_module"
        }
        _ => return None,
    };
    Some((capture, args))
}

/// How a file can name `importlib.import_module`: `importlib` itself, the aliases of
/// `import importlib as il`, and `import_module` when `from importlib import import_module`.
struct ImportlibNames {
    modules: Vec<String>,
    function_imported: bool,
}

impl ImportlibNames {
    fn of(matches: &[Captures], src: &[u8]) -> ImportlibNames {
        let mut names = ImportlibNames {
            modules: vec!["importlib".to_string()],
            function_imported: false,
        };
        for m in matches {
            if let Some(stmt) = m.get("import") {
                names.modules.extend(importlib_aliases(stmt, src));
            } else if let Some(stmt) = m.get("from") {
                names.function_imported |= imports_import_module(stmt, src);
            }
        }
        names
    }

    fn calls(&self, call: Node, src: &[u8]) -> bool {
        let Some(function) = call.child_by_field_name("function") else {
            return false;
        };
        match function.child_by_field_name("object") {
            Some(object) => self.modules.iter().any(|m| m == text(object, src)),
            None => self.function_imported,
        }
    }
}

/// `il` of `import importlib as il`.
fn importlib_aliases(stmt: Node, src: &[u8]) -> Vec<String> {
    let mut cursor = stmt.walk();
    stmt.children_by_field_name("name", &mut cursor)
        .filter(|n| n.kind() == "aliased_import")
        .filter(|n| n.child_by_field_name("name").map(|m| text(m, src)) == Some("importlib"))
        .filter_map(|n| n.child_by_field_name("alias"))
        .map(|alias| text(alias, src).to_string())
        .collect()
}

/// `from importlib import import_module` (not aliased: an alias is not searched for).
fn imports_import_module(stmt: Node, src: &[u8]) -> bool {
    let from_importlib = stmt
        .child_by_field_name("module_name")
        .is_some_and(|m| text(m, src) == "importlib");
    let mut cursor = stmt.walk();
    let imported = stmt
        .children_by_field_name("name", &mut cursor)
        .any(|n| n.kind() == "dotted_name" && text(n, src) == "import_module");
    from_importlib && imported
}

/// `import a.b, c as d`: one import per module.
fn import_statement(stmt: Node, src: &[u8], kind: ImportKind) -> Vec<Import> {
    let mut cursor = stmt.walk();
    stmt.children_by_field_name("name", &mut cursor)
        .filter_map(|name| dotted(name, src))
        .map(|(node, module)| {
            let spec = Spec::Python {
                level: 0,
                module: module.clone(),
                name: None,
            };
            Import::at(node, module, kind, spec)
        })
        .collect()
}

/// `from M import a, b as c` / `from . import x` / `from M import *`: one import per name,
/// because each name may be a submodule (its own file) or an attribute of M.
fn from_statement(stmt: Node, src: &[u8], kind: ImportKind) -> Vec<Import> {
    let Some(module_node) = stmt.child_by_field_name("module_name") else {
        return Vec::new();
    };
    let (level, module) = module_name(module_node, src);
    let written = text(module_node, src).to_string();
    let mut cursor = stmt.walk();
    let names: Vec<(Node, String)> = stmt
        .children_by_field_name("name", &mut cursor)
        .filter_map(|n| dotted(n, src))
        .collect();
    if names.is_empty() {
        // `from M import *`
        let spec = Spec::Python {
            level,
            module,
            name: None,
        };
        return vec![Import::at(module_node, written, kind, spec)];
    }
    names
        .into_iter()
        .map(|(node, name)| {
            let joined = if written.ends_with('.') {
                format!("{written}{name}")
            } else {
                format!("{written}.{name}")
            };
            let spec = Spec::Python {
                level,
                module: module.clone(),
                name: Some(name),
            };
            Import::at(node, joined, kind, spec)
        })
        .collect()
}

/// The dotted name of a `dotted_name` or `aliased_import` node, with the node to point at.
fn dotted<'t>(node: Node<'t>, src: &[u8]) -> Option<(Node<'t>, String)> {
    let target = match node.kind() {
        "aliased_import" => node.child_by_field_name("name")?,
        "dotted_name" => node,
        _ => return None,
    };
    Some((target, strip_spaces(text(target, src))))
}

/// (number of leading dots, dotted module) of a `module_name` field.
fn module_name(node: Node, src: &[u8]) -> (u32, String) {
    let written = strip_spaces(text(node, src));
    let level = written.chars().take_while(|c| *c == '.').count();
    (level as u32, written[level..].to_string())
}

fn strip_spaces(s: &str) -> String {
    s.chars().filter(|c| !c.is_whitespace()).collect()
}

/// `__import__("a.b")` / `importlib.import_module("a.b")`. A relative name given to
/// `import_module` is relative to its `package` argument (`import_module(".x", "a.b")` is
/// `a.b.x`), not to the calling file: with a literal package it resolves from there, with a
/// computed one (or none, which Python refuses) it cannot be resolved statically.
fn dynamic(args: Node, src: &[u8], package_arg: bool) -> Option<Import> {
    let mut cursor = args.walk();
    let mut positional = args
        .named_children(&mut cursor)
        .filter(|n| n.kind() != "keyword_argument" && n.kind() != "comment");
    let first = positional.next()?;
    let computed = || {
        Import::at(
            first,
            text(first, src).to_string(),
            ImportKind::Dynamic,
            Spec::NonLiteral,
        )
    };
    let Some(value) = string_value(first, src) else {
        return Some(computed());
    };
    let level = value.chars().take_while(|c| *c == '.').count();
    let module = if package_arg && level > 0 {
        let package = positional
            .next()
            .or_else(|| keyword_argument(args, "package", src))
            .and_then(|p| string_value(p, src));
        match package.and_then(|p| anchored(&p, level, &value[level..])) {
            Some(absolute) => absolute,
            None => return Some(computed()),
        }
    } else {
        value[level..].to_string()
    };
    let level = if package_arg { 0 } else { level as u32 };
    let spec = Spec::Python {
        level,
        module,
        name: None,
    };
    Some(Import::at(first, value, ImportKind::Dynamic, spec))
}

/// The value of `name=...` among a call's arguments.
fn keyword_argument<'t>(args: Node<'t>, name: &str, src: &[u8]) -> Option<Node<'t>> {
    let mut cursor = args.walk();
    let found = args
        .named_children(&mut cursor)
        .filter(|n| n.kind() == "keyword_argument")
        .find(|n| n.child_by_field_name("name").map(|k| text(k, src)) == Some(name))?;
    found.child_by_field_name("value")
}

/// `name` (after `level` dots) relative to the package `package`, as importlib resolves it:
/// one dot is the package itself, each further dot its parent.
fn anchored(package: &str, level: usize, name: &str) -> Option<String> {
    let parts: Vec<&str> = package.split('.').filter(|p| !p.is_empty()).collect();
    let keep = parts.len().checked_sub(level - 1).filter(|k| *k > 0)?;
    let mut module = parts[..keep].join(".");
    if !name.is_empty() {
        module.push('.');
        module.push_str(name);
    }
    Some(module)
}

/// A plain string literal (no f-string interpolation, no implicit concatenation).
fn string_value(node: Node, src: &[u8]) -> Option<String> {
    if node.kind() != "string" {
        return None;
    }
    let mut cursor = node.walk();
    let mut value = String::new();
    for child in node.named_children(&mut cursor) {
        match child.kind() {
            "string_start" | "string_end" => {}
            "string_content" => value.push_str(text(child, src)),
            _ => return None,
        }
    }
    Some(value)
}

#[cfg(test)]
mod tests {
    use crate::boundary::imports::{extract, ImportKind, Lang, Spec};

    #[test]
    fn python_every_form() {
        let source = r#"import os
import a.b, c.d as e
from . import x
from .. import y as z
from ..a import b
from .sib.mod import (f, g)
from pkg.mod import *
from __future__ import annotations
from typing import TYPE_CHECKING
if TYPE_CHECKING:
    from pkg.types import T
    import pkg.heavy
if typing.TYPE_CHECKING:
    import pkg.other

def lazy():
    import pkg.inner
    return __import__("pkg.dyn")

m = importlib.import_module(name)
n = importlib.import_module("pkg.plugin")
"#;
        use ImportKind::*;
        let got: Vec<_> = extract(Lang::Python, source)
            .into_iter()
            .map(|i| (i.line, i.col, i.text, i.kind, i.spec))
            .collect();
        let py = |level: u32, module: &str, name: Option<&str>| Spec::Python {
            level,
            module: module.into(),
            name: name.map(Into::into),
        };
        let expected = vec![
            (1, 8, "os".to_string(), Static, py(0, "os", None)),
            (2, 8, "a.b".into(), Static, py(0, "a.b", None)),
            (2, 13, "c.d".into(), Static, py(0, "c.d", None)),
            (3, 15, ".x".into(), Static, py(1, "", Some("x"))),
            (4, 16, "..y".into(), Static, py(2, "", Some("y"))),
            (5, 17, "..a.b".into(), Static, py(2, "a", Some("b"))),
            (
                6,
                23,
                ".sib.mod.f".into(),
                Static,
                py(1, "sib.mod", Some("f")),
            ),
            (
                6,
                26,
                ".sib.mod.g".into(),
                Static,
                py(1, "sib.mod", Some("g")),
            ),
            (7, 6, "pkg.mod".into(), Static, py(0, "pkg.mod", None)),
            (
                9,
                20,
                "typing.TYPE_CHECKING".into(),
                Static,
                py(0, "typing", Some("TYPE_CHECKING")),
            ),
            (
                11,
                27,
                "pkg.types.T".into(),
                TypeOnly,
                py(0, "pkg.types", Some("T")),
            ),
            (
                12,
                12,
                "pkg.heavy".into(),
                TypeOnly,
                py(0, "pkg.heavy", None),
            ),
            (
                14,
                12,
                "pkg.other".into(),
                TypeOnly,
                py(0, "pkg.other", None),
            ),
            (17, 12, "pkg.inner".into(), Static, py(0, "pkg.inner", None)),
            (18, 23, "pkg.dyn".into(), Dynamic, py(0, "pkg.dyn", None)),
            (20, 29, "name".into(), Dynamic, Spec::NonLiteral),
            (
                21,
                29,
                "pkg.plugin".into(),
                Dynamic,
                py(0, "pkg.plugin", None),
            ),
        ];
        assert_eq!(got, expected);
    }

    /// `import_module`'s relative names are relative to its `package` argument.
    #[test]
    fn import_module_relative_to_its_package_argument() {
        let source = r#"from importlib import import_module
import_module(".sub", "pkg.mod")
import_module("..up", package="pkg.mod")
import_module(".", "pkg")
import_module(".x", app.name)
import_module(".y")
import_module("...too.far", "pkg.mod")
import_module("plain.name", "ignored")
"#;
        let got: Vec<_> = extract(Lang::Python, source)
            .into_iter()
            .filter(|i| i.kind == ImportKind::Dynamic)
            .map(|i| (i.line, i.text, i.spec))
            .collect();
        let abs = |module: &str| Spec::Python {
            level: 0,
            module: module.into(),
            name: None,
        };
        let expected = vec![
            (2, ".sub".to_string(), abs("pkg.mod.sub")),
            (3, "..up".into(), abs("pkg.up")),
            (4, ".".into(), abs("pkg")),
            (5, "\".x\"".into(), Spec::NonLiteral),
            (6, "\".y\"".into(), Spec::NonLiteral),
            (7, "\"...too.far\"".into(), Spec::NonLiteral),
            (8, "plain.name".into(), abs("plain.name")),
        ];
        assert_eq!(got, expected);
    }
}
