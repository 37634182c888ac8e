; Import extraction for Rust: use trees (walked in src/boundary/imports/rust.rs), out-of-line
; modules (`mod x;`, maybe with #[path]), extern crates, and crate-/self-/super-rooted paths
; written inline in code (`crate::cli::run()`), which bypass `use` but are dependencies too.
(use_declaration) @use
(mod_item !body) @mod
(extern_crate_declaration) @extern_crate
(scoped_identifier) @path
(scoped_type_identifier) @path
(token_tree) @tokens
