"""A writer of valid .xz files whose data is stored, not compressed.

The stand-in's archives hold GBs of already-dense GPU code under NVIDIA's `.tar.xz` names; xz at
its fastest preset needs minutes for them on a small build host, and the specs only need
archives that `tar -xf` reads.
"""

from __future__ import annotations

import struct
import zlib
from typing import BinaryIO


class XzStoreWriter:
    """A file object writing a valid .xz file whose data is stored, not compressed.

    xz at its fastest preset needs minutes for the 1 GB of libraries on a small build host; the
    spec only needs an archive that `tar -xf` reads, under NVIDIA's file name. This writes the
    .xz container (https://tukaani.org/xz/xz-file-format.txt) around LZMA2 *uncompressed* chunks:
    `xz -t`, `xz -d` and `tar -xf` read it like any other .xz, at disk speed.
    """

    CHUNK = 1 << 16  # the largest uncompressed LZMA2 chunk
    # Block header: size/4-1, flags (one filter, no sizes), LZMA2 (0x21) with a one-byte property
    # (dictionary 64 KiB: one chunk), padding to a multiple of four, then its CRC32.
    _BLOCK_HEADER = bytes([2, 0x00, 0x21, 0x01, 0x0A, 0, 0, 0])
    _FLAGS = b"\x00\x01"  # check: CRC32 of the uncompressed data

    def __init__(self, out: BinaryIO) -> None:
        self._out = out
        self._buf = bytearray()
        self._crc = 0
        self._size = 0  # uncompressed bytes
        self._packed = 0  # LZMA2 bytes
        self._first = True
        header = self._BLOCK_HEADER + struct.pack("<I", zlib.crc32(self._BLOCK_HEADER))
        out.write(b"\xfd7zXZ\x00" + self._FLAGS + struct.pack("<I", zlib.crc32(self._FLAGS)))
        out.write(header)

    def write(self, data: bytes) -> int:
        self._buf += data
        if len(self._buf) >= self.CHUNK:
            whole = len(self._buf) - len(self._buf) % self.CHUNK
            view = memoryview(self._buf)
            for at in range(0, whole, self.CHUNK):
                self._chunk(view[at : at + self.CHUNK])
            view.release()
            del self._buf[:whole]
        return len(data)

    def _chunk(self, data: memoryview | bytes) -> None:
        control = 0x01 if self._first else 0x02  # 0x01 resets the dictionary: the first only
        self._first = False
        self._out.write(bytes([control]) + struct.pack(">H", len(data) - 1))
        self._out.write(data)
        self._crc = zlib.crc32(data, self._crc)
        self._size += len(data)
        self._packed += 3 + len(data)

    def close(self) -> None:
        """The last chunk, the end of the block, the index and the stream footer."""
        if self._buf:
            self._chunk(bytes(self._buf))
            self._buf.clear()
        self._out.write(b"\x00")  # end of LZMA2 data
        self._packed += 1
        self._out.write(b"\x00" * (-self._packed % 4) + struct.pack("<I", self._crc))
        unpadded = len(self._BLOCK_HEADER) + 4 + self._packed + 4
        index = b"\x00" + _varint(1) + _varint(unpadded) + _varint(self._size)
        index += b"\x00" * (-len(index) % 4)
        index += struct.pack("<I", zlib.crc32(index))
        backward = struct.pack("<I", len(index) // 4 - 1) + self._FLAGS
        self._out.write(index + struct.pack("<I", zlib.crc32(backward)) + backward + b"YZ")

    def __enter__(self) -> XzStoreWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        if exc[0] is None:
            self.close()


def _varint(value: int) -> bytes:
    """xz's multibyte integer: seven bits a byte, low first."""
    out = bytearray()
    while value >= 0x80:
        out.append(value & 0x7F | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)
