; Import extraction for Python. Statements anywhere (module level, inside functions, classes,
; try blocks); `if TYPE_CHECKING:` blocks, and every branch after `if not TYPE_CHECKING:`, are
; captured so imports inside them become type-only.
(import_statement) @import
(import_from_statement) @from
(if_statement
  condition: [
    (identifier) @tc
    (attribute attribute: (identifier) @tc)
  ]
  (#eq? @tc "TYPE_CHECKING")
  consequence: (block) @type_checking)
(if_statement
  condition: (not_operator
    argument: [
      (identifier) @tc
      (attribute attribute: (identifier) @tc)
    ])
  (#eq? @tc "TYPE_CHECKING")
  alternative: [(elif_clause) (else_clause)] @type_checking)
(call
  function: (identifier) @fn (#eq? @fn "__import__")
  arguments: (argument_list) @args) @dynamic
; `import_module(...)` counts only where the file imports it from importlib, `x.import_module`
; only where x is importlib or its alias: the walker checks.
(call
  function: (identifier) @fn (#eq? @fn "import_module")
  arguments: (argument_list) @args) @import_module
(call
  function: (attribute
    object: (identifier) @obj
    attribute: (identifier) @fn (#eq? @fn "import_module"))
  arguments: (argument_list) @args) @import_module
