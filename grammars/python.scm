; Import extraction for Python. Statements anywhere (module level, inside functions, classes,
; try blocks); `if TYPE_CHECKING:` blocks are captured so imports inside them become type-only.
(import_statement) @import
(import_from_statement) @from
(if_statement
  condition: [
    (identifier) @tc
    (attribute attribute: (identifier) @tc)
  ]
  (#eq? @tc "TYPE_CHECKING")
  consequence: (block) @type_checking)
(call
  function: (identifier) @fn (#eq? @fn "__import__")
  arguments: (argument_list) @args) @dynamic
(call
  function: (attribute
    object: (identifier) @obj (#eq? @obj "importlib")
    attribute: (identifier) @fn (#eq? @fn "import_module"))
  arguments: (argument_list) @args) @dynamic
