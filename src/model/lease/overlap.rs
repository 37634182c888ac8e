//! Lease resources and when two of them overlap.
//!
//! A resource is either a named key (`task:123`, `slot:deploy`: a word, a colon, a value),
//! compared by exact equality and never a path, or a path glob relative to the repository
//! root (`src/**`, `src/*.ts`, `docs/guide.md`, `src/api/`). Like gitignore, a pattern
//! that matches a directory covers everything below it, so `src/api` covers
//! `src/api/x.ts`. `*`, `?` and `[..]` never cross `/`; `**` as a whole segment matches
//! any number of segments; `{a,b}` alternatives are expanded.
//!
//! Glob-vs-glob overlap is decided segment by segment: two patterns overlap when some
//! path is covered by both. The search over (segment of A, segment of B) pairs is exact
//! for `*`, `?`, literals and `**`; character classes that are negated are assumed to
//! intersect, so any doubt reports an overlap rather than missing one.

use std::collections::HashSet;

use globset::{Glob, GlobBuilder, GlobMatcher};

use crate::error::{Error, Result};

/// More brace alternatives than this in one pattern is refused (it is never needed).
const MAX_ALTERNATIVES: usize = 256;

#[derive(Debug, Clone)]
pub enum Resource {
    /// `kind:value`, e.g. `task:123`; overlaps only the identical key.
    Key(String),
    Path(PathPattern),
}

#[derive(Debug, Clone)]
pub struct PathPattern {
    /// The normalized pattern text (no leading `./` or `/`, no trailing `/`).
    text: String,
    /// One segment list per brace alternative.
    alternatives: Vec<Vec<Segment>>,
    glob: Box<Glob>,
    /// Compiled on the first match only: a conflict check parses every live lease of the
    /// ledger (thousands in a swarm) and needs only the segments.
    matcher: std::sync::OnceLock<GlobMatcher>,
}

#[derive(Debug, Clone, PartialEq)]
enum Segment {
    /// `**`: zero or more whole segments.
    AnyDepth,
    Glob(Vec<Token>),
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Literal(char),
    /// `?`
    AnyChar,
    /// `*` (within one segment)
    Star,
    Class {
        negated: bool,
        ranges: Vec<(char, char)>,
    },
}

impl Resource {
    /// Parse and validate one resource as typed by a user.
    pub fn parse(text: &str) -> Result<Resource> {
        if text.trim().is_empty() {
            return Err(bad(text, "empty"));
        }
        if text.chars().any(|c| c.is_control()) {
            return Err(bad(text, "contains a control character"));
        }
        let first_segment = text.split('/').next().unwrap_or("");
        if first_segment.contains(':') && !is_key(text) {
            return Err(bad(
                text,
                "a named key is word:value with both parts non-empty (task:123)",
            ));
        }
        if is_key(text) {
            if text.chars().any(char::is_whitespace) {
                return Err(bad(text, "a named key may not contain spaces"));
            }
            return Ok(Resource::Key(text.to_string()));
        }
        PathPattern::parse(text).map(Resource::Path)
    }

    /// The canonical text stored in the ledger.
    pub fn text(&self) -> &str {
        match self {
            Resource::Key(k) => k,
            Resource::Path(p) => &p.text,
        }
    }

    pub fn overlaps(&self, other: &Resource) -> bool {
        match (self, other) {
            (Resource::Key(a), Resource::Key(b)) => a == b,
            (Resource::Path(a), Resource::Path(b)) => a.overlaps(b),
            _ => false,
        }
    }

    /// Does this resource cover the file (or directory) `path`?
    pub fn covers_path(&self, path: &str) -> bool {
        match self {
            Resource::Key(_) => false,
            Resource::Path(p) => p.matches(path),
        }
    }
}

/// `word:value` where the word is a plain identifier: `task:123`, `slot:deploy`.
fn is_key(text: &str) -> bool {
    let Some((kind, value)) = text.split_once(':') else {
        return false;
    };
    !value.is_empty()
        && kind.starts_with(|c: char| c.is_ascii_alphabetic())
        && kind
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

fn bad(text: &str, why: &str) -> Error {
    Error::usage(format!("invalid resource '{text}': {why}")).with_hint(
        "use a path glob relative to the repository root (src/**, src/*.ts, docs/a.md) \
         or a named key (task:123, slot:deploy)",
    )
}

impl PathPattern {
    pub fn parse(text: &str) -> Result<PathPattern> {
        let normalized = normalize(text)?;
        let glob = GlobBuilder::new(&normalized)
            .literal_separator(true)
            .build()
            .map_err(|e| bad(text, &e.kind().to_string()))?;
        let expanded = expand_braces(&normalized);
        if expanded.len() > MAX_ALTERNATIVES {
            return Err(bad(text, "too many {..} alternatives"));
        }
        let alternatives = expanded
            .iter()
            .map(|alt| parse_segments(alt))
            .collect::<Option<Vec<_>>>()
            .ok_or_else(|| bad(text, "unterminated [..] class"))?;
        Ok(PathPattern {
            text: normalized,
            alternatives,
            glob: Box::new(glob),
            matcher: std::sync::OnceLock::new(),
        })
    }

    pub fn text(&self) -> &str {
        &self.text
    }

    /// True when the glob matches `path` or one of its parent directories.
    pub fn matches(&self, path: &str) -> bool {
        let path = path.trim_start_matches("./");
        if let Some(found) = self
            .matches_literally(path)
            .or_else(|| self.matches_by_stars(path))
        {
            return found;
        }
        self.matches_by_glob(path)
    }

    /// The answer for a pattern whose only glob syntax is `*` within a segment and `**` as a
    /// whole segment (`src/*.ts`, `src/**/x.rs`), segment by segment, without compiling the
    /// glob (a regex build costs more than the rest of a lease check); `None` for any other
    /// pattern.
    fn matches_by_stars(&self, path: &str) -> Option<bool> {
        let pattern = star_segments(&self.text)?;
        let path: Vec<&str> = path.split('/').collect();
        // The path itself or one of its parent directories.
        Some((1..=path.len()).any(|n| segments_match(&pattern, &path[..n])))
    }

    /// The answer for the commonest leases, a plain path or `dir/**`, without compiling the
    /// glob (a commit's check matches every staged path against every live lease); `None`
    /// for any other pattern.
    fn matches_literally(&self, path: &str) -> Option<bool> {
        const GLOB_SYNTAX: [char; 7] = ['*', '?', '[', ']', '{', '}', '\\'];
        let (dir, any_depth) = match self.text.strip_suffix("/**") {
            Some(dir) => (dir, true),
            None => (self.text.as_str(), false),
        };
        if dir.is_empty() || dir.contains(GLOB_SYNTAX) || dir.contains("//") {
            return None;
        }
        let below = path
            .strip_prefix(dir)
            .is_some_and(|rest| rest.starts_with('/'));
        // `dir/**` matches what is below `dir`; a plain path matches itself, and covers what
        // is below it as a parent directory.
        Some(below || (!any_depth && path == dir))
    }

    fn matches_by_glob(&self, path: &str) -> bool {
        let matcher = self.matcher.get_or_init(|| self.glob.compile_matcher());
        if matcher.is_match(path) {
            return true;
        }
        path.match_indices('/')
            .any(|(i, _)| matcher.is_match(&path[..i]))
    }

    /// True when some path is covered by both patterns.
    pub fn overlaps(&self, other: &PathPattern) -> bool {
        self.alternatives
            .iter()
            .any(|a| other.alternatives.iter().any(|b| segments_overlap(a, b)))
    }
}

/// The segments of a glob whose only syntax is `*` within a segment and `**` as a whole
/// segment (what [`segments_match`] can judge); `None` for any other glob.
pub fn star_segments(glob: &str) -> Option<Vec<&str>> {
    const OTHER_SYNTAX: [char; 6] = ['?', '[', ']', '{', '}', '\\'];
    if glob.contains(OTHER_SYNTAX) {
        return None;
    }
    let segments: Vec<&str> = glob.split('/').collect();
    let plain = |s: &&str| !s.is_empty() && (*s == "**" || !s.contains("**"));
    segments.iter().all(plain).then_some(segments)
}

/// `pattern`'s segments against `path`'s, as globset with a literal separator matches them:
/// `**` is any number of whole segments (at least one at the end: `a/**` is below `a`).
pub fn segments_match(pattern: &[&str], path: &[&str]) -> bool {
    match pattern.split_first() {
        None => path.is_empty(),
        Some((&"**", [])) => !path.is_empty(),
        Some((&"**", rest)) => (0..=path.len()).any(|skip| segments_match(rest, &path[skip..])),
        Some((glob, rest)) => path.split_first().is_some_and(|(segment, below)| {
            star_match(glob, segment) && segments_match(rest, below)
        }),
    }
}

/// One segment against a glob whose only syntax is `*` (any run of characters).
fn star_match(glob: &str, text: &str) -> bool {
    let (glob, text) = (glob.as_bytes(), text.as_bytes());
    let (mut g, mut t) = (0, 0);
    // Where the last `*` was, and where in `text` it now stops.
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        if g < glob.len() && glob[g] == b'*' {
            star = Some((g, t));
            g += 1;
        } else if g < glob.len() && glob[g] == text[t] {
            g += 1;
            t += 1;
        } else if let Some((star_g, star_t)) = star {
            // Let the last `*` take one more character and retry from there.
            star = Some((star_g, star_t + 1));
            g = star_g + 1;
            t = star_t + 1;
        } else {
            return false;
        }
    }
    glob[g..].iter().all(|&c| c == b'*')
}

fn normalize(text: &str) -> Result<String> {
    if text.trim_start().starts_with('/') {
        return Err(Error::usage(format!(
            "invalid resource '{text}': an absolute path"
        ))
        .with_hint("give paths relative to the repository root, e.g. src/api/** (run from anywhere in the repo)"));
    }
    let mut s = text.trim();
    while let Some(rest) = s.strip_prefix("./") {
        s = rest;
    }
    let s = s.trim_start_matches('/').trim_end_matches('/');
    if s.is_empty() || s == "." {
        return Err(bad(text, "names no path (use ** for the whole repository)"));
    }
    for segment in s.split('/') {
        match segment {
            "" => return Err(bad(text, "empty path segment ('//')")),
            "." | ".." => return Err(bad(text, "'.' and '..' segments are not allowed")),
            _ => {}
        }
    }
    Ok(s.to_string())
}

/// Expand every `{a,b}` group (globset forbids nesting) into plain alternatives.
fn expand_braces(pattern: &str) -> Vec<String> {
    let chars: Vec<char> = pattern.chars().collect();
    let Some((open, close)) = find_brace_group(&chars) else {
        return vec![pattern.to_string()];
    };
    let prefix: String = chars[..open].iter().collect();
    let suffix: String = chars[close + 1..].iter().collect();
    let mut out = Vec::new();
    for choice in split_top_level_commas(&chars[open + 1..close]) {
        for rest in expand_braces(&suffix) {
            out.push(format!("{prefix}{choice}{rest}"));
            if out.len() > MAX_ALTERNATIVES {
                return out;
            }
        }
    }
    out
}

/// Position of the first unescaped `{` outside a class and its closing `}`.
fn find_brace_group(chars: &[char]) -> Option<(usize, usize)> {
    let mut i = 0;
    let mut open = None;
    let mut in_class = false;
    while i < chars.len() {
        match chars[i] {
            '\\' => i += 1,
            '[' if !in_class => in_class = true,
            ']' if in_class => in_class = false,
            '{' if !in_class && open.is_none() => open = Some(i),
            '}' if !in_class => {
                if let Some(start) = open {
                    return Some((start, i));
                }
            }
            _ => {}
        }
        i += 1;
    }
    None
}

fn split_top_level_commas(chars: &[char]) -> Vec<String> {
    let mut parts = vec![String::new()];
    let mut in_class = false;
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        match c {
            '\\' if i + 1 < chars.len() => {
                parts.last_mut().unwrap().push(c);
                i += 1;
                parts.last_mut().unwrap().push(chars[i]);
            }
            ',' if !in_class => parts.push(String::new()),
            _ => {
                if c == '[' {
                    in_class = true;
                } else if c == ']' {
                    in_class = false;
                }
                parts.last_mut().unwrap().push(c);
            }
        }
        i += 1;
    }
    parts
}

fn parse_segments(pattern: &str) -> Option<Vec<Segment>> {
    split_segments(pattern)
        .into_iter()
        .filter(|s| !s.is_empty())
        .map(|s| {
            if s == "**" {
                Some(Segment::AnyDepth)
            } else {
                parse_tokens(&s).map(Segment::Glob)
            }
        })
        .collect()
}

/// Split on `/` outside character classes.
fn split_segments(pattern: &str) -> Vec<String> {
    let mut segments = vec![String::new()];
    let mut in_class = false;
    let mut escaped = false;
    for c in pattern.chars() {
        if escaped {
            escaped = false;
        } else if c == '\\' {
            escaped = true;
        } else if c == '[' {
            in_class = true;
        } else if c == ']' {
            in_class = false;
        } else if c == '/' && !in_class {
            segments.push(String::new());
            continue;
        }
        segments.last_mut().unwrap().push(c);
    }
    segments
}

fn parse_tokens(segment: &str) -> Option<Vec<Token>> {
    let chars: Vec<char> = segment.chars().collect();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        match chars[i] {
            '\\' if i + 1 < chars.len() => {
                i += 1;
                tokens.push(Token::Literal(chars[i]));
            }
            '*' => {
                if tokens.last() != Some(&Token::Star) {
                    tokens.push(Token::Star);
                }
            }
            '?' => tokens.push(Token::AnyChar),
            '[' => {
                let (token, end) = parse_class(&chars, i)?;
                tokens.push(token);
                i = end;
            }
            c => tokens.push(Token::Literal(c)),
        }
        i += 1;
    }
    Some(tokens)
}

/// Parse `[..]` starting at `start`; returns the token and the index of the closing `]`.
fn parse_class(chars: &[char], start: usize) -> Option<(Token, usize)> {
    let mut i = start + 1;
    let negated = matches!(chars.get(i), Some('!') | Some('^'));
    if negated {
        i += 1;
    }
    let mut ranges = Vec::new();
    let mut first = true;
    while i < chars.len() {
        let c = chars[i];
        if c == ']' && !first {
            return Some((Token::Class { negated, ranges }, i));
        }
        first = false;
        if chars.get(i + 1) == Some(&'-') && chars.get(i + 2).is_some_and(|&e| e != ']') {
            ranges.push((c, chars[i + 2]));
            i += 3;
        } else {
            ranges.push((c, c));
            i += 1;
        }
    }
    None
}

/// Can one path be covered by both segment lists? A list covers a path when it matches
/// the path or one of its ancestors, so a list running out first still overlaps.
fn segments_overlap(a: &[Segment], b: &[Segment]) -> bool {
    let mut seen = HashSet::new();
    let mut stack = vec![(0usize, 0usize)];
    while let Some((i, j)) = stack.pop() {
        if !seen.insert((i, j)) {
            continue;
        }
        if i == a.len() || j == b.len() {
            return true;
        }
        match (&a[i], &b[j]) {
            (Segment::Glob(x), Segment::Glob(y)) => {
                if tokens_overlap(x, y) {
                    stack.push((i + 1, j + 1));
                }
            }
            // A `**` either matches nothing more or swallows the other side's segment.
            _ => {
                stack.push((i + 1, j));
                stack.push((i, j + 1));
            }
        }
    }
    false
}

/// Is there a segment string matched by both token lists?
fn tokens_overlap(a: &[Token], b: &[Token]) -> bool {
    let mut seen = HashSet::new();
    let mut stack = vec![(0usize, 0usize)];
    while let Some((i, j)) = stack.pop() {
        if !seen.insert((i, j)) {
            continue;
        }
        if i == a.len() && j == b.len() {
            return true;
        }
        let a_tok = a.get(i);
        let b_tok = b.get(j);
        if a_tok == Some(&Token::Star) {
            stack.push((i + 1, j));
            if b_tok.is_some_and(|t| *t != Token::Star) {
                stack.push((i, j + 1));
            }
        }
        if b_tok == Some(&Token::Star) {
            stack.push((i, j + 1));
            if a_tok.is_some_and(|t| *t != Token::Star) {
                stack.push((i + 1, j));
            }
        }
        if let (Some(x), Some(y)) = (a_tok, b_tok) {
            if *x != Token::Star && *y != Token::Star && chars_overlap(x, y) {
                stack.push((i + 1, j + 1));
            }
        }
    }
    false
}

/// Can one character satisfy both single-character tokens?
fn chars_overlap(a: &Token, b: &Token) -> bool {
    match (a, b) {
        (Token::AnyChar, _) | (_, Token::AnyChar) => true,
        (Token::Literal(x), Token::Literal(y)) => x == y,
        (Token::Literal(c), class) | (class, Token::Literal(c)) => class_contains(class, *c),
        (
            Token::Class {
                negated: false,
                ranges: r1,
            },
            Token::Class {
                negated: false,
                ranges: r2,
            },
        ) => r1
            .iter()
            .any(|(lo1, hi1)| r2.iter().any(|(lo2, hi2)| lo1 <= hi2 && lo2 <= hi1)),
        // A negated class against another class: assume they share a character.
        _ => true,
    }
}

fn class_contains(class: &Token, c: char) -> bool {
    match class {
        Token::Class { negated, ranges } => {
            let inside = ranges.iter().any(|(lo, hi)| *lo <= c && c <= *hi);
            inside != *negated
        }
        _ => true,
    }
}

#[cfg(test)]
mod tests {

    #[test]
    fn plain_and_dir_star_star_leases_match_as_their_compiled_glob_does() {
        let patterns = [
            "src/api/**",
            "src/api",
            "src/main.rs",
            "a/**",
            "docs/guide.md",
        ];
        let paths = [
            "src/api",
            "src/api/",
            "src/api/x.rs",
            "src/api/v1/y.rs",
            "src/apix/z.rs",
            "src/ap",
            "src",
            "src/main.rs",
            "src/main.rs/inner",
            "src/main.rsx",
            "a",
            "a/b",
            "ab/c",
            "docs/guide.md",
            "docs/guide.mdx",
            "docs",
            "./src/api/x.rs",
        ];
        assert_agrees_with_glob(&patterns, &paths, PathPattern::matches_literally);
        let globs = [
            "src/*.rs",
            "src/{a,b}/**",
            "src/[ab]/x",
            "src/**/x.rs",
            "**",
        ];
        assert_declines(&globs, "src/a/x.rs", PathPattern::matches_literally);
    }
    /// Each pattern's `shortcut` answers, and answers as its compiled glob does, on every
    /// path.
    fn assert_agrees_with_glob(
        patterns: &[&str],
        paths: &[&str],
        shortcut: impl Fn(&PathPattern, &str) -> Option<bool>,
    ) {
        for text in patterns {
            let pattern = PathPattern::parse(text).unwrap();
            for path in paths {
                let trimmed = path.trim_start_matches("./");
                assert_eq!(
                    shortcut(&pattern, trimmed),
                    Some(pattern.matches_by_glob(trimmed)),
                    "{text} against {path}"
                );
            }
        }
    }

    /// `shortcut` leaves every one of `patterns` to the compiled glob.
    fn assert_declines(
        patterns: &[&str],
        path: &str,
        shortcut: impl Fn(&PathPattern, &str) -> Option<bool>,
    ) {
        for text in patterns {
            let pattern = PathPattern::parse(text).unwrap();
            assert_eq!(shortcut(&pattern, path), None, "{text}");
        }
    }

    #[test]
    fn star_only_leases_match_as_their_compiled_glob_does() {
        let patterns = [
            "src/*.rs",
            "src/*",
            "*.ts",
            "*",
            "src/**/x.rs",
            "**/x.rs",
            "**",
            "**/**",
            "a/*/b/**",
            "*/x",
            "src/mod01/*.ts",
            "**/*.md",
            "a/**/b/*.c",
            "*a*b*",
            "a*/**/*b",
            "src/**/**/x.rs",
        ];
        let paths = [
            "src/main.rs",
            "src/main.rsx",
            "src/a/x.rs",
            "src/a/b/x.rs",
            "src/x.rs",
            "x.rs",
            "src",
            "src/",
            "a.ts",
            "dir/a.ts",
            ".hidden.ts",
            "a/q/b",
            "a/q/b/c/d",
            "a/b/x.c",
            "a/b/c/x.c",
            "a/x/y/b/z.c",
            "a//b/x.c",
            "aXbY",
            "ba",
            "ab/zz/cb",
            "ab/cb",
            "src/mod01/file0001.ts",
            "src/mod01/sub/file.ts",
            "src/mod011/file.ts",
            "docs/x.md",
            "x.md",
            "é/ü.md",
            "./src/x.rs",
        ];
        assert_agrees_with_glob(&patterns, &paths, PathPattern::matches_by_stars);
        let globs = [
            "src/?.rs",
            "src/[ab].rs",
            "src/{a,b}/*.rs",
            "src/a**/x",
            "a\\*b",
        ];
        assert_declines(&globs, "src/a.rs", PathPattern::matches_by_stars);
    }

    use super::*;

    fn res(text: &str) -> Resource {
        Resource::parse(text).unwrap_or_else(|e| panic!("{text}: {e}"))
    }

    fn overlap(a: &str, b: &str) -> bool {
        let (a, b) = (res(a), res(b));
        let forward = a.overlaps(&b);
        assert_eq!(forward, b.overlaps(&a), "overlap must be symmetric");
        forward
    }

    #[test]
    fn issue_examples() {
        assert!(overlap("src/**", "src/api/x.ts"));
        assert!(overlap("src/*.ts", "src/a.ts"));
        assert!(!overlap("docs/**", "src/**"));
    }

    #[test]
    fn glob_versus_glob() {
        assert!(overlap("src/**", "src/api/**"));
        assert!(overlap("src/*.ts", "src/a*"));
        assert!(overlap("src/*.ts", "src/**/index.ts"));
        assert!(overlap("**/*.rs", "src/lib.rs"));
        assert!(overlap("**/test/**", "src/**"));
        assert!(overlap("src/*/mod.rs", "src/lease/*"));
        assert!(overlap("a/**/b", "a/b"));
        assert!(overlap("*", "anything/deep/file"));
        assert!(overlap("**", "docs/**"));
        assert!(!overlap("src/*.ts", "src/*.rs"));
        assert!(!overlap("src/*.ts", "src/a/b.ts"));
        assert!(!overlap("src/a*.ts", "src/b*"));
        assert!(!overlap("src/api/**", "src/ui/**"));
        assert!(!overlap("a/*/c", "a/b/d"));
        // A directory may be called `x.md`: `src/x.md/y.rs` is covered by both.
        assert!(overlap("**/*.md", "src/**/*.rs"));
        assert!(!overlap("*.md", "src/**/*.rs"));
    }

    #[test]
    fn directories_cover_their_contents() {
        assert!(overlap("src/api", "src/api/x.ts"));
        assert!(overlap("src/api/", "src/api/**"));
        assert!(overlap("./src/api", "src/api/deep/x.ts"));
        assert!(overlap("src/*", "src/api/x.ts"));
        assert!(!overlap("src/api", "src/apis/x.ts"));
        assert!(!overlap("src/api.ts", "src/api"));
    }

    #[test]
    fn classes_and_alternatives() {
        assert!(overlap("src/[ab].ts", "src/a.ts"));
        assert!(!overlap("src/[ab].ts", "src/c.ts"));
        assert!(overlap("src/[a-c]*", "src/[b-d]x"));
        assert!(!overlap("src/[a-c]*", "src/[x-z]*"));
        assert!(!overlap("src/[!a]*", "src/a"));
        assert!(overlap("src/[!a]*", "src/b"));
        assert!(overlap("{docs,src}/**", "src/x.rs"));
        assert!(!overlap("{docs,web}/**", "src/x.rs"));
        assert!(overlap("src/*.{ts,tsx}", "src/App.tsx"));
        assert!(overlap("src/\\*.ts", "src/*.ts"));
        assert!(!overlap("src/\\*.ts", "src/a.ts"));
    }

    #[test]
    fn named_keys_are_never_paths() {
        assert!(overlap("task:123", "task:123"));
        assert!(!overlap("task:123", "task:124"));
        assert!(!overlap("slot:deploy", "**"));
        assert!(!overlap("task:1", "task"));
        assert!(matches!(res("slot:deploy"), Resource::Key(_)));
        assert!(matches!(res("src/a:b.txt"), Resource::Path(_)));
        assert!(!res("slot:deploy").covers_path("slot:deploy"));
    }

    #[test]
    fn bad_resources_are_refused() {
        for text in ["", "  ", "../x", "src/../x", "a//b", ".", "/", "src/[ab"] {
            assert!(Resource::parse(text).is_err(), "{text:?} should be refused");
        }
        assert_eq!(res("./src/api/").text(), "src/api");
    }

    #[test]
    fn covers_path_uses_ancestors() {
        assert!(res("src/**").covers_path("src/api/x.ts"));
        assert!(res("src/api").covers_path("src/api/x.ts"));
        assert!(res("src/*.ts").covers_path("src/a.ts"));
        assert!(!res("src/*.ts").covers_path("src/a/b.ts"));
        assert!(!res("docs/**").covers_path("src/docs/a.md"));
    }

    /// Soundness against globset itself: whenever some path is covered by both patterns,
    /// `overlaps` must say so.
    #[test]
    fn never_misses_an_overlap_that_globset_sees() {
        let patterns = [
            "src/**",
            "src/*",
            "src/*.ts",
            "src/a*",
            "*/a.ts",
            "**/a.ts",
            "**/*.rs",
            "src/api",
            "src/api/**",
            "src/[ab]*",
            "src/?.ts",
            "docs/**",
            "*.md",
            "src/*/b.ts",
            "**",
            "src/{a,b}.ts",
            "src/**/x/**",
            "[!s]*/**",
            "src/a.ts/x",
        ];
        let paths = [
            "src",
            "src/a.ts",
            "src/b.ts",
            "src/a.rs",
            "src/api/x.ts",
            "src/api",
            "a.ts",
            "x/a.ts",
            "docs/a.md",
            "README.md",
            "src/a/b.ts",
            "src/x/y/x/z",
            "lib/q.rs",
            "src/a.ts/x",
            "src/ab",
            "src/c.ts",
        ];
        for a in patterns {
            for b in patterns {
                let (pa, pb) = (res(a), res(b));
                if let Some(path) = paths
                    .iter()
                    .find(|p| pa.covers_path(p) && pb.covers_path(p))
                {
                    assert!(pa.overlaps(&pb), "{a} and {b} both cover {path}");
                }
            }
        }
    }
}
