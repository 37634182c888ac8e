//! tsconfig.json is "JSON with comments": strip `//` and `/* */` comments and trailing commas
//! (outside strings) so serde_json can read it.

pub fn parse(text: &str) -> Option<serde_json::Value> {
    serde_json::from_str(&strip(text)).ok()
}

pub fn strip(text: &str) -> String {
    without_trailing_commas(&without_comments(text.trim_start_matches('\u{feff}')))
}

/// Copy a string literal starting at `chars[i]` (the opening quote); returns the next index.
fn copy_string(chars: &[char], mut i: usize, out: &mut String) -> usize {
    out.push(chars[i]);
    i += 1;
    while i < chars.len() {
        out.push(chars[i]);
        if chars[i] == '\\' && i + 1 < chars.len() {
            out.push(chars[i + 1]);
            i += 2;
            continue;
        }
        i += 1;
        if chars[i - 1] == '"' {
            break;
        }
    }
    i
}

fn without_comments(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(chars.len());
    let mut i = 0;
    while i < chars.len() {
        match (chars[i], chars.get(i + 1)) {
            ('"', _) => i = copy_string(&chars, i, &mut out),
            ('/', Some('/')) => {
                while i < chars.len() && chars[i] != '\n' {
                    i += 1;
                }
            }
            ('/', Some('*')) => {
                i += 2;
                while i + 1 < chars.len() && !(chars[i] == '*' && chars[i + 1] == '/') {
                    i += 1;
                }
                i += 2;
            }
            (c, _) => {
                out.push(c);
                i += 1;
            }
        }
    }
    out
}

fn without_trailing_commas(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(chars.len());
    let mut i = 0;
    while i < chars.len() {
        match chars[i] {
            '"' => i = copy_string(&chars, i, &mut out),
            ',' => {
                let next = chars[i + 1..].iter().find(|c| !c.is_whitespace());
                if !matches!(next, Some('}') | Some(']')) {
                    out.push(',');
                }
                i += 1;
            }
            c => {
                out.push(c);
                i += 1;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn strips_comments_and_trailing_commas() {
        let text = r#"{
  // line comment
  "compilerOptions": { /* block */ "baseUrl": ".", "paths": { "@a/*": ["src/a/*",], /* c */ }, // d
 },
  "url": "http://x//y", "s": "a\"/*b",
}"#;
        let value = super::parse(text).expect("parses");
        assert_eq!(value["compilerOptions"]["baseUrl"], ".");
        assert_eq!(value["compilerOptions"]["paths"]["@a/*"][0], "src/a/*");
        assert_eq!(value["url"], "http://x//y");
        assert_eq!(value["s"], "a\"/*b");
    }
}
