"""A landing file's bytes as UTF-8 text: decompressed by its extension (`.gz`, a `.zip` of
one member), decoded with the declared encoding (a byte-order mark decides; `auto` asks
charset-normalizer), and the delimiter sniffed when it is declared `auto`.

The common case, a plain UTF-8 file, costs one validation pass and no copy. Lines that the
encoding cannot decode are re-encoded from latin-1 (each byte one character, so the
original bytes stay recoverable) and their offsets returned, so the reader marks their rows
`invalid_encoding` instead of losing them.
"""

from __future__ import annotations

import codecs
import csv
import gzip
import io
import re
import zipfile
import zlib
from dataclasses import dataclass

from etl_assets.transforms.bronze import ENCODING, LandingFileError

AUTO = "auto"
# Checked longest first: the UTF-32 LE mark starts with the UTF-16 LE one.
_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
_VALIDATION_CHUNK = 16 << 20  # bytes decoded at a time to check an encoding (bounds memory)
_REPAIR_CHUNK = 8 << 10  # small, so a bad line costs a per-line pass over few neighbours
_DETECTION_BYTES = 1 << 20  # what charset-normalizer looks at (it samples within it)
_SNIFF_LINES = 20
_SNIFF_DELIMITERS = ",;\t|"
# Among the guesses that decode with the least mess, the one Western exports mostly are (and
# what browsers read "latin-1" as): a few accented letters cannot tell cp1250 from cp1252.
_PREFERRED_GUESSES = ("cp1252", "latin_1")
# One well-formed multi-byte UTF-8 character (RFC 3629: no overlong forms, no surrogates).
# Single-byte text almost never writes one by chance: it would take an accented capital
# followed by a symbol byte (0x80-0xBF), like "Ã©", which is itself what mis-read UTF-8 is.
_UTF8_MULTIBYTE = re.compile(
    rb"[\xc2-\xdf][\x80-\xbf]"
    rb"|\xe0[\xa0-\xbf][\x80-\xbf]|[\xe1-\xec\xee\xef][\x80-\xbf]{2}|\xed[\x80-\x9f][\x80-\xbf]"
    rb"|\xf0[\x90-\xbf][\x80-\xbf]{2}|[\xf1-\xf3][\x80-\xbf]{3}|\xf4[\x80-\x8f][\x80-\xbf]{2}"
)
_HIGH_BYTE = re.compile(rb"[\x80-\xff]")


@dataclass(frozen=True)
class LandingText:
    buffer: bytes  # valid UTF-8, without a byte-order mark
    repaired_line_offsets: list[int]  # offsets (in buffer) of lines re-encoded from latin-1
    encoding: str  # the codec the file was decoded with


def decompress(data: bytes, source_file: str) -> bytes:
    """The content of a `.gz` file or of a `.zip` holding one file; other names as they are."""
    name = source_file.lower()
    if name.endswith(".gz"):
        try:
            return gzip.decompress(data)
        except (OSError, EOFError, zlib.error) as error:
            raise LandingFileError(
                f"{source_file}: is not a complete gzip file ({error}). Land the whole "
                "compressed file again (or uncompressed, with the declared path's name)."
            ) from error
    if name.endswith(".zip"):
        return _single_member(data, source_file)
    return data


def _single_member(data: bytes, source_file: str) -> bytes:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            members = [m for m in archive.infolist() if not m.is_dir()]
            if len(members) != 1:
                names = ", ".join(m.filename for m in members) or "none"
                raise LandingFileError(
                    f"{source_file}: a landing .zip must hold exactly one file; it holds "
                    f"{len(members)} ({names}). Land one file per archive, then run again."
                )
            return archive.read(members[0])
    except (zipfile.BadZipFile, EOFError, zlib.error) as error:
        raise LandingFileError(
            f"{source_file}: is not a readable zip archive ({error}). Land the whole archive "
            "again, then run again."
        ) from error


def to_utf8(data: bytes, declared: str, source_file: str) -> LandingText:
    """`data` decoded as declared (a byte-order mark wins; `auto` detects) and kept UTF-8."""
    for bom, codec in _BOMS:
        if data.startswith(bom):
            return _decode(data[len(bom) :], codec, source_file)
    codec = _auto_codec(data, source_file) if declared == AUTO else declared
    return _decode(data, codec, source_file)


def _auto_codec(data: bytes, source_file: str) -> str:
    """`encoding: auto` without a byte-order mark:

    - valid UTF-8 (ASCII included) is UTF-8;
    - holding a well-formed multi-byte UTF-8 character AND bytes that are not UTF-8, it is a
      UTF-8 file with broken lines: read as UTF-8, the broken lines marked invalid_encoding
      (reading it as a single-byte codec would turn every good accent into mojibake);
    - high bytes with no multi-byte UTF-8 character at all: a single-byte export (latin-1,
      cp1252, ...), detected by charset-normalizer and read whole.
    """
    if data.isascii() or _decodes(data, ENCODING):
        return ENCODING
    if _UTF8_MULTIBYTE.search(data):
        return ENCODING
    return _detected(_detection_sample(data), source_file)


def _detection_sample(data: bytes) -> bytes:
    """What charset-normalizer looks at: the file's head when it holds the high bytes,
    else the lines that hold them (an ASCII head tells nothing about the codec)."""
    head = data[:_DETECTION_BYTES]
    if not head.isascii():
        return head
    pieces, size, position = [], 0, 0
    while size < _DETECTION_BYTES and (found := _HIGH_BYTE.search(data, position)):
        start = data.rfind(b"\n", 0, found.start()) + 1
        end = data.find(b"\n", found.start())
        position = len(data) if end == -1 else end + 1
        pieces.append(data[start:position])
        size += position - start
    return b"".join(pieces)


def _decode(data: bytes, codec: str, source_file: str) -> LandingText:
    name = codecs.lookup(codec).name
    if name == "utf-8" or (_ascii_compatible(name) and data.isascii()):
        if data.isascii() or _decodes(data, "utf-8"):
            return LandingText(data, [], name)
        buffer, repaired = _repair_lines(data, "utf-8")
        return LandingText(buffer, repaired, name)
    if _ascii_compatible(name):
        try:
            return LandingText(data.decode(name).encode(ENCODING), [], name)
        except UnicodeDecodeError:
            buffer, repaired = _repair_lines(data, name)
            return LandingText(buffer, repaired, name)
    return _decode_wide(data, name, source_file)


def _ascii_compatible(codec: str) -> bool:
    """Line breaks and quotes are single ASCII bytes (not so in UTF-16 or UTF-32)."""
    try:
        return '\n,"'.encode(codec) == b'\n,"'
    except UnicodeEncodeError:
        return False


def _decodes(data: bytes, codec: str) -> bool:
    decoder = codecs.getincrementaldecoder(codec)()
    try:
        for start in range(0, len(data), _VALIDATION_CHUNK):
            decoder.decode(data[start : start + _VALIDATION_CHUNK])
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return False
    return True


def _repair_lines(data: bytes, codec: str) -> tuple[bytes, list[int]]:
    """Each line decoded with `codec`; a line it cannot decode is read as latin-1 and its
    offset kept. Line order and line breaks are unchanged."""
    pieces: list[bytes] = []
    repaired_at: list[int] = []
    size = 0
    for chunk in _line_chunks(data, _REPAIR_CHUNK):
        try:
            lines = [bytes(chunk).decode(codec).encode(ENCODING)]
        except UnicodeDecodeError:
            lines = []
            for line in bytes(chunk).splitlines(keepends=True):
                try:
                    lines.append(line.decode(codec).encode(ENCODING))
                except UnicodeDecodeError:
                    repaired_at.append(size + sum(len(p) for p in lines))
                    lines.append(line.decode("latin-1").encode(ENCODING))
        for line in lines:
            pieces.append(line)
            size += len(line)
    return b"".join(pieces), repaired_at


def _line_chunks(data: bytes, size: int):
    """Views of about `size` bytes that end after a newline, so no character is split."""
    view = memoryview(data)
    start = 0
    while start < len(data):
        newline = data.find(b"\n", start + size)
        end = len(data) if newline == -1 else newline + 1
        yield view[start:end]
        start = end


def _decode_wide(data: bytes, codec: str, source_file: str) -> LandingText:
    """UTF-16/32: decoded whole; a broken code unit (a truncated file, a stray byte) becomes
    U+FFFD and its line is marked, the rest of the file is kept."""
    pieces: list[str] = []
    broken_at: list[int] = []  # character offsets in the decoded text
    start, length = 0, 0
    while True:
        try:
            pieces.append(data[start:].decode(codec))
            break
        except UnicodeDecodeError as error:
            good = data[start : start + error.start].decode(codec)
            pieces.append(good + "\ufffd")
            length += len(good)
            broken_at.append(length)
            length += 1
            start += error.end
            if start >= len(data):
                break
    text = "".join(pieces)
    if len(broken_at) > 1000 and len(broken_at) * 4 > len(text):
        raise LandingFileError(
            f"{source_file}: is not {codec} ({len(broken_at)} undecodable places). Declare the "
            "file's encoding in the source (encoding: ...), or auto, then run again."
        )
    buffer = text.encode(ENCODING)
    line_starts = sorted({text.rfind("\n", 0, at) + 1 for at in broken_at})
    return LandingText(buffer, [len(text[:at].encode(ENCODING)) for at in line_starts], codec)


def _detected(data: bytes, source_file: str) -> str:
    from charset_normalizer import from_bytes  # lazily: only files that are not UTF-8

    matches = list(from_bytes(data))
    if not matches:
        raise LandingFileError(
            f"{source_file}: its encoding cannot be detected (it does not look like text in "
            "any known encoding). Declare the encoding in the source (encoding: latin-1, "
            "cp1252, utf-16, ...), then run again."
        )
    # Coherence (a language model) is noise on a few accented words and can rank a messier
    # guess first (hp_roman8 over cp1252 on product names): keep the least messy guesses.
    least = min(m.chaos for m in matches)
    tied = [m for m in matches if m.chaos == least]
    for preferred in _PREFERRED_GUESSES:
        for match in tied:
            if preferred in match.could_be_from_charset:
                return preferred
    return tied[0].encoding


def sniff_delimiter(buffer: bytes, source_file: str) -> str:
    """The delimiter of the header and first lines, by csv.Sniffer among , ; tab |."""
    head = buffer[: 1 << 16].decode(ENCODING, errors="ignore")
    lines = [line for line in head.splitlines() if line.strip()][:_SNIFF_LINES]
    if not lines:
        return ","  # nothing to read: the delimiter does not matter
    if len(lines) == 1:  # a header alone: the delimiter it uses most
        counts = {d: lines[0].count(d) for d in _SNIFF_DELIMITERS}
        best = max(counts, key=counts.get)
        return best if counts[best] else ","
    try:
        return csv.Sniffer().sniff("\n".join(lines), delimiters=_SNIFF_DELIMITERS).delimiter
    except csv.Error as error:
        raise LandingFileError(
            f"{source_file}: the delimiter cannot be told from its first lines ({error}). "
            "Declare it in the source (delimiter: ',' or ';' or '\\t' or '|'), then run again."
        ) from error
