; @dvs/runtime call patterns in TypeScript (SPEC §4), used by the DVS language server.
; Same capture contract as c-ipc.scm. The analyzer only treats a member call as IPC
; when its receiver is an Endpoint (a variable initialised from bind(...) or
; annotated `Endpoint`), so `socket.send(x)` is never mistaken for ep.send.

; ep.send(dst, msg), ep.receive(ANY), ep.sendrec(...), ep.rcvrqst(), ep.reply(...), ...
((call_expression
   function: (member_expression object: (_) @call.object property: (property_identifier) @call.name)
   arguments: (arguments) @call.args) @call
 (#match? @call.name "^(send|receive|sendrec|rcvrqst|reply|notify|vcopy|unbind|wakeup)$"))

; const ep = await bind(dc, endpoint) / bind({ dc, endpoint, node })
((call_expression
   function: (identifier) @call.name
   arguments: (arguments) @call.args) @call
 (#eq? @call.name "bind"))

; req.type, req.source, req.m1_i1
((member_expression
   object: (_) @field.object
   property: (property_identifier) @field.name) @field
 (#match? @field.name "^(type|source|m[1-9]_[a-z]+[0-9])$"))

; Message literals: { type: KV_GET, m1_i1: key, source: 3 }
((pair key: (property_identifier) @pair.key value: (_) @pair.value) @pair
 (#match? @pair.key "^(type|source|m[1-9]_[a-z]+[0-9])$"))

((switch_statement
   value: (parenthesized_expression
     (member_expression object: (_) @switch.object property: (property_identifier) @switch.field))
   body: (switch_body) @switch.body) @switch
 (#eq? @switch.field "type"))

[(switch_case) (switch_default)] @case

[(while_statement) (for_statement) (do_statement) (for_in_statement)] @loop

; Endpoint and message-type constants: const X = 1, enum { X = 1 }.
(lexical_declaration
  (variable_declarator name: (identifier) @const.name value: (_) @const.value)) @const
(enum_assignment name: (property_identifier) @enum.name value: (_) @enum.value) @enum
(enum_body (property_identifier) @enum.name @enum)

; Endpoint receivers declared by type: function serve(ep: Endpoint)
((required_parameter pattern: (identifier) @param.name type: (type_annotation (type_identifier) @param.type))
 (#eq? @param.type "Endpoint"))

(import_statement source: (string) @import.source) @import

(if_statement condition: (parenthesized_expression (identifier) @cond.bare))
(unary_expression operator: "!" argument: (_) @cond.not) @cond.not.expr

; Scopes: facts are ordered and matched per function (module code is one scope).
[(function_declaration) (generator_function_declaration) (function_expression) (arrow_function) (method_definition)] @scope

