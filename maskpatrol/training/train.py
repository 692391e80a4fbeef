"""Train the mask classifier, pick its threshold, export .keras + .tflite + model card."""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path
from typing import Sequence

import numpy as np

from ..paths import MODEL_BASENAME, REPO_ROOT, data_dir_from_env
from ..preprocess import CROP_SCALE, CROP_SHIFT_DOWN, INPUT_SIZE, PIXEL_OFFSET, PIXEL_SCALE, scale_pixels
from . import data
from .artifacts import save_model, stamp
from .augment import augment_batch, plain_view
from .calibrate import calibrate
from .synth_data import Painter, load_arrays

#: Per-network training budget in minutes, as the shipped model was trained on 2 cores:
#: each network early-stops within it, and more time for the 3-class network did not give a
#: better model (docs/model.md, "Training" and "The third class"). Epoch times differ a lot
#: between machines, so a slower one may stop on the budget before early stopping does.
MAX_MINUTES = {"binary": 25.0, "three": 45.0}

#: Mask / no-mask networks in the served model; with more than one, their log-odds are
#: averaged (compose.py), each trained with its own seed (``seed``, ``seed + 1``, ...) on the
#: same split. One, as shipped: a second one has not been measured on a fair split yet
#: (docs/model.md, "The third class").
BINARY_NETWORKS = 1


def _limit(samples: list[data.Sample], limit: int | None, seed: int) -> list[data.Sample]:
    """At most ``limit`` samples, balanced over classes (for the smoke test)."""
    if not limit or len(samples) <= limit:
        return samples
    rng = np.random.default_rng(seed)
    picked: list[data.Sample] = []
    labels = sorted({s.label for s in samples})
    for k, label in enumerate(labels):
        group = [s for s in samples if s.label == label]
        share = limit // len(labels) + (1 if k < limit % len(labels) else 0)
        idx = rng.permutation(len(group))[:share]
        picked += [group[i] for i in sorted(idx)]
    return picked


def _make_sequence(keras, images: np.ndarray, labels: np.ndarray, batch_size: int, seed: int, flat: bool):
    class AugmentedFaces(keras.utils.PyDataset):
        """Fresh random views every epoch; seeded per (epoch, batch) so runs repeat."""

        def __init__(self) -> None:
            super().__init__(workers=1, use_multiprocessing=False, max_queue_size=8)
            self.epoch = 0
            self._order = np.random.default_rng([seed, 0]).permutation(len(images))

        def __len__(self) -> int:
            return int(np.ceil(len(images) / batch_size))

        def __getitem__(self, idx: int):
            sel = self._order[idx * batch_size:(idx + 1) * batch_size]
            rng = np.random.default_rng([seed, self.epoch, idx])
            return scale_pixels(augment_batch(images[sel], rng, flat=flat)), labels[sel].astype(np.float32)

        def on_epoch_end(self) -> None:
            self.epoch += 1
            self._order = np.random.default_rng([seed, self.epoch]).permutation(len(images))

    return AugmentedFaces()


def train(data_dir: Path, out_dir: Path, *, sources: tuple[str, ...] = data.SOURCES, epochs: int = 40,
          max_minutes: float | None = None, batch_size: int = 64, seed: int = 1234, limit: int | None = None,
          patience: int = 7, verbose: int = 1, third_class: bool = True, test: bool = True) -> dict:
    """Train on the train split of ``sources`` (plus, with ``third_class``, the drawn and
    MaskedFace-Net masks of the third class); returns the model card it wrote. Without
    ``max_minutes`` the network gets the budget it was shipped with (``MAX_MINUTES``)."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import keras

    from .model import build_model

    started = time.time()
    max_minutes = max_minutes or MAX_MINUTES["three" if third_class else "binary"]
    # Without a terminal Keras sends its per-epoch progress to absl logging, which is
    # silent here; print it to stdout so CI logs and pipes show training progress.
    keras.config.enable_interactive_logging()
    keras.utils.set_random_seed(seed)
    all_samples = data.discover(data_dir, third_class=third_class)
    train_sources = tuple(sources) + (data.THIRD_CLASS_SOURCES if third_class else ())
    class_names = data.CLASS_NAMES if third_class else data.CLASS_NAMES[:2]
    train_s = _limit(data.select(all_samples, "train", train_sources), limit, seed)
    val_s = _limit(data.select(all_samples, "validation", train_sources), limit and max(16, limit // 2), seed)
    if third_class:
        print("Finding landmarks to draw masks on ...", flush=True)
        painter = Painter.shared(seed)
        train_s, val_s = painter.drawable(train_s), painter.drawable(val_s)
    print(f"Loading {len(train_s)} training and {len(val_s)} validation faces from {data_dir} ...", flush=True)
    x_train, y_train = load_arrays(train_s, seed=seed)
    x_val_raw, y_val = load_arrays(val_s, seed=seed)
    x_val = scale_pixels(plain_view(x_val_raw))
    per_class = np.bincount(y_train, minlength=len(class_names))
    # Balanced class weights: each class contributes the same share of the loss.
    class_weight = {c: len(y_train) / (len(class_names) * max(1, int(n))) for c, n in enumerate(per_class)}
    print("train: " + ", ".join(f"{n} {name}" for name, n in zip(class_names, per_class))
          + f"; class weights {class_weight}", flush=True)

    model = build_model(classes=len(class_names) if third_class else 1)
    if third_class:
        model.compile(optimizer=keras.optimizers.Adam(2e-3), loss="sparse_categorical_crossentropy",
                      metrics=["accuracy"])
    else:
        model.compile(optimizer=keras.optimizers.Adam(2e-3), loss="binary_crossentropy",
                      metrics=["accuracy", keras.metrics.AUC(name="auc")])

    class TimeBudget(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            if (time.time() - started) / 60.0 > max_minutes:
                print(f"\nTime budget of {max_minutes} min reached after epoch {epoch + 1}; stopping.", flush=True)
                self.model.stop_training = True

    class EpochSummary(keras.callbacks.Callback):
        """One plain line per epoch (Keras' bar omits the epoch number on 1-epoch runs)."""

        def on_epoch_begin(self, epoch, logs=None):
            self.t0 = time.time()

        def on_epoch_end(self, epoch, logs=None):
            logs = logs or {}
            print(f"\nEpoch {epoch + 1}/{epochs} done in {time.time() - self.t0:.0f}s: "
                  f"loss {logs.get('loss', float('nan')):.4f}, val_loss {logs.get('val_loss', float('nan')):.4f}, "
                  f"val_accuracy {logs.get('val_accuracy', float('nan')):.4f}", flush=True)

    early = keras.callbacks.EarlyStopping(monitor="val_loss", patience=patience, restore_best_weights=True)
    history = model.fit(
        # Flat borders and bands only where masks are drawn: the 3-class network learnt "flat
        # band under the chin = drawn mask" without them; the binary network sees no drawn
        # masks, and lost accuracy with them (docs/model.md, "The third class").
        _make_sequence(keras, x_train, y_train, batch_size, seed, flat=third_class),
        validation_data=(x_val, y_val.astype(np.float32)),
        epochs=epochs,
        class_weight=class_weight,
        callbacks=[early, keras.callbacks.ReduceLROnPlateau(monitor="val_loss", factor=0.3, patience=3, min_lr=1e-5),
                   EpochSummary(), TimeBudget()],
        verbose=verbose,
    )
    epochs_run = len(history.history["loss"])
    train_minutes = (time.time() - started) / 60.0

    keras_path, tflite_path = save_model(model, out_dir)

    card = {
        "name": MODEL_BASENAME,
        "tflite_file": tflite_path.name,
        "keras_file": keras_path.name,
        "input_size": INPUT_SIZE,
        "class_names": list(class_names),
        "output": ("softmax over class_names: mask, no mask, mask worn incorrectly (below the nose or on the chin)"
                   if third_class else "sigmoid probability that the face wears NO mask (class index 1)"),
        "preprocessing": {
            "colour": "RGB uint8",
            "face_crop": f"square, {CROP_SCALE}x the detector box side, centre moved down by "
                         f"{CROP_SHIFT_DOWN} box heights, edges replicated (maskpatrol.preprocess.square_crop)",
            "face_image": "centre square (tall images: a quarter down) of a face photo (maskpatrol.preprocess.center_square)",
            "resize": f"{INPUT_SIZE}x{INPUT_SIZE}, INTER_AREA when shrinking, INTER_LINEAR when enlarging",
            "pixels": f"x * {PIXEL_SCALE:.8f} + ({PIXEL_OFFSET}) -> [-1, 1] float32",
        },
        "training": {
            "sources": list(train_sources),
            "counts": data.counts(train_s + val_s),
            "epochs_run": epochs_run,
            "best_val_loss": float(min(history.history["val_loss"])),
            "minutes": round(train_minutes, 2),
            "seed": seed,
            "split_seed": data.SPLIT_SEED,
            "batch_size": batch_size,
            "limit": limit,
        },
        **stamp(tflite_path),
    }
    card = calibrate(card, out_dir, all_samples, val_s, test=test and not limit, seed=seed)
    print(f"\nWrote {keras_path}, {tflite_path} ({card['model_bytes'] / 1024:.0f} KB) and model_card.json "
          f"after {epochs_run} epochs in {train_minutes:.1f} min", flush=True)
    return card


def train_served_model(data_dir: Path, out_dir: Path, *, binary_from: Sequence[Path] | None = None,
                       three_from: Path | None = None, seed: int = 1234, limit: int | None = None,
                       max_minutes: float | None = None, **options) -> dict:
    """The one command behind ``make train``: ``BINARY_NETWORKS`` binary networks (seeds
    ``seed``, ``seed + 1``, ...), then the 3-class network, each trained from scratch (or taken
    from folders a previous run wrote), composed into the served model (``compose.py`` says
    why) and calibrated. Returns its card."""
    from .compose import build

    with tempfile.TemporaryDirectory(prefix="maskpatrol-train-") as tmp:
        given_binaries = list(binary_from) if binary_from else [None] * BINARY_NETWORKS
        stages: list[tuple[str, Path | None, int, bool]] = [
            (f"binary network {k + 1}", given, seed + k, False) for k, given in enumerate(given_binaries)]
        stages.append(("three network", three_from, seed, True))
        folders = []
        for k, (name, given, net_seed, third_class) in enumerate(stages):
            if given is not None:
                print(f"\n=== {name}: reusing {given} ===", flush=True)
                folders.append(Path(given))
                continue
            print(f"\n=== {name}: training (seed {net_seed}) ===", flush=True)
            folders.append(Path(tmp) / f"net{k}")
            train(data_dir, folders[-1], seed=net_seed, limit=limit, third_class=third_class, test=False,
                  max_minutes=max_minutes, **options)
        print("\n=== composing and calibrating the served model ===", flush=True)
        return build(folders[:-1], folders[-1], out_dir, data_dir, seed=seed, test=not limit)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(
        prog="python -m maskpatrol.train",
        description="Train the served classifier from scratch: a mask / no-mask network and a 3-class network "
                    "that knows a mask below the nose, composed into one model (--two-class: the first alone), "
                    "and export mask_classifier.keras, mask_classifier.tflite and model_card.json.")
    ap.add_argument("--data", type=Path, default=data_dir_from_env(),
                    help="data folder holding faces/ (default: $MASKPATROL_DATA_DIR)")
    ap.add_argument("--out", type=Path, default=REPO_ROOT / "models", help="output folder (default: models/)")
    ap.add_argument("--sources", nargs="+", choices=data.SOURCES, default=list(data.SOURCES),
                    help="data sources to train on (default: both)")
    ap.add_argument("--epochs", type=int, default=40, help="maximum epochs (early stopping usually ends sooner)")
    ap.add_argument("--max-minutes", type=float, default=None,
                    help="per network: stop after the epoch that passes this budget "
                         f"(default: {MAX_MINUTES['binary']:.0f} for the mask / no-mask network, "
                         f"{MAX_MINUTES['three']:.0f} for the 3-class one)")
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument("--seed", type=int, default=1234)
    ap.add_argument("--limit", type=int, default=None,
                    help="use at most this many training images (quick smoke runs)")
    ap.add_argument("--two-class", action="store_true",
                    help="train only the mask / no-mask network: a model without 'mask below nose'")
    ap.add_argument("--binary-from", type=Path, nargs="+", default=None,
                    help="take the mask / no-mask networks from these two-class model folders instead of "
                         "training them")
    ap.add_argument("--three-from", type=Path, default=None,
                    help="take the 3-class network from this model folder instead of training it")
    return ap.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if data.missing_data_dir(args.data):
        return 2
    options = dict(sources=tuple(args.sources), epochs=args.epochs, batch_size=args.batch_size)
    if args.two_class:
        train(Path(args.data), args.out, seed=args.seed, limit=args.limit, third_class=False,
              max_minutes=args.max_minutes, **options)
    else:
        train_served_model(Path(args.data), args.out, binary_from=args.binary_from, three_from=args.three_from,
                           seed=args.seed, limit=args.limit, max_minutes=args.max_minutes, **options)
    return 0
