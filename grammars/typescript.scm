; Import extraction for TypeScript. Captures whole statements/calls; the walker in
; src/boundary/imports/typescript.rs classifies them (type-only, require clause, literal or not).
(import_statement) @import
(export_statement source: (string)) @reexport
(call_expression function: (import) arguments: (arguments) @args) @dynamic
(call_expression
  function: (identifier) @fn (#eq? @fn "require")
  arguments: (arguments) @args) @require
; Triple-slash directives (`/// <reference path=... />`); the walker keeps only those.
(comment) @reference
