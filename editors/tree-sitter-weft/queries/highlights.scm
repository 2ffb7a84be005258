; Highlight queries for Weft (capture names of nvim-treesitter / Helix).

(comment) @comment
(string) @string
(escape_sequence) @string.escape
(bytes) @string
(byte_escape) @string.escape
(integer) @number
(float) @number
(negative_number) @number
(atom) @constant ; :ok, and a quoted atom :"$gen_call" (its escapes are @string.escape)
[(true) (false)] @boolean
(nil) @constant.builtin

(function_definition name: (identifier) @function)
(call function: (identifier) @function.call)
(call function: (member name: (identifier) @function.call))
(member object: (identifier) @module)
(import_statement alias: (identifier) @module)
(parameters (identifier) @variable.parameter)
(pin (identifier) @variable)

[
  "let" "fn" "import" "as"
] @keyword

[
  "if" "else" "while" "for" "in" "loop" "match" "receive" "after" "select" "try"
] @keyword.control

[
  "return" "break"
] @keyword.return
(continue_expression) @keyword.return

[
  "spawn" "spawn_link"
] @keyword.function

[
  "and" "or" "not"
] @keyword.operator

[
  "=" "+=" "-=" "*=" "/=" "%=" "!" "<-" "==" "!=" "<" "<=" ">" ">="
  ".." "++" "+" "-" "*" "/" "%" "=>" "^"
] @operator

["(" ")" "[" "]" "{" "}" "%{"] @punctuation.bracket
["," ";" "."] @punctuation.delimiter
