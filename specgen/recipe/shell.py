"""Read shell code (RUN lines, cmake_build) into simple commands, with a real bash parser.

tree-sitter-bash parses; this module walks its syntax tree and expands words the way bash
would where the values are known (ARG/ENV, assignments earlier in the script, `for` lists),
keeping unresolved expansions as written. bashlex was tried first, but it rejects `$(a && b)`,
which Triton's RUN lines contain (bashlex issues #54, #83). Nothing is ever executed.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import lru_cache

import tree_sitter_bash
from tree_sitter import Language, Node, Parser

from specgen.errors import InputError

# Commands whose output can be predicted at generation time: build.py fixes the architecture
# when it writes the files, and `dpkg --print-architecture` is the only run-time probe.
_ARCH_PROBES = {("dpkg", "--print-architecture"): "dpkg_arch", ("uname", "-m"): "uname_m"}


# Inside double quotes a backslash escapes only these (bash manual, "Double Quotes").
_DOUBLE_QUOTE_ESCAPABLE = '$`"\\\n'


@dataclass(frozen=True)
class Command:
    """A simple command: expanded argv, the byte offset it starts at, and its redirections."""

    argv: tuple[str, ...]
    offset: int
    stdout: str | None = None
    stdin_text: str | None = None
    in_substitution: bool = False


@dataclass(frozen=True)
class Pipeline:
    """Commands joined by `|` (one command is a pipeline of one)."""

    commands: tuple[Command, ...]

    @property
    def offset(self) -> int:
        return self.commands[0].offset


@dataclass
class _Scope:
    variables: dict[str, str]
    facts: Mapping[str, str]
    path: str
    line_at: Callable[[int], int]
    out: list[Pipeline] = field(default_factory=list)


def line_locator(text: str) -> Callable[[int], int]:
    """A function from a byte offset of `text` to its 1-based line number."""
    starts = [0]
    for line in text.encode("utf-8").split(b"\n")[:-1]:
        starts.append(starts[-1] + len(line) + 1)

    def line_at(offset: int) -> int:
        return bisect.bisect_right(starts, offset)

    return line_at


@lru_cache(maxsize=1)
def _parser() -> Parser:
    return Parser(Language(tree_sitter_bash.language()))


def parse_shell(
    text: str,
    path: str,
    line_at: Callable[[int], int],
    variables: Mapping[str, str | None] | None = None,
    facts: Mapping[str, str] | None = None,
) -> list[Pipeline]:
    """Parse shell text into pipelines of simple commands, in source order.

    `line_at` maps a byte offset of `text` to a file line for error messages; `variables` are
    known values (Docker ARG/ENV); `facts` predict probe commands (`dpkg_arch`, `uname_m`).
    A syntax error raises InputError naming the file and line.
    """
    source = text.encode("utf-8")
    tree = _parser().parse(source)
    if tree.root_node.has_error:
        node, message = _first_error(tree.root_node)
        raise InputError(path, message, line_at(node.start_byte))
    known = {k: v for k, v in (variables or {}).items() if v is not None}
    scope = _Scope(variables=known, facts=facts or {}, path=path, line_at=line_at)
    _walk(tree.root_node, source, scope, in_substitution=False)
    return scope.out


def _first_error(root: Node) -> tuple[Node, str]:
    """The first ERROR or MISSING node and a message that says what is wrong."""
    stack = [root]
    while stack:
        node = stack.pop()
        if node.is_missing:
            if node.type in ('"', "'", "`"):
                return node, f"unterminated quote ({node.type})"
            return node, f"shell syntax error: missing '{node.type}'"
        if node.type == "ERROR":
            text = (node.text or b"").decode("utf-8", "replace").strip()
            if text[:1] in ('"', "'") or text.count('"') % 2 or text.count("'") % 2:
                return node, "unterminated quote"
            return node, f"shell syntax error near '{text[:40]}'"
        stack.extend(reversed(node.children))
    return root, "shell syntax error"


def _walk(node: Node, src: bytes, scope: _Scope, in_substitution: bool) -> None:
    kind = node.type
    if kind == "command":
        _command(node, src, scope, None, in_substitution)
    elif kind == "pipeline":
        commands: list[Command] = []
        for child in node.named_children:
            commands.extend(_pipeline_part(child, src, scope, in_substitution))
        if commands:
            scope.out.append(Pipeline(tuple(commands)))
    elif kind == "redirected_statement":
        body = node.child_by_field_name("body")
        redirects = [c for c in node.named_children if c is not body]
        if body is not None and body.type == "command":
            _command(body, src, scope, redirects, in_substitution)
        elif body is not None and body.type == "pipeline":
            parts: list[Command] = []
            for child in body.named_children:
                parts.extend(_pipeline_part(child, src, scope, in_substitution))
            if parts:
                last = _with_redirects(parts[-1], redirects, src, scope)
                scope.out.append(Pipeline((*parts[:-1], last)))
        elif body is not None:
            # tree-sitter binds `a && b > f` to the whole list: the redirect belongs to `b`.
            before = len(scope.out)
            _walk(body, src, scope, in_substitution)
            if len(scope.out) > before:
                last = scope.out[-1]
                tail = _with_redirects(last.commands[-1], redirects, src, scope)
                scope.out[-1] = Pipeline((*last.commands[:-1], tail))
    elif kind == "for_statement":
        _for(node, src, scope, in_substitution)
    elif kind == "if_statement":
        _if(node, src, scope, in_substitution)
    elif kind == "variable_assignment":
        _assign(node, src, scope)
    elif kind == "declaration_command":
        for child in node.named_children:
            if child.type == "variable_assignment":
                _assign(child, src, scope)
    elif kind == "command_substitution":
        for child in node.named_children:
            _walk(child, src, scope, True)
    elif kind in ("comment", "heredoc_body", "heredoc_start"):
        return
    else:
        for child in node.named_children:
            _walk(child, src, scope, in_substitution)


def _pipeline_part(node: Node, src: bytes, scope: _Scope, in_sub: bool) -> list[Command]:
    """One element of a pipeline as commands (compound elements contribute their own)."""
    if node.type == "command":
        cmd = _make_command(node, src, scope, None, in_sub)
        return [cmd] if cmd else []
    if node.type == "redirected_statement":
        body = node.child_by_field_name("body")
        redirects = [c for c in node.named_children if c is not body]
        if body is not None and body.type == "command":
            cmd = _make_command(body, src, scope, redirects, in_sub)
            return [cmd] if cmd else []
    # `a && b | c`: tree-sitter puts the list in the pipeline; only its last command pipes.
    before = len(scope.out)
    _walk(node, src, scope, in_sub)
    if len(scope.out) > before:
        return list(scope.out.pop().commands)
    return []


def _command(
    node: Node, src: bytes, scope: _Scope, redirects: list[Node] | None, in_sub: bool
) -> None:
    cmd = _make_command(node, src, scope, redirects, in_sub)
    if cmd is not None:
        scope.out.append(Pipeline((cmd,)))


def _make_command(
    node: Node, src: bytes, scope: _Scope, redirects: list[Node] | None, in_sub: bool
) -> Command | None:
    """Expand a command node; prefix assignments alone (`X=1`) set variables instead."""
    argv: list[str] = []
    prefix_assignments: list[Node] = []
    for child in node.named_children:
        if child.type == "variable_assignment":
            if argv:
                argv.append(_expand(child, src, scope))
            else:
                prefix_assignments.append(child)
        elif child.type == "command_name":
            argv.append(_expand(child.named_children[0], src, scope))
        elif child.type in ("file_redirect", "herestring_redirect", "heredoc_redirect"):
            redirects = [*(redirects or []), child]
        elif child.type == "comment":
            continue
        else:
            argv.extend(_expand_fields(child, src, scope))
        for sub in _substitutions(child):
            _walk(sub, src, scope, True)
    if not argv:
        for assignment in prefix_assignments:
            _assign(assignment, src, scope)
        return None
    if argv[0] in ("export", "readonly", "local", "declare"):
        for word in argv[1:]:
            name, sep, value = word.partition("=")
            if sep and name.isidentifier():
                scope.variables[name] = value
    cmd = Command(argv=tuple(argv), offset=node.start_byte, in_substitution=in_sub)
    return _with_redirects(cmd, redirects or [], src, scope)


def _with_redirects(cmd: Command, redirects: list[Node], src: bytes, scope: _Scope) -> Command:
    stdout, stdin_text = cmd.stdout, cmd.stdin_text
    for redirect in redirects:
        if redirect.type == "file_redirect":
            op = redirect.children[0].type if redirect.children else ""
            target = redirect.child_by_field_name("destination")
            if target is None and redirect.named_children:
                target = redirect.named_children[-1]
            if op in (">", ">>", "&>", ">|") and target is not None:
                stdout = _expand(target, src, scope)
        elif redirect.type == "herestring_redirect" and redirect.named_children:
            stdin_text = _expand(redirect.named_children[-1], src, scope)
        elif redirect.type == "heredoc_redirect":
            for child in redirect.named_children:
                if child.type == "heredoc_body":
                    stdin_text = _text(child, src)
    return Command(cmd.argv, cmd.offset, stdout, stdin_text, cmd.in_substitution)


def _substitutions(node: Node) -> Iterator[Node]:
    """Command substitutions nested anywhere in a word (their commands are walked too)."""
    stack = [node]
    while stack:
        current = stack.pop()
        if current.type in ("command_substitution", "process_substitution"):
            yield current
            continue
        stack.extend(current.named_children)


def _assign(node: Node, src: bytes, scope: _Scope) -> None:
    name_node = node.child_by_field_name("name")
    value_node = node.child_by_field_name("value")
    if name_node is None:
        return
    name = _text(name_node, src)
    scope.variables[name] = _expand(value_node, src, scope) if value_node is not None else ""


def _for(node: Node, src: bytes, scope: _Scope, in_sub: bool) -> None:
    """Unroll a `for` over a literal list; otherwise walk its body once with the var unknown."""
    var = node.child_by_field_name("variable")
    body = node.child_by_field_name("body")
    values_nodes = node.children_by_field_name("value")
    if var is None or body is None:
        return
    name = _text(var, src)
    values: list[str] = []
    resolved = bool(values_nodes)
    for value_node in values_nodes:
        expanded = _expand_fields(value_node, src, scope)
        if any(_unresolved(v) for v in expanded):
            resolved = False
        values.extend(expanded)
    if not resolved:
        scope.variables.pop(name, None)
        _walk(body, src, scope, in_sub)
        return
    for value in values:
        scope.variables[name] = value
        _walk(body, src, scope, in_sub)


def _if(node: Node, src: bytes, scope: _Scope, in_sub: bool) -> None:
    """Take the branch decidable `[ a = b ]` conditions pick; otherwise walk every branch."""
    clauses = [_clause(node)]
    for child in node.named_children:
        if child.type in ("elif_clause", "else_clause"):
            clauses.append(_clause(child))
    for conditions, body in clauses:
        decided = _decide(conditions[0], src, scope) if len(conditions) == 1 else None
        if not conditions:  # else
            decided = True
        if decided is None:
            for condition in conditions:
                _walk(condition, src, scope, in_sub)
        if decided is not False:
            for child in body:
                _walk(child, src, scope, in_sub)
        if decided is True:
            return


def _clause(node: Node) -> tuple[list[Node], list[Node]]:
    """(condition nodes, body nodes) of an if/elif/else clause, split at `then`."""
    conditions: list[Node] = []
    body: list[Node] = []
    seen_then = node.type == "else_clause"
    for child in node.children:
        if child.type == "then":
            seen_then = True
        elif child.is_named and child.type not in ("elif_clause", "else_clause", "comment"):
            (body if seen_then else conditions).append(child)
    return conditions, body


def _decide(condition: Node, src: bytes, scope: _Scope) -> bool | None:
    """Evaluate `[ X = Y ]`, `[ X != Y ]`, `[ -z X ]`, `[ -n X ]` when all operands are known."""
    node = condition
    if node.type == "test_command" and node.named_children:
        node = node.named_children[0]
    if node.type == "binary_expression" and len(node.named_children) == 2:
        op_nodes = [c for c in node.children if not c.is_named]
        if len(op_nodes) != 1:
            return None
        op = _text(op_nodes[0], src)
        left, right = (_expand(c, src, scope) for c in node.named_children)
        if _unresolved(left) or _unresolved(right):
            return None
        if op in ("=", "=="):
            return left == right
        if op == "!=":
            return left != right
    if node.type == "unary_expression" and node.named_children:
        op = _text(node.children[0], src)
        value = _expand(node.named_children[-1], src, scope)
        if _unresolved(value):
            return None
        if op == "-z":
            return value == ""
        if op == "-n":
            return value != ""
    return None


def _unresolved(value: str) -> bool:
    return "$" in value or "`" in value


def _text(node: Node, src: bytes) -> str:
    return src[node.start_byte : node.end_byte].decode("utf-8")


def _expand_fields(node: Node, src: bytes, scope: _Scope) -> list[str]:
    """Expand a word to fields: an unquoted expansion with blanks splits, as bash would."""
    value = _expand(node, src, scope)
    if node.type in ("simple_expansion", "expansion") and value and not _unresolved(value):
        return value.split()
    return [value]


def _expand(node: Node, src: bytes, scope: _Scope) -> str:
    """A word's value after quote removal and known expansions; unknown ones stay as written."""
    kind = node.type
    if kind == "word":
        return _unescape(_text(node, src))
    if kind == "raw_string":
        return _text(node, src)[1:-1]
    if kind == "string":
        return "".join(_string_part(c, src, scope) for c in node.children[1:-1])
    if kind == "concatenation":
        return "".join(_expand(c, src, scope) for c in node.children)
    if kind == "simple_expansion":
        name = _text(node, src)[1:]
        return scope.variables.get(name, _text(node, src))
    if kind == "expansion":
        return _parameter(node, src, scope)
    if kind == "command_substitution":
        inner = node.named_children
        if len(inner) == 1 and inner[0].type == "command":
            argv = tuple(_expand(c, src, scope) for c in _argv_nodes(inner[0]))
            fact = _ARCH_PROBES.get(argv)
            if fact and fact in scope.facts:
                return scope.facts[fact]
        return _text(node, src)
    if kind == "ansi_c_string":
        body = _text(node, src)[2:-1]
        return body.encode("utf-8").decode("unicode_escape", "replace")
    return _text(node, src)


def _argv_nodes(command: Node) -> list[Node]:
    nodes = []
    for child in command.named_children:
        if child.type == "command_name":
            nodes.append(child.named_children[0])
        elif child.type not in ("variable_assignment", "file_redirect", "comment"):
            nodes.append(child)
    return nodes


def _string_part(node: Node, src: bytes, scope: _Scope) -> str:
    if node.type == "string_content":
        return _unescape(_text(node, src), _DOUBLE_QUOTE_ESCAPABLE)
    if not node.is_named:
        return _text(node, src)
    return _expand(node, src, scope)


def _parameter(node: Node, src: bytes, scope: _Scope) -> str:
    """`${X}`, `${X:-d}`, `${X-d}`, `${X:+a}`, `${X:=d}` with X known or not."""
    raw = _text(node, src)
    inner = raw[2:-1]
    name = inner
    for op in (":-", ":=", ":+", "-", "=", "+"):
        pos = inner.find(op)
        if pos > 0 and inner[:pos].replace("_", "a").isalnum():
            name, arg = inner[:pos], inner[pos + len(op) :]
            value = scope.variables.get(name)
            if op in (":-", ":="):
                return value if value else _unquote_simple(arg, node, scope)
            if op in ("-", "="):
                return value if value is not None else _unquote_simple(arg, node, scope)
            if value is None:
                return raw
            return _unquote_simple(arg, node, scope) if value else ""
    if name.replace("_", "a").isalnum() and name in scope.variables:
        return scope.variables[name]
    return raw


def _unquote_simple(text: str, node: Node, scope: _Scope) -> str:
    """A default inside `${X:-...}`: parse it as a word of its own. Its errors name the file
    and the line of the parameter `node`, as any other error in the RUN line would."""
    if not text:
        return ""
    line = scope.line_at(node.start_byte)
    values = parse_shell(
        f"echo {text}", scope.path, lambda _o: line, scope.variables, scope.facts
    )
    if values and values[0].commands and len(values[0].commands[0].argv) > 1:
        return " ".join(values[0].commands[0].argv[1:])
    return text


def _unescape(text: str, escapable: str | None = None) -> str:
    """Backslash removal: before any character in an unquoted word, and inside double quotes
    only before the `escapable` characters; an escaped newline is dropped."""
    out = []
    i = 0
    while i < len(text):
        if (
            text[i] == "\\"
            and i + 1 < len(text)
            and (escapable is None or text[i + 1] in escapable)
        ):
            if text[i + 1] != "\n":
                out.append(text[i + 1])
            i += 2
        else:
            out.append(text[i])
            i += 1
    return "".join(out)
