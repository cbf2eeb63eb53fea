"""Reading CSV/TSV files as text (every cell exactly as written, numbers converted only where asked), and
writing the tables meant for people so that a spreadsheet opens them safely.

pandas reads "None", "NA", "null", "nan" (and a dozen more) as missing by default: an utterance id
"null" or a transcript "None" would silently become NaN. Every table in the project is read here.
"""

import csv
import io
import re
from pathlib import Path

import pandas as pd


def read_text_table(path, sep: str = ",", integers=(), floats=(), **options) -> pd.DataFrame:
    """The table as strings ("" for an empty cell); `integers` and `floats` columns converted explicitly.

    `options` go to pd.read_csv (quoting, header, names, encoding). A cell of a numeric column that is
    not a number raises ValueError naming the column.
    """
    table = pd.read_csv(path, sep=sep, dtype=str, keep_default_na=False, na_filter=False, **options)
    for columns, kind in ((integers, "int64"), (floats, "float64")):
        for column in columns:
            try:
                table[column] = table[column].astype(kind)
            except ValueError as exc:
                raise ValueError(f"{path}: column {column!r} must hold numbers ({exc})") from None
    return table


def read_rows(path, sep: str = ",", quoting: int = csv.QUOTE_MINIMAL, text_columns=()) -> tuple[pd.DataFrame, list]:
    """A table people wrote, row by row: (rows as strings with their `line` number, [(line, reason), ...]).

    A malformed row (bad quoting, too many or too few fields: an unquoted comma) is set aside with its
    line number and reason instead of stopping the read. Bytes that are not UTF-8 are kept as surrogates
    (os.fsencode gives a file name's bytes back); in `text_columns` they make the row a problem.
    Raises ValueError for a file with no header.
    """
    data = Path(path).read_bytes().decode("utf-8", errors="surrogateescape").removeprefix("\ufeff")
    reader = csv.reader(io.StringIO(data, newline=""), delimiter=sep, quoting=quoting, strict=True)
    header, rows, problems = None, [], []
    while True:
        line = reader.line_num + 1
        try:
            fields = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            runs_on = f", from line {line} to line {reader.line_num} (an unbalanced quote?)" * (reader.line_num > line)
            problems.append((line, f"bad quoting: {exc}{runs_on}"))
            continue
        if not any(field.strip() for field in fields):
            continue  # a blank line
        if header is None:
            header = [name.strip() for name in fields]
            continue
        if len(fields) != len(header):
            hint = " (an unquoted separator? put the field in double quotes)" if len(fields) > len(header) else ""
            problems.append((line, f"{len(fields)} fields where the header has {len(header)}{hint}"))
            continue
        row = dict(zip(header, fields))
        undecodable = [name for name in text_columns if _SURROGATE.search(row.get(name, ""))]
        if undecodable:
            problems.append((line, f"column {undecodable[0]} is not UTF-8 text"))
            continue
        rows.append(dict(row, line=line))
    if header is None:
        raise ValueError(f"{path}: empty file, no header line")
    return pd.DataFrame(rows, columns=[*header, "line"], dtype=object), problems


def readable(text: str) -> str:
    """A cell or line safe to print or write as UTF-8 CSV/TSV: undecodable bytes as \\xNN, tabs and newlines as \\t, \\n."""
    text = text.encode("utf-8", errors="surrogateescape").decode("utf-8", errors="backslashreplace")
    return text.replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")


def spreadsheet_safe(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy for people to open: text cells starting with = + - @ (a formula to a spreadsheet) get a leading '.

    Only outputs meant for people go through this (rejected.csv, dropped.csv, predictions.csv); the
    project never reads them back as data. Numeric columns are left alone (-0.5 stays a number).
    """
    frame = frame.copy()
    for column in frame.columns:
        if frame[column].dtype == object or pd.api.types.is_string_dtype(frame[column]):
            frame[column] = [_neutralise(cell) if isinstance(cell, str) else cell for cell in frame[column]]
    return frame


def _neutralise(cell: str) -> str:
    cell = readable(cell)
    return "'" + cell if cell[:1] in _FORMULA_STARTS else cell


_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_SURROGATE = re.compile("[\udc80-\udcff]")
