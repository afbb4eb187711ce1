"""SPDX license expressions: is `License:` an expression of known identifiers?

The identifiers are an allow-list (specgen/data/spdx-licenses.txt) of what Triton, its
dependencies and Azure Linux specs use; `LicenseRef-` is accepted for proprietary terms, and the
old Fedora short names get a hint with their SPDX equivalent.
"""

from __future__ import annotations

import re
from functools import cache
from importlib import resources

_OLD_NAMES = {
    "ASL 2.0": "Apache-2.0",
    "ASL 1.1": "Apache-1.1",
    "BSD": "BSD-3-Clause or BSD-2-Clause",
    "GPLv2": "GPL-2.0-only",
    "GPLv2+": "GPL-2.0-or-later",
    "GPLv3": "GPL-3.0-only",
    "GPLv3+": "GPL-3.0-or-later",
    "LGPLv2": "LGPL-2.0-only",
    "LGPLv2+": "LGPL-2.0-or-later or LGPL-2.1-or-later",
    "LGPLv3+": "LGPL-3.0-or-later",
    "MPLv2.0": "MPL-2.0",
    "Boost": "BSL-1.0",
    "Public Domain": "LicenseRef-Fedora-Public-Domain",
}
_SPDX_TOKEN = re.compile(r"\(|\)|[^\s()]+")


@cache
def spdx_identifiers() -> frozenset[str]:
    """The shipped allow-list (specgen/data/spdx-licenses.txt)."""
    text = resources.files("specgen").joinpath("data", "spdx-licenses.txt").read_text("utf-8")
    return frozenset(w for raw in text.splitlines() if (w := raw.split("#", 1)[0].strip()))


class _SpdxError(Exception):
    pass


def _case_hint(word: str) -> str:
    return " (operators are upper-case: AND, OR, WITH)" if word in ("and", "or", "with") else ""


def _spdx_expr(tokens: list[str], at: int, known: frozenset[str]) -> int:
    """Parse `term ((AND|OR) term)*` from tokens[at]; the index after it."""
    at = _spdx_term(tokens, at, known)
    while at < len(tokens) and tokens[at] in ("AND", "OR"):
        at = _spdx_term(tokens, at + 1, known)
    return at


def _spdx_term(tokens: list[str], at: int, known: frozenset[str]) -> int:
    if at >= len(tokens):
        raise _SpdxError("expression ends early")
    word = tokens[at]
    if word == "(":
        at = _spdx_expr(tokens, at + 1, known)
        if at >= len(tokens) or tokens[at] != ")":
            raise _SpdxError("unbalanced parenthesis")
        return at + 1
    if not (word.startswith("LicenseRef-") or (word in known and "exception" not in word)):
        raise _SpdxError(f"unknown license identifier {word!r}{_case_hint(word)}")
    at += 1
    if at < len(tokens) and tokens[at] == "WITH":
        exception = tokens[at + 1] if at + 1 < len(tokens) else ""
        if exception not in known or "exception" not in exception:
            raise _SpdxError("WITH needs a listed exception, e.g. LLVM-exception")
        at += 2
    return at


def spdx_problem(expr: str) -> str | None:
    """Why `expr` is not an allow-listed SPDX expression, or None when it is."""
    tokens = _SPDX_TOKEN.findall(expr)
    try:
        end = _spdx_expr(tokens, 0, spdx_identifiers())
        if end != len(tokens):
            raise _SpdxError(f"expected AND or OR before {tokens[end]!r}{_case_hint(tokens[end])}")
    except _SpdxError as err:
        old = [
            f"{o!r} is {new}"
            for o, new in _OLD_NAMES.items()
            if re.search(rf"(?<![\w.+-]){re.escape(o)}(?![\w.+-])", expr)
        ]
        hint = f" (old Fedora name: {'; '.join(old)})" if old else ""
        return f"{expr!r} is not an SPDX expression: {err}{hint}"
    return None
