; Import extraction for JavaScript (.js .jsx .mjs .cjs). Same shapes as TypeScript, without
; type-only forms; the walker is shared (src/boundary/imports/typescript.rs).
(import_statement) @import
(export_statement source: (string)) @reexport
(call_expression function: (import) arguments: (arguments) @args) @dynamic
(call_expression
  function: (identifier) @fn (#eq? @fn "require")
  arguments: (arguments) @args) @require
; Triple-slash directives (`/// <reference path=... />`); the walker keeps only those.
(comment) @reference
