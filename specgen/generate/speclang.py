"""What may be written into a spec: every value is checked or escaped before a template sees it.

Names, versions, URLs and CMake options come partly from dry-run files that anyone can write.
A `%` starts a macro (`%{lua:...}` runs code at parse time), a newline starts a new tag or
section, and shell metacharacters reach %build. So names and versions must match RPM's own
grammar, free text has `%` doubled and may not break lines where a tag ends, and anything else
is refused with an error naming the package and the field.
"""

from __future__ import annotations

import re
import textwrap

from specgen.errors import SpecgenError

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._+-]{0,99}")
_VERSION = re.compile(r"[A-Za-z0-9][A-Za-z0-9._+~^]{0,63}")
_URL = re.compile(r"https?://[A-Za-z0-9.-]+(:\d+)?(/[A-Za-z0-9._~/+=,@:-]*)?(#/[A-Za-z0-9._+-]+)?")
_CMAKE_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(:[A-Z]+)?")
_CMAKE_VALUE = re.compile(r"[A-Za-z0-9_.:/+=,@-]*")
# The only macros specgen itself puts into dependency strings and file lists.
_OWN_MACROS = re.compile(
    r"%\{(\??_isa|name|version|release|epoch|_libdir|_includedir|_bindir|_datadir|_docdir"
    r"|_unitdir|_sysusersdir|_sysconfdir|_localstatedir|_sharedstatedir|python3_sitearch"
    r"|python3_sitelib|python3|_prefix|_libexecdir|_mandir|_builddir|buildsubdir|cuda_major|trt_major"
    r"|_rpmmacrodir)\}"
)
# A value that follows a %bcond: `%{?with_gpu:ON}%{!?with_gpu:OFF}` (also 1/0).
_BCOND_VALUE = re.compile(
    r"%\{\?with_(?P<n>[a-z0-9_]+):(?P<on>ON|1)\}%\{!\?with_(?P=n):(?P<off>OFF|0)\}"
)
_DEP = re.compile(r"[A-Za-z0-9_.+()/-][A-Za-z0-9_.+()/:-]*( (<|<=|=|>=|>) [A-Za-z0-9_.+~^:-]+)?")
_PATH = re.compile(r"/[A-Za-z0-9_.+*?/\[\]-]*")
_FILE_PREFIX = re.compile(r"^(%dir )?(%attr\(0[0-7]{3},[a-z_][a-z0-9_-]*,[a-z_][a-z0-9_-]*\) )?")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


class SpecValueError(SpecgenError):
    """A value that cannot be written into a spec safely."""

    def __init__(self, package: str, field: str, value: object, why: str) -> None:
        super().__init__(f"package {package}: {field} {value!r} {why}")


def name(package: str, field: str, value: str) -> str:
    """An RPM name: letters, digits and `._+-`, starting with a letter or digit."""
    if not isinstance(value, str) or not _NAME.fullmatch(value):
        raise SpecValueError(package, field, value, "is not a valid RPM name")
    return value


def version(package: str, field: str, value: str) -> str:
    """An RPM version: no `-`, no spaces, no macros."""
    if not isinstance(value, str) or not _VERSION.fullmatch(value):
        raise SpecValueError(package, field, value, "is not a valid RPM version")
    return value


def url(package: str, field: str, value: str) -> str:
    """A plain http(s) URL, optionally with a `#/new-name` fragment: no spaces, quotes, macros."""
    if not isinstance(value, str) or not _URL.fullmatch(value):
        raise SpecValueError(package, field, value, "is not a plain http(s) URL")
    return value


def line(package: str, field: str, value: str) -> str:
    """One line of free text (Summary): `%` doubled, no line breaks or control characters."""
    if not isinstance(value, str) or "\n" in value or "\r" in value or _CONTROL.search(value):
        raise SpecValueError(package, field, value, "must be one line of text")
    if not value.strip():
        raise SpecValueError(package, field, value, "is empty")
    return value.replace("%", "%%")


def text(package: str, field: str, value: str) -> str:
    """Free text over several lines (%description): `%` doubled, no control characters, each
    paragraph re-flowed to 79 columns (rpmlint's description-line-too-long)."""
    if not isinstance(value, str) or _CONTROL.search(value) or "\r" in value:
        raise SpecValueError(package, field, value, "has control characters")
    paragraphs = [p for p in value.strip("\n").split("\n\n") if p.strip()]
    flowed = ["\n".join(textwrap.wrap(" ".join(p.split()), width=79)) for p in paragraphs]
    return "\n\n".join(flowed).replace("%", "%%")


def dependency(package: str, field: str, value: str) -> str:
    """A dependency (`name`, `name >= 1.2`, `libfoo.so.1()(64bit)`, `%{name} = %{version}`)."""
    if not isinstance(value, str):
        raise SpecValueError(package, field, value, "is not text")
    plain = _BCOND_VALUE.sub("1", _OWN_MACROS.sub("x", value))
    if "%" in plain or not _DEP.fullmatch(plain):
        raise SpecValueError(package, field, value, "is not a valid RPM dependency")
    return value


def path(package: str, field: str, value: str) -> str:
    """A file path or glob for %files, possibly starting with one of specgen's own macros and
    with `%dir` / `%attr(MODE,USER,GROUP)` in front."""
    if not isinstance(value, str):
        raise SpecValueError(package, field, value, "is not text")
    plain = _OWN_MACROS.sub("/x", _FILE_PREFIX.sub("", value, count=1))
    if "%" in plain or not _PATH.fullmatch(plain):
        raise SpecValueError(package, field, value, "is not a plain path")
    return value


def bcond_value(switch: str, on: str = "ON", off: str = "OFF") -> str:
    """The rpm expression that is `on` when %bcond `switch` is on, else `off`."""
    return f"%{{?with_{switch}:{on}}}%{{!?with_{switch}:{off}}}"


def cmake_option(package: str, key: str, value: str) -> str:
    """`-DKEY=VALUE` with nothing a shell or rpm would interpret; returned ready to write."""
    if not _CMAKE_KEY.fullmatch(key):
        raise SpecValueError(package, "CMake option", key, "is not a CMake variable name")
    plain = _BCOND_VALUE.sub("ON", _OWN_MACROS.sub("x", value)) if isinstance(value, str) else None
    if plain is None or not _CMAKE_VALUE.fullmatch(plain):
        raise SpecValueError(package, f"CMake option {key}", value, "has characters a spec refuses")
    return f"-D{key}={value}"
