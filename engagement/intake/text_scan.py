"""Which text encoding a delimited export is in, decided from all of its bytes, and the checks made on them.

The first megabytes (the sniffing sample) say UTF-8 or Latin-1; :func:`scan_text` then reads the whole file as
bytes, at C speed and without parsing, to refuse control characters anywhere and files mixing UTF-8 with
single-byte text (the first bad line quoted), and to tell Windows-1252 from Latin-1 (bytes 0x80-0x9F: Excel's
curly quotes, dashes and €). DuckDB reads UTF-8 and Latin-1 itself; a Windows-1252 file through a UTF-8 copy
(:func:`transcoded`).
"""

from __future__ import annotations

import codecs
import gzip
import re
from pathlib import Path
from typing import Callable, Iterator

from engagement.intake.refusals import FileRejected

SCAN_BYTES = 8 * 1024 * 1024  # the whole-file byte scan reads this much at a time
ASCII_BLOCK = 64 * 1024  # what the scan looks at closely only when it holds a non-ASCII byte
# C0 control characters other than tab, line feed and carriage return: invisible in every viewer, they break
# exports and reports (0x1A, DOS's end of file, included).
CONTROL_BYTES = bytes(b for b in range(32) if b not in (9, 10, 13))
NOT_CONTROL = bytes(b for b in range(256) if b not in CONTROL_BYTES)
NOT_C1 = bytes(b for b in range(256) if not 0x80 <= b <= 0x9F)
CONTROL_RE = re.compile(b"[" + re.escape(CONTROL_BYTES) + b"]")
# The start of a UTF-8 sequence of Western text (Latin-1 letters \xc2 \xc3, Œ Š \xc5, punctuation and € \xe2):
# read as Latin-1 or Windows-1252 it is 'Ã©' or 'â€™', which no language writes, so it means UTF-8 text in the
# file. Other leads are left out: '«CAFÉ»' in Latin-1 ends in \xc9\xbb, a valid UTF-8 pair.
UTF8_LEAD = re.compile(b"[\xc2\xc3\xc5\xe2][\x80-\xbf]")


def sniff_encoding(sample: bytes) -> str:
    """``utf-8`` when the sample decodes as UTF-8 (a cut multi-byte tail is allowed), else ``latin-1``."""
    if sample.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "utf-16"
    used, broken = _utf8_prefix(sample, final=False)
    return "utf-8" if not broken or used >= len(sample) - 3 else "latin-1"


def _line_at(data: bytes, position: int, encoding: str) -> str:
    """The line of ``data`` holding byte ``position``, decoded (bad bytes replaced) and cut to 120 characters."""
    start = data.rfind(b"\n", 0, position) + 1
    end = data.find(b"\n", position)
    line = data[start:end if end >= 0 else len(data)].rstrip(b"\r")
    text = line.decode(encoding, errors="replace")
    return text if len(text) <= 120 else text[:117] + "..."


def scan_text(path: Path, file_format: str, name: str, encoding: str, sample: bytes) -> str:
    """Read the whole file once as bytes (C-speed checks per chunk, no parsing) and return the encoding to read
    it with: ``encoding`` unless a file sniffed as UTF-8 turns out to be plain ASCII up to a Latin-1 byte.

    Raises :class:`FileRejected` for a control character anywhere (line quoted) and for a file that mixes UTF-8
    and Latin-1 (neither encoding reads it right: the first line that is not UTF-8 is quoted). The sniffing
    sample only covers the first megabytes; this is what catches the rest of a large file. A single-byte file
    with bytes 0x80-0x9F is ``windows-1252`` (see :func:`transcoded`).
    """
    if encoding == "utf-16":
        return encoding
    first_bad = None  # (line number, line) of the first line that is not UTF-8
    if encoding == "latin-1":
        try:
            sample.decode("utf-8")
        except UnicodeDecodeError as exc:
            first_bad = (sample.count(b"\n", 0, exc.start) + 1, _line_at(sample, exc.start, "cp1252"))
    opener = gzip.open if file_format == "csv.gz" else open
    # Bytes of the file before ``buffer``; line numbers are counted only when a line is quoted (counting
    # every chunk's line breaks cost a sixth of the scan).
    consumed, pending, seen_utf8, windows = 0, b"", False, False
    opened = (path, opener)
    with opener(path, "rb") as handle:
        handle.seek(len(sample))  # the sample is the file's first bytes: scanned first, not read again
        ahead = sample
        while True:
            chunk, ahead = (ahead, b"") if ahead else (handle.read(SCAN_BYTES), b"")
            buffer = pending + chunk
            if not buffer:
                break
            if len(buffer.translate(None, NOT_CONTROL)):
                found = CONTROL_RE.search(buffer)
                line = _lines_before(*opened, consumed) + buffer.count(b"\n", 0, found.start()) + 1
                raise FileRejected(
                    f"{name} holds a control character (byte 0x{buffer[found.start()]:02X}) on line {line:,}: "
                    f"{_line_at(buffer, found.start(), encoding)!r}. Such characters are invisible and break "
                    "exports and reports; remove them (or export again) and load the file again. Nothing was loaded.")
            if encoding == "utf-8":
                used, broken = _utf8_prefix(buffer, final=not chunk)
                if broken:
                    position = used
                    line = _lines_before(*opened, consumed) + buffer.count(b"\n", 0, position) + 1
                    if seen_utf8 or not buffer[:position].isascii():
                        raise _mixed(name, (line, _line_at(buffer, position, "cp1252")))
                    encoding = "latin-1"  # ASCII so far, then Latin-1: the file is Latin-1 throughout
                    first_bad = (line, _line_at(buffer, position, "cp1252"))
                else:
                    seen_utf8 = seen_utf8 or not (buffer if used == len(buffer) else buffer[:used]).isascii()
                    consumed += used
                    pending = buffer[used:]
                    if not chunk:
                        break
                    continue
            windows = windows or bool(len(buffer.translate(None, NOT_C1)))
            leads = (found for start, end in _non_ascii_blocks(buffer)
                     for found in UTF8_LEAD.finditer(buffer, start, min(end + 1, len(buffer))))
            for found in leads:
                lead = buffer[found.start()]
                width = 2 if lead < 0xE0 else 3 if lead < 0xF0 else 4
                try:
                    buffer[found.start():found.start() + width].decode("utf-8")
                except UnicodeDecodeError:
                    continue
                line = _lines_before(*opened, consumed) + buffer.count(b"\n", 0, found.start()) + 1
                raise _mixed(name, first_bad, (line, _line_at(buffer, found.start(), "utf-8")))
            # a sequence cut by the chunk end is looked at with the next chunk
            pending = buffer[-3:] if chunk else b""
            consumed += len(buffer) - len(pending)
            if not chunk:
                break
    # Bytes 0x80-0x9F are control codes in Latin-1, which no text holds, and Excel's curly quotes, dashes and € in
    # Windows-1252 (its superset): such a file is Windows-1252.
    return "windows-1252" if encoding == "latin-1" and windows else encoding


def _lines_before(path: Path, opener, position: int) -> int:
    """Line breaks in the first ``position`` bytes of the (decompressed) file."""
    count = 0
    with opener(path, "rb") as handle:
        while position > 0 and (chunk := handle.read(min(SCAN_BYTES, position))):
            count += chunk.count(b"\n")
            position -= len(chunk)
    return count


def _non_ascii_blocks(buffer: bytes) -> Iterator[tuple[int, int]]:
    """(start, end) of each ASCII_BLOCK-byte block of ``buffer`` holding a byte over 0x7F.

    ``isascii`` runs at memory speed, while decoding a block (or searching it with a regular expression) costs
    20-100 times more: an export is mostly ASCII (Online Retail's 49 MB CSV has 64 other bytes, in 27 of 748
    blocks), so only those blocks are looked at closely.
    """
    if buffer.isascii():
        return
    for start in range(0, len(buffer), ASCII_BLOCK):
        if not buffer[start:start + ASCII_BLOCK].isascii():
            yield start, min(start + ASCII_BLOCK, len(buffer))


def _utf8_prefix(buffer: bytes, final: bool) -> tuple[int, bool]:
    """How many leading bytes of ``buffer`` are valid UTF-8, and whether a bad byte follows them (else what
    follows is a sequence cut by the chunk end, left for the next chunk unless ``final``).

    Only the blocks holding non-ASCII bytes are decoded (ASCII is valid UTF-8 and ends no sequence); each with the
    3 bytes after it, so that a sequence starting in the block is decoded whole.
    """
    valid = 0  # every byte before this one is valid (a sequence decoded past its block's end moves it on)
    for start, end in _non_ascii_blocks(buffer):
        start = max(start, valid)
        if start >= end:
            continue
        stop = min(end + 3, len(buffer))
        try:
            used = codecs.utf_8_decode(buffer[start:stop], "strict", final and stop == len(buffer))[1]
        except UnicodeDecodeError as exc:
            return start + exc.start, True
        valid = start + used
        if stop == len(buffer) and valid < stop:
            return valid, False  # a sequence cut by the chunk end
    return len(buffer), False


def _mixed(name: str, not_utf8: tuple[int, str] | None, utf8: tuple[int, str] | None = None) -> FileRejected:
    parts = []
    if not_utf8:
        parts.append(f"line {not_utf8[0]:,} is not UTF-8: {not_utf8[1]!r}")
    if utf8:
        parts.append(f"line {utf8[0]:,} is UTF-8: {utf8[1]!r}")
    return FileRejected(
        f"{name} mixes text encodings (UTF-8 and Latin-1 in one file), so neither reads it right: "
        f"{'; '.join(parts)}. Open it in a spreadsheet or editor, save it again as CSV (UTF-8), and load it "
        "again. Nothing was loaded.")


def transcoded(path: Path, file_format: str, name: str, scratch: Callable[[], Path] | None) -> Path:
    """A UTF-8 copy of a Windows-1252 file in ``scratch()``, which DuckDB reads instead of the file (its Latin-1
    reader refuses bytes 0x80-0x9F); the archive and the checksum keep the original bytes.

    Raises :class:`FileRejected` for a byte Windows-1252 leaves undefined (0x81, 0x8D, 0x8F, 0x90, 0x9D), line quoted.
    """
    if scratch is None:
        raise FileRejected(f"{name} is Windows-1252 text, which is read through a converted copy, and no folder "
                           "was given for it. Save it again as CSV (UTF-8) and load it again. Nothing was loaded.")
    target = scratch() / "utf8.csv"
    opener = gzip.open if file_format == "csv.gz" else open
    consumed = 0
    with opener(path, "rb") as source, open(target, "wb") as out:
        while chunk := source.read(SCAN_BYTES):
            try:
                out.write(chunk.decode("cp1252").encode("utf-8"))  # one byte, one character: no cut sequences
            except UnicodeDecodeError as exc:
                line = _lines_before(path, opener, consumed) + chunk.count(b"\n", 0, exc.start) + 1
                raise FileRejected(
                    f"{name} holds byte 0x{chunk[exc.start]:02X} on line {line:,}, which is no character in "
                    f"Windows-1252 or Latin-1 text: {_line_at(chunk, exc.start, 'cp1252')!r}. Save the file again as "
                    "CSV (UTF-8) and load it again. Nothing was loaded.") from exc
            consumed += len(chunk)
    return target


def mixes_line_endings(sample: bytes) -> bool:
    """Whether the sample ends some lines with CR LF (Windows) and others with a bare LF (a header written by one
    tool over rows of another, or files joined together): DuckDB's reader takes one kind per file and cannot
    parse the rest. A bare LF may also be a line break inside a quoted cell of a Windows file, so this is asked
    only once DuckDB failed to read the file."""
    crlf = sample.count(b"\r\n")
    return bool(crlf) and sample.count(b"\n") > crlf


def uniform_line_endings(path: Path, file_format: str, scratch: Callable[[], Path] | None, name: str) -> Path:
    """A copy of ``path`` in ``scratch()`` whose lines all end with LF (every CR LF made LF, inside quoted cells
    too), which DuckDB reads instead of the file; the archive and the checksum keep the original bytes."""
    if scratch is None:
        raise FileRejected(f"{name} ends some lines with CR LF (Windows) and others with LF alone, which is read "
                           "through a copy with one kind, and no folder was given for it. Save the file again (a "
                           "spreadsheet or editor writes one kind) and load it again. Nothing was loaded.")
    target = scratch() / "uniform_line_endings.csv"
    opener = gzip.open if file_format == "csv.gz" else open
    with opener(path, "rb") as source, open(target, "wb") as out:
        held = b""  # a CR at a chunk's end, which the next chunk's LF may follow
        while chunk := source.read(SCAN_BYTES):
            chunk = held + chunk
            held = b"\r" if chunk.endswith(b"\r") else b""
            out.write((chunk[:-1] if held else chunk).replace(b"\r\n", b"\n"))
        out.write(held)
    return target
