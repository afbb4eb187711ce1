"""What shell commands install: apt/yum/dnf packages, pip requirements, downloads, repositories.

Input is the parsed commands of RUN lines (shell.py); output goes into an Image of the recipe.
Each reader knows one tool's command line (which options take a value, what is a name).
"""

from __future__ import annotations

import posixpath
from collections.abc import Callable
from urllib.parse import urlparse

from specgen.recipe.model import (
    AptPackage,
    Download,
    Image,
    Origin,
    PackageRepository,
    PipRequirement,
    RpmPackage,
)
from specgen.recipe.shell import Command, Pipeline

# Wrappers that run the command named after their own options.
_WRAPPERS = {"sudo", "env", "nice", "time", "nohup", "stdbuf", "eatmydata"}

# apt-get/apt options that take a separate value.
_APT_VALUE_OPTIONS = {"-o", "-t", "-c", "--option", "--target-release", "--config-file"}
_RPM_VALUE_OPTIONS = {
    "--setopt", "--enablerepo", "--disablerepo", "--repo", "--repofrom", "--releasever",
    "--installroot", "-c", "--config", "--exclude", "-x",
}  # fmt: skip
_PIP_VALUE_OPTIONS = {
    "-c", "--constraint", "-e", "--editable", "-t", "--target", "--prefix", "--root",
    "--progress-bar", "-f", "--find-links", "--extra-index-url", "--trusted-host",
    "--cache-dir", "--platform", "--python-version", "--implementation", "--abi",
    "--src", "--upgrade-strategy", "--log", "--proxy", "--retries", "--timeout",
    "--exists-action", "--cert", "--client-cert", "--only-binary", "--no-binary",
    "--config-settings", "-C", "--global-option", "--report",
}  # fmt: skip
_WGET_VALUE_OPTIONS = {
    "-P", "--directory-prefix", "-a", "--append-output", "-o", "--output-file", "-t",
    "--tries", "-T", "--timeout", "-U", "--user-agent", "--header", "--user", "--password",
    "-e", "--execute", "--post-data", "--referer", "-i", "--input-file",
}  # fmt: skip
_CURL_VALUE_OPTIONS = {
    "-H", "--header", "-u", "--user", "-d", "--data", "-X", "--request", "-A",
    "--user-agent", "-e", "--referer", "--retry", "--retry-delay", "--retry-max-time",
    "-m", "--max-time", "--connect-timeout", "-w", "--write-out", "-x", "--proxy",
    "--cacert", "-E", "--cert", "--key", "-b", "--cookie", "-c", "--cookie-jar", "-r",
    "--range", "-T", "--upload-file", "--output-dir", "-K", "--config",
}  # fmt: skip


def unwrap(argv: tuple[str, ...]) -> tuple[str, ...]:
    """Strip `sudo`, `env A=B`, `VAR=x` prefixes and `xargs` so argv starts at the tool."""
    args = list(argv)
    while args:
        head = posixpath.basename(args[0])
        if head in _WRAPPERS:
            args.pop(0)
            while args and (args[0].startswith("-") or "=" in args[0].split("/")[0]):
                args.pop(0)
        elif head == "xargs":
            args.pop(0)
            while args and args[0].startswith("-"):
                option = args.pop(0)
                if option in ("-I", "-n", "-P", "-d", "-L", "-s", "-E") and args:
                    args.pop(0)
        elif "=" in head and head.split("=", 1)[0].isidentifier():
            args.pop(0)
        else:
            break
    return tuple(args)


def _positionals(args: tuple[str, ...], value_options: set[str]) -> list[str]:
    """Non-option arguments, skipping the values of options that take one."""
    result: list[str] = []
    skip = False
    for arg in args:
        if skip:
            skip = False
            continue
        if arg == "--":
            continue
        if arg.startswith("-"):
            if arg in value_options:
                skip = True
            continue
        result.append(arg)
    return result


class InstallReader:
    """Collects what a sequence of RUN pipelines installs into one Image."""

    def __init__(self, image: Image, origin_at: Callable[[int], Origin]) -> None:
        self.image = image
        self.origin_at = origin_at

    def read(self, pipelines: list[Pipeline]) -> None:
        for pipeline in pipelines:
            self._pipeline(pipeline)

    def _pipeline(self, pipeline: Pipeline) -> None:
        commands = [c for c in pipeline.commands]
        for index, cmd in enumerate(commands):
            argv = unwrap(cmd.argv)
            if not argv:
                continue
            tool = posixpath.basename(argv[0])
            origin = self.origin_at(cmd.offset)
            following = commands[index + 1] if index + 1 < len(commands) else None
            if tool in ("apt-get", "apt", "aptitude"):
                self._apt(argv[1:], origin)
            elif tool in ("yum", "dnf", "microdnf", "tdnf"):
                self._rpm(argv[1:], origin)
            elif tool == "yum-config-manager":
                self._add_repo(argv[1:], origin)
            elif tool in ("pip", "pip3"):
                self._pip(argv[1:], origin)
            elif _is_python_m_pip(argv):
                self._pip(argv[3:], origin)
            elif tool in ("wget", "curl"):
                self._download(tool, argv[1:], origin, following)
            elif tool in ("add-apt-repository", "apt-add-repository"):
                for arg in _positionals(argv[1:], set()):
                    self._add_repository(PackageRepository("ppa", arg, origin))
            elif tool in ("sha256sum", "shasum") and cmd.stdin_text is not None:
                self._checksum(cmd.stdin_text)
            elif tool in ("echo", "printf"):
                self._echo(argv[1:], cmd, following, origin)
        if len(commands) >= 2:
            last = unwrap(commands[-1].argv)
            first = unwrap(commands[0].argv)
            if (
                last
                and first
                and posixpath.basename(last[0]) in ("sha256sum", "shasum")
                and posixpath.basename(first[0]) in ("echo", "printf")
            ):
                self._checksum(" ".join(first[1:]))

    # -- apt ---------------------------------------------------------------------------------
    def _apt(self, args: tuple[str, ...], origin: Origin) -> None:
        words = _positionals(args, _APT_VALUE_OPTIONS)
        if not words or words[0] != "install":
            return
        seen = {p.name for p in self.image.apt}
        for word in words[1:]:
            if "/" in word.split("=")[0] and (word.startswith((".", "/")) or word.endswith(".deb")):
                if word not in self.image.local_debs:
                    self.image.local_debs.append(word)
                continue
            name, sep, pin = word.partition("=")
            name = name.split("/")[0]  # `pkg/release` selects a suite, not a name
            if name and name not in seen:
                seen.add(name)
                self.image.apt.append(AptPackage(name, pin if sep else None, origin))

    # -- yum / dnf ---------------------------------------------------------------------------
    def _rpm(self, args: tuple[str, ...], origin: Origin) -> None:
        words = _positionals(args, _RPM_VALUE_OPTIONS)
        if not words:
            return
        if words[0] == "config-manager":
            self._add_repo(args, origin)
            return
        if words[0] not in ("install", "groupinstall", "reinstall"):
            return
        seen = {p.name for p in self.image.rpm}
        for word in words[1:]:
            if word not in seen:
                seen.add(word)
                self.image.rpm.append(RpmPackage(word, origin))

    def _add_repo(self, args: tuple[str, ...], origin: Origin) -> None:
        items = list(args)
        for i, arg in enumerate(items):
            url = None
            if arg == "--add-repo" and i + 1 < len(items):
                url = items[i + 1]
            elif arg.startswith("--add-repo="):
                url = arg.split("=", 1)[1]
            if url:
                self._add_repository(PackageRepository("rpm", url, origin))

    # -- pip ---------------------------------------------------------------------------------
    def _pip(self, args: tuple[str, ...], origin: Origin) -> None:
        if not args or args[0] != "install":
            return
        index_url = None
        items = list(args[1:])
        requirements: list[PipRequirement] = []
        i = 0
        while i < len(items):
            arg = items[i]
            value = items[i + 1] if i + 1 < len(items) else None
            if arg in ("-r", "--requirement") and value is not None:
                requirements.append(PipRequirement(value, origin, kind="file"))
                i += 2
                continue
            if arg.startswith("--requirement="):
                requirements.append(PipRequirement(arg.split("=", 1)[1], origin, kind="file"))
            elif arg in ("-i", "--index-url") and value is not None:
                index_url = value
                i += 2
                continue
            elif arg.startswith("--index-url="):
                index_url = arg.split("=", 1)[1]
            elif arg in _PIP_VALUE_OPTIONS:
                i += 2
                continue
            elif not arg.startswith("-"):
                kind = "local" if _is_local_requirement(arg) else "requirement"
                requirements.append(PipRequirement(arg, origin, kind=kind))
            i += 1
        for req in requirements:
            if index_url:
                req = PipRequirement(req.requirement, req.origin, req.kind, index_url)
            if req not in self.image.pip:
                self.image.pip.append(req)

    # -- downloads ---------------------------------------------------------------------------
    def _download(
        self, tool: str, args: tuple[str, ...], origin: Origin, following: Command | None
    ) -> None:
        destination: str | None = None
        remote_name = False
        prefix = ""
        urls: list[str] = []
        items = list(args)
        i = 0
        while i < len(items):
            arg = items[i]
            value = items[i + 1] if i + 1 < len(items) else None
            if tool == "wget" and arg in ("-O", "--output-document") and value is not None:
                destination = value
                i += 2
                continue
            if tool == "wget" and arg.startswith("-O") and len(arg) > 2:
                destination = arg[2:]
            elif tool == "wget" and arg.startswith("--output-document="):
                destination = arg.split("=", 1)[1]
            elif tool == "wget" and arg in ("-P", "--directory-prefix") and value is not None:
                prefix = value
                i += 2
                continue
            elif tool == "curl" and arg in ("-o", "--output") and value is not None:
                destination = value
                i += 2
                continue
            elif tool == "curl" and (arg in ("-O", "--remote-name") or _short_flags(arg, "O")):
                remote_name = True
            elif tool == "curl" and _short_flags(arg, "o") and value is not None:
                destination = value
                i += 2
                continue
            elif arg in (_WGET_VALUE_OPTIONS if tool == "wget" else _CURL_VALUE_OPTIONS):
                i += 2
                continue
            elif not arg.startswith("-"):
                urls.append(arg)
            i += 1
        for url in urls:
            dest = destination
            if tool == "wget" and dest is None:
                dest = posixpath.join(prefix, _url_basename(url)) if prefix else _url_basename(url)
            if tool == "curl" and dest is None and remote_name:
                dest = _url_basename(url)
            piped_to = None
            if dest in (None, "-"):
                dest = None
                consumer = unwrap(following.argv) if following is not None else ()
                piped_to = posixpath.basename(consumer[0]) if consumer else None
            self.image.downloads.append(Download(url, dest, origin, tool, piped_to=piped_to))

    def _checksum(self, text: str) -> None:
        """`echo "<sha256>  <file>" | sha256sum -c`: attach the hash to that file's download."""
        fields = text.split()
        if len(fields) < 2 or len(fields[0]) != 64:
            return
        digest, target = fields[0].lower(), fields[1].lstrip("*")
        if any(c not in "0123456789abcdef" for c in digest):
            return
        for i, download in enumerate(self.image.downloads):
            if download.destination and (
                download.destination == target
                or posixpath.basename(download.destination) == posixpath.basename(target)
            ):
                self.image.downloads[i] = Download(
                    download.url,
                    download.destination,
                    download.origin,
                    download.tool,
                    digest,
                    download.piped_to,
                )

    # -- repositories ------------------------------------------------------------------------
    def _echo(
        self, args: tuple[str, ...], cmd: Command, following: Command | None, origin: Origin
    ) -> None:
        """`echo "deb [opts] URL suite comp" | tee FILE` or `> FILE` adds an apt repository."""
        text = " ".join(a for a in args if not (a.startswith("-") and len(a) <= 3))
        target = cmd.stdout
        if following is not None:
            tee = unwrap(following.argv)
            if tee and posixpath.basename(tee[0]) == "tee":
                names = _positionals(tee[1:], set())
                target = names[0] if names else following.stdout
        fields = _split_keeping_substitutions(text)
        if not fields or fields[0] not in ("deb", "deb-src"):
            return
        if target is None or "sources.list" not in target:
            return
        rest = fields[1:]
        options: tuple[str, ...] = ()
        if rest and rest[0].startswith("["):
            opts: list[str] = []
            while rest:
                word = rest.pop(0)
                opts.append(word.strip("[]"))
                if word.endswith("]"):
                    break
            options = tuple(o for o in opts if o)
        if not rest:
            return
        url, suite, components = rest[0], rest[1] if len(rest) > 1 else None, tuple(rest[2:])
        self._add_repository(
            PackageRepository("apt", url, origin, suite, components, options, target)
        )

    def _add_repository(self, repository: PackageRepository) -> None:
        if repository not in self.image.repositories:
            self.image.repositories.append(repository)


def _split_keeping_substitutions(text: str) -> list[str]:
    """Split a `deb ...` line on blanks, keeping an unresolved `$(...)` as one field."""
    fields: list[str] = []
    current: list[str] = []
    depth = 0
    for i, ch in enumerate(text):
        if ch == "(" and i > 0 and text[i - 1] == "$":
            depth += 1
        elif ch == ")" and depth:
            depth -= 1
        if ch in " \t" and not depth:
            if current:
                fields.append("".join(current))
                current = []
            continue
        current.append(ch)
    if current:
        fields.append("".join(current))
    return fields


def _short_flags(arg: str, letter: str) -> bool:
    """True for a bundle of short flags (`-fsSLo`) that ends with the given letter."""
    return (
        arg.startswith("-")
        and not arg.startswith("--")
        and len(arg) > 2
        and arg[1:].isalpha()
        and arg.endswith(letter)
    )


def _is_python_m_pip(argv: tuple[str, ...]) -> bool:
    head = posixpath.basename(argv[0])
    return head.startswith("python") and len(argv) > 2 and argv[1] == "-m" and argv[2] == "pip"


def _is_local_requirement(arg: str) -> bool:
    """A wheel or folder built earlier (`{}[all]` from xargs, `./x.whl`, `/tmp/y`)."""
    base = arg.split("[")[0]
    return (
        base.startswith(("/", "./", "../", "{}"))
        or base.endswith((".whl", ".tar.gz", ".zip"))
        or base in ("{}", ".")
    )


def _url_basename(url: str) -> str:
    path = urlparse(url).path if "://" in url else url
    return posixpath.basename(path) or "index.html"
