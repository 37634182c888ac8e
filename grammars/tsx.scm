; Import extraction for TSX. Captures whole statements/calls; the walker in
; src/boundary/imports/typescript.rs classifies them (type-only, require clause, literal or not).
; Single-node patterns only: the walker checks the children (a re-export's string source,
; a call to `import` or `require`). Patterns with children made tree-sitter analyse the
; grammar's parse states when compiling the query, ~20 ms per process for one changed file.
(import_statement) @import
(export_statement) @reexport
(call_expression) @call
; Triple-slash directives (`/// <reference path=... />`); the walker keeps only those.
(comment) @reference
