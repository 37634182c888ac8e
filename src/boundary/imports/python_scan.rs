//! A lexical prescan of Python sources: where the statements and calls that can yield an
//! import are, so that tree-sitter parses only those (`Parser::set_included_ranges`) instead
//! of the whole file. Parsing was ~75% of a cold check; an import statement is a few percent
//! of a file's bytes.
//!
//! The scan follows strings (prefixes, triple quotes, escapes, f-string replacement fields),
//! comments, brackets and line continuations, so a word in a string or comment is never taken
//! for code, nor code for a string. Wherever it cannot vouch for the result it asks for the
//! whole file to be parsed ([`Plan::Whole`]): an import keyword where no statement starts, an
//! f-string whose replacement fields name an import function, unbalanced brackets,
//! unterminated strings, tabs in the indentation of an `if ... TYPE_CHECKING` statement.
//!
//! An `if` whose condition names `TYPE_CHECKING` decides the kind of the imports inside it,
//! so the whole `if` statement (every `elif`/`else` branch) becomes a piece, each line cut to
//! the `if`'s own indentation: tree-sitter then sees the same block structure as in the file
//! and judges the condition itself.
//!
//! Pieces keep their original byte offsets and positions, so reported lines and columns are
//! those of the file.

use tree_sitter::{Point, Range};

/// What tree-sitter must parse to find every import of a file.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Plan {
    /// The file holds no import.
    Nothing,
    /// Parse the whole file.
    Whole,
    /// Parse `statements` together (each import statement ends in a newline or `;`, each
    /// `if` statement spans whole lines, so side by side they form a module), and each call
    /// on its own.
    Pieces {
        statements: Vec<Range>,
        calls: Vec<Range>,
    },
}

pub(super) fn plan(source: &str) -> Plan {
    if !source.contains("import") {
        return Plan::Nothing;
    }
    let mut scan = Scan::new(source.as_bytes());
    match scan.run() {
        Err(Unsure) => Plan::Whole,
        Ok(()) if scan.statements.is_empty() && scan.calls.is_empty() => Plan::Nothing,
        Ok(()) => Plan::Pieces {
            statements: scan.statements,
            calls: scan.calls,
        },
    }
}

/// The scan met something only the full parser can judge.
#[derive(Debug)]
struct Unsure;

type Step<T = ()> = Result<T, Unsure>;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Word,
    Dot,
    Open,
    Other,
}

#[derive(Debug, Clone, Copy)]
struct Token {
    start: usize,
    end: usize,
    kind: Kind,
}

/// Words tree-sitter does not parse as an identifier, so they cannot be the `importlib` of
/// `importlib.import_module(...)`.
const KEYWORDS: &[&str] = &[
    "False", "None", "True", "and", "as", "assert", "async", "await", "break", "class", "continue",
    "def", "del", "elif", "else", "except", "finally", "for", "from", "global", "if", "import",
    "in", "is", "lambda", "nonlocal", "not", "or", "pass", "raise", "return", "try", "while",
    "with", "yield", "print", "exec",
];

/// An import statement being read: where it starts, and whether its `import` keyword came.
struct OpenStatement {
    start: usize,
    point: Point,
    has_import: bool,
}

/// An `if ... TYPE_CHECKING ...:` statement being read: where its `if` is, and the
/// indentation (in spaces) of its line.
struct OpenBlock {
    start: usize,
    point: Point,
    indent: usize,
}

/// A call being read: where it starts, and the bracket depth its closing `)` returns to.
struct OpenCall {
    start: usize,
    point: Point,
    depth: u32,
}

struct Scan<'s> {
    src: &'s [u8],
    pos: usize,
    row: usize,
    line_start: usize,
    depth: u32,
    /// The next token starts a simple statement (after a newline, `;` or a block's `:`).
    at_statement_start: bool,
    /// The next token starts a logical line.
    at_line_start: bool,
    /// The indentation of the current logical line, `None` if it holds a tab or form feed.
    line_indent: Option<usize>,
    /// Where the current logical line's first token is.
    line_first: (usize, Point),
    /// The current logical line starts with `if` and its `:` has not come yet.
    in_if_header: bool,
    /// Just past the newline of the last logical line that held a token.
    last_code_end: Option<(usize, Point)>,
    block: Option<OpenBlock>,
    /// The last four tokens, newest last.
    recent: [Option<Token>; 4],
    statement: Option<OpenStatement>,
    call: Option<OpenCall>,
    /// `__import__` / `import_module` (or `x.import_module`) seen; a call if `(` comes next.
    callee: Option<(usize, Point)>,
    statements: Vec<Range>,
    calls: Vec<Range>,
    /// Set where a token could not return [`Unsure`] itself.
    unsure: bool,
}

impl<'s> Scan<'s> {
    fn new(src: &'s [u8]) -> Scan<'s> {
        Scan {
            src,
            pos: 0,
            row: 0,
            line_start: 0,
            depth: 0,
            at_statement_start: true,
            at_line_start: true,
            line_indent: Some(0),
            line_first: (0, Point { row: 0, column: 0 }),
            in_if_header: false,
            last_code_end: None,
            block: None,
            recent: [None; 4],
            statement: None,
            call: None,
            callee: None,
            statements: Vec::new(),
            calls: Vec::new(),
            unsure: false,
        }
    }

    fn point(&self, at: usize) -> Point {
        Point {
            row: self.row,
            column: at - self.line_start,
        }
    }

    fn peek(&self, ahead: usize) -> u8 {
        self.src.get(self.pos + ahead).copied().unwrap_or(0)
    }

    /// Past a `\n` at `self.pos`.
    fn newline(&mut self) {
        self.pos += 1;
        self.row += 1;
        self.line_start = self.pos;
    }

    fn run(&mut self) -> Step {
        while self.pos < self.src.len() {
            let byte = self.src[self.pos];
            match byte {
                b'\n' => self.end_of_line(),
                b' ' | b'\t' | b'\x0c' => self.pos += 1,
                b'\r' if self.peek(1) == b'\n' => self.pos += 1,
                b'\r' => return Err(Unsure),
                b'#' => self.skip_comment(),
                b'\\' => self.continuation()?,
                b'"' | b'\'' => {
                    let start = self.pos;
                    self.string(start, false)?;
                    self.token(start, Kind::Other);
                }
                b'(' | b'[' | b'{' => {
                    let start = self.pos;
                    self.pos += 1;
                    self.token(start, Kind::Open);
                    self.depth += 1;
                }
                b')' | b']' | b'}' => self.close_bracket()?,
                b';' => {
                    let start = self.pos;
                    self.pos += 1;
                    self.token(start, Kind::Other);
                    if self.depth == 0 {
                        self.end_statement();
                    }
                }
                b':' => {
                    let start = self.pos;
                    self.pos += 1;
                    let walrus = self.peek(0) == b'=';
                    self.token(start, Kind::Other);
                    if self.depth == 0 && !walrus {
                        self.at_statement_start = true;
                        self.in_if_header = false;
                    }
                }
                b'.' if !self.peek(1).is_ascii_digit() => {
                    let start = self.pos;
                    self.pos += 1;
                    self.token(start, Kind::Dot);
                }
                b'0'..=b'9' | b'.' => self.number(),
                b if is_word_byte(b) => self.word()?,
                _ => {
                    let start = self.pos;
                    self.pos += 1;
                    self.token(start, Kind::Other);
                }
            }
        }
        if self.depth > 0 || self.unsure {
            return Err(Unsure);
        }
        let end = (self.src.len(), self.point(self.src.len()));
        self.close_statement(end.0, end.1);
        self.close_block(end);
        Ok(())
    }

    fn end_of_line(&mut self) {
        let logical = self.depth == 0;
        self.newline();
        if logical {
            self.end_statement();
            if !self.at_line_start {
                self.last_code_end = Some((self.pos, self.point(self.pos)));
            }
            self.at_line_start = true;
            self.in_if_header = false;
        }
    }

    /// The first token of a logical line, at `start`: it may end an open `if` block.
    fn line_begins(&mut self, start: usize, kind: Kind) -> Step {
        // A string can be the first token, and the line may have moved on past it.
        self.line_first = (start, self.point_of(start));
        let line_start = start - self.line_first.1.column;
        let leading = &self.src[line_start..start];
        self.line_indent = leading.iter().all(|&b| b == b' ').then_some(leading.len());
        let word = if kind == Kind::Word {
            &self.src[start..self.pos]
        } else {
            b""
        };
        self.in_if_header = word == b"if";
        let Some(block) = &self.block else {
            return Ok(());
        };
        let Some(indent) = self.line_indent else {
            return Err(Unsure);
        };
        let inside =
            indent > block.indent || (indent == block.indent && matches!(word, b"elif" | b"else"));
        if !inside {
            let end = self
                .last_code_end
                .expect("the block's own header line ended");
            self.close_block(end);
        }
        Ok(())
    }

    /// `TYPE_CHECKING` in the header of an `if`: the whole statement becomes a piece. Calls
    /// already taken from the header are inside it.
    fn open_block(&mut self) -> Step {
        let indent = self.line_indent.ok_or(Unsure)?;
        let (start, point) = self.line_first;
        self.calls.retain(|call| call.start_byte < start);
        self.call = None;
        self.callee = None;
        self.block = Some(OpenBlock {
            start,
            point,
            indent,
        });
        Ok(())
    }

    /// The ranges of a finished `if` block: its first line from the `if`, every further line
    /// without the first `indent` bytes of its indentation, so the block keeps its shape.
    fn close_block(&mut self, (end, end_point): (usize, Point)) {
        let Some(block) = self.block.take() else {
            return;
        };
        let (mut start, mut point) = (block.start, block.point);
        while start < end {
            let (line_end, line_end_point) =
                match self.src[start..end].iter().position(|&b| b == b'\n') {
                    Some(i) => (
                        start + i + 1,
                        Point {
                            row: point.row + 1,
                            column: 0,
                        },
                    ),
                    None => (end, end_point),
                };
            self.statements.push(Range {
                start_byte: start,
                end_byte: line_end,
                start_point: point,
                end_point: line_end_point,
            });
            let cut = self.src[line_end..end]
                .iter()
                .take(block.indent)
                .take_while(|&&b| b == b' ')
                .count();
            start = line_end + cut;
            point = Point {
                row: line_end_point.row,
                column: cut,
            };
        }
    }

    /// At a newline or `;` ending a simple statement (`self.pos` is just past it).
    fn end_statement(&mut self) {
        self.close_statement(self.pos, self.point(self.pos));
        self.callee = None;
        self.at_statement_start = true;
    }

    fn close_statement(&mut self, end: usize, end_point: Point) {
        if let Some(open) = self.statement.take() {
            // A `from` that never reached `import` is broken code: leave it out rather than
            // let it disturb the statements parsed beside it.
            if open.has_import {
                self.statements.push(Range {
                    start_byte: open.start,
                    end_byte: end,
                    start_point: open.point,
                    end_point,
                });
            }
        }
    }

    fn skip_comment(&mut self) {
        while self.pos < self.src.len() && self.src[self.pos] != b'\n' {
            self.pos += 1;
        }
    }

    fn continuation(&mut self) -> Step {
        match (self.peek(1), self.peek(2)) {
            (b'\n', _) => {
                self.pos += 1;
                self.newline();
            }
            (b'\r', b'\n') => {
                self.pos += 2;
                self.newline();
            }
            _ => return Err(Unsure),
        }
        Ok(())
    }

    fn close_bracket(&mut self) -> Step {
        if self.depth == 0 {
            return Err(Unsure);
        }
        let start = self.pos;
        self.pos += 1;
        self.token(start, Kind::Other);
        self.depth -= 1;
        if self.call.as_ref().is_some_and(|c| c.depth == self.depth) {
            let open = self.call.take().expect("checked");
            self.calls.push(Range {
                start_byte: open.start,
                end_byte: self.pos,
                start_point: open.point,
                end_point: self.point(self.pos),
            });
        }
        Ok(())
    }

    fn number(&mut self) {
        let start = self.pos;
        while self.pos < self.src.len()
            && (self.src[self.pos].is_ascii_alphanumeric()
                || matches!(self.src[self.pos], b'_' | b'.'))
        {
            self.pos += 1;
        }
        self.token(start, Kind::Other);
    }

    /// Reads the word at `self.pos`.
    fn read_word(&mut self) -> &'s [u8] {
        let start = self.pos;
        while self.pos < self.src.len()
            && (is_word_byte(self.src[self.pos]) || self.src[self.pos].is_ascii_digit())
        {
            self.pos += 1;
        }
        &self.src[start..self.pos]
    }

    /// If `word` (just read, from `start`) is a string prefix and a quote follows, reads the
    /// string too and says so.
    fn prefixed_string(&mut self, start: usize, word: &[u8]) -> Step<bool> {
        if !(matches!(self.peek(0), b'"' | b'\'') && is_string_prefix(word)) {
            return Ok(false);
        }
        let formatted = word.iter().any(|b| matches!(b, b'f' | b'F' | b't' | b'T'));
        self.string(start, formatted)?;
        Ok(true)
    }

    fn word(&mut self) -> Step {
        let start = self.pos;
        let word = self.read_word();
        if self.prefixed_string(start, word)? {
            self.token(start, Kind::Other);
            return Ok(());
        }
        let first_of_statement = self.at_statement_start && self.depth == 0;
        self.token(start, Kind::Word);
        if self.block.is_some() {
            // The whole `if` statement is parsed: nothing inside it needs a piece of its own.
            return Ok(());
        }
        match word {
            b"from" if first_of_statement => self.open_statement(start),
            b"import" if first_of_statement => {
                self.open_statement(start);
                self.mark_import();
            }
            b"import" => match &mut self.statement {
                Some(open) if self.depth == 0 => open.has_import = true,
                _ => return Err(Unsure),
            },
            b"TYPE_CHECKING" if self.in_if_header && self.statement.is_none() => {
                self.open_block()?
            }
            b"__import__" | b"import_module" => self.callee_named(start, word),
            _ => {}
        }
        Ok(())
    }

    fn open_statement(&mut self, start: usize) {
        self.statement = Some(OpenStatement {
            start,
            point: self.point(start),
            has_import: false,
        });
    }

    fn mark_import(&mut self) {
        if let Some(open) = &mut self.statement {
            open.has_import = true;
        }
    }

    /// `__import__` or `import_module` just read (it is `recent[3]`): a call of it counts as
    /// the query's `(call function: (identifier))`, or for `import_module` also
    /// `(call function: (attribute object: (identifier)))`. Where it is the name of a `def`,
    /// an attribute of something longer than one name, or inside a statement or call already
    /// taken whole, there is nothing to add.
    fn callee_named(&mut self, start: usize, word: &[u8]) {
        if self.statement.is_some() || self.call.is_some() {
            return;
        }
        let [fourth, third, second, _] = self.recent;
        let is_attribute = second.is_some_and(|t| t.kind == Kind::Dot);
        let callee_start = if !is_attribute {
            if second.is_some_and(|t| matches!(self.text(t), b"def" | b"class")) {
                return;
            }
            start
        } else {
            if word == b"__import__" {
                return;
            }
            let Some(object) = third.filter(|t| t.kind == Kind::Word) else {
                return;
            };
            let object_text = std::str::from_utf8(self.text(object)).unwrap_or("");
            if KEYWORDS.contains(&object_text) || fourth.is_some_and(|t| t.kind == Kind::Dot) {
                return;
            }
            object.start
        };
        self.callee = Some((callee_start, self.point_of(callee_start)));
    }

    /// The position of a byte at or before `self.pos`, on this line or an earlier one.
    fn point_of(&self, at: usize) -> Point {
        if at >= self.line_start {
            return self.point(at);
        }
        let before = &self.src[..at];
        let row = self.row
            - self.src[at..self.line_start]
                .iter()
                .filter(|&&b| b == b'\n')
                .count();
        let line_start = before
            .iter()
            .rposition(|&b| b == b'\n')
            .map_or(0, |i| i + 1);
        Point {
            row,
            column: at - line_start,
        }
    }

    fn text(&self, token: Token) -> &'s [u8] {
        &self.src[token.start..token.end]
    }

    /// Every token passes here: it may start a simple statement, open a pending call, and
    /// becomes the newest of `recent`.
    fn token(&mut self, start: usize, kind: Kind) {
        if self.at_line_start {
            self.at_line_start = false;
            if self.line_begins(start, kind).is_err() {
                self.unsure = true;
            }
        }
        if let Some((callee_start, point)) = self.callee.take() {
            if kind == Kind::Open && self.src[start] == b'(' {
                self.call = Some(OpenCall {
                    start: callee_start,
                    point,
                    depth: self.depth,
                });
            }
        }
        self.at_statement_start = false;
        self.recent = [
            self.recent[1],
            self.recent[2],
            self.recent[3],
            Some(Token {
                start,
                end: self.pos,
                kind,
            }),
        ];
    }

    /// A string literal whose prefix starts at `start` and whose opening quote is at
    /// `self.pos`; leaves `self.pos` past the closing quote.
    fn string(&mut self, start: usize, formatted: bool) -> Step {
        debug_assert!(start <= self.pos);
        let quote = self.src[self.pos];
        let triple = self.peek(1) == quote && self.peek(2) == quote;
        self.pos += if triple { 3 } else { 1 };
        loop {
            let Some(&byte) = self.src.get(self.pos) else {
                return Err(Unsure);
            };
            match byte {
                b'\\' => {
                    if self.peek(1) == b'\n' {
                        self.pos += 1;
                        self.newline();
                    } else {
                        self.pos += 2;
                    }
                }
                b'\n' if !triple => return Err(Unsure),
                b'\n' => self.newline(),
                b if b == quote => {
                    if !triple {
                        self.pos += 1;
                        return Ok(());
                    }
                    if self.peek(1) == quote && self.peek(2) == quote {
                        self.pos += 3;
                        return Ok(());
                    }
                    self.pos += 1;
                }
                b'{' if formatted && self.peek(1) == b'{' => self.pos += 2,
                b'{' if formatted => {
                    self.pos += 1;
                    self.replacement_field(quote, triple)?;
                }
                _ => self.pos += 1,
            }
        }
    }

    /// The `{...}` of an f-string, from just past its `{` to just past its `}`: code, then an
    /// optional `!r` and `:format spec` (which may hold fields of its own). In a single-quoted
    /// string the outer quote inside it is unsure: before Python 3.12 it ends the string,
    /// since 3.12 it may open a nested one. In a triple-quoted string one such quote opens a
    /// nested string in every version (`f"""{d["k"]}"""`); three are unsure. Import words
    /// inside it are left to the full parser.
    fn replacement_field(&mut self, quote: u8, triple: bool) -> Step {
        let mut nesting = 0u32;
        loop {
            let Some(&byte) = self.src.get(self.pos) else {
                return Err(Unsure);
            };
            match byte {
                b if b == quote && !triple => return Err(Unsure),
                b'\\' | b'#' => return Err(Unsure),
                b'\n' if !triple => return Err(Unsure),
                b'\n' => self.newline(),
                b'"' | b'\'' => {
                    let start = self.pos;
                    if triple && self.starts_triple(quote) {
                        return Err(Unsure);
                    }
                    self.string(start, false)?;
                    self.outer_quote_inside(start, quote, triple)?;
                }
                b'(' | b'[' | b'{' => {
                    nesting += 1;
                    self.pos += 1;
                }
                b')' | b']' if nesting == 0 => return Err(Unsure),
                b')' | b']' => {
                    nesting -= 1;
                    self.pos += 1;
                }
                b'}' if nesting == 0 => {
                    self.pos += 1;
                    return Ok(());
                }
                b'}' => {
                    nesting -= 1;
                    self.pos += 1;
                }
                b':' if nesting == 0 && self.peek(1) != b'=' => {
                    self.pos += 1;
                    return self.format_spec(quote, triple);
                }
                b if is_word_byte(b) => {
                    let start = self.pos;
                    let word = self.read_word();
                    if self.prefixed_string(start, word)? {
                        self.outer_quote_inside(start, quote, triple)?;
                    } else if matches!(word, b"import" | b"__import__" | b"import_module") {
                        return Err(Unsure);
                    }
                }
                _ => self.pos += 1,
            }
        }
    }

    /// A string nested in a replacement field holding the outer quote (three of them in a
    /// triple-quoted string) is read differently before and since Python 3.12.
    fn outer_quote_inside(&self, start: usize, quote: u8, triple: bool) -> Step {
        let inside = &self.src[start..self.pos];
        let ends_outer = match triple {
            true => inside.windows(3).any(|w| w == [quote; 3]),
            false => inside.contains(&quote),
        };
        if ends_outer {
            return Err(Unsure);
        }
        Ok(())
    }

    /// Whether three `quote`s start here.
    fn starts_triple(&self, quote: u8) -> bool {
        self.peek(0) == quote && self.peek(1) == quote && self.peek(2) == quote
    }

    /// After the `:` of a replacement field: literal text up to the field's `}`, with nested
    /// `{fields}`.
    fn format_spec(&mut self, quote: u8, triple: bool) -> Step {
        loop {
            let Some(&byte) = self.src.get(self.pos) else {
                return Err(Unsure);
            };
            match byte {
                b if b == quote => return Err(Unsure),
                b'\\' => return Err(Unsure),
                b'\n' if !triple => return Err(Unsure),
                b'\n' => self.newline(),
                b'{' => {
                    self.pos += 1;
                    self.replacement_field(quote, triple)?;
                }
                b'}' => {
                    self.pos += 1;
                    return Ok(());
                }
                _ => self.pos += 1,
            }
        }
    }
}

fn is_word_byte(byte: u8) -> bool {
    byte.is_ascii_alphabetic() || byte == b'_' || byte >= 0x80
}

/// `r`, `b`, `u`, `f`, `t` and their pairs (`rb`, `Rf`, ...), as tree-sitter-python reads them.
fn is_string_prefix(word: &[u8]) -> bool {
    (1..=2).contains(&word.len())
        && word
            .iter()
            .all(|b| matches!(b.to_ascii_lowercase(), b'r' | b'b' | b'u' | b'f' | b't'))
}

#[cfg(test)]
mod tests {
    use super::{plan, Plan};
    use crate::boundary::imports::{extract_with, Lang};

    fn is_pieces(source: &str) -> bool {
        matches!(plan(source), Plan::Pieces { .. })
    }

    /// Each source is read both ways, and must yield imports (so the comparison means
    /// something) and go the way the test says.
    fn assert_exact(cases: &[&str], in_pieces: bool) {
        for source in cases {
            let whole = extract_with(Lang::Python, source, false);
            assert!(!whole.is_empty(), "no imports in {source:?}");
            assert_eq!(extract_with(Lang::Python, source, true), whole, "{source}");
            assert_eq!(is_pieces(source), in_pieces, "{source}");
        }
    }

    #[test]
    fn pieces_give_what_the_whole_file_gives() {
        assert_exact(
            &[
                "import a\nx = 1; import b; from c import (d,\n   e as f)\n",
                "try: import a\nexcept ImportError: from b import c\nelse: import d",
                "def f():\n    '''\nimport not_code\n    '''\n    return __import__('x').y(g(import_module('h')))\n",
                "s = 'import no'; t = \"from x import no\"\n# import no\nimport yes  # trailing.\n",
                "from importlib import import_module\nm = [import_module(\n    'p.q',\n)]\n",
                "import importlib as il\n# ends with a dot.\nil.import_module('a')\nself.il.import_module('b')\n",
                "import importlib\ndef import_module(name):\n    return name\nimport_module('not.dynamic')\n",
                "import x\nv = f'{y!r:>{width}} import {z}'\nfrom . import w\n",
                "from a \\\n  import b\nimport c\r\nimport d\r\n",
                "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from a import T\nimport b\n",
                "from typing import TYPE_CHECKING\nclass C:\n    def f(self):\n        if TYPE_CHECKING:\n            import a\n\n            # note\n        else:\n            import b\n        import c\n    import d\n",
                "import typing\nif not typing.TYPE_CHECKING:\n    import a\nelif x:\n    import b\nelse:\n    import c\nimport d\n",
                "if TYPE_CHECKING: import a\nimport b\n",
                "if (TYPE_CHECKING or\n        x):\n    import a\nif x and importlib.import_module('p') and TYPE_CHECKING:\n    import b\n",
                "if x:\n    import a\nelif TYPE_CHECKING:\n    import b\nwhile TYPE_CHECKING:\n    import c\n",
                "if TYPE_CHECKING:\n    x = '''\nimport text\n'''\n    import a\nimport b",
                "import a\nq = f\"\"\"\nSELECT {d[\"k\"]} import {e['\"']}\n\"\"\"\nfrom b import c\n",
            ],
            true,
        );
    }

    #[test]
    fn what_the_prescan_cannot_vouch_for_is_parsed_whole() {
        assert_exact(
            &[
                "import a\nx = f'{__import__(\"os\")}'\n",
                "import a\nif TYPE_CHECKING:\n\timport b\n",
                "import a\nx = (1,\nimport b\n",
                "import a\nx = 'open\nimport b\n",
                "import a\nq = f\"\"\"{'\"\"\"'}\"\"\"\nimport b\n",
            ],
            false,
        );
    }

    #[test]
    fn files_without_imports_are_not_parsed() {
        for source in [
            "x = 1\n",
            "s = 'important'\n# imports\n",
            "def importer(): pass\n",
        ] {
            assert_eq!(plan(source), Plan::Nothing, "{source}");
        }
    }
}
