"""Read an import file as rows: its encoding and delimiter detected, every line checked, in a stream.

Exports from other tools arrive in every shape: UTF-8 with or without a byte-order mark, UTF-16 from
Excel's "Unicode text", Latin-1 from older systems, semicolons where the locale uses a decimal comma.
The reader detects what it can prove (a byte-order mark, the NUL pattern of UTF-16, the delimiter
that splits the header most), reads Latin-1 or Windows-1252 only when asked (any byte sequence is
valid Latin-1, so guessing it would silently turn UTF-8 into mojibake), and says what it assumed,
so a refusal caused by a wrong guess can be recognised.

Rows are produced one at a time with their physical line number, so a file of millions of rows is
read in bounded memory. A problem confined to one line (a control character, an overlong line) is
reported for that line and reading goes on, so one pass finds every such problem; a problem that
makes the rest unreadable (bytes that are not the encoding, a quote left open) stops the read.
"""

from __future__ import annotations

import codecs
import csv
import io
import itertools
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, Literal

from cdp.errors import CdpError, ImportRowError
from cdp.input_checks import MAX_FIELD_CHARS, control_char_in_line, describe_char, lines_are_clean, loads_json

#: Longest physical line accepted; longer lines are refused before they are parsed.
MAX_LINE_BYTES = 1 << 20
#: Bytes read and checked at once.
_BLOCK = 1 << 20
#: Most columns a CSV header may have (exports from shops and ESPs have up to ~60).
MAX_COLUMNS = 128
#: Delimiters a CSV may use, in order of preference when two split the header equally.
DELIMITERS = (",", ";", "\t", "|")
DELIMITER_NAMES = {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe"}
#: Encodings a user may name with `--encoding`, and the name each is reported under.
ENCODINGS = {
    "utf-8": "UTF-8",
    "utf-8-sig": "UTF-8",
    "utf-16": "UTF-16",
    "utf-16-le": "UTF-16-LE",
    "utf-16-be": "UTF-16-BE",
    "latin-1": "Latin-1",
    "iso-8859-1": "Latin-1",
    "cp1252": "Windows-1252",
    "windows-1252": "Windows-1252",
}
_BOMS: tuple[tuple[bytes, str], ...] = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
_CSV_PROBLEMS = (
    ("field larger than field limit", f"a cell is longer than {MAX_FIELD_CHARS:,} characters"),
    ("unexpected end of data", "a quote is never closed: the quoted cell runs to the end of the file"),
    ("expected after", 'a quote closes in the middle of a cell (write a quote inside a cell as "")'),
    ("new-line character seen in unquoted field", "a line break inside a cell"),
)

Format = Literal["csv", "jsonl"]


class ImportFileError(CdpError, ValueError):
    """The file cannot be imported as a whole (unknown format or kind, unreadable, empty)."""


@dataclass(frozen=True)
class Problem:
    """One thing wrong with one line of a file: reported with the others, nothing is written."""

    line: int
    column: str
    message: str

    def __str__(self) -> str:
        return (
            f"line {self.line}: {self.column}: {self.message}"
            if self.column
            else f"line {self.line}: {self.message}"
        )


def file_format(path: Path) -> Format:
    suffix = path.suffix.lower()
    if suffix in (".csv", ".tsv", ".txt"):
        return "csv"
    if suffix in (".jsonl", ".ndjson", ".json"):
        return "jsonl"
    raise ImportFileError(f"{path.name}: unknown file type {suffix or '(none)'}; use .csv or .jsonl")


def encoding_name(encoding: str) -> str:
    """The codec for a user's `--encoding` word, or ImportFileError listing the accepted ones."""
    key = encoding.strip().lower().replace("_", "-")
    if key not in ENCODINGS:
        accepted = ", ".join(
            sorted({k for k in ENCODINGS if k not in ("utf-8-sig", "iso-8859-1", "windows-1252")})
        )
        raise ImportFileError(f"unknown --encoding {encoding!r}; use one of {accepted}")
    return key


def _detect(head: bytes) -> tuple[str, int, str]:
    """(codec, bytes to skip, how it was found) from the first bytes of a file."""
    for bom, codec in _BOMS:
        if head.startswith(bom):
            if codec == "utf-32":
                raise ImportRowError(1, "the file is UTF-32 text; save it as UTF-8 or UTF-16")
            name = "UTF-8" if codec == "utf-8-sig" else "UTF-16"
            return codec, len(bom) if codec == "utf-8-sig" else 0, f"{name} (byte-order mark)"
    sample = head[:512]
    if len(sample) >= 4:
        even, odd = sample[0::2], sample[1::2]
        # Text in UTF-16 without a mark: ASCII characters (and the delimiters and line ends of any
        # script) leave every other byte NUL; the sample must then also decode as that UTF-16.
        for codec, nuls, others in (("utf-16-le", odd, even), ("utf-16-be", even, odd)):
            if nuls.count(0) > 0.15 * len(nuls) and others.count(0) < 0.02 * len(others):
                try:
                    sample[: len(sample) // 2 * 2].decode(codec)
                except UnicodeDecodeError:
                    continue
                return codec, 0, f"{codec.upper()} (no byte-order mark, from its NUL bytes)"
    return "utf-8", 0, "UTF-8"


def _check_line(text: str) -> str | None:
    """Why one physical line cannot be read, or None."""
    bad = control_char_in_line(text.removesuffix("\n").removesuffix("\r"))
    if bad is None:
        return None
    if bad == "\x00":
        return (
            "a NUL byte is not allowed (a binary file, or text in another encoding? save it as UTF-8, "
            "or as UTF-16 with a byte-order mark)"
        )
    if bad == "\r":
        return "a carriage return inside the line (mixed line endings?)"
    return f"the control character {describe_char(bad)} is not allowed"


class SourceFile:
    """One import file, read as numbered rows. `described` says how it was read (encoding, delimiter)."""

    def __init__(
        self, path: str | os.PathLike[str], *, encoding: str | None = None, delimiter: str | None = None
    ) -> None:
        self.path = Path(path)
        if self.path.is_dir():
            raise ImportFileError(f"{self.path} is a folder, not a file")
        if self.path.exists() and not self.path.is_file():  # a device or a pipe would block
            raise ImportFileError(f"{self.path} is not a regular file")
        self.format = file_format(self.path)
        self.requested_encoding = encoding_name(encoding) if encoding else None
        if delimiter is not None:
            words = {name: d for d, name in DELIMITER_NAMES.items()} | {"\\t": "\t"}
            delimiter = words.get(delimiter, delimiter)
            if delimiter not in DELIMITERS:
                raise ImportFileError(f"unknown --delimiter {delimiter!r}; use , ; tab or |")
        self.delimiter = delimiter
        try:
            self.size = self.path.stat().st_size
        except OSError as exc:
            raise ImportFileError(f"cannot read {self.path}: {exc.strerror or exc}") from None
        self.encoding = "UTF-8"
        self.encoding_found = "UTF-8"
        self.header: list[str] = []
        self._handle: BinaryIO | None = None

    @property
    def position(self) -> int:
        """Bytes read so far (for a progress bar)."""
        try:
            return self._handle.tell() if self._handle is not None else 0
        except (OSError, ValueError):
            return self.size

    @property
    def described(self) -> str:
        how = f"read as {self.encoding_found}"
        if self.format == "csv":
            how += f", {DELIMITER_NAMES[self.delimiter or ',']}-separated"
        return how

    # --- lines -----------------------------------------------------------------------------------

    def _lines(self, handle: BinaryIO) -> Iterator[tuple[int, str | None, str | None]]:
        """(line number, text, problem) for each physical line; text is None when the line is refused."""
        head = handle.read(4096)
        if self.requested_encoding:
            codec, skip = self.requested_encoding, 0
            if codec.startswith("utf-8") and head.startswith(codecs.BOM_UTF8):
                skip = len(codecs.BOM_UTF8)
            self.encoding_found = ENCODINGS[codec] + " (as asked)"
        else:
            codec, skip, self.encoding_found = _detect(head)
        self.encoding = ENCODINGS.get(codec, codec)
        handle.seek(skip)
        if codec in ("utf-8", "utf-8-sig"):
            yield from self._utf8_lines(handle, explicit=self.requested_encoding is not None)
            return
        # Lines end at LF only (CRLF keeps its CR, which the line check allows): a carriage return
        # alone inside a row is refused, as in UTF-8, instead of silently starting a new row.
        text = io.TextIOWrapper(handle, encoding=codec, errors="strict", newline="\n")
        number = 0
        try:
            while line := text.readline(MAX_LINE_BYTES + 1):
                number += 1
                if number == 1:
                    line = line.removeprefix("\ufeff")
                if len(line) > MAX_LINE_BYTES:
                    raise ImportRowError(number, f"the line is longer than {MAX_LINE_BYTES:,} characters")
                problem = _check_line(line)
                yield number, (None if problem else line), problem
        except UnicodeDecodeError:
            raise ImportRowError(
                number + 1, f"not {self.encoding} text; the file was {self.described}: pass --encoding"
            ) from None
        finally:
            text.detach()

    def _utf8_lines(
        self, handle: BinaryIO, *, explicit: bool
    ) -> Iterator[tuple[int, str | None, str | None]]:
        """UTF-8 lines, read and checked a block of about a megabyte at a time.

        A block that decodes and holds no refused character (the usual case) is split as it is;
        otherwise its lines are looked at one by one to name the line and the problem.
        """
        number = 0
        carry = b""
        skipping = False  # inside a line that was already refused as too long
        while True:
            block = handle.read(_BLOCK)
            data = carry + block
            if not data:
                return
            cut = data.rfind(b"\n") if block else len(data) - 1
            if cut < 0:
                carry = data
                if len(carry) > MAX_LINE_BYTES and not skipping:
                    number += 1
                    yield number, None, f"the line is longer than {MAX_LINE_BYTES:,} bytes"
                    skipping, carry = True, b""
                elif skipping:
                    carry = b""
                continue
            body, carry = data[: cut + 1], data[cut + 1 :]
            if skipping:
                newline = body.find(b"\n")
                body = body[newline + 1 :] if newline >= 0 else b""
                skipping = False
            if body:
                yield from self._utf8_block(body, number, explicit)
                number += body.count(b"\n") + (0 if body.endswith(b"\n") else 1)
            if not block:
                return

    def _utf8_block(
        self, body: bytes, number: int, explicit: bool
    ) -> Iterator[tuple[int, str | None, str | None]]:
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            text = None
        if text is not None and lines_are_clean(text, body):
            lines = text.splitlines(keepends=True)
            if len(body) <= MAX_LINE_BYTES or max(map(len, lines)) <= MAX_LINE_BYTES // 4:
                for n, line in enumerate(lines, start=number + 1):
                    yield n, line, None
                return
        # Split on LF only: a carriage return inside a line is that line's problem, not a line end.
        raws = [part + b"\n" for part in body.split(b"\n")]
        raws[-1] = raws[-1][:-1]
        for n, raw in enumerate(filter(None, raws), start=number + 1):
            if len(raw) > MAX_LINE_BYTES:
                yield n, None, f"the line is longer than {MAX_LINE_BYTES:,} bytes"
                continue
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                column = len(raw[: exc.start].decode("utf-8", errors="replace")) + 1
                hint = "" if explicit else "; if it is Latin-1 or Windows-1252, pass --encoding latin-1"
                raise ImportRowError(
                    n,
                    f"not UTF-8 text (byte 0x{raw[exc.start]:02x} at column {column}): the file was read "
                    f"as UTF-8{hint} (a binary file cannot be imported)",
                ) from None
            problem = _check_line(line)
            yield n, (None if problem else line), problem

    # --- rows ------------------------------------------------------------------------------------

    def rows(self) -> Iterator[tuple[int, dict[str, Any] | None, Problem | None]]:
        """(line, row, problem) for each data row: exactly one of row and problem is set.

        CSV empty cells are "" (absent, as None is). ImportRowError means the rest of the file
        cannot be read.
        """
        try:
            handle = self.path.open("rb")
        except OSError as exc:
            raise ImportFileError(f"cannot read {self.path}: {exc.strerror or exc}") from None
        self._handle = handle  # type: ignore[assignment]
        with handle:
            lines = self._lines(handle)  # type: ignore[arg-type]
            if self.format == "csv":
                limit = csv.field_size_limit(MAX_FIELD_CHARS)
                try:
                    yield from self._csv_rows(lines)
                finally:
                    csv.field_size_limit(limit)
                return
            for number, text, problem in lines:
                if problem is not None or text is None:
                    yield number, None, Problem(number, "", problem or "unreadable line")
                    continue
                if not text.strip():
                    continue
                try:
                    data = loads_json(text, strings=False)
                except ValueError as exc:
                    yield number, None, Problem(number, "", str(exc))
                    continue
                if not isinstance(data, dict):
                    yield number, None, Problem(number, "", "each line must be one JSON object")
                    continue
                yield number, data, None

    def _csv_rows(
        self, lines: Iterator[tuple[int, str | None, str | None]]
    ) -> Iterator[tuple[int, dict[str, Any] | None, Problem | None]]:
        refused: list[tuple[int, str]] = []

        def texts() -> Iterator[str]:
            for number, text, problem in lines:
                if text is None:
                    refused.append((number, problem or "unreadable line"))
                    yield "\n"  # keeps the reader's line count; an empty row is skipped
                else:
                    yield text

        source = texts()
        first = next(source, None)
        if first is None:
            return
        if refused:
            raise ImportRowError(1, refused[0][1])
        if self.delimiter is None:
            self.delimiter = sniff_delimiter(first)
        reader = csv.reader(itertools.chain((first,), source), delimiter=self.delimiter, strict=True)
        try:
            header = next(reader, None)
        except csv.Error as exc:
            raise ImportRowError(1, csv_problem(exc)) from None
        if header is None:
            return
        if reader.line_num != 1:
            raise ImportRowError(1, "the header row runs over several lines: a quote is not closed")
        if len(header) > MAX_COLUMNS:
            raise ImportRowError(1, f"{len(header):,} columns; a file has at most {MAX_COLUMNS}")
        names = [h.strip() for h in header]
        for name in names:
            if name and names.count(name) > 1:
                raise ImportRowError(1, f"column {name!r} appears more than once")
        self.header = [n for n in names if n]
        width = len(names)
        unnamed = len(self.header) != width
        while True:
            start = reader.line_num + 1
            try:
                cells = next(reader, None)
            except csv.Error as exc:
                if "field larger than field limit" not in str(exc):
                    raise ImportRowError(start, csv_problem(exc)) from None
                yield start, None, Problem(start, "", csv_problem(exc))  # that row only: read on
                continue
            while refused:
                number, problem = refused.pop(0)
                yield number, None, Problem(number, "", problem)
            if cells is None:
                return
            if reader.line_num != start:
                raise ImportRowError(
                    start, f"a quoted cell runs on to line {reader.line_num}: is a closing quote missing?"
                )
            if not cells:
                continue
            if len(cells) > width:
                yield (
                    start,
                    None,
                    Problem(
                        start, "", f"more cells than header columns ({len(cells)} cells, {width} columns)"
                    ),
                )
                continue
            if not unnamed:  # empty cells stay "": every reader of a row treats "" as absent
                yield start, dict(zip(names, cells, strict=False)), None
                continue
            if any(not k and v.strip() for k, v in zip(names, cells, strict=False)):
                yield start, None, Problem(start, "", "a value under a column that has no name in the header")
                continue
            yield start, {k: v for k, v in zip(names, cells, strict=False) if k}, None


def sniff_delimiter(header_line: str) -> str:
    """The delimiter that splits the header into the most columns (outside quotes); comma on a tie."""
    counts = dict.fromkeys(DELIMITERS, 0)
    quoted = False
    for ch in header_line:
        if ch == '"':
            quoted = not quoted
        elif not quoted and ch in counts:
            counts[ch] += 1
    best = max(DELIMITERS, key=lambda d: (counts[d], -DELIMITERS.index(d)))
    return best if counts[best] else ","


def csv_problem(exc: csv.Error) -> str:
    text = str(exc)
    return next((say for key, say in _CSV_PROBLEMS if key in text), f"not valid CSV ({text})")
