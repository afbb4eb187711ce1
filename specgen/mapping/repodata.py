"""Read RPM repository metadata (repomd.xml -> primary, filelists) into a PackageIndex.

The mapping may only name packages that really exist, so the facts come from the repositories
themselves: repomd.xml is fetched each online run (it is small, and says whether anything
changed); primary.xml (and filelists.xml when asked) are downloaded only when their checksum
differs from the cached index, verified against repomd, and parsed as a stream. With
`offline=True` nothing touches the network and the cache alone answers.
"""

from __future__ import annotations

import bz2
import gc
import gzip
import hashlib
import io
import logging
import lzma
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, NamedTuple
from urllib.parse import unquote, urljoin, urlparse

import requests
import zstandard
from urllib3.exceptions import HTTPError as Urllib3Error
from urllib3.exceptions import ReadTimeoutError

from specgen.errors import SpecgenError
from specgen.mapping.pkgindex import PackageIndex, PackageInfo
from specgen.mapping.repocache import PackageRecord, RepoCache, default_cache_dir, index_key
from specgen.rpmver import rpmvercmp

log = logging.getLogger(__name__)

REPO_NS = "{http://linux.duke.edu/metadata/repo}"
COMMON_NS = "{http://linux.duke.edu/metadata/common}"
RPM_NS = "{http://linux.duke.edu/metadata/rpm}"
FILELISTS_NS = "{http://linux.duke.edu/metadata/filelists}"


@dataclass(frozen=True)
class RepoConfig:
    """A repository to read: a short name (shown in results) and its base URL (a folder with
    repodata/ in it: https://, http:// or file://, or a local path)."""

    name: str
    baseurl: str


DEFAULT_REPOSITORIES: tuple[RepoConfig, ...] = (
    RepoConfig(
        "azurelinux-base", "https://packages.microsoft.com/azurelinux/3.0/prod/base/x86_64/"
    ),
    RepoConfig(
        "azurelinux-extended",
        "https://packages.microsoft.com/azurelinux/3.0/prod/extended/x86_64/",
    ),
    RepoConfig(
        "nvidia-cuda-azl3",
        "https://developer.download.nvidia.com/compute/cuda/repos/azl3/x86_64/",
    ),
)


def parse_repo_option(text: str) -> RepoConfig:
    """`NAME=URL` (as a command line gives it) -> RepoConfig; a bare URL is named by its path."""
    name, sep, url = text.partition("=")
    if not sep or "/" in name:
        url, name = text, urlparse(text).path.strip("/").replace("/", "-") or text
    if not url:
        raise SpecgenError(f"repository {text!r}: expected NAME=URL")
    return RepoConfig(name.strip(), url.strip())


# --- repomd.xml -------------------------------------------------------------------------------


@dataclass(frozen=True)
class RepoFile:
    """One metadata file that repomd.xml lists, with the checksum its download must match."""

    type: str
    href: str
    checksum_type: str
    checksum: str
    size: int | None = None


@dataclass(frozen=True)
class Repomd:
    revision: str
    files: dict[str, RepoFile]

    def file(self, kind: str, url: str) -> RepoFile:
        try:
            return self.files[kind]
        except KeyError:
            raise SpecgenError(f"{url}: repomd.xml lists no {kind!r} metadata") from None


def parse_repomd(data: bytes, url: str) -> Repomd:
    """The revision and the files of a repomd.xml; `url` only names it in errors."""
    try:
        root = ET.fromstring(data)
    except ET.ParseError as err:
        raise SpecgenError(f"{url}: not a valid repomd.xml ({err})") from None
    if root.tag != f"{REPO_NS}repomd":
        raise SpecgenError(f"{url}: not a repomd.xml (root element {root.tag})")
    files: dict[str, RepoFile] = {}
    for data_el in root.iterfind(f"{REPO_NS}data"):
        kind = data_el.get("type", "")
        location = data_el.find(f"{REPO_NS}location")
        checksum = data_el.find(f"{REPO_NS}checksum")
        if location is None or checksum is None or not location.get("href"):
            raise SpecgenError(f"{url}: <data type={kind!r}> lacks a location or checksum")
        size = data_el.findtext(f"{REPO_NS}size")
        files[kind] = RepoFile(
            type=kind,
            href=location.get("href", ""),
            checksum_type=checksum.get("type", "sha256"),
            checksum=(checksum.text or "").strip().lower(),
            size=int(size) if size and size.strip().isdigit() else None,
        )
    return Repomd(revision=(root.findtext(f"{REPO_NS}revision") or "").strip(), files=files)


# --- downloads --------------------------------------------------------------------------------


def _hasher(kind: str, where: str) -> Any:
    """hashlib object for a repomd checksum type (`sha` is yum's old name for SHA-1)."""
    name = {"sha": "sha1"}.get(kind.lower(), kind.lower())
    try:
        return hashlib.new(name)
    except ValueError:
        raise SpecgenError(f"{where}: unknown checksum type {kind!r} in repomd.xml") from None


def _local_path(url: str) -> Path | None:
    """The path of a file:// URL or a plain path; None for a URL fetched over HTTP."""
    parsed = urlparse(url)
    if parsed.scheme == "file":
        return Path(unquote(parsed.path))
    return Path(url) if not parsed.scheme else None


class Downloader:
    """GET with connect/read timeouts and bounded retries, backing off exponentially, on
    connection errors, timeouts, 429 and 5xx; other answers fail at once. A final failure is a
    SpecgenError naming the URL, so a user sees which server broke and how."""

    RETRY_STATUS = frozenset({429, 500, 502, 503, 504})

    def __init__(
        self,
        *,
        connect_timeout: float = 10.0,
        read_timeout: float = 60.0,
        retries: int = 3,
        backoff: float = 1.0,
        session: requests.Session | None = None,
    ) -> None:
        self.timeout = (connect_timeout, read_timeout)
        self.retries = retries
        self.backoff = backoff
        self.session = session or requests.Session()
        self.session.headers["User-Agent"] = "specgen (repository metadata reader)"

    def fetch(self, url: str, dest: IO[bytes], checksum_type: str | None = None) -> str | None:
        """Stream `url` into `dest`; return its hex digest when `checksum_type` is given.

        `dest` is rewound and truncated before each attempt, so a retry never appends.
        """
        local = _local_path(url)
        if local is not None:
            return self._copy_local(local, url, dest, checksum_type)
        attempts = max(self.retries, 0) + 1
        # A checksummed file must arrive as stored: no transport decoding, even where a server
        # labels a .gz file `Content-Encoding: gzip`.
        raw = checksum_type is not None
        headers = {"Accept-Encoding": "identity"} if raw else None
        reason = ""
        for attempt in range(1, attempts + 1):
            dest.seek(0)
            dest.truncate()
            digest = _hasher(checksum_type, url) if checksum_type else None
            try:
                with self.session.get(
                    url, timeout=self.timeout, stream=True, headers=headers
                ) as resp:
                    if resp.status_code in self.RETRY_STATUS:
                        reason = f"HTTP {resp.status_code} {resp.reason}"
                    elif resp.status_code != 200:
                        raise SpecgenError(
                            f"cannot download {url}: HTTP {resp.status_code} {resp.reason}"
                        )
                    else:
                        chunks = (
                            resp.raw.stream(1 << 20, decode_content=False)
                            if raw
                            else resp.iter_content(chunk_size=1 << 20)
                        )
                        for chunk in chunks:
                            dest.write(chunk)
                            if digest is not None:
                                digest.update(chunk)
                        return digest.hexdigest() if digest is not None else None
            except (requests.Timeout, ReadTimeoutError):
                reason = f"timed out (connect {self.timeout[0]:g} s, read {self.timeout[1]:g} s)"
            except (requests.ConnectionError, Urllib3Error) as err:
                # requests reports a read timeout in the middle of a body as a ConnectionError.
                reason = (
                    f"timed out (read {self.timeout[1]:g} s)"
                    if "timed out" in str(err).lower()
                    else f"connection failed ({_short(err)})"
                )
            except requests.RequestException as err:
                reason = f"request failed ({_short(err)})"
            if attempt < attempts:
                delay = self.backoff * 2 ** (attempt - 1)
                log.warning("%s: %s; retrying in %.1f s", url, reason, delay)
                time.sleep(delay)
        tries = f"{attempts} attempts" if attempts > 1 else "1 attempt"
        raise SpecgenError(f"cannot download {url}: {reason} ({tries})")

    def get(self, url: str) -> bytes:
        """A small file (repomd.xml), in memory."""
        buf = io.BytesIO()
        self.fetch(url, buf)
        return buf.getvalue()

    @staticmethod
    def _copy_local(path: Path, url: str, dest: IO[bytes], checksum_type: str | None) -> str | None:
        digest = _hasher(checksum_type, url) if checksum_type else None
        try:
            with path.open("rb") as src:
                while chunk := src.read(1 << 20):
                    dest.write(chunk)
                    if digest is not None:
                        digest.update(chunk)
        except OSError as err:
            raise SpecgenError(f"cannot read {url}: {err.strerror or err}") from None
        return digest.hexdigest() if digest is not None else None


def _short(err: Exception) -> str:
    """The innermost reason of a requests error, without urllib3's object reprs."""
    text = str(err)
    for marker in ("Failed to establish a new connection: ", "Caused by "):
        if marker in text:
            text = text.split(marker, 1)[1]
    return text.strip("()'\" ")[:200]


# --- primary.xml and filelists.xml ------------------------------------------------------------


def open_decompressed(fh: IO[bytes], where: str) -> IO[bytes]:
    """A reader of the XML inside `fh`, chosen by magic bytes (gz, xz, bz2, zstd or none)."""
    magic = fh.read(6)
    fh.seek(0)
    if magic.startswith(b"\x1f\x8b"):
        return gzip.GzipFile(fileobj=fh)
    if magic.startswith(b"\xfd7zXZ\x00"):
        return lzma.LZMAFile(fh)
    if magic.startswith(b"\x28\xb5\x2f\xfd"):
        return zstandard.ZstdDecompressor().stream_reader(fh, read_across_frames=True)
    if magic.startswith(b"BZh"):
        return bz2.BZ2File(fh)
    if magic.startswith(b"\x00ZCK1"):
        raise SpecgenError(f"{where}: zchunk metadata is not supported (use the .xml.* file)")
    return fh


class _Candidate(NamedTuple):
    record: PackageRecord
    pkgid: str  # the checksum that ties a package in primary.xml to its filelists entry


@contextmanager
def _gc_paused() -> Iterator[None]:
    """Pause the cyclic GC while tens of thousands of acyclic objects are made: its full
    passes over them would otherwise take about as long as the parse itself."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


_PACKAGE, _NAME, _ARCH = f"{COMMON_NS}package", f"{COMMON_NS}name", f"{COMMON_NS}arch"
_VERSION, _CHECKSUM, _FORMAT = f"{COMMON_NS}version", f"{COMMON_NS}checksum", f"{COMMON_NS}format"
_PROVIDES, _FILE = f"{RPM_NS}provides", f"{COMMON_NS}file"


def parse_primary(stream: IO[bytes], where: str) -> dict[str, _Candidate]:
    """Binary packages of a primary.xml by name, keeping the newest EVR of each name.

    Repositories such as Azure Linux's keep every release they ever shipped; a resolver wants
    the one dnf would install. Source packages are skipped.
    """
    best: dict[str, _Candidate] = {}
    try:
        with _gc_paused():
            for _, elem in ET.iterparse(stream, events=("end",)):
                if elem.tag != _PACKAGE:
                    continue
                cand = _package(elem)
                elem.clear()
                if cand is None:
                    continue
                old = best.get(cand.record.name)
                if old is None or evr_compare(cand.record, old.record) > 0:
                    best[cand.record.name] = cand
    except (ET.ParseError, OSError, EOFError, lzma.LZMAError, zstandard.ZstdError) as err:
        raise SpecgenError(f"{where}: unreadable primary metadata ({err})") from None
    return best


def _package(elem: ET.Element) -> _Candidate | None:
    """One <package> of primary.xml; None for a source package. Children are walked directly:
    ElementPath lookups cost more than the XML parse here."""
    name = arch = pkgid = ""
    attrs: dict[str, str] = {}
    provides: list[str] = []
    files: list[str] = []
    for child in elem:
        tag = child.tag
        if tag == _NAME:
            name = child.text or ""
        elif tag == _ARCH:
            arch = child.text or ""
        elif tag == _VERSION:
            attrs = child.attrib
        elif tag == _CHECKSUM:
            pkgid = (child.text or "").strip()
        elif tag == _FORMAT:
            for part in child:
                if part.tag == _PROVIDES:
                    provides = [e.get("name", "") for e in part]
                elif part.tag == _FILE and part.text:
                    files.append(part.text)
    if not name or arch in ("src", "nosrc"):
        return None
    record = PackageRecord(
        name=name,
        epoch=int(attrs.get("epoch") or 0),
        version=attrs.get("ver", ""),
        release=attrs.get("rel", ""),
        arch=arch,
        provides=tuple(dict.fromkeys(p for p in provides if p and p != name)),
        files=tuple(files),
    )
    return _Candidate(record, pkgid)


def parse_filelists(stream: IO[bytes], wanted: set[str], where: str) -> dict[str, tuple[str, ...]]:
    """Every path (files, dirs, ghosts) of the packages whose pkgid is in `wanted`."""
    pkg_tag, file_tag = f"{FILELISTS_NS}package", f"{FILELISTS_NS}file"
    files: dict[str, tuple[str, ...]] = {}
    try:
        with _gc_paused():
            for _, elem in ET.iterparse(stream, events=("end",)):
                if elem.tag != pkg_tag:
                    continue
                pkgid = elem.get("pkgid", "")
                if pkgid in wanted:
                    files[pkgid] = tuple(f.text for f in elem if f.tag == file_tag and f.text)
                elem.clear()
    except (ET.ParseError, OSError, EOFError, lzma.LZMAError, zstandard.ZstdError) as err:
        raise SpecgenError(f"{where}: unreadable filelists metadata ({err})") from None
    return files


# --- rpm version order ------------------------------------------------------------------------


def evr_compare(a: PackageRecord, b: PackageRecord) -> int:
    """Order two packages by epoch, then version, then release, as rpm does."""
    if a.epoch != b.epoch:
        return 1 if a.epoch > b.epoch else -1
    return rpmvercmp(a.version, b.version) or rpmvercmp(a.release, b.release)


# --- loading, with the cache ------------------------------------------------------------------


def _index_keys(repomd: Repomd, where: str) -> tuple[str, str | None]:
    """Cache keys of the primary-only index and of the one with filelists (None: not listed)."""
    primary = repomd.file("primary", where)
    fl = repomd.files.get("filelists")
    pkey = index_key(primary.checksum, None)
    return pkey, index_key(primary.checksum, fl.checksum) if fl else None


def _download_verified(
    repo_file: RepoFile, base: str, cache: RepoCache, downloader: Downloader
) -> Path:
    """Download one metadata file to a scratch file; refuse it unless its checksum matches."""
    url = urljoin(base, repo_file.href)
    tmp = cache.scratch_file()
    try:
        with tmp.open("wb") as fh:
            got = downloader.fetch(url, fh, repo_file.checksum_type)
        if got != repo_file.checksum:
            raise SpecgenError(
                f"{url}: checksum mismatch, refusing it: repomd.xml says {repo_file.checksum_type} "
                f"{repo_file.checksum}, the download has {got} (a mirror in mid-sync or a "
                "corrupted transfer; try again later)"
            )
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return tmp


def _read_metadata(
    repomd: Repomd, base: str, cache: RepoCache, downloader: Downloader, filelists: bool
) -> list[PackageRecord]:
    """Download, verify and parse primary (and filelists); store the indexes in the cache."""
    where = urljoin(base, "repodata/repomd.xml")
    pkey, _ = _index_keys(repomd, where)
    with ExitStack() as stack:
        primary = repomd.file("primary", where)
        path = _download_verified(primary, base, cache, downloader)
        stack.callback(path.unlink, missing_ok=True)
        with path.open("rb") as fh:
            best = parse_primary(open_decompressed(fh, primary.href), urljoin(base, primary.href))
        records = sorted((c.record for c in best.values()), key=lambda r: r.name)
        cache.write_index(pkey, records)
        if not filelists:
            return records
        fl = repomd.file("filelists", where)
        path = _download_verified(fl, base, cache, downloader)
        stack.callback(path.unlink, missing_ok=True)
        wanted = {c.pkgid: c.record.name for c in best.values()}
        with path.open("rb") as fh:
            by_id = parse_filelists(
                open_decompressed(fh, fl.href), set(wanted), urljoin(base, fl.href)
            )
        by_name = {wanted[pkgid]: paths for pkgid, paths in by_id.items()}
        records = [r._replace(files=by_name.get(r.name, r.files)) for r in records]
        cache.write_index(index_key(primary.checksum, fl.checksum), records)
        return records


def _load_offline(
    repo: RepoConfig, cache: RepoCache, filelists: bool
) -> tuple[Repomd, list[PackageRecord], str]:
    """The cached index of the cached repomd.xml, or a SpecgenError saying what to run."""
    raw = cache.read_repomd()
    if raw is None:
        raise SpecgenError(
            f"offline: no cached metadata for repository {repo.name} ({repo.baseurl}) "
            f"in {cache.dir}; run once online first"
        )
    repomd = parse_repomd(raw, str(cache.repomd_path))
    pkey, fkey = _index_keys(repomd, str(cache.repomd_path))
    key = fkey if filelists else pkey
    records = cache.read_index(key) if key else None
    if records is None:
        what = "filelists" if filelists else "primary"
        raise SpecgenError(
            f"offline: the cache of repository {repo.name} ({repo.baseurl}) in {cache.dir} "
            f"has no {what} index; run once online" + (" with filelists" if filelists else "")
        )
    return repomd, records, "cache, offline"


def _load_online(
    repo: RepoConfig, cache: RepoCache, filelists: bool, downloader: Downloader
) -> tuple[Repomd, list[PackageRecord], str]:
    """Fetch repomd.xml; reuse the cached index it still matches, else download and rebuild."""
    base = repo.baseurl if repo.baseurl.endswith("/") else repo.baseurl + "/"
    url = urljoin(base, "repodata/repomd.xml")
    cached_raw = cache.read_repomd()
    try:
        raw = downloader.get(url)
    except SpecgenError as err:
        if cached_raw is None:
            raise
        raise SpecgenError(f"{err} (metadata cached earlier could be used offline)") from None
    repomd = parse_repomd(raw, url)
    pkey, fkey = _index_keys(repomd, url)
    key = fkey if filelists else pkey
    records = cache.read_index(key) if key else None
    how = "cache"
    if records is None:
        records = _read_metadata(repomd, base, cache, downloader, filelists)
        how = "downloaded"
    if how == "downloaded" or raw != cached_raw:
        cache.commit(raw, keep=[k for k in (pkey, fkey) if k and cache.index_path(k).exists()])
    return repomd, records, how


def load_repository(
    repo: RepoConfig,
    *,
    offline: bool = False,
    cache_dir: Path | None = None,
    filelists: bool = False,
    downloader: Downloader | None = None,
) -> PackageIndex:
    """One repository as a PackageIndex: from the cache when repomd.xml says it is current.

    `filelists=True` adds every packaged path as a capability (large: only when a file path
    is asked); without it, the paths primary.xml lists (/usr/bin, /etc, ...) are still there.
    """
    cache = RepoCache(cache_dir or default_cache_dir(), repo.baseurl)
    if offline:
        repomd, records, how = _load_offline(repo, cache, filelists)
    else:
        repomd, records, how = _load_online(repo, cache, filelists, downloader or Downloader())
    index = PackageIndex()
    with _gc_paused():
        for r in records:
            info = PackageInfo(r.name, r.version, r.release, r.epoch, r.arch, repo.name)
            index.add(info, r.provides + r.files)
    index.sources.append(
        f"{repo.name}: {repo.baseurl} (revision {repomd.revision or '?'}, "
        f"{len(index)} packages, {how})"
    )
    return index


def load_repositories(
    repos: Sequence[RepoConfig] = DEFAULT_REPOSITORIES,
    *,
    offline: bool = False,
    cache_dir: Path | None = None,
    filelists: bool = False,
    downloader: Downloader | None = None,
) -> PackageIndex:
    """Every repository merged, earlier ones first: a name in two keeps the first one's EVR."""
    merged: PackageIndex | None = None
    downloader = downloader or (None if offline else Downloader())
    for repo in repos:
        index = load_repository(
            repo, offline=offline, cache_dir=cache_dir, filelists=filelists, downloader=downloader
        )
        if merged is None:
            merged = index  # adopted, not copied: it is ours alone
        else:
            with _gc_paused():
                merged.merge(index)
    return merged if merged is not None else PackageIndex()
