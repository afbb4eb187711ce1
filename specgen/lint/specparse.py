"""Just enough of a spec's structure for the lint rules: sections, packages, tags, line numbers.

Not rpm's parser (`rpmspec -P` is run beside it for that): it keeps every line number, so a
rule can point at the line that breaks it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import PurePath


@dataclass(frozen=True)
class SpecInput:
    """One spec as lint sees it; `expanded` and `rpmspec_error` come from `rpmspec -P`."""

    path: str
    text: str
    signatures: str | None = None  # text of <stem>.signatures.json beside it, None when absent
    expanded: str | None = None  # rpmspec -P output, when it ran and succeeded
    rpmspec_error: str | None = None  # rpmspec -P stderr, when it ran and failed

    @property
    def stem(self) -> str:
        return PurePath(self.path).name.removesuffix(".spec")

    @property
    def signatures_path(self) -> str:
        return str(PurePath(self.path).with_name(f"{self.stem}.signatures.json"))



_SECTION = re.compile(
    r"^%(package|description|prep|build|install|check|clean|files|changelog|pre|post|preun"
    r"|postun|pretrans|posttrans|preuntrans|postuntrans|verifyscript|triggerprein|triggerin"
    r"|triggerun|triggerpostun|filetriggerin|filetriggerun|filetriggerpostun"
    r"|transfiletriggerin|transfiletriggerun|transfiletriggerpostun|generate_buildrequires"
    r"|conf|patchlist|sourcelist)(?=\s|$)(.*)$"
)
_TAG = re.compile(r"^(?P<tag>[A-Za-z][A-Za-z0-9]*(?:\([^)]*\))?):(?P<gap>[ \t]*)(?P<value>.*?)\s*$")
_MACRO_NAME = re.compile(r"%\{\??(name|version)\}|%(name|version)\b")


@dataclass(frozen=True)
class Tag:
    """A preamble line `Tag: value`, with where its value starts (1-based column)."""

    name: str
    gap: str
    value: str
    line: int

    @property
    def key(self) -> str:
        """Lower-case tag without its qualifier: `Requires(post)` -> `requires`."""
        return self.name.split("(", 1)[0].lower()

    @property
    def column(self) -> int:
        return len(self.name) + 2 + len(self.gap)


@dataclass
class Section:
    """`%keyword args` and the numbered lines up to the next section; keyword "" is the top."""

    keyword: str
    args: str
    line: int
    body: list[tuple[int, str]] = field(default_factory=list)


@dataclass
class Package:
    """A binary package: its preamble tags and its %files section, if any."""

    name: str
    tags: list[Tag]
    files: Section | None = None


@dataclass
class Spec:
    """The parsed spec plus the input it came from."""

    input: SpecInput
    sections: list[Section]
    packages: dict[str, Package]

    @property
    def main(self) -> Package:
        return next(iter(self.packages.values()))

    def tag(self, key: str) -> Tag | None:
        """The main package's first tag of that name (case-insensitive)."""
        return next((t for t in self.main.tags if t.key == key), None)

    def expand(self, value: str) -> str:
        """%{name} and %{version} from the preamble: all lint can expand without rpmspec."""
        known = {k: t.value for k in ("name", "version") if (t := self.tag(k))}
        return _MACRO_NAME.sub(lambda m: known.get(m[1] or m[2], m[0]), value)


def _tags(body: list[tuple[int, str]]) -> list[Tag]:
    found = []
    for no, text in body:
        if m := _TAG.match(text):
            found.append(Tag(m["tag"], m["gap"], m["value"], no))
    return found


def _package_name(args: str, main: str) -> str:
    """`%package devel` -> main-devel, `%files -n foo` -> foo, `%files -f list` -> main."""
    words, name, suffix = args.split(), None, None
    i = 0
    while i < len(words):
        if words[i] == "-n" and i + 1 < len(words):
            name, i = words[i + 1], i + 2
        elif words[i] in ("-f", "-p") and i + 1 < len(words):
            i += 2
        elif words[i].startswith("-"):
            i += 1
        else:
            suffix, i = suffix or words[i], i + 1
    if name:
        return _MACRO_NAME.sub(lambda m: main if (m[1] or m[2]) == "name" else m[0], name)
    return f"{main}-{suffix}" if suffix else main


def parse(source: SpecInput) -> Spec:
    """Split into sections and packages; tags are read from the top and each %package."""
    sections = [Section("", "", 1)]
    for no, text in enumerate(source.text.splitlines(), 1):
        if m := _SECTION.match(text):
            sections.append(Section(m[1], m[2].strip(), no))
        else:
            sections[-1].body.append((no, text))
    main_tags = _tags(sections[0].body)
    main = next((t.value for t in main_tags if t.key == "name"), source.stem)
    packages = {main: Package(main, main_tags)}
    for sec in sections[1:]:
        if sec.keyword == "package":
            name = _package_name(sec.args, main)
            packages[name] = Package(name, _tags(sec.body))
    for sec in sections:
        if sec.keyword == "files" and (pkg := packages.get(_package_name(sec.args, main))):
            pkg.files = pkg.files or sec
    return Spec(source, sections, packages)


