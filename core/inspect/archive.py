"""Zip uploads: member names and sizes checked before anything is unpacked."""

from __future__ import annotations

import zipfile

from core.inspect.allowlists import MAX_UNPACKED_MB
from core.inspect.verdict import refuse


def open_zip(path: str) -> zipfile.ZipFile:
    """The archive, or a refusal if it is damaged."""
    try:
        return zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError):
        raise refuse("bad_zip") from None


def check_members(archive: zipfile.ZipFile) -> list[str]:
    """Member names, refusing escaping paths, links, duplicates, encryption and zip bombs."""
    infos = archive.infolist()
    names = [info.filename for info in infos]
    for info in infos:
        name = info.filename
        parts = name.split("/")
        if name.startswith(("/", "\\")) or ".." in parts or "\\" in name or ":" in parts[0]:
            raise refuse("zip_escapes", name=name)
        if (info.external_attr >> 16) & 0o170000 == 0o120000:  # a symbolic link
            raise refuse("zip_link", name=name)
    if len(set(names)) != len(names):
        raise refuse("zip_duplicate")
    if any(info.flag_bits & 0x1 for info in infos):
        raise refuse("zip_encrypted")
    unpacked = sum(info.file_size for info in infos)
    if unpacked > MAX_UNPACKED_MB * 1024 * 1024:
        raise refuse("zip_bomb", size_mb=unpacked / 2**20, limit=MAX_UNPACKED_MB)
    return names


def read_member(archive: zipfile.ZipFile, name: str) -> bytes:
    """One member's bytes, or a refusal if it cannot be read."""
    try:
        return archive.read(name)
    except (zipfile.BadZipFile, OSError, EOFError, ValueError, KeyError):
        raise refuse("zip_member_unreadable", name=name) from None
