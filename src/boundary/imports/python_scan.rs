//! A lexical prescan of Python sources: where the statements and calls that can yield an
//! import are, so that tree-sitter parses only those (`Parser::set_included_ranges`) instead
//! of the whole file. Parsing was ~75% of a cold check; an import statement is a few percent
//! of a file's bytes.
//!
//! The scan follows strings (prefixes, triple quotes, escapes, f-string replacement fields),
//! comments, brackets and line continuations, so a word in a string or comment is never taken
//! for code, nor code for a string. Wherever it cannot vouch for the result it asks for the
//! whole file to be parsed ([`Plan::Whole`]): a `TYPE_CHECKING` in code (the `if` around an
//! import decides its kind), an import keyword where no statement starts, an f-string whose
//! replacement fields name an import function, unbalanced brackets, unterminated strings.
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
    /// Parse `statements` together (each ends in a newline or `;`, so side by side they form
    /// a module of import statements), and each call on its own.
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
    "False", "None", "True", "and", "as", "assert", "async", "await", "break", "class",
    "continue", "def", "del", "elif", "else", "except", "finally", "for", "from", "global", "if",
    "import", "in", "is", "lambda", "nonlocal", "not", "or", "pass", "raise", "return", "try",
    "while", "with", "yield", "print", "exec",
];

/// An import statement being read: where it starts, and whether its `import` keyword came.
struct OpenStatement {
    start: usize,
    point: Point,
    has_import: bool,
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
    /// The last three tokens, newest last.
    recent: [Option<Token>; 3],
    statement: Option<OpenStatement>,
    call: Option<OpenCall>,
    /// `__import__` / `import_module` (or `x.import_module`) seen; a call if `(` comes next.
    callee: Option<(usize, Point)>,
    statements: Vec<Range>,
    calls: Vec<Range>,
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
            recent: [None; 3],
            statement: None,
            call: None,
            callee: None,
            statements: Vec::new(),
            calls: Vec::new(),
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
        if self.depth > 0 {
            return Err(Unsure);
        }
        self.close_statement(self.src.len(), self.point(self.src.len()));
        Ok(())
    }

    fn end_of_line(&mut self) {
        let logical = self.depth == 0;
        self.newline();
        if logical {
            self.end_statement();
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
            && (self.src[self.pos].is_ascii_alphanumeric() || matches!(self.src[self.pos], b'_' | b'.'))
        {
            self.pos += 1;
        }
        self.token(start, Kind::Other);
    }

    fn word(&mut self) -> Step {
        let start = self.pos;
        while self.pos < self.src.len() && (is_word_byte(self.src[self.pos]) || self.src[self.pos].is_ascii_digit()) {
            self.pos += 1;
        }
        let src = self.src;
        let word = &src[start..self.pos];
        if matches!(self.peek(0), b'"' | b'\'') && is_string_prefix(word) {
            let formatted = word.iter().any(|b| matches!(b, b'f' | b'F' | b't' | b'T'));
            self.string(start, formatted)?;
            self.token(start, Kind::Other);
            return Ok(());
        }
        let first_of_statement = self.at_statement_start && self.depth == 0;
        self.token(start, Kind::Word);
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
            b"TYPE_CHECKING" => return Err(Unsure),
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

    /// `__import__` or `import_module` just read (it is `recent[2]`): a call of it counts as
    /// the query's `(call function: (identifier))`, or for `import_module` also
    /// `(call function: (attribute object: (identifier)))`. Where it is the name of a `def`,
    /// an attribute of something longer than one name, or inside a statement or call already
    /// taken whole, there is nothing to add.
    fn callee_named(&mut self, start: usize, word: &[u8]) {
        if self.statement.is_some() || self.call.is_some() {
            return;
        }
        let [third, second, _] = self.recent;
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
            if KEYWORDS.contains(&object_text) || self.preceded_by_dot(object.start) {
                return;
            }
            object.start
        };
        self.callee = Some((callee_start, self.point_of(callee_start)));
    }

    /// Whether the token before byte `at` is a `.` (skipping blanks, comments excepted: a
    /// dotted name never holds one).
    fn preceded_by_dot(&self, at: usize) -> bool {
        self.src[..at]
            .iter()
            .rev()
            .find(|b| !matches!(b, b' ' | b'\t' | b'\n' | b'\r' | b'\\' | b'\x0c'))
            == Some(&b'.')
    }

    /// The position of a byte at or before `self.pos`, on this line or an earlier one.
    fn point_of(&self, at: usize) -> Point {
        if at >= self.line_start {
            return self.point(at);
        }
        let before = &self.src[..at];
        let row = self.row - self.src[at..self.line_start].iter().filter(|&&b| b == b'\n').count();
        let line_start = before.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
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
    /// optional `!r` and `:format spec` (which may hold fields of its own). The outer quote
    /// inside it is unsure: before Python 3.12 it ends the string, since 3.12 it may open a
    /// nested one. Import words inside it are left to the full parser.
    fn replacement_field(&mut self, quote: u8, triple: bool) -> Step {
        let mut nesting = 0u32;
        loop {
            let Some(&byte) = self.src.get(self.pos) else {
                return Err(Unsure);
            };
            match byte {
                b if b == quote => return Err(Unsure),
                b'\\' | b'#' => return Err(Unsure),
                b'\n' if !triple => return Err(Unsure),
                b'\n' => self.newline(),
                b'"' | b'\'' => {
                    let start = self.pos;
                    self.string(start, false)?;
                    self.outer_quote_inside(start, quote)?;
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
                    while self.pos < self.src.len()
                        && (is_word_byte(self.src[self.pos]) || self.src[self.pos].is_ascii_digit())
                    {
                        self.pos += 1;
                    }
                    let src = self.src;
                    let word = &src[start..self.pos];
                    if matches!(self.peek(0), b'"' | b'\'') && is_string_prefix(word) {
                        let formatted = word.iter().any(|b| matches!(b, b'f' | b'F' | b't' | b'T'));
                        self.string(start, formatted)?;
                        self.outer_quote_inside(start, quote)?;
                    } else if contains(word, b"import") {
                        return Err(Unsure);
                    }
                }
                _ => self.pos += 1,
            }
        }
    }

    /// A string nested in a replacement field holding the outer quote is read differently
    /// before and since Python 3.12.
    fn outer_quote_inside(&self, start: usize, quote: u8) -> Step {
        if self.src[start..self.pos].contains(&quote) {
            return Err(Unsure);
        }
        Ok(())
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

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}
