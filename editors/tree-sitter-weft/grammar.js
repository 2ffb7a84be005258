/**
 * A tree-sitter grammar for Weft (docs/LANGUAGE.md), for editors that
 * highlight and navigate with tree-sitter (Neovim, Helix, Zed, ...).
 *
 * Newlines follow the compiler's rule (compiler/src/lexer.rs): a newline
 * ends a statement only where a statement may end. Tree-sitter lexes in
 * context, so "\n" is a token wherever a terminator is valid (after a
 * complete statement inside a block or at the top level, between the arms
 * of a `match`, `receive` or `select`) and white space everywhere else
 * (after an operator, inside `(`, `[` and `%{`).
 */

const PREC = {
  assign: 1,
  send: 2,
  or: 3,
  and: 4,
  not: 5,
  compare: 6,
  range: 7,
  concat: 8,
  add: 9,
  multiply: 10,
  unary: 11,
  postfix: 12,
};

const commaSep = (rule) => optional(seq(rule, repeat(seq(',', rule)), optional(',')));

module.exports = grammar({
  name: 'weft',

  extras: ($) => [/[ \t\r\f\n]/, $.comment],

  word: ($) => $.identifier,

  conflicts: ($) => [
    [$.if_expression],
  ],

  rules: {
    source_file: ($) => repeat(choice($._statement, $._terminator)),

    _terminator: (_) => choice('\n', ';'),

    comment: (_) => token(seq('#', /.*/)),

    _statement: ($) => choice(
      $.let_statement,
      $.function_definition,
      $.import_statement,
      $._expression,
      $._jump,
    ),

    let_statement: ($) => seq('let', field('pattern', $._pattern), '=', field('value', $._expression)),

    function_definition: ($) => seq(
      'fn',
      field('name', $.identifier),
      field('parameters', $.parameters),
      field('body', $.block),
    ),

    parameters: ($) => seq('(', commaSep($._pattern), ')'),

    import_statement: ($) => seq('import', field('path', $.string), 'as', field('alias', $.identifier)),

    _jump: ($) => choice($.return_expression, $.break_expression, $.continue_expression),
    return_expression: ($) => prec.right(seq('return', optional($._expression))),
    break_expression: ($) => prec.right(seq('break', optional($._expression))),
    continue_expression: (_) => 'continue',

    block: ($) => seq('{', repeat(choice($._statement, $._terminator)), '}'),

    _expression: ($) => choice(
      $.assignment,
      $.try_expression,
      $.send_expression,
      $.binary_expression,
      $.not_expression,
      $.unary_expression,
      $.spawn_expression,
      $._postfix,
    ),

    assignment: ($) => prec.right(PREC.assign, seq(
      field('left', $._postfix),
      field('operator', choice('=', '+=', '-=', '*=', '/=', '%=')),
      field('right', $._expression),
    )),

    try_expression: ($) => prec.right(PREC.assign, seq('try', $._expression)),

    send_expression: ($) => prec.right(PREC.send, seq(
      field('left', $._expression),
      field('operator', choice('!', '<-')),
      field('right', $._expression),
    )),

    binary_expression: ($) => choice(
      ...[
        ['or', PREC.or],
        ['and', PREC.and],
        ['==', PREC.compare],
        ['!=', PREC.compare],
        ['<', PREC.compare],
        ['<=', PREC.compare],
        ['>', PREC.compare],
        ['>=', PREC.compare],
        ['..', PREC.range],
        ['++', PREC.concat],
        ['+', PREC.add],
        ['-', PREC.add],
        ['*', PREC.multiply],
        ['/', PREC.multiply],
        ['%', PREC.multiply],
      ].map(([operator, precedence]) => prec.left(precedence, seq(
        field('left', $._expression),
        field('operator', operator),
        field('right', $._expression),
      ))),
    ),

    not_expression: ($) => prec(PREC.not, seq('not', $._expression)),

    unary_expression: ($) => prec(PREC.unary, seq(field('operator', choice('-', '<-')), $._expression)),

    spawn_expression: ($) => prec(PREC.unary, seq(choice('spawn', 'spawn_link'), $._postfix)),

    _postfix: ($) => choice($.call, $.index, $.member, $._primary),

    call: ($) => prec(PREC.postfix, seq(field('function', $._postfix), field('arguments', $.arguments))),
    arguments: ($) => seq('(', commaSep($._expression), ')'),
    index: ($) => prec(PREC.postfix, seq($._postfix, '[', $._expression, ']')),
    member: ($) => prec(PREC.postfix, seq(field('object', $._postfix), '.', field('name', $.identifier))),

    _primary: ($) => choice(
      $.identifier,
      $.integer,
      $.float,
      $.string,
      $.bytes,
      $.atom,
      alias($._quoted_atom, $.atom),
      $.true,
      $.false,
      $.nil,
      $.parenthesized,
      $.tuple,
      $.list,
      $.map,
      $.block,
      $.if_expression,
      $.while_expression,
      $.loop_expression,
      $.for_expression,
      $.match_expression,
      $.receive_expression,
      $.select_expression,
      $.lambda,
    ),

    parenthesized: ($) => seq('(', $._expression, ')'),
    tuple: ($) => choice(
      seq('(', ')'),
      seq('(', $._expression, ',', commaSep($._expression), ')'),
    ),
    list: ($) => seq('[', commaSep($._expression), ']'),
    map: ($) => seq('%{', commaSep($.map_entry), '}'),
    map_entry: ($) => seq(field('key', $._expression), '=>', field('value', $._expression)),

    if_expression: ($) => seq(
      'if',
      field('condition', $._expression),
      field('consequence', $.block),
      optional(seq(optional('\n'), 'else', field('alternative', choice($.block, $.if_expression)))),
    ),
    while_expression: ($) => seq('while', field('condition', $._expression), field('body', $.block)),
    loop_expression: ($) => seq('loop', field('body', $.block)),
    for_expression: ($) => seq(
      'for',
      field('pattern', $._pattern),
      'in',
      field('iterable', $._expression),
      field('body', $.block),
    ),

    _arm_separator: (_) => choice('\n', ','),

    match_expression: ($) => seq(
      'match',
      field('subject', $._expression),
      '{',
      repeat($._arm_separator),
      optional(seq($.arm, repeat(seq(repeat1($._arm_separator), $.arm)), repeat($._arm_separator))),
      '}',
    ),

    receive_expression: ($) => seq(
      'receive',
      '{',
      repeat($._arm_separator),
      optional(seq(
        choice($.arm, $.after_clause),
        repeat(seq(repeat1($._arm_separator), choice($.arm, $.after_clause))),
        repeat($._arm_separator),
      )),
      '}',
    ),

    select_expression: ($) => seq(
      'select',
      '{',
      repeat($._arm_separator),
      optional(seq(
        choice($.select_arm, $.after_clause),
        repeat(seq(repeat1($._arm_separator), choice($.select_arm, $.after_clause))),
        repeat($._arm_separator),
      )),
      '}',
    ),

    arm: ($) => seq(
      field('pattern', $._pattern),
      optional(seq('if', field('guard', $._expression))),
      '=>',
      field('body', choice($._expression, $._jump)),
    ),

    select_arm: ($) => seq(
      field('operation', $._expression),
      optional(seq('as', field('pattern', $._pattern))),
      '=>',
      field('body', choice($._expression, $._jump)),
    ),

    after_clause: ($) => seq('after', field('timeout', $._expression), '=>', field('body', choice($._expression, $._jump))),

    lambda: ($) => seq('fn', field('parameters', $.parameters), field('body', $.block)),

    _pattern: ($) => choice(
      $.identifier,
      $.pin,
      $.nil,
      $.true,
      $.false,
      $.integer,
      $.float,
      $.negative_number,
      $.string,
      $.bytes,
      $.atom,
      alias($._quoted_atom, $.atom),
      $.tuple_pattern,
      $.list_pattern,
      $.map_pattern,
      seq('(', $._pattern, ')'),
    ),
    pin: ($) => seq('^', $.identifier),
    negative_number: ($) => seq('-', choice($.integer, $.float)),
    tuple_pattern: ($) => choice(
      seq('(', ')'),
      seq('(', $._pattern, ',', commaSep($._pattern), ')'),
    ),
    list_pattern: ($) => seq('[', commaSep(choice($._pattern, $.rest_pattern)), ']'),
    rest_pattern: ($) => seq('..', $._pattern),
    map_pattern: ($) => seq('%{', commaSep(seq($._pattern, '=>', $._pattern)), '}'),

    identifier: (_) => /[A-Za-z_][A-Za-z0-9_]*\??/,
    atom: (_) => /:[A-Za-z_][A-Za-z0-9_]*\??/,
    // A quoted atom, for a name that is not an identifier (`:"$gen_call"`,
    // `:"hello world"`): `:` right before a string, with a string's escapes
    // (compiler/src/lexer.rs, `Raw::QuotedAtom`). It is an `atom` node too.
    _quoted_atom: ($) => seq(':"', repeat(choice($.string_content, $.escape_sequence)), token.immediate('"')),
    integer: (_) => token(choice(/0[xX][0-9a-fA-F_]+/, /0[bB][01_]+/, /[0-9][0-9_]*/)),
    float: (_) => token(choice(
      /[0-9][0-9_]*\.[0-9][0-9_]*([eE][+-]?[0-9]+)?/,
      /[0-9][0-9_]*[eE][+-]?[0-9]+/,
    )),
    string: ($) => seq('"', repeat(choice($.string_content, $.escape_sequence)), token.immediate('"')),
    // A bytes literal: a string's escapes plus \xNN.
    bytes: ($) => seq('b"', repeat(choice($.string_content, $.escape_sequence, $.byte_escape)), token.immediate('"')),
    byte_escape: (_) => token.immediate(/\\x[0-9A-Fa-f]{2}/),
    string_content: (_) => token.immediate(prec(1, /[^"\\\n]+/)),
    escape_sequence: (_) => token.immediate(choice(/\\[nrt0\\"]/, /\\u\{[0-9A-Fa-f]{1,6}\}/)),
    true: (_) => 'true',
    false: (_) => 'false',
    nil: (_) => 'nil',
  },
});
