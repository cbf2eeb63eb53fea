"""Reading CSV/TSV files as text: every cell exactly as written, numbers converted only where asked.

pandas reads "None", "NA", "null", "nan" (and a dozen more) as missing by default: an utterance id
"null" or a transcript "None" would silently become NaN. Every table in the project is read here.
"""

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
