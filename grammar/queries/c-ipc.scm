; M3-IPC call patterns in C (SPEC §2), used by the DVS language server.
; Capture names are the contract with server/src/analyzer.ts: @call, @call.name,
; @call.args, @field*, @switch*, @case*, @loop, @def*, @enum*, @const*, @cond.*,
; @inactive*. The names of calls and fields are checked by the analyzer, not by
; #match? predicates: web-tree-sitter evaluates predicates in JavaScript after the match,
; reading each name from WebAssembly, which took a quarter of the query's time on a
; 10,000-line file; the analyzer reads names from the source text (server/src/extract.ts:
; the C API table, FIELD_NAME).

; mnx_send(dst, &m), r = mnx_bind(dc, ep), mnx_sendrec_T(ep, &m, 100), ...
; (every call with a plain name: the analyzer keeps those in its API table)
(call_expression
   function: (identifier) @call.name
   arguments: (argument_list) @call.args) @call

; m.m_type, m.m_source, m.m1_i1, mp->m1_p1 (accessor macros expand to m_u.m_mN.*).
; (every field access: the analyzer keeps the names ^(m_type|m_source|m[1-9]_[a-z]+[0-9])$)
(field_expression
   argument: (_) @field.object
   field: (field_identifier) @field.name) @field

; The dispatch of a server loop: switch (m.m_type) { case KV_GET: ... }
((switch_statement
   condition: (parenthesized_expression
     (field_expression argument: (_) @switch.object field: (field_identifier) @switch.field))
   body: (compound_statement) @switch.body) @switch
 (#eq? @switch.field "m_type"))

(case_statement) @case

[(while_statement) (for_statement) (do_statement)] @loop

; Endpoint and message-type constants: #define, enum, const.
(preproc_def name: (identifier) @def.name value: (preproc_arg) @def.value) @def
(enumerator name: (identifier) @enum.name value: (_)? @enum.value) @enum
(declaration
  (type_qualifier) @const.qualifier
  declarator: (init_declarator declarator: (identifier) @const.name value: (_) @const.value)) @const

; Bind results tested as booleans (DVS006): if (r), while (!r), !mnx_bind(...).
(if_statement condition: (parenthesized_expression [(identifier) (call_expression)] @cond.bare))
(while_statement condition: (parenthesized_expression [(identifier) (call_expression)] @cond.bare))
(unary_expression operator: "!" argument: [(identifier) (call_expression) (parenthesized_expression)] @cond.not) @cond.not.expr

; #if 0 ... [#else ...] #endif: inactive text is never analysed.
((preproc_if condition: (number_literal) @inactive.cond) @inactive
 (#eq? @inactive.cond "0"))

; Scopes: facts are ordered and matched per function.
(function_definition) @scope
