"""Reading LIBSVM (SVMlight) files with errors that name the file and the line.

scikit-learn's ``load_svmlight_file`` parses the file. When it fails, this
module scans the file again in Python to find the first malformed line, since
scikit-learn's message does not say where the problem is.
"""

from __future__ import annotations

import bz2
import gzip
import math
from pathlib import Path

import numpy as np
import scipy.sparse
from sklearn.datasets import load_svmlight_file


class DatasetNotFoundError(FileNotFoundError):
    """Raised when a data set file does not exist."""


class DatasetFormatError(ValueError):
    """Raised when a data set file cannot be parsed.

    Attributes:
        path: the file.
        line: the 1-based line number of the first malformed line, or None
            when the problem is not tied to one line.
        reason: what is wrong.
    """

    def __init__(self, path: Path, line: int | None, reason: str) -> None:
        self.path = path
        self.line = line
        self.reason = reason
        where = f"{path}, line {line}" if line is not None else str(path)
        super().__init__(f"malformed LIBSVM file {where}: {reason}")


def read_libsvm(path) -> tuple[scipy.sparse.csr_matrix, np.ndarray]:
    """Read a LIBSVM file (optionally .gz or .bz2) into a CSR matrix and a label vector.

    Feature indices may be 0- or 1-based; scikit-learn's ``zero_based="auto"``
    treats the file as 1-based unless index 0 appears. The number of columns is
    the largest index found. Comments after ``#`` and ``qid:`` tokens are ignored.

    Raises:
        DatasetNotFoundError: if ``path`` does not exist.
        DatasetFormatError: if the file is a directory, cannot be parsed, has
            no examples, or contains NaN or infinite values. The message names
            the file and, when one line is at fault, its number.
    """
    path = Path(path).expanduser()
    if not path.exists():
        raise DatasetNotFoundError(f"LIBSVM file not found: {path}")
    if path.is_dir():
        raise DatasetFormatError(path, None, "this is a directory, not a LIBSVM file")

    try:
        X, y = load_svmlight_file(str(path), dtype=np.float64)
    except (ValueError, OSError, EOFError) as error:
        # Corrupt .gz and .bz2 data raise OSError or EOFError; access errors
        # are not format errors and keep their own type.
        if isinstance(error, FileNotFoundError):
            raise DatasetNotFoundError(f"LIBSVM file not found: {path}") from error
        if isinstance(error, PermissionError):
            raise
        line, reason = find_malformed_line(path)
        raise DatasetFormatError(path, line, reason or f"scikit-learn could not parse it ({error})") from error

    if X.shape[0] == 0:
        raise DatasetFormatError(path, None, "the file contains no examples")
    if not (np.all(np.isfinite(X.data)) and np.all(np.isfinite(y))):
        line, reason = find_malformed_line(path)
        raise DatasetFormatError(path, line, reason or "the file contains NaN or infinite values")
    return scipy.sparse.csr_matrix(X), y


def find_malformed_line(path: Path) -> tuple[int | None, str | None]:
    """Return (1-based line number, reason) of the first malformed line, or (None, None)."""
    try:
        with _open_binary(path) as stream:
            for number, raw_line in enumerate(stream, start=1):
                reason = _line_error(raw_line)
                if reason is not None:
                    return number, reason
    except (OSError, EOFError) as error:
        return None, f"the file cannot be decompressed ({error})"
    return None, None


def _open_binary(path: Path):
    if path.suffix == ".gz":
        return gzip.open(path, "rb")
    if path.suffix == ".bz2":
        return bz2.open(path, "rb")
    return open(path, "rb")


def _line_error(raw_line: bytes) -> str | None:
    """Return why one line is not valid LIBSVM, or None if it is."""
    content = raw_line.split(b"#", 1)[0].strip()
    if not content:
        return None
    tokens = content.split()

    label = tokens[0]
    if b"," in label:
        return f"multi-label targets such as {_show(label)} are not supported"
    label_value = _parse_float(label)
    if label_value is None:
        return f"invalid label {_show(label)}: expected a number"
    if not math.isfinite(label_value):
        return f"invalid label {_show(label)}: the label must be finite"

    previous_index = -1
    for token in tokens[1:]:
        if token.startswith(b"qid:"):
            if _parse_int(token[4:]) is None:
                return f"invalid query id {_show(token)}: expected qid:<integer>"
            continue
        index_text, separator, value_text = token.partition(b":")
        if not separator:
            return f"invalid feature {_show(token)}: expected <index>:<value>"
        index = _parse_int(index_text)
        if index is None or index < 0:
            return f"invalid feature index in {_show(token)}: expected a non-negative integer"
        value = _parse_float(value_text)
        if value is None:
            return f"invalid feature value in {_show(token)}: expected a number"
        if not math.isfinite(value):
            return f"invalid feature value in {_show(token)}: the value must be finite"
        if index <= previous_index:
            return f"feature index {index} is not larger than the previous one ({previous_index}); " \
                   "indices must be strictly increasing"
        previous_index = index
    return None


def _parse_float(text: bytes) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def _parse_int(text: bytes) -> int | None:
    try:
        return int(text)
    except ValueError:
        return None


def _show(token: bytes) -> str:
    return repr(token.decode("utf-8", errors="replace"))
