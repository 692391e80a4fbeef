"""``python -m maskpatrol``: the command-line contract other tools call.

Output is one line per input, in input order, so a caller can stream it; a bad input is
reported on its own line and the run goes on. Exit status: 0 all inputs processed,
1 some input failed, 2 the command itself could not run (bad arguments, no model).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
from dataclasses import replace
from functools import partial
from pathlib import Path
from typing import Any, Callable, Sequence

from . import __version__
from .analysis import Analysis, Failure, classify, classify_record, could_not_process, detect, detect_record
from .annotate import annotate
from .batch import command as batch_command
from .detectors import DEFAULT_DETECTOR, DETECTOR_NAMES, DetectorSettings
from .folders import files_in, subfolder_hint
from .images import SUPPORTED_EXTENSIONS, encode_png
from .model_card import ModelNotFoundError
from .paths import default_model_dir
from .pipeline import MaskPatrol, Settings, image_record, summarize
from .tracking.people import write_people_csv
from .tracking.settings import PeopleSettings
from .video import (VIDEO_DETECTOR_DEFAULTS, VIDEO_EXTENSIONS, Progress, VideoCancelled, VideoError,
                    annotate_video)

DESCRIPTION = """Find faces and tell whether each wears a face mask.

commands:
  detect    find every face in photos (or folders of photos) and label each "mask", "no_mask"
            or "incorrect" (a mask below the nose; 3-class models such as the shipped one)
  classify  run the mask classifier alone on images that are already face crops
  video     annotate a video file (H.264 mp4 out) and count faces per frame
  batch     audit many photos and videos in parallel on Ray (this machine or a cluster)
  watch     watch cameras (RTSP, MJPEG, a device) or video files unattended: an event per person
            not properly masked, in a database and to webhooks

Run `python -m maskpatrol COMMAND --help` for the options of each."""

DETECT_EPILOG = """JSON output (--json), one line per image:
  {"path": ..., "width": W, "height": H,
   "faces": [{"box": [x, y, w, h], "label": "mask"|"no_mask"|"incorrect", "p_no_mask": 0.0-1.0,
              "p_incorrect": 0.0-1.0}],
   "error": null}
"incorrect" is a mask worn below the nose or on the chin: not properly masked. Only a 3-class
model gives it; with a binary model p_incorrect is 0.
An unreadable image gives "error": "<message>" (width/height null, faces []) and the run
continues. A FOLDER argument stands for the images in it (JPEG, PNG, WEBP, BMP, GIF, TIFF by
extension; --recursive for subfolders too; hidden files skipped), in sorted path order; a
folder with no images gives one error line. Exit status: 0 all images processed, 1 any image
failed, 2 usage or model error."""

VIDEO_EPILOG = """Writes OUT as H.264 mp4 (plays in every browser) with the same frame count and size as
VIDEO (odd widths/heights are padded by one pixel) and its sound (AAC and MP3 copied, other
sound re-encoded to AAC). With --every N only
every Nth frame is analysed and the frames in between keep its boxes and labels (and its
counts): --every 3 takes about half the time of --every 1. --csv writes one row per frame:
  frame,time_s,faces,mask,no_mask,analyzed,incorrect
(incorrect: masks below the nose, 3-class models only; mask + no_mask + incorrect = faces)
Each face is followed from frame to frame and each person judged once, from their largest
faces; the boxes read "#7 No mask 91%". --people-csv writes one row per person:
  person,first_seen_s,last_seen_s,frames,label,mean_p_no_mask,mean_p_incorrect
JSON output (--json), one line: {"path", "out", "csv", "people_csv", "width", "height", "fps",
  "frames", "analyzed_frames", "every", "max_faces", "frames_with_no_mask", "frames_with_incorrect",
  "elapsed_s", "cpu_s", "speed", "audio", "people", "error"} (elapsed_s: processing time; cpu_s: CPU time of all threads; speed: x real
  time; audio: "none", "copied (aac)", "re-encoded to AAC (from pcm_s16le)" or "dropped (why)";
  people: {"total", "mask", "no_mask", "incorrect"}, people by their judged label)
Progress goes to stderr (--quiet turns it off). Ctrl-C stops and leaves no partial OUT.
Exit status: 0 done, 1 the video could not be processed, 2 usage or model error,
130 interrupted."""

WATCH_EPILOG = """A SOURCE is rtsp://[USER:PASSWORD@]HOST/PATH (read over TCP), http(s)://... (MJPEG),
/dev/videoN (or N), or a video file (read at its own frame rate; without --loop the command
ends when every file has ended, after their last events are written and delivered). Name a
source NAME=SOURCE; by default a camera is named by its URL without credentials.
Frames that arrive while one is analysed are dropped (and counted): the watcher keeps up with
real time. Each person found not properly masked is one event: "new" when judged, "end" with
the last-seen time, final label and best face when they leave. Events go to the database
(--db PATH: SQLite; MASKPATROL_DB_URL: PostgreSQL or any SQLAlchemy URL) and are POSTed to
each --webhook URL, signed with HMAC-SHA256 when MASKPATROL_WEBHOOK_SECRET is set.
Faces are kept (in the database and the messages) only with --keep-faces, blurred unless
--no-blur. A status line per camera each minute goes to stdout (--json: JSON lines); logs go
to stderr (MASKPATROL_LOG_LEVEL, default INFO). SIGTERM or Ctrl-C stops cleanly.
Exit status: 0 stopped or every file ended, 1 a source failed for good (a file that cannot be
read), 2 usage, model or database error."""

CLASSIFY_EPILOG = """JSON output (--json), one line per image:
  {"path": ..., "label": "mask"|"no_mask"|"incorrect", "p_no_mask": 0.0-1.0, "p_incorrect": 0.0-1.0,
   "error": null}
The whole image is taken as the face (its centre square is used). Same exit status as detect."""


def _common(p: argparse.ArgumentParser,
            json_help: str = "print one JSON object per line instead of a table") -> None:
    p.add_argument("--json", action="store_true", help=json_help)
    p.add_argument("--model-dir", type=Path, default=None,
                   help="folder with model_card.json and the .tflite model (default: models/)")
    p.add_argument("--threshold", type=float, default=None,
                   help="p(no mask) at or above which a face counts as unmasked (default: the model card's)")


def _detector_options(p: argparse.ArgumentParser, defaults: DetectorSettings) -> None:
    p.add_argument("--detector", choices=DETECTOR_NAMES, default=defaults.name,
                   help=f"face detector (default: {defaults.name}, which finds masked and small faces); "
                        "haar is the classic OpenCV cascade, blazeface/blazeface-full MediaPipe's models")
    p.add_argument("--scale-factor", type=float, default=defaults.scale_factor,
                   help=f"Haar scale step; smaller finds more faces, slower (default: {defaults.scale_factor})")
    p.add_argument("--min-neighbors", type=int, default=defaults.min_neighbors,
                   help=f"Haar neighbours needed; lower finds more faces and more false ones (default: {defaults.min_neighbors})")
    p.add_argument("--min-face", type=int, default=defaults.min_face_px,
                   help=f"smallest face to find, in pixels (default: {defaults.min_face_px})")
    p.add_argument("--min-score", type=float, default=defaults.min_score,
                   help="YuNet and BlazeFace: lowest confidence (0-1) accepted as a face "
                        "(default: the model's, 0.5 YuNet / 0.3 BlazeFace short range / 0.4 full range)")


def _at_least(minimum: float, kind: type) -> Callable[[str], Any]:
    """An argparse type: a number of ``kind`` no smaller than ``minimum``."""
    def parse(text: str) -> Any:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be {minimum:g} or more, got {text}")
        return value
    return parse


def _people_options(p: argparse.ArgumentParser) -> None:
    defaults = PeopleSettings()
    p.add_argument("--decide-after", type=_at_least(1, int), default=defaults.decide_after_frames, metavar="FRAMES",
                   help="analysed frames a person is seen in before they are judged; a face lost sooner is "
                        f"taken for a stray detection (default: {defaults.decide_after_frames})")
    p.add_argument("--keep-lost", type=_at_least(0, float), default=defaults.keep_lost_s, metavar="SECONDS",
                   help="how long a person out of sight keeps their number, e.g. while someone passes in front "
                        f"(default: {defaults.keep_lost_s:g})")


def _settings(args: argparse.Namespace) -> Settings:
    people = PeopleSettings()
    if hasattr(args, "decide_after"):  # the commands that see sequences
        people = replace(people, decide_after_frames=args.decide_after, keep_lost_s=args.keep_lost)
    return Settings(DetectorSettings(args.scale_factor, args.min_neighbors, args.min_face, args.detector,
                                     args.min_score), args.threshold, people=people)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m maskpatrol", description=DESCRIPTION,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"maskpatrol {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    d = sub.add_parser("detect", help="find faces in photos and label each mask / no_mask / incorrect",
                       description="Find every face in each IMAGE (or in the images of each FOLDER) "
                                   "and say whether it wears a mask.",
                       epilog=DETECT_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    d.add_argument("images", nargs="+", metavar="IMAGE_OR_FOLDER",
                   help="JPEG, PNG, WEBP, BMP, GIF or TIFF files, or folders of them")
    d.add_argument("--recursive", "-r", action="store_true", help="also walk the subfolders of each FOLDER")
    _common(d)
    _detector_options(d, DetectorSettings())
    d.add_argument("--annotate-dir", type=Path, default=None,
                   help="also write each annotated image as PNG into this folder "
                        "(images found in a FOLDER keep their subfolder path)")

    v = sub.add_parser("video", help="annotate a video file and count faces per frame",
                       description="Box and label every face in VIDEO (mp4, mov, m4v, avi, webm, mkv) "
                                   "and write the result as an H.264 mp4.",
                       epilog=VIDEO_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    v.add_argument("video", metavar="VIDEO", type=Path, help="the video file to annotate")
    v.add_argument("--out", "-o", type=Path, required=True, metavar="OUT.mp4", help="annotated video to write")
    v.add_argument("--csv", type=Path, default=None, metavar="COUNTS.csv", help="also write per-frame counts")
    v.add_argument("--people-csv", type=Path, default=None, metavar="PEOPLE.csv",
                   help="also write one row per person seen")
    v.add_argument("--every", type=int, default=1, metavar="N",
                   help="analyse every Nth frame; frames in between reuse its boxes (default: 1, all)")
    v.add_argument("--hide-probability", action="store_true", help="write labels without percentages")
    v.add_argument("--quiet", "-q", action="store_true", help="no progress lines on stderr")
    _common(v, json_help="print one JSON summary line instead of a sentence")
    _detector_options(v, VIDEO_DETECTOR_DEFAULTS)
    _people_options(v)

    c = sub.add_parser("classify", help="classify face crops (no detection)",
                       description="Run the mask classifier on each FACE_IMAGE, taken as one face.",
                       epilog=CLASSIFY_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    c.add_argument("images", nargs="+", metavar="FACE_IMAGE", help="face crops (any supported format)")
    _common(c)

    w = sub.add_parser("watch", help="watch cameras or video files unattended; events to a database and webhooks",
                       description="Watch each SOURCE, record every person found not properly masked as an "
                                   "event, and tell webhooks.",
                       epilog=WATCH_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    w.add_argument("sources", nargs="+", metavar="SOURCE", help="camera URL, video device or video file")
    w.add_argument("--db", default=None, metavar="PATH",
                   help="SQLite file of the event log (or a SQLAlchemy URL); default: MASKPATROL_DB_URL, "
                        "else events.sqlite3 under MASKPATROL_DATA_HOME or ~/.local/share/maskpatrol")
    w.add_argument("--keep-days", type=_at_least(0.001, float), default=None, metavar="DAYS",
                   help="delete events older than this, at start and every hour (default: 30)")
    w.add_argument("--keep-faces", action="store_true",
                   help="store a small thumbnail of each event's best face and send it with the messages")
    w.add_argument("--no-blur", action="store_true", help="with --keep-faces: keep the faces unblurred")
    w.add_argument("--webhook", action="append", default=[], metavar="URL",
                   help="POST each new/end event to this URL (repeatable)")
    w.add_argument("--notify", action="append", default=[], metavar="URL",
                   help="send each new/end event to a chat or push service by its Apprise URL, e.g. "
                        "ntfys://topic or tgram://token/chat (repeatable; needs: pip install apprise)")
    w.add_argument("--loop", action="store_true", help="play video files again from the start when they end")
    w.add_argument("--metrics-port", type=int, default=None, metavar="PORT",
                   help="serve Prometheus /metrics and /healthz on this port")
    w.add_argument("--metrics-host", default="127.0.0.1", metavar="HOST",
                   help="address the metrics server listens on (default: 127.0.0.1; 0.0.0.0 for every interface)")
    w.add_argument("--status-interval", type=_at_least(0.1, float), default=60.0, metavar="SECONDS",
                   help=argparse.SUPPRESS)
    _common(w, json_help="print status lines as JSON")
    _detector_options(w, VIDEO_DETECTOR_DEFAULTS)
    _people_options(w)

    batch_command.add_parser(sub)
    return parser


def _emit(row: dict[str, Any], as_json: bool, table_row: Callable[[dict[str, Any]], str]) -> None:
    print(json.dumps(row) if as_json else table_row(row), flush=True)


#: Said after a face labelled "incorrect" in the text output, so the token is never left unexplained.
INCORRECT_NOTE = "  (mask below nose: not properly masked)"


def _scores(f: dict[str, Any], three_class: bool) -> str:
    """"no_mask   p_no_mask=0.981", plus p_incorrect for a 3-class model (a binary
    model's lines are unchanged: its p_incorrect is always 0)."""
    if not three_class:
        return f"{f['label']:<8} p_no_mask={f['p_no_mask']:.3f}"
    return f"{f['label']:<9} p_no_mask={f['p_no_mask']:.3f} p_incorrect={f['p_incorrect']:.3f}"


def _detect_row(row: dict[str, Any], three_class: bool = False) -> str:
    if row["error"]:
        return f"{row['path']}: ERROR {row['error']}"
    lines = [f"{row['path']} ({row['width']}x{row['height']}): {row['summary']}"]
    for i, f in enumerate(row["faces"], 1):
        x, y, w, h = f["box"]
        note = INCORRECT_NOTE if f["label"] == "incorrect" else ""
        lines.append(f"  face {i}: {_scores(f, three_class)}  box x={x} y={y} w={w} h={h}{note}")
    return "\n".join(lines)


def _classify_row(row: dict[str, Any], three_class: bool = False) -> str:
    if row["error"]:
        return f"{row['path']}: ERROR {row['error']}"
    return f"{row['path']}: {_scores(row, three_class)}{INCORRECT_NOTE if row['label'] == 'incorrect' else ''}"


def run_detect(args: argparse.Namespace, patrol: MaskPatrol) -> int:
    settings = _settings(args)
    failed = False
    text = partial(_detect_row, three_class=patrol.card.has_incorrect)

    if args.annotate_dir:
        args.annotate_dir.mkdir(parents=True, exist_ok=True)
    for path, relative, listing_error in expand_inputs(args.images, args.recursive):
        if listing_error:
            _emit(image_record(path, error=listing_error), args.json, text)
            failed = True
            continue
        analysis = detect(patrol, path, settings, name=path)
        row = detect_record(path, analysis)
        if not isinstance(analysis, Failure):
            try:
                if args.annotate_dir:
                    _write_annotated(analysis, args.annotate_dir, path, relative)
                if not args.json:
                    row["summary"] = summarize(analysis.faces)
            except Exception as exc:  # never a traceback: report and go on
                row["error"] = could_not_process(path, exc)
        failed = failed or row["error"] is not None
        _emit(row, args.json, text)
    return 1 if failed else 0


def _write_annotated(analysis: Analysis, folder: Path, path: str, relative: Path | None) -> None:
    """The annotated PNG of ``path``, under ``folder`` at its place in its FOLDER argument."""
    name = Path(path).stem + ".annotated.png"
    out = folder / (relative.parent / name if relative is not None else name)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(encode_png(annotate(analysis.decoded.rgb, analysis.faces)))


def run_classify(args: argparse.Namespace, patrol: MaskPatrol) -> int:
    failed = False
    text = partial(_classify_row, three_class=patrol.card.has_incorrect)

    for path in args.images:
        row = classify_record(path, classify(patrol, path, args.threshold, name=path))
        failed = failed or row["error"] is not None
        _emit(row, args.json, text)
    return 1 if failed else 0


# --------------------------------------------------------------------------- folders


def _is_image(path: Path) -> bool:
    return path.suffix.lower().lstrip(".") in SUPPORTED_EXTENSIONS


def expand_inputs(items: Sequence[str], recursive: bool) -> list[tuple[str, Path | None, str | None]]:
    """(path to report, path relative to its FOLDER argument or None, error) per image, in
    order: files as given, each folder replaced by its images (:func:`maskpatrol.folders.files_in`)."""
    out: list[tuple[str, Path | None, str | None]] = []
    for item in items:
        folder = Path(item)
        if not folder.is_dir():
            out.append((item, None, None))
            continue
        files, listing_error = files_in(item, recursive)
        if listing_error:
            out.append((item, None, listing_error))
            continue
        images = [p for p in files if _is_image(p)]
        if not images:
            out.append((item, None, f"No supported images ({', '.join(SUPPORTED_EXTENSIONS)}) "
                                    f"in the folder {item}{subfolder_hint(recursive)}"))
        out.extend((str(p), p.relative_to(folder), None) for p in images)
    return out


# --------------------------------------------------------------------------- video


def _video_row(row: dict[str, Any]) -> str:
    if row["error"]:
        return f"{row['path']}: ERROR {row['error']}"
    return f"{row['path']} -> {row['out']}: {row['summary']}"


def run_video(args: argparse.Namespace, patrol: MaskPatrol) -> int:
    row: dict[str, Any] = {"path": str(args.video), "out": str(args.out),
                           "csv": str(args.csv) if args.csv else None,
                           "people_csv": str(args.people_csv) if args.people_csv else None, "error": None}
    last_line = [0.0]

    def progress(p: Progress) -> None:
        now = time.monotonic()
        if not args.quiet and (now - last_line[0] >= 2.0 or p.frames_done == p.frames_total):
            last_line[0] = now
            print(f"{args.video}: {p.describe()}", file=sys.stderr, flush=True)

    status = 0
    try:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        result = annotate_video(args.video, args.out, patrol, _settings(args), every=args.every,
                                show_probability=not args.hide_probability, on_progress=progress)
        if args.csv:
            args.csv.parent.mkdir(parents=True, exist_ok=True)
            with args.csv.open("w", newline="") as f:
                result.counts.write_csv(f)
        if args.people_csv:
            args.people_csv.parent.mkdir(parents=True, exist_ok=True)
            with args.people_csv.open("w", newline="") as f:
                write_people_csv(result.people, f)
        row.update(width=result.width, height=result.height, fps=round(result.fps, 3), frames=result.frames,
                   analyzed_frames=result.analyzed_frames, every=result.every, max_faces=result.max_faces,
                   frames_with_no_mask=result.frames_with_no_mask, frames_with_incorrect=result.frames_with_incorrect,
                   elapsed_s=round(result.elapsed_s, 3),
                   cpu_s=round(result.cpu_s, 3), speed=round(result.speed, 2), audio=result.audio,
                   people=result.people_counts.to_dict())
        if not args.json:
            row["summary"] = result.summary()
    except (KeyboardInterrupt, VideoCancelled):
        row["error"], status = "interrupted; no output written", 130
    except VideoError as exc:
        row["error"], status = str(exc), 1
    except OSError as exc:
        row["error"], status = f"could not write {exc.filename or args.out}: {exc.strerror or exc}", 1
    except Exception as exc:  # never a traceback: report and exit
        row["error"], status = could_not_process(str(args.video), exc), 1
    _emit(row, args.json, _video_row)
    return status


# --------------------------------------------------------------------------- watch


def run_watch(args: argparse.Namespace, patrol: MaskPatrol) -> int:
    from . import watch
    from .events.store import KEEP_DAYS, EventStoreError
    from .logs import LOG_FORMAT, LOG_LEVEL_ENV, parse_level
    from .sources import SourceError, parse_sources

    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter(LOG_FORMAT))
    logger = logging.getLogger("maskpatrol")
    logger.addHandler(handler)
    try:
        logger.setLevel(parse_level(os.environ.get(LOG_LEVEL_ENV)) or logging.INFO)
        sources = parse_sources(args.sources)
        options = watch.WatchOptions(db=args.db, keep_days=args.keep_days or KEEP_DAYS,
                                     keep_faces=args.keep_faces,
                                     blur=not args.no_blur, webhooks=tuple(args.webhook),
                                     notify=tuple(args.notify), loop=args.loop,
                                     metrics_port=args.metrics_port, metrics_host=args.metrics_host,
                                     json=args.json, status_interval_s=args.status_interval)
        return watch.run(patrol, sources, _settings(args), options)
    except (SourceError, EventStoreError, ValueError, OSError, ModuleNotFoundError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    finally:
        logger.removeHandler(handler)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    if args.threshold is not None and not 0.0 <= args.threshold <= 1.0:
        parser.error("--threshold must be between 0 and 1")
    if getattr(args, "min_score", None) is not None and not 0.0 < args.min_score < 1.0:
        parser.error("--min-score must be between 0 and 1")
    if args.command == "video":
        if args.every < 1:
            parser.error("--every must be 1 or more")
        if args.out.suffix.lower() not in (".mp4", ".m4v"):
            parser.error(f"--out must end in .mp4 (the output is always H.264 in mp4), got {args.out}")
        if args.video.suffix.lower().lstrip(".") not in VIDEO_EXTENSIONS and args.video.suffix:
            print(f"warning: {args.video.suffix} is not one of {', '.join(VIDEO_EXTENSIONS)}; trying anyway",
                  file=sys.stderr)
    if args.command == "batch":  # the model is loaded by each Ray worker, not here
        return batch_command.run(args)
    try:
        patrol = MaskPatrol.load(args.model_dir or default_model_dir(),
                                 detector=getattr(args, "detector", DEFAULT_DETECTOR))
    except (ModelNotFoundError, FileNotFoundError, RuntimeError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    runners = {"detect": run_detect, "classify": run_classify, "video": run_video, "watch": run_watch}
    return runners[args.command](args, patrol)
