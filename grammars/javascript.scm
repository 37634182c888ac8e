; Import extraction for JavaScript (.js .jsx .mjs .cjs). Same shapes as TypeScript, without
; type-only forms; the walker is shared (src/boundary/imports/typescript.rs).
; Single-node patterns only: the walker checks the children (a re-export's string source,
; a call to `import` or `require`). Patterns with children made tree-sitter analyse the
; grammar's parse states when compiling the query, ~20 ms per process for one changed file.
(import_statement) @import
(export_statement) @reexport
(call_expression) @call
; Triple-slash directives (`/// <reference path=... />`); the walker keeps only those.
(comment) @reference
