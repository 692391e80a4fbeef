"""The Ray Data job: inputs -> a pool of stateful workers (one ``MaskPatrol`` each) -> parts.

Why Ray Data: the same code runs embedded in this process on a laptop (``ray.init`` with
no address starts a private Ray that ends with the command) and on a cluster
(``--address auto`` on a node of it, ``ray://host:10001`` from outside), and Ray already
handles scheduling, retries and back-pressure. Why actors: loading the detector and
classifier takes about a second, so each worker loads them once and keeps them.

Sizing on small machines: each worker asks Ray for one CPU and runs single-threaded (the
classifier and YuNet already use one thread; OpenCV is set to one here), and nothing else
in the plan asks for a CPU, so N workers fit in N CPUs. A plan that also read files in
Ray tasks would need a CPU left free for them, or it waits forever for one (seen on
2 cores with 2 one-CPU workers): here the workers read their own files.
"""

from __future__ import annotations

import logging
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, Optional, Sequence

import numpy as np
import ray

from ..pipeline import Counts
from ..runtime import usable_cpus
from .inputs import IMAGE, VIDEO, InputItem
from .rows import Row, error_row
from .store import PartStore
from .work import BatchSettings, analyse

#: Inputs per part: a crash loses at most this many inputs' work per worker, and the
#: progress line moves at least this often. Larger parts mean fewer files on a big run.
DEFAULT_PART_SIZE = 16
#: The folder that holds the ``maskpatrol`` package.
PACKAGE_ROOT = str(Path(__file__).resolve().parents[2])


class RayStartError(RuntimeError):
    """Ray could not be started here, or the cluster at ``--address`` not reached."""


@dataclass
class Totals:
    """What a run did so far: the progress line and the final summary."""

    inputs: int = 0
    images: int = 0
    videos: int = 0
    frames: int = 0
    faces: int = 0
    no_mask: int = 0
    #: Faces with a mask below the nose (3-class models only): not properly masked.
    incorrect: int = 0
    errors: int = 0
    parts: int = 0
    skipped: int = 0  # inputs already done in --out by an earlier run
    workers: int = 0
    elapsed_s: float = 0.0
    #: From the start until the first part came back: Ray's start, the workers' model
    #: loading and the first batch; the fixed cost of a run.
    first_part_s: Optional[float] = None
    #: Photos and frames in that first part: what the steady rate leaves out.
    first_part_analysed: int = 0
    started: float = field(default_factory=time.perf_counter, repr=False)

    def add(self, part: dict[str, Any], from_worker: bool = True) -> None:
        """Count a finished part; ``from_worker`` False for the listing errors this process
        writes before Ray starts, which must not pass for the first results."""
        for name in ("inputs", "images", "videos", "frames", "faces", "no_mask", "incorrect", "errors"):
            setattr(self, name, getattr(self, name) + int(part[name]))
        self.parts += 1
        self.elapsed_s = time.perf_counter() - self.started
        if from_worker and self.first_part_s is None:
            self.first_part_s = self.elapsed_s
            self.first_part_analysed = self.images + self.frames

    @property
    def analysed_per_s(self) -> float:
        """Images plus video frames analysed per second of the whole run."""
        return (self.images + self.frames) / self.elapsed_s if self.elapsed_s > 0 else 0.0

    @property
    def steady_per_s(self) -> Optional[float]:
        """Images plus frames per second once running: from the first part back to the last,
        so Ray's start and the model loading are left out (None with a single part)."""
        span = self.elapsed_s - (self.first_part_s or 0.0)
        done = self.images + self.frames - self.first_part_analysed
        return done / span if self.first_part_s is not None and span > 0 and done > 0 else None

    def as_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d.pop("started")
        d["elapsed_s"] = round(self.elapsed_s, 3)
        d["first_part_s"] = None if self.first_part_s is None else round(self.first_part_s, 3)
        d["analysed_per_s"] = round(self.analysed_per_s, 2)
        d["steady_per_s"] = None if self.steady_per_s is None else round(self.steady_per_s, 2)
        return d


def part_counts(paths: Sequence[str], kinds: Sequence[Optional[str]], rows: Sequence[Row]) -> dict[str, int]:
    """The numbers one part adds to :class:`Totals`."""
    counts = Counts.of_labels(r["label"] for r in rows)
    return {"inputs": len(paths), "images": sum(k == IMAGE for k in kinds),
            "videos": sum(k == VIDEO for k in kinds),
            "frames": len({(r["path"], r["frame"]) for r in rows if r["frame"] is not None}),
            "faces": counts.total, "no_mask": counts.no_mask, "incorrect": counts.incorrect,
            "errors": sum(r["error"] is not None for r in rows)}


class Analyst:
    """One Ray worker: loads the pipeline once, then analyses batches and writes each as a part."""

    def __init__(self, model_dir: str, settings: BatchSettings, out: str, fmt: str) -> None:
        import cv2

        from ..pipeline import MaskPatrol

        cv2.setNumThreads(1)  # one thread per worker: the workers are the parallelism
        self.settings = settings
        self.patrol = MaskPatrol.load(model_dir, detector=settings.detector)
        self.store = PartStore(out, fmt)

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, list]:
        paths = [str(p) for p in batch["path"]]
        kinds = [str(k) for k in batch["kind"]]
        rows: list[Row] = []
        for path, kind in zip(paths, kinds):
            rows.extend(analyse(self.patrol, path, kind, self.settings))
        name = self.store.write(paths, rows)
        return {"part": [name], **{k: [v] for k, v in part_counts(paths, kinds, rows).items()}}


def _quiet_ray_data() -> None:
    ctx = ray.data.DataContext.get_current()
    ctx.enable_progress_bars = False  # our own progress line replaces Ray's bars
    ctx.print_on_execution_start = False
    logging.getLogger("ray.data").setLevel(logging.ERROR)


def start_ray(address: Optional[str], workers: Optional[int]) -> int:
    """Connect to ``address`` or start an embedded Ray; returns the worker count to use
    (by default one per CPU Ray reports)."""
    if address:
        ray.init(address=address, log_to_driver=False, logging_level=logging.ERROR)
        cpus = int(ray.cluster_resources().get("CPU", 1))
    else:
        cpus = max(usable_cpus(), workers or 0)
        # The embedded Ray's workers are children of this process and inherit its
        # environment: they import this package from where this process found it, whatever
        # the current folder (a runtime_env would do the same, seconds slower to start).
        # On a cluster, ship the project with `ray job submit --working-dir`.
        paths = os.environ.get("PYTHONPATH", "").split(os.pathsep)
        if PACKAGE_ROOT not in paths:
            os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [PACKAGE_ROOT, *paths]))
        ray.init(num_cpus=cpus, include_dashboard=False, log_to_driver=False, logging_level=logging.ERROR)
    _quiet_ray_data()
    return max(1, workers or cpus)


def run_job(items: Sequence[InputItem], store: PartStore, settings: BatchSettings, model_dir: str, *,
            address: Optional[str] = None, workers: Optional[int] = None, part_size: int = DEFAULT_PART_SIZE,
            on_part: Optional[Callable[[Totals], None]] = None) -> Totals:
    """Analyse every item not already in ``store`` and write its rows there.

    Listing errors are written by this process (they need no worker). Ray is started or
    joined only if something is left to analyse, and always shut down before returning,
    also on Ctrl-C, so no Ray process outlives the command."""
    totals = Totals()
    store.prepare()
    done = store.done_paths()
    todo = [i for i in items if i.path not in done]
    totals.skipped = len(items) - len(todo)
    bad = [i for i in todo if i.error is not None]
    if bad:
        rows = [error_row(i.path, i.kind, i.error) for i in bad]
        store.write([i.path for i in bad], rows)
        totals.add(part_counts([i.path for i in bad], [i.kind for i in bad], rows), from_worker=False)
    todo = [i for i in todo if i.error is None]
    if not todo:
        return totals
    try:
        try:
            totals.workers = start_ray(address, workers)
        except Exception as exc:  # ConnectionError, RuntimeError, ValueError, a gRPC error...
            where = f"the Ray cluster at {address}" if address else "Ray on this machine"
            detail = str(exc).strip().splitlines()[0] if str(exc).strip() else exc.__class__.__name__
            raise RayStartError(f"could not reach {where}: {detail}") from None
        ds = ray.data.from_items([{"path": i.path, "kind": i.kind} for i in todo])
        ds = ds.map_batches(Analyst, batch_size=part_size, batch_format="numpy",
                            compute=ray.data.ActorPoolStrategy(size=totals.workers), num_cpus=1,
                            fn_constructor_kwargs={"model_dir": model_dir, "settings": settings,
                                                   "out": store.location, "fmt": store.fmt})
        for part in ds.iter_rows():
            totals.add(part)
            if on_part is not None:
                on_part(totals)
    finally:
        ray.shutdown()
    return totals
