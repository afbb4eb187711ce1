"""How `map --by-content` shows its findings: an aligned table, and the entries to paste into
data/ubuntu-to-azurelinux.toml (verified ones as they are, weaker ones commented out)."""

from __future__ import annotations

import json
from collections.abc import Sequence

from specgen.mapping.bycontent import BY_SOURCE, VERIFIED, ContentFinding


def render_table(findings: Sequence[ContentFinding]) -> str:
    """UBUNTU, STATUS, AZURE LINUX, EVIDENCE / WHY."""
    rows = [("UBUNTU", "STATUS", "AZURE LINUX", "EVIDENCE")]
    for f in findings:
        if f.status == VERIFIED:
            why = "; ".join(
                f"{c.package}: {', '.join(c.evidence)}"
                for c in f.candidates
                if c.package in f.packages
            )
        else:
            why = f.reason
            if f.suggestions:
                why += f"; close names: {', '.join(f.suggestions)}"
        rows.append((f.name, f.status, ", ".join(f.packages) or "-", why))
    widths = [max(len(r[i]) for r in rows) for i in range(3)]
    return "".join(
        "  ".join([*(c.ljust(w) for c, w in zip(r[:3], widths, strict=True)), r[3]]).rstrip() + "\n"
        for r in rows
    )


def _toml(value: str | Sequence[str]) -> str:
    """A TOML basic string (or array of them): JSON's escapes are TOML's."""
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    return "[" + ", ".join(json.dumps(v, ensure_ascii=False) for v in value) + "]"


def toml_entry(f: ContentFinding) -> str:
    """The table entry for one finding: ready to paste when verified; commented out, with
    what to check, when only the source package or nothing was found."""
    key = f.name.split(":", 1)[0].lower()
    if f.status == VERIFIED:
        return f"[apt.{_toml(key)}]\npackages = {_toml(f.packages)}\nwhy = {_toml(f.reason)}\n"
    if f.status == BY_SOURCE:
        return (
            f"# {key}: by source package only, NOT verified by content; check before adding\n"
            f"# [apt.{_toml(key)}]\n# packages = {_toml(f.packages)}\n"
            f"# why = {_toml(f.reason)}\n"
        )
    return (
        f"# {key}: {f.status}: {f.reason}\n"
        f'# write a spec for it ([apt.{_toml(key)}] spec = "NAME") or mark it not_needed\n'
    )


def render_toml(findings: Sequence[ContentFinding]) -> str:
    return "\n".join(toml_entry(f) for f in findings)
