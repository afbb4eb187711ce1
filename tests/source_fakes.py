"""Stand-ins for upstream source archives that tests cannot download, in upstream's layout.

Each is small real C that the generated spec compiles; the sources use assert() so __FILE__
(and with it the build folder, unless the build maps it away) lands in the library.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

LIBB64_VERSION = "1.2.1"

_LIBB64_FILES = {
    "LICENSE": "Public domain (test stand-in for libb64's LICENSE).\n",
    "README": "libb64 stand-in\n",
    "CHANGELOG": "stand-in\n",
    "include/b64/cdecode.h": "int base64_decode_value(char value_in);\n",
    "include/b64/cencode.h": "char base64_encode_value(char value_in);\n",
    "src/cdecode.c": '#include <assert.h>\n#include "b64/cdecode.h"\n'
                     "int base64_decode_value(char c) { assert(c != 0); return c - 'A'; }\n",
    "src/cencode.c": '#include <assert.h>\n#include "b64/cencode.h"\n'
                     "char base64_encode_value(char c) { assert(c < 64); return 'A' + c; }\n",
}  # fmt: skip


def libb64_zip(downloads: Path) -> Path:
    """libb64-1.2.1.zip as SourceForge serves it: a top folder with src/, include/b64/."""
    out = downloads / f"libb64-{LIBB64_VERSION}.zip"
    with zipfile.ZipFile(out, "w") as zf:
        for path, text in sorted(_LIBB64_FILES.items()):
            # fixed dates: the archive itself is the same bytes on every run
            info = zipfile.ZipInfo(f"libb64-{LIBB64_VERSION}/{path}", (2013, 1, 1, 0, 0, 0))
            zf.writestr(info, text)
    return out
