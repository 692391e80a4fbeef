"""The output folder: parts written whole or not at all, and the list of inputs done.

Why this makes a run resumable without loss or duplicates:

- A worker writes the rows of a whole batch of inputs into one part: first to a hidden
  temporary name, then renamed. A crash or Ctrl-C leaves either the finished part or a
  temporary file that the next run deletes; never half a part.
- A part's name is a hash of the inputs it holds. If Ray retries a batch whose part was
  already written (a worker died after the rename), the retry overwrites the same file
  instead of adding a second copy.
- A re-run reads the ``path`` column of the finished parts and leaves those inputs out.

Parquet by default (typed columns, read by pandas, DuckDB, Spark, ``ray.data``), JSON
Lines on request (read by anything). Paths may be local or any URI pyarrow's file
systems open (``s3://``, ``gs://``), as on a cluster every worker must reach ``--out``.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import uuid
from typing import Iterable, Sequence

import pyarrow as pa
import pyarrow.parquet as pq
from pyarrow import fs as pafs

from .inputs import is_uri
from .rows import Row

FORMATS = ("parquet", "jsonl")
PART_PREFIX = "part-"
TMP_PREFIX = ".tmp-part-"

#: One schema for every Parquet part (the columns of ``rows.ROW_FIELDS``), so parts with
#: only error rows or only faces still read as one table.
SCHEMA = pa.schema([
    ("path", pa.string()), ("kind", pa.string()), ("frame", pa.int64()), ("time_s", pa.float64()),
    ("width", pa.int64()), ("height", pa.int64()), ("box", pa.list_(pa.int64())), ("label", pa.string()),
    ("p_no_mask", pa.float64()), ("p_incorrect", pa.float64()), ("error", pa.string()), ("person", pa.int64()),
])


class StoreError(ValueError):
    """An output folder we cannot use; the message says what to do."""


def part_name(keys: Iterable[str], fmt: str) -> str:
    """Same inputs, same name: a retried batch overwrites its part instead of doubling it."""
    digest = hashlib.sha256("\n".join(sorted(keys)).encode("utf-8")).hexdigest()[:20]
    return f"{PART_PREFIX}{digest}.{fmt}"


class PartStore:
    """An output folder (local path or URI) of ``part-*.parquet`` or ``part-*.jsonl`` files."""

    def __init__(self, out: str, fmt: str = "parquet") -> None:
        if fmt not in FORMATS:
            raise StoreError(f"--format must be one of {', '.join(FORMATS)}, got {fmt}")
        self.out, self.fmt = out, fmt
        if is_uri(out):
            self.fs, self.root = pafs.FileSystem.from_uri(out)
        else:
            self.fs, self.root = pafs.LocalFileSystem(), os.path.abspath(out)
        self.root = self.root.rstrip("/")

    @property
    def location(self) -> str:
        """The folder as every worker must name it: the URI, or the absolute local path."""
        return self.out if is_uri(self.out) else self.root

    # ------------------------------------------------------------------ driver side

    def prepare(self) -> None:
        """Create the folder, refuse one holding the other format's parts, and delete the
        temporary files an interrupted run left."""
        info = self.fs.get_file_info(self.root)
        if info.type == pafs.FileType.File:
            raise StoreError(f"--out {self.out} is a file; give a folder (new or from an earlier run)")
        self.fs.create_dir(self.root, recursive=True)
        for f in self._files():
            name = f.base_name
            if name.startswith(TMP_PREFIX):
                self.fs.delete_file(f.path)
            elif name.startswith(PART_PREFIX) and not name.endswith("." + self.fmt):
                other = name.rsplit(".", 1)[-1]
                raise StoreError(f"{self.out} holds {other} parts from an earlier run; "
                                 f"resume it with --format {other}, or choose another --out")

    def parts(self) -> list[str]:
        """Finished parts of this format, sorted by name."""
        return sorted(f.path for f in self._files()
                      if f.base_name.startswith(PART_PREFIX) and f.base_name.endswith("." + self.fmt))

    def done_paths(self) -> set[str]:
        """Inputs with rows in a finished part: a re-run skips them."""
        done: set[str] = set()
        for part in self.parts():
            if self.fmt == "parquet":
                done.update(pq.read_table(part, columns=["path"], filesystem=self.fs).column("path").to_pylist())
            else:
                with self.fs.open_input_stream(part) as f:
                    done.update(json.loads(line)["path"] for line in io.TextIOWrapper(f, encoding="utf-8") if line.strip())
        return done

    def read_rows(self) -> list[Row]:
        """All rows of all finished parts (for small outputs and tests; use pandas or
        ``ray.data.read_parquet`` on big ones)."""
        rows: list[Row] = []
        for part in self.parts():
            if self.fmt == "parquet":
                rows.extend(pq.read_table(part, filesystem=self.fs).to_pylist())
            else:
                with self.fs.open_input_stream(part) as f:
                    rows.extend(json.loads(line) for line in io.TextIOWrapper(f, encoding="utf-8") if line.strip())
        return rows

    # ------------------------------------------------------------------ worker side

    def write(self, keys: Sequence[str], rows: Sequence[Row]) -> str:
        """Write ``rows`` (every row of the inputs ``keys``) as one part, atomically;
        returns its name."""
        name = part_name(keys, self.fmt)
        tmp = f"{self.root}/{TMP_PREFIX}{uuid.uuid4().hex}"
        with self.fs.open_output_stream(tmp) as f:
            if self.fmt == "parquet":
                pq.write_table(pa.Table.from_pylist(list(rows), schema=SCHEMA), f)
            else:
                f.write("".join(json.dumps(r) + "\n" for r in rows).encode("utf-8"))
        self.fs.move(tmp, f"{self.root}/{name}")
        return name

    def _files(self) -> list[pafs.FileInfo]:
        return [f for f in self.fs.get_file_info(pafs.FileSelector(self.root, allow_not_found=True))
                if f.type == pafs.FileType.File]
