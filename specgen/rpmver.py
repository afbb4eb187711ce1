"""RPM version comparison, faithful to rpm's rpmvercmp(), and Debian pin -> RPM constraint.

PEP 440 and dpkg order versions differently from RPM (`1.0~rc1`, `1.0^post`, letters vs digits),
so a mapping that says "Azure Linux's cmake satisfies `>= 3.28.3`" must compare the way rpm and
tdnf will when they install it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


def _isalnum(c: str) -> bool:
    return c.isascii() and c.isalnum()


def rpmvercmp(a: str, b: str) -> int:
    """Compare two version (or release) strings as rpm 4.18 does: -1, 0 or 1."""
    if a == b:
        return 0
    i = j = 0
    la, lb = len(a), len(b)
    while i < la or j < lb:
        while i < la and not _isalnum(a[i]) and a[i] not in "~^":
            i += 1
        while j < lb and not _isalnum(b[j]) and b[j] not in "~^":
            j += 1
        ca = a[i] if i < la else ""
        cb = b[j] if j < lb else ""
        # tilde sorts before everything, even the end of the string
        if ca == "~" or cb == "~":
            if ca != "~":
                return 1
            if cb != "~":
                return -1
            i, j = i + 1, j + 1
            continue
        # caret sorts after the end of the string but before anything else
        if ca == "^" or cb == "^":
            if not ca:
                return -1
            if not cb:
                return 1
            if ca != "^":
                return 1
            if cb != "^":
                return -1
            i, j = i + 1, j + 1
            continue
        if not (ca and cb):
            break
        isnum = ca.isdigit()
        test = str.isdigit if isnum else (lambda c: c.isascii() and c.isalpha())
        si, sj = i, j
        while i < la and test(a[i]):
            i += 1
        while j < lb and test(b[j]):
            j += 1
        seg_a, seg_b = a[si:i], b[sj:j]
        if not seg_b:
            # one numeric, the other alpha: numeric segments are newer
            return 1 if isnum else -1
        if isnum:
            seg_a, seg_b = seg_a.lstrip("0"), seg_b.lstrip("0")
            if len(seg_a) != len(seg_b):
                return 1 if len(seg_a) > len(seg_b) else -1
        if seg_a != seg_b:
            return 1 if seg_a > seg_b else -1
    if i >= la and j >= lb:
        return 0
    return -1 if i >= la else 1


@dataclass(frozen=True)
class EVR:
    """Epoch, version, release; release None means "any release" (as in `Requires: x = 1.2`)."""

    epoch: int
    version: str
    release: str | None = None

    @classmethod
    def parse(cls, text: str) -> EVR:
        epoch = 0
        if ":" in text:
            head, text = text.split(":", 1)
            epoch = int(head) if head else 0
        version, sep, release = text.rpartition("-")
        if not sep:
            return cls(epoch, text, None)
        return cls(epoch, version, release)

    def __str__(self) -> str:
        evr = f"{self.version}-{self.release}" if self.release is not None else self.version
        return f"{self.epoch}:{evr}" if self.epoch else evr


def compare_evr(have: EVR, want: EVR) -> int:
    """Compare as rpm matches a dependency: a missing release on either side is not compared."""
    if have.epoch != want.epoch:
        return 1 if have.epoch > want.epoch else -1
    rc = rpmvercmp(have.version, want.version)
    if rc or have.release is None or want.release is None:
        return rc
    return rpmvercmp(have.release, want.release)


_OPS = {
    "=": lambda c: c == 0,
    ">=": lambda c: c >= 0,
    "<=": lambda c: c <= 0,
    ">": lambda c: c > 0,
    "<": lambda c: c < 0,
}


def satisfies(have: EVR, op: str, want: EVR) -> bool:
    """Whether a package of EVR `have` satisfies `name <op> want`."""
    return _OPS[op](compare_evr(have, want))


@dataclass(frozen=True)
class DebianPin:
    """An apt pin `[epoch:]upstream[-revision][*]` as written after `name=`."""

    epoch: int
    upstream: str
    revision: str | None
    glob: bool

    @classmethod
    def parse(cls, pin: str) -> DebianPin:
        text = pin.strip()
        glob = text.endswith("*")
        text = text.rstrip("*")
        epoch = 0
        m = re.match(r"^(\d+):(.*)$", text)
        if m:
            epoch, text = int(m.group(1)), m.group(2)
        upstream, sep, revision = text.rpartition("-")
        if not sep:
            return cls(epoch, text, None, glob)
        return cls(epoch, upstream, revision, glob)


PIN_POLICIES = ("auto", "minimum", "exact", "ignore")


def pin_to_constraint(
    name: str, pin: str, policy: str = "auto", keep_epoch: bool = False
) -> str | None:
    """Turn an apt pin into an RPM dependency string on `name`, or None when it is ignored.

    auto: a glob pin (`3.28.3*`, "this series or a patch of it") becomes `>=`, an exact pin `=`.
    minimum: always `>=` (build tools: the build needs a floor, not Ubuntu's exact build).
    exact: always `=`. The Debian revision (`-0kitware1`, `-1ubuntu2`) never carries over: RPM
    releases are the distribution's own. A Debian epoch is kept only when asked (our own specs can
    set the same Epoch; Azure Linux's packages have their own epochs).
    """
    if policy not in PIN_POLICIES:
        raise ValueError(f"unknown pin policy {policy!r}")
    if policy == "ignore":
        return None
    parsed = DebianPin.parse(pin)
    if not parsed.upstream:
        return None
    op = ">=" if policy == "minimum" or (policy == "auto" and parsed.glob) else "="
    version = parsed.upstream.rstrip(".")
    if keep_epoch and parsed.epoch:
        version = f"{parsed.epoch}:{version}"
    return f"{name} {op} {version}"


def split_constraint(constraint: str) -> tuple[str, str, EVR]:
    """`cmake >= 3.28.3` -> ("cmake", ">=", EVR(0, "3.28.3"))."""
    name, op, evr = constraint.split()
    if op not in _OPS:
        raise ValueError(f"unknown operator in {constraint!r}")
    return name, op, EVR.parse(evr)
