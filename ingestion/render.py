"""CSV bytes from a typed orders table (Arrow's C++ writer) with defect lines spliced in, all vectorised."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from ingestion.defects import KIND, DefectPlan
from ingestion.generator import COLUMNS

HEADER = (",".join(COLUMNS) + "\n").encode("ascii")
_WRITE_OPTIONS = pacsv.WriteOptions(include_header=False, quoting_style="none", batch_size=65_536)


def csv_body(table: pa.Table) -> pa.Buffer:
    """Data lines (no header), ``\\n``-terminated; values are never quoted (none needs it)."""
    sink = pa.BufferOutputStream()
    pacsv.write_csv(table, sink, write_options=_WRITE_OPTIONS)
    return sink.getvalue()


def split_lines(body: pa.Buffer, rows: int) -> pa.Array:
    """The body as an Arrow string array of lines (each with its newline), sharing the body's memory."""
    newlines = np.flatnonzero(np.frombuffer(body, dtype=np.uint8) == ord("\n"))
    if len(newlines) != rows:
        raise RuntimeError(f"CSV writer produced {len(newlines)} lines for {rows} rows")
    large = body.size >= 2**31
    offsets = np.zeros(rows + 1, dtype=np.int64 if large else np.int32)
    offsets[1:] = newlines + 1
    kind = pa.LargeStringArray if large else pa.StringArray
    return kind.from_buffers(rows, pa.py_buffer(offsets), body)


def _data(lines: pa.Array) -> pa.Buffer:
    offsets = np.frombuffer(
        lines.buffers()[1], dtype=np.int64 if pa.types.is_large_string(lines.type) else np.int32
    )
    first, last = int(offsets[lines.offset]), int(offsets[lines.offset + len(lines)])
    return lines.buffers()[2][first:last]


def splice(body: pa.Buffer, rows: int, plan: DefectPlan, replacement: pa.Array) -> pa.Buffer:
    """``body`` with the lines at ``plan.positions`` replaced; duplicates copy their source line byte for byte."""
    if len(plan) == 0:
        return body
    lines = split_lines(body, rows)
    replacement = replacement.cast(lines.type)
    duplicates = plan.kinds == KIND["duplicate"]
    if duplicates.any():
        exact = lines.take(pa.array(np.where(duplicates, plan.sources, 0)))
        replacement = pc.if_else(pa.array(duplicates), exact, replacement)
    mask = np.zeros(rows, dtype=bool)
    mask[plan.positions] = True
    return _data(pc.replace_with_mask(lines, pa.array(mask), replacement))
