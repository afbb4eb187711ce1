"""Does an ELF shared library ask for an executable stack? Read from its program headers.

glibc 2.41 and later refuse to dlopen a library whose PT_GNU_STACK header carries PF_X
(NVIDIA's libnvinfer_builder_resource is one), and a library without PT_GNU_STACK at all is
treated as needing an executable stack. Azure Linux 3.0's glibc 2.38 still loads both, so this
is a warning for what a later glibc will break, not an error.

Parsed with `struct` from the first bytes of the file (rpmread streams only those out of the
payload): little-endian 64-bit ELF only, as on x86_64 and aarch64 Linux; anything else is not
judged.
"""

from __future__ import annotations

import struct
from typing import Literal

# e_ident (16 bytes), then e_type ... e_shstrndx of Elf64_Ehdr
_EHDR = struct.Struct("<16sHHIQQQIHHHHHH")
# p_type, p_flags, p_offset, p_vaddr, p_paddr, p_filesz, p_memsz, p_align of Elf64_Phdr
_PHDR = struct.Struct("<IIQQQQQQ")
_ELF64_LE = b"\x7fELF\x02\x01"  # magic, ELFCLASS64, ELFDATA2LSB
ET_DYN = 3
PT_GNU_STACK = 0x6474E551
PF_X = 0x1
HEADER_SIZE = _EHDR.size  # 64: what a caller reads first, to learn where the rest lies

StackFlag = Literal["exec", "noexec", "absent"]


def _header(head: bytes) -> tuple[int, int, int, int] | None:
    """(e_type, e_phoff, e_phentsize, e_phnum) of a 64-bit little-endian ELF, else None."""
    if len(head) < _EHDR.size or not head.startswith(_ELF64_LE):
        return None
    fields = _EHDR.unpack_from(head)
    e_type, e_phoff, e_phentsize, e_phnum = fields[1], fields[5], fields[9], fields[10]
    if e_phentsize < _PHDR.size:
        return None
    return e_type, e_phoff, e_phentsize, e_phnum


def bytes_needed(head: bytes) -> int:
    """How many leading bytes hold the ELF header and every program header; 0 if not ELF64 LE."""
    hdr = _header(head)
    if hdr is None:
        return 0
    _, phoff, phentsize, phnum = hdr
    return max(_EHDR.size, phoff + phentsize * phnum)


def stack_flag(head: bytes) -> StackFlag | None:
    """What a shared object's PT_GNU_STACK says, from its first `bytes_needed(head)` bytes.

    "exec": PF_X is set; "noexec": it is not; "absent": no PT_GNU_STACK (the loader assumes an
    executable stack). None: not a 64-bit little-endian ELF shared object (ET_DYN), or `head`
    stops before the program headers end.
    """
    hdr = _header(head)
    if hdr is None or hdr[0] != ET_DYN:
        return None
    _, phoff, phentsize, phnum = hdr
    if len(head) < phoff + phentsize * phnum:
        return None
    for i in range(phnum):
        p_type, p_flags = _PHDR.unpack_from(head, phoff + i * phentsize)[:2]
        if p_type == PT_GNU_STACK:
            return "exec" if p_flags & PF_X else "noexec"
    return "absent"
