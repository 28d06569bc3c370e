"""Numerai's submission rules, one module per tournament; numerai-tools is the reference.

Every check raises :class:`~numerpilot.errors.SubmissionError` saying which rule failed.
``predict``, ``submit`` and the model-upload check all come through here.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import pandas as pd
from numerai_tools import submissions as nt

from numerpilot.errors import DataError, SubmissionError
from numerpilot.io import check_plain
from numerpilot.submission.rules import classic, crypto, signals
from numerpilot.submission.rules.headers import header_hint
from numerpilot.submission.rules.universe import other_tournament

#: The live ids: a Series (Classic) or a frame with one column per id kind.
Universe = pd.Series | pd.DataFrame | None

CHECKS = {"classic": classic.check, "signals": signals.check, "crypto": crypto.check}

#: Columns that hold the values of a submission in any tournament.
VALUE_COLUMNS = ("prediction", "probability", "signal")
PREDICT_HINT = "Re-create it with 'numerpilot predict'"
_BOM = b"\xef\xbb\xbf"


def check_no_bom(path: Path) -> None:
    """Refuse a file that starts with a UTF-8 byte-order mark: it would be uploaded as is."""
    with Path(path).open("rb") as fh:
        if fh.read(len(_BOM)) == _BOM:
            raise SubmissionError(
                f"{path} starts with a byte-order mark (BOM), which would be uploaded as is "
                "and makes its header unreadable for Numerai. Save it as UTF-8 without BOM, "
                f"e.g. with: sed -i '1s/^\\xEF\\xBB\\xBF//' {path}"
            )


def check_numeric(frame: pd.DataFrame) -> None:
    """Every value column holds numbers (a text value is named with its data row)."""
    for name in (c for c in frame.columns if str(c) in VALUE_COLUMNS):
        column = frame[name]
        if pd.api.types.is_bool_dtype(column):
            raise SubmissionError(f"column '{name}' holds true/false values, not numbers")
        if pd.api.types.is_numeric_dtype(column):
            continue
        text = (pd.to_numeric(column, errors="coerce").isna() & column.notna()).to_numpy()
        if text.any():
            row = int(text.argmax())
            raise SubmissionError(
                f"column '{name}' holds text, e.g. {str(column.iloc[row])!r} in data row "
                f"{row + 1}; predictions must be numbers within [0, 1]"
                f"{_decimal_hint(str(column.iloc[row]))}"
            )
        raise SubmissionError(  # e.g. a parquet string column of "0.5"s
            f"column '{name}' holds numbers stored as text ({column.dtype}); store them as "
            "numbers (float)"
        )


_OLE2 = bytes.fromhex("D0CF11E0A1B11AE1")  # a legacy Excel (.xls) workbook
_WORKBOOK_ENDINGS = (".xlsx", ".xlsm", ".xls", ".ods", ".numbers")
_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")


def check_text_format(path: Path) -> None:
    """Refuse a spreadsheet workbook or UTF-16 text: Numerai reads UTF-8 CSV or parquet."""
    if not path.is_file():
        return
    with path.open("rb") as fh:
        head = fh.read(512)
    if path.suffix.lower() in _WORKBOOK_ENDINGS or head.startswith(_OLE2) or _is_workbook(path):
        raise DataError(
            f"{path.name} is a spreadsheet workbook, not a CSV or parquet file, which is what "
            "Numerai reads. Save it as 'CSV (Comma delimited)' (not 'CSV UTF-8', which adds a "
            "byte-order mark), or with pandas: pd.read_excel(path).to_csv('signal.csv', "
            "index=False)."
        )
    if head.startswith(_UTF16_BOMS) or _utf16_without_bom(head):
        raise DataError(
            f"{path.name} is UTF-16 text; Numerai reads UTF-8 CSV. Convert it, e.g. with: "
            f"iconv -f UTF-16 -t UTF-8 {path.name} > signal.csv"
        )


def _is_workbook(path: Path) -> bool:
    """A zip archive holding an Excel or OpenDocument workbook."""
    if not zipfile.is_zipfile(path):
        return False
    try:
        with zipfile.ZipFile(path) as archive:
            names = set(archive.namelist())
    except (OSError, zipfile.BadZipFile):
        return False
    return bool(names & {"xl/workbook.xml", "content.xml", "[Content_Types].xml"})


def _utf16_without_bom(head: bytes) -> bool:
    """ASCII text stored as UTF-16 (every other byte zero) without its byte-order mark."""
    sample = head[: len(head) // 2 * 2][:64]
    if len(sample) < 8 or head.startswith(b"PAR1"):
        return False
    return not any(sample[1::2]) or not any(sample[0::2])


def _decimal_hint(value: str) -> str:
    """A hint for a number written with a decimal comma ('0,52'): "" for other text."""
    if "," not in value or pd.isna(pd.to_numeric(value.replace(",", "."), errors="coerce")):
        return ""
    return " written with '.' as the decimal point, not ','"


#: Id columns of every tournament: read from a CSV as text, so "000123" stays "000123".
ID_COLUMNS = dict.fromkeys(
    [*nt.NUMERAI_ALLOWED_ID_COLS, *nt.SIGNALS_ALLOWED_ID_COLS, *nt.CRYPTO_ALLOWED_ID_COLS], str
)


def is_parquet(path: Path) -> bool:
    """Whether ``path`` is a parquet file (it starts with parquet's magic bytes)."""
    with Path(path).open("rb") as file:
        return file.read(4) == b"PAR1"


def upload_suffix(path: Path) -> str:
    """The suffix Numerai reads ``path``'s format by: ``.parquet`` or ``.csv``."""
    return ".parquet" if is_parquet(path) else ".csv"


def read_submission(path: Path) -> pd.DataFrame:
    """A submission file (CSV or parquet) with at least one row, as a frame with its columns
    as written (the ids of a CSV as text)."""
    path = Path(path)
    if not path.exists():
        raise DataError(f"{path} does not exist: run 'numerpilot predict' first.")
    check_text_format(path)  # before check_plain: a workbook is a zip file too
    check_plain(path, "Numerai", "submit that file")  # pandas would read it, Numerai not
    try:
        if is_parquet(path):  # by its bytes: a parquet file named .csv is one all the same
            frame = pd.read_parquet(path)
            frame = frame.reset_index() if frame.index.name else frame
        else:
            frame = pd.read_csv(path, dtype=ID_COLUMNS)
    except Exception as error:  # pandas/pyarrow raise many unrelated types
        raise DataError(f"{path} is not a readable CSV or parquet file ({error}).") from None
    if len(frame) == 0:
        raise DataError(f"{path.name} has no rows; a submission needs one row for each id it "
                        "predicts: check that it was written completely.")  # fmt: skip
    return frame


def check_frame(frame: pd.DataFrame, tournament: str, universe: Universe) -> None:
    """Apply the tournament's rules to a submission frame (``universe``: the live ids,
    Classic: a Series; Signals/Crypto: a frame with one column per id kind)."""
    check_numeric(frame)
    try:
        CHECKS[tournament](frame.copy(), universe)
    except (TypeError, ValueError) as error:  # numerai-tools on values it did not expect
        raise SubmissionError(f"the submission's values cannot be checked ({error})") from None
    except SubmissionError as error:
        if "headers" not in str(error):
            raise
        shown = ", ".join(repr(str(c)) for c in frame.columns[:6])  # a space or ';' shows
        more = " …" if len(frame.columns) > 6 else ""
        hint = "" if other_tournament(frame, tournament) else header_hint(frame, tournament)
        raise SubmissionError(f"{error} (the file's columns: {shown}{more}){hint}") from None


def check_file(path: Path, tournament: str, universe: Universe, hint: str = PREDICT_HINT) -> None:
    """Apply the tournament's rules to a submission file (the error names the file)."""
    if Path(path).exists():
        check_no_bom(path)
    frame = None
    try:
        frame = read_submission(path)
        check_frame(frame, tournament, universe)
    except SubmissionError as error:
        elsewhere = frame is not None and other_tournament(frame, tournament)
        end = "" if elsewhere else f" {hint}."  # the error already says what to change
        raise SubmissionError(f"{Path(path).name}: {_sentence(str(error))}{end}") from None


def _sentence(text: str) -> str:
    """``text`` ending with one full stop (numerai-tools' messages may end with '.' or '?')."""
    return text if text.endswith((".", "?", "!")) else f"{text}."
