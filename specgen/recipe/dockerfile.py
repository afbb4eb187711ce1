"""Dockerfile lexer: logical instructions with their lines, and Docker's own word rules.

It follows BuildKit's reading of a Dockerfile: parser directives (`# escape=`), line
continuations (trailing escape character, optional trailing blanks), comment and blank lines
inside a continued instruction dropped, heredocs (`RUN <<EOF`) taken as the instruction's body.
Nothing read here is ever executed.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from specgen.errors import InputError

INSTRUCTIONS = frozenset(
    {
        "ADD", "ARG", "CMD", "COPY", "ENTRYPOINT", "ENV", "EXPOSE", "FROM", "HEALTHCHECK",
        "LABEL", "MAINTAINER", "ONBUILD", "RUN", "SHELL", "STOPSIGNAL", "USER", "VOLUME",
        "WORKDIR",
    }
)  # fmt: skip


@dataclass(frozen=True)
class Instruction:
    """One logical instruction. `text` is its arguments with continuations joined.

    `segments` maps byte offsets of `text` (UTF-8) back to file lines: a list of
    (offset, line) pairs in increasing offset order.
    """

    keyword: str
    text: str
    line: int
    flags: tuple[str, ...] = ()
    segments: tuple[tuple[int, int], ...] = ()
    heredocs: tuple[str, ...] = field(default=())

    def line_at(self, byte_offset: int) -> int:
        """The file line holding a byte offset of `text`."""
        line = self.line
        for start, seg_line in self.segments:
            if start > byte_offset:
                break
            line = seg_line
        return line

    def json_form(self) -> list[str] | None:
        """The exec form `["a", "b"]` as a list, or None for the shell form."""
        stripped = self.text.strip()
        if not stripped.startswith("["):
            return None
        try:
            value = json.loads(stripped)
        except json.JSONDecodeError:
            return None
        if isinstance(value, list) and all(isinstance(v, str) for v in value):
            return value
        return None


def read_text(path: Path) -> str:
    """Read a dry-run file as text; binary, non-UTF-8 or empty input is a clear error."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise InputError(path, "no such file") from None
    except IsADirectoryError:
        raise InputError(path, "is a folder, expected a file") from None
    except OSError as err:
        raise InputError(path, f"cannot read: {err.strerror}") from None
    if b"\0" in data:
        raise InputError(path, "binary file, expected text")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as err:
        line = data[: err.start].count(b"\n") + 1
        raise InputError(path, "not UTF-8 text", line) from None
    if not text.strip():
        raise InputError(path, "empty file")
    return text


def parse_dockerfile(text: str, path: str | Path) -> list[Instruction]:
    """Split Dockerfile text into instructions; unknown keywords are errors naming the line."""
    lines = text.splitlines()
    escape = _escape_directive(lines)
    instructions: list[Instruction] = []
    i = 0
    while i < len(lines):
        raw = lines[i]
        stripped = raw.strip()
        if not stripped or stripped.startswith("#"):
            i += 1
            continue
        start_line = i + 1
        parts: list[str] = []
        segments: list[tuple[int, int]] = []
        offset = 0
        current = raw.lstrip()
        while True:
            body, continued = _strip_continuation(current, escape)
            segments.append((offset, i + 1))
            parts.append(body)
            offset += len(body.encode("utf-8"))
            i += 1
            if not continued:
                break
            # Inside a continuation, comment lines and blank lines are dropped.
            while i < len(lines) and (not lines[i].strip() or lines[i].lstrip().startswith("#")):
                i += 1
            if i >= len(lines):
                break
            current = lines[i]
        logical = "".join(parts)
        keyword, _, rest = logical.partition(" ")
        if "\t" in keyword:
            keyword, _, tail = keyword.partition("\t")
            rest = tail + (" " + rest if rest else "")
        keyword_upper = keyword.upper()
        if keyword_upper not in INSTRUCTIONS:
            raise InputError(path, f"unknown instruction '{keyword}'", start_line)
        head_len = len(logical.encode("utf-8")) - len(rest.encode("utf-8"))
        flags, args, flag_len = _split_flags(rest)
        shift = head_len + flag_len
        shifted = tuple((max(0, off - shift), ln) for off, ln in segments)
        heredocs: tuple[str, ...] = ()
        if keyword_upper in ("RUN", "COPY", "ADD") and "<<" in args:
            heredocs, i = _read_heredocs(args, lines, i, path, start_line)
        instructions.append(Instruction(keyword_upper, args, start_line, flags, shifted, heredocs))
    if not instructions:
        raise InputError(path, "no Dockerfile instructions found")
    return instructions


def _escape_directive(lines: list[str]) -> str:
    """The escape character from a leading `# escape=` directive (default backslash)."""
    for line in lines:
        stripped = line.strip()
        if not stripped.startswith("#"):
            break
        key, sep, value = stripped[1:].partition("=")
        if sep and key.strip().lower() == "escape" and value.strip() in ("\\", "`"):
            return value.strip()
    return "\\"


def _strip_continuation(line: str, escape: str) -> tuple[str, bool]:
    """Drop a trailing escape character (blanks after it allowed); say if one was there."""
    trimmed = line.rstrip(" \t")
    if trimmed.endswith(escape):
        return trimmed[: -len(escape)], True
    return line, False


def _split_flags(rest: str) -> tuple[tuple[str, ...], str, int]:
    """Split leading `--flag=value` words (BuildKit flags) off an instruction's arguments."""
    flags: list[str] = []
    remaining = rest.lstrip()
    while remaining.startswith("--"):
        word, _, after = remaining.partition(" ")
        flags.append(word)
        remaining = after.lstrip()
    consumed = len(rest.encode("utf-8")) - len(remaining.encode("utf-8"))
    return tuple(flags), remaining, consumed


def _read_heredocs(
    args: str, lines: list[str], i: int, path: str | Path, line: int
) -> tuple[tuple[str, ...], int]:
    """Collect the bodies of `<<WORD` / `<<-WORD` heredocs that follow the instruction."""
    words = []
    for token in args.split():
        if token.startswith("<<") and len(token) > 2:
            word = token[2:].lstrip("-").strip("'\"")
            if word.isidentifier() or word.isalnum():
                words.append((word, token[2:].startswith("-")))
    bodies: list[str] = []
    for word, strip_tabs in words:
        body: list[str] = []
        while True:
            if i >= len(lines):
                raise InputError(path, f"heredoc '{word}' is not terminated", line)
            current = lines[i]
            i += 1
            check = current.lstrip("\t") if strip_tabs else current
            if check == word:
                break
            body.append(current.lstrip("\t") if strip_tabs else current)
        bodies.append("\n".join(body))
    return tuple(bodies), i


def split_words(text: str) -> list[str]:
    """Split instruction arguments on blanks, keeping quoted runs and escapes inside words."""
    words: list[str] = []
    current: list[str] = []
    quote = ""
    i = 0
    while i < len(text):
        ch = text[i]
        if quote:
            current.append(ch)
            if ch == "\\" and quote == '"' and i + 1 < len(text):
                current.append(text[i + 1])
                i += 1
            elif ch == quote:
                quote = ""
        elif ch in "\"'":
            quote = ch
            current.append(ch)
        elif ch == "\\" and i + 1 < len(text):
            current.append(ch)
            current.append(text[i + 1])
            i += 1
        elif ch in " \t":
            if current:
                words.append("".join(current))
                current = []
        else:
            current.append(ch)
        i += 1
    if quote:
        raise ValueError("unterminated quote")
    if current:
        words.append("".join(current))
    return words


def expand_word(word: str, variables: Mapping[str, str | None]) -> str:
    """Docker's word processing: quote removal and `$VAR`, `${VAR}`, `${VAR:-x}`, `${VAR:+x}`.

    A variable this file does not define (it comes from the base image, like PATH) is kept
    as written, since its value is not knowable here.
    """
    out: list[str] = []
    i = 0
    quote = ""
    while i < len(word):
        ch = word[i]
        if quote == "'":
            if ch == "'":
                quote = ""
            else:
                out.append(ch)
            i += 1
            continue
        if ch == '"':
            quote = "" if quote == '"' else '"'
            i += 1
            continue
        if ch == "'" and not quote:
            quote = "'"
            i += 1
            continue
        if ch == "\\" and i + 1 < len(word):
            out.append(word[i + 1])
            i += 2
            continue
        if ch == "$" and i + 1 < len(word):
            value, i = _expand_variable(word, i, variables)
            out.append(value)
            continue
        out.append(ch)
        i += 1
    if quote:
        raise ValueError("unterminated quote")
    return "".join(out)


def _expand_variable(word: str, i: int, variables: Mapping[str, str | None]) -> tuple[str, int]:
    """Expand the variable reference starting at word[i] == '$'; return value and next index."""
    if word[i + 1] == "{":
        end = word.find("}", i + 2)
        if end < 0:
            raise ValueError("missing '}' in variable reference")
        inner = word[i + 2 : end]
        name, op, arg = inner, "", ""
        for candidate in (":-", ":+", "-", "+"):
            pos = inner.find(candidate)
            if pos > 0:
                name, op, arg = inner[:pos], candidate, inner[pos + len(candidate) :]
                break
        value = variables.get(name)
        if op in (":-", "-"):
            result = value if value else expand_word(arg, variables)
        elif op in (":+", "+"):
            result = expand_word(arg, variables) if value else ""
        elif name in variables:
            result = value or ""
        else:
            result = word[i : end + 1]
        return result, end + 1
    j = i + 1
    while j < len(word) and (word[j].isalnum() or word[j] == "_"):
        j += 1
    if j == i + 1:
        return "$", i + 1
    name = word[i + 1 : j]
    return (variables.get(name) or "") if name in variables else word[i:j], j


def key_values(text: str, variables: Mapping[str, str | None]) -> list[tuple[str, str]]:
    """Parse `K=V K2="a b"` or the legacy `K value with spaces` form (ENV, LABEL, ARG)."""
    words = split_words(text)
    if not words:
        return []
    if "=" not in words[0]:
        key = words[0]
        value = text.strip()[len(key) :].strip()
        return [(key, expand_word(value, variables) if value else "")]
    pairs = []
    for word in words:
        key, sep, value = word.partition("=")
        if not sep:
            raise ValueError(f"expected KEY=VALUE, got '{word}'")
        pairs.append((expand_word(key, variables), expand_word(value, variables)))
    return pairs
