"""The wear network: is the nose covered, is the mouth covered (issue 34).

"Mask below nose" learnt from drawn masks fails on real photos. What thousands of real
photos do answer is whether a region of the face is covered: every real masked face has
its nose and mouth covered, every unmasked face neither. So this network has two sigmoid
outputs, ``nose_covered`` and ``mouth_covered``, each computed from its own band of rows of
the same 64x64 crop the served model sees (``bands.NOSE_ROWS``, ``bands.MOUTH_ROWS``, cut
by ``Cropping2D`` inside the graph), and

    p(incorrect) = p(mouth covered) x (1 - p(nose covered))

A mask below the nose is then a covered mouth under a bare nose, which the network never
needs to have seen whole. It trains on real photos only (masked: 1, 1; unmasked: 0, 0), the
train split without the held-out photos (``data.held_out``); ``drawn=True`` adds the masks
``synth_data`` draws on unmasked training faces: below the nose (nose 0, mouth 1), on the
chin (0, 0) and worn properly (1, 1).

``compose_with_wear`` puts it into one served model beside the existing networks: the
mask / no-mask split as before (the binary network, blended with the 3-class one, or the
binary network alone), p(incorrect) from the wear network; every network's logits are the
mean over the face and its mirror, as in ``compose.py``.

``python -m maskpatrol.training.wear train|compose|evaluate`` (see ``--help``); docs/model.md,
"The wear network", has the measurements.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

from ..paths import data_dir_from_env
from ..preprocess import INPUT_SIZE, center_square, scale_pixels, to_model_input
from . import data
from .augment import WEAR_FRAMING, augment_batch, plain_view
from .bands import MOUTH_ROWS, NOSE_ROWS

OUTPUTS = ("nose_covered", "mouth_covered")
#: (nose covered, mouth covered) for each kind of training face.
TARGETS = {"mask": (1.0, 1.0), "no_mask": (0.0, 0.0), "below_nose": (0.0, 1.0), "chin": (0.0, 0.0),
           "correct": (1.0, 1.0)}
#: The incorrect threshold's rule: the lowest threshold on p(incorrect) that calls at most this
#: share of the properly masked validation photos of the real set "Mask below nose".
MAX_FALSE_INCORRECT = 0.015
#: The no-mask threshold's rule, as ``calibrate``: flag this share of the unmasked validation
#: faces (clean and degraded views) as "No mask" or "Mask below nose".
MIN_RECALL = 0.995


def build_wear_model(width: int = 16, dropout: float = 0.2, nose_rows: tuple[int, int] = NOSE_ROWS,
                     mouth_rows: tuple[int, int] = MOUTH_ROWS):
    """Input: float32 (N, 64, 64, 3) in [-1, 1]; output (N, 2) sigmoid: nose covered, mouth
    covered, each from its own band of rows (built-in layers only)."""
    import keras
    from keras import layers

    face = keras.Input((INPUT_SIZE, INPUT_SIZE, 3), name="face")
    outs = []
    for name, (top, bottom) in (("nose", nose_rows), ("mouth", mouth_rows)):
        x = layers.Cropping2D(((top, INPUT_SIZE - bottom), (0, 0)), name=f"{name}_band")(face)
        x = layers.Conv2D(width, 3, strides=2, padding="same", use_bias=False, name=f"{name}_stem")(x)
        x = layers.BatchNormalization(name=f"{name}_stem_bn")(x)
        x = layers.ReLU(name=f"{name}_stem_relu")(x)
        for k, filters in enumerate((width * 2, width * 4, width * 6)):
            for i in (1, 2):
                x = layers.SeparableConv2D(filters, 3, padding="same", use_bias=False, name=f"{name}_b{k}_sep{i}")(x)
                x = layers.BatchNormalization(name=f"{name}_b{k}_bn{i}")(x)
                x = layers.ReLU(name=f"{name}_b{k}_relu{i}")(x)
            if k < 2:
                x = layers.MaxPooling2D(2, name=f"{name}_b{k}_pool")(x)
        x = layers.GlobalAveragePooling2D(name=f"{name}_gap")(x)
        x = layers.Dropout(dropout, name=f"{name}_dropout")(x)
        outs.append(layers.Dense(1, activation="sigmoid", name=f"{name}_covered")(x))
    return keras.Model(face, layers.Concatenate(name="covered")(outs), name="wear")


def training_samples(samples: list[data.Sample], split: str, drawn: bool) -> list[data.Sample]:
    """Real photos of the two binary sources in ``split`` (held-out photos already dropped by
    ``data.discover``), plus with ``drawn`` the drawn masks on that split's unmasked faces."""
    out = data.select(samples, split, data.SOURCES)
    if drawn:
        out += [s for s in data.synthetic_samples(out, data.SPLIT_SEED)]
    return out


def targets(samples: list[data.Sample]) -> np.ndarray:
    """(N, 2) targets: nose covered, mouth covered."""
    return np.array([TARGETS[s.style] if s.style else TARGETS[data.CLASS_NAMES[s.label]] for s in samples],
                    np.float32)


#: Donor photos per split for ``real_fabric``: enough fabrics, few landmark searches.
FABRIC_DONORS = 1500


def fabric_donors(samples: list[data.Sample], seed: int) -> list[Path]:
    """Up to ``FABRIC_DONORS`` real photos of a mask worn properly among ``samples``, picked by
    seed."""
    masked = sorted(s.path for s in samples if not s.style and s.label == data.MASK)
    rng = np.random.default_rng([seed, 7])
    return [masked[i] for i in sorted(rng.permutation(len(masked))[:FABRIC_DONORS])]


def train(data_dir: Path, out_dir: Path, *, drawn: bool = False, real_fabric: bool = False,
          max_minutes: float = 15.0, epochs: int = 60,
          batch_size: int = 64, seed: int = 1234, width: int = 16, patience: int = 6, limit: int | None = None,
          resume: Path | None = None, nose_rows: tuple[int, int] = NOSE_ROWS) -> dict:
    """Train the wear network; writes wear.keras and wear_card.json to ``out_dir``. ``resume``:
    start from the weights of a folder an earlier run wrote (same data and options)."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import keras

    from .synth_data import Painter, load_arrays

    started = time.time()
    keras.config.enable_interactive_logging()
    keras.utils.set_random_seed(seed)
    samples = data.discover(data_dir)
    train_s, val_s = training_samples(samples, "train", drawn), training_samples(samples, "validation", drawn)
    if limit:
        rng = np.random.default_rng(seed)
        train_s = [train_s[i] for i in sorted(rng.permutation(len(train_s))[:limit])]
        val_s = [val_s[i] for i in sorted(rng.permutation(len(val_s))[:max(16, limit // 4)])]
    if drawn:
        painter = Painter.shared(seed)
        if real_fabric:  # masks drawn in the fabric of real masks of the same split
            painter.use_real_fabric({"train": fabric_donors(train_s, seed), "validation": fabric_donors(val_s, seed)})
        train_s, val_s = painter.drawable(train_s), painter.drawable(val_s)
    print(f"Loading {len(train_s)} training and {len(val_s)} validation faces ...", flush=True)
    x_train, _ = load_arrays(train_s, seed=seed)
    x_val_raw, _ = load_arrays(val_s, seed=seed)
    y_train, y_val = targets(train_s), targets(val_s)
    x_val = scale_pixels(plain_view(x_val_raw))
    kinds = {}
    for s in train_s:
        key = s.style or data.CLASS_NAMES[s.label]
        kinds[key] = kinds.get(key, 0) + 1
    print(f"train: {kinds}", flush=True)

    class Views(keras.utils.PyDataset):
        def __init__(self) -> None:
            super().__init__(workers=1, use_multiprocessing=False, max_queue_size=8)
            self.epoch = 0
            self._order = np.random.default_rng([seed, 0]).permutation(len(x_train))

        def __len__(self) -> int:
            return int(np.ceil(len(x_train) / batch_size))

        def __getitem__(self, idx: int):
            sel = self._order[idx * batch_size:(idx + 1) * batch_size]
            rng = np.random.default_rng([seed, self.epoch, idx])
            return scale_pixels(augment_batch(x_train[sel], rng, flat=False, framing=WEAR_FRAMING)), y_train[sel]

        def on_epoch_end(self) -> None:
            self.epoch += 1
            self._order = np.random.default_rng([seed, self.epoch]).permutation(len(x_train))

    class Budget(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            logs = logs or {}
            print(f"epoch {epoch + 1}: loss {logs.get('loss', 0):.4f} val_loss {logs.get('val_loss', 0):.4f} "
                  f"({(time.time() - started) / 60:.1f} min)", flush=True)
            if (time.time() - started) / 60.0 > max_minutes:
                print(f"time budget of {max_minutes} min reached", flush=True)
                self.model.stop_training = True

    model = build_wear_model(width, nose_rows=tuple(nose_rows))
    earlier = {}
    if resume is not None:
        model.set_weights(keras.models.load_model(Path(resume) / "wear.keras").get_weights())
        earlier = json.loads((Path(resume) / "wear_card.json").read_text())
        print(f"resuming from {resume} ({earlier['epochs_run']} epochs, {earlier['minutes']} min)", flush=True)
    model.compile(optimizer=keras.optimizers.Adam(2e-3), loss="binary_crossentropy")
    history = model.fit(Views(), validation_data=(x_val, y_val), epochs=epochs, verbose=0,
                        callbacks=[keras.callbacks.EarlyStopping(monitor="val_loss", patience=patience,
                                                                 restore_best_weights=True),
                                   keras.callbacks.ReduceLROnPlateau(monitor="val_loss", factor=0.3, patience=3,
                                                                     min_lr=1e-5),
                                   Budget()])
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    model.save(out_dir / "wear.keras")
    card = {"bands": {"nose_rows": list(nose_rows), "mouth_rows": list(MOUTH_ROWS)}, "drawn": drawn,
            "real_fabric": real_fabric, "width": width,
            "counts": {"train": kinds, "validation": len(val_s)}, "epochs_run": len(history.history["loss"]),
            "best_val_loss": float(min(history.history["val_loss"])),
            "minutes": round((time.time() - started) / 60.0, 2), "seed": seed, "split_seed": data.SPLIT_SEED,
            "resumed_from": {"folder": str(resume), "epochs_run": earlier.get("epochs_run"),
                             "minutes": earlier.get("minutes")} if resume else None,
            "held_out_files": len(data.held_out())}
    (out_dir / "wear_card.json").write_text(json.dumps(card, indent=1) + "\n")
    print(f"wrote {out_dir} after {card['epochs_run']} epochs in {card['minutes']} min", flush=True)
    return card


def _mean_logits(net, views, name: str):
    """The net's pre-sigmoid outputs averaged over ``views`` (face, mirrored face)."""
    import keras
    from keras import layers

    heads = [net.get_layer(f"{part}_covered") for part in ("nose", "mouth")] if name == "wear" else [net.layers[-1]]
    trunk = keras.Model(net.input, [h.input for h in heads], name=f"{name}_trunk")
    dense = [layers.Dense(h.units, name=f"{name}_{k}_logit") for k, h in enumerate(heads)]
    per_view = []
    for v in views:
        feats = trunk(v)
        feats = feats if isinstance(feats, (list, tuple)) else [feats]
        zs = [d(f) for d, f in zip(dense, feats)]
        per_view.append(zs[0] if len(zs) == 1 else layers.Concatenate(name=None)(zs))
    for d, h in zip(dense, heads):
        d.set_weights(h.get_weights())
    return layers.Average(name=f"{name}_mean_of_views")(per_view) if len(views) > 1 else per_view[0]


def compose_with_wear(served, wear, *, keep_three: bool = True, blend_weight: float = 0.7, mirror: bool = True):
    """One model: [p(mask), p(no mask), p(incorrect)] with p(incorrect) = m (1 - n) from the wear
    network's nose (n) and mouth (m) outputs, the rest split between mask and no mask by
    ``served`` (a model ``compose.compose`` built): with ``keep_three`` its blend of the
    binary and 3-class networks at ``blend_weight``, else its binary network alone."""
    import keras
    from keras import layers

    from .compose import _mirror

    branches = served.get_layer("branch_logits")
    binary = keras.Model(branches.input, branches.get_layer("no_mask_head").output)  # face -> z_bin, mirror-free
    face = keras.Input((INPUT_SIZE, INPUT_SIZE, 3), name="face")
    views = [face, _mirror(face)] if mirror else [face]
    if keep_three:
        z = branches(face)  # [z_bin, z_mask, z_no_mask, z_incorrect], mirror already inside
        blended = layers.Dense(1, use_bias=False, name="no_mask_logit")(z)
    else:
        bin_trunk = branches.get_layer("no_mask_trunk")
        bin_head = branches.get_layer("no_mask_head")
        head = layers.Dense(1, name="binary_logit")
        zs = [head(bin_trunk(v)) for v in views]
        head.set_weights(bin_head.get_weights())
        blended = layers.Average(name="binary_mean_of_views")(zs) if mirror else zs[0]
    del binary
    p = layers.Activation("sigmoid", name="p_no_mask_of_rest")(blended)
    covered = layers.Activation("sigmoid", name="p_covered")(_mean_logits(wear, views, "wear"))
    mouth = layers.Dense(1, use_bias=False, name="p_mouth_covered")(covered)
    nose_bare = layers.Dense(1, name="p_nose_bare")(covered)
    r = layers.Multiply(name="p_incorrect")([mouth, nose_bare])
    not_r = layers.Dense(1, name="one_minus_p_incorrect")(r)
    not_p = layers.Dense(1, name="one_minus_p_no_mask_of_rest")(p)
    out = layers.Concatenate(name="p_classes")([layers.Multiply(name="p_mask")([not_p, not_r]),
                                                layers.Multiply(name="p_no_mask")([p, not_r]), r])
    model = keras.Model(face, out, name="mask_classifier")
    one = np.array([1.0], np.float32)
    if keep_three:
        model.get_layer("no_mask_logit").set_weights(
            [np.array([[blend_weight], [blend_weight - 1.0], [1.0 - blend_weight], [0.0]], np.float32)])
    model.get_layer("p_mouth_covered").set_weights([np.array([[0.0], [1.0]], np.float32)])
    model.get_layer("p_nose_bare").set_weights([np.array([[-1.0], [0.0]], np.float32), one])
    model.get_layer("one_minus_p_incorrect").set_weights([np.array([[-1.0]], np.float32), one])
    model.get_layer("one_minus_p_no_mask_of_rest").set_weights([np.array([[-1.0]], np.float32), one])
    for layer in model.layers:
        layer.trainable = False
    return model


def incorrect_rows(p_incorrect_mask_val: np.ndarray, max_false: float = MAX_FALSE_INCORRECT) -> float:
    """The lowest threshold (0.01 steps) on p(incorrect) that calls at most ``max_false`` of the
    properly masked validation photos "Mask below nose"."""
    for t in np.arange(0.01, 1.0, 0.01):
        if np.mean(p_incorrect_mask_val >= t) <= max_false:
            return round(float(t), 2)
    return 0.99


def no_mask_threshold(p_unmasked: np.ndarray, incorrect_threshold: float, min_recall: float = MIN_RECALL) -> float:
    """The highest threshold (0.005 steps) on p(no mask) at which at least ``min_recall`` of the
    unmasked validation views are called "No mask" or "Mask below nose" (``pipeline.label_for``)."""
    best = 0.005
    for t in np.arange(0.005, 0.9, 0.005):
        flagged = (p_unmasked[:, 1] >= t) | (p_unmasked[:, 2] >= incorrect_threshold)
        if flagged.mean() >= min_recall:
            best = float(t)
    return round(best, 4)


def real_mask_validation(data_dir: Path) -> list[Path]:
    """The real set's properly masked photos (``mask``) in a validation split: what the
    incorrect threshold is picked on (the judging figures use the test splits' photos)."""
    from . import real_set

    out = []
    for e, path in real_set.load(data_dir):
        if e.label != real_set.PROPER:
            continue
        parts = Path(e.file).parts
        split = parts[2] if parts[1] == "kaggle12k" else data._hashed_split(f"{parts[-2]}/{parts[-1]}")
        if split == "validation":
            out.append(path)
    return out


def build(served_dir: Path, wear_dir: Path, out_dir: Path, data_dir: Path, keep_three: bool = True,
          seed: int = 1234) -> dict:
    """Compose, pick both thresholds by the rules above (validation only), save .keras,
    .tflite and a model card the app and ``real_set`` read."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import keras

    from ..model_card import CARD_NAME
    from .artifacts import save_model, stamp
    from .calibrate import validation_scores

    served_card = json.loads((served_dir / CARD_NAME).read_text())
    served = keras.models.load_model(served_dir / served_card["keras_file"])
    wear = keras.models.load_model(wear_dir / "wear.keras")
    model = compose_with_wear(served, wear, keep_three=keep_three, blend_weight=served_card.get("blend_weight", 0.7))

    def predict(faces):
        return model.predict(to_model_input(faces), verbose=0, batch_size=256)

    mask_val = real_mask_validation(data_dir)
    p_mask_val = np.concatenate([predict([center_square(data.read_rgb(p)) for p in mask_val[i:i + 256]])
                                 for i in range(0, len(mask_val), 256)])
    t_inc = incorrect_rows(p_mask_val[:, 2])
    val = [s for s in data.select(data.discover(data_dir), "validation", data.SOURCES) if s.label == data.NO_MASK]
    _, p_unmasked = validation_scores(predict, val, seed)
    t_no = no_mask_threshold(p_unmasked, t_inc)
    keras_path, tflite_path = save_model(model, out_dir)
    wear_card = json.loads((wear_dir / "wear_card.json").read_text())
    card = {key: served_card[key] for key in ("input_size", "preprocessing", "class_names")}
    card.update({
        "name": "mask_classifier", "tflite_file": tflite_path.name, "keras_file": keras_path.name,
        "output": ("probabilities of mask, no mask, mask below nose: p(incorrect) = p(mouth covered) x "
                   "(1 - p(nose covered)) from the wear network; the rest split between mask and no mask by "
                   + ("the served blend of the binary and 3-class networks" if keep_three else "the binary network")
                   + "; every network's logits are the mean over the face and its mirror"),
        "threshold": t_no, "incorrect_threshold": t_inc,
        "threshold_rule": f"highest threshold flagging >= {MIN_RECALL} of the unmasked validation faces (clean and "
                          "3x degraded) as 'no mask' or 'mask below nose'",
        "incorrect_threshold_rule": f"lowest threshold on p(incorrect) calling at most {MAX_FALSE_INCORRECT:.1%} of "
                                    f"the real set's 'mask' photos in validation splits ({len(mask_val)}) 'incorrect'",
        "wear": wear_card, "keep_three": keep_three,
        "validation": {"mask_photos_called_incorrect": float(np.mean(p_mask_val[:, 2] >= t_inc)),
                       "unmasked_views_flagged": float(np.mean((p_unmasked[:, 1] >= t_no)
                                                               | (p_unmasked[:, 2] >= t_inc)))},
        **stamp(tflite_path),
    })
    (Path(out_dir) / CARD_NAME).write_text(json.dumps(card, indent=1) + "\n")
    print(f"thresholds: no mask {t_no}, incorrect {t_inc} (mask validation photos: {len(mask_val)}); "
          f"wrote {out_dir}", flush=True)
    return card


def evaluate(model_dir: Path, data_dir: Path) -> dict:
    """The judging figures of a model folder, in ``model_dir/reports``: the real set
    (``real_set``, crops and end to end) and the test splits' accuracy (``evaluate``)."""
    from . import evaluate as test_splits
    from . import real_set

    out = Path(model_dir) / "reports"
    real = real_set.evaluate(data_dir, Path(model_dir), out)
    metrics = test_splits.evaluate(data_dir, Path(model_dir), out)
    return {"real_set": real, "metrics": metrics}


def summary_row(model_dir: Path) -> dict:
    """One line of the comparison table from a folder's reports (``evaluate``), or from the
    repository's reports/ for the served model."""
    from . import real_set

    reports = Path(model_dir) / "reports"
    real = json.loads((reports / real_set.REPORT_NAME).read_text())
    metrics = json.loads((reports / "metrics.json").read_text())["metrics"]
    row = {"model": str(model_dir), "threshold": real["threshold"], "incorrect_threshold": real["incorrect_threshold"]}
    for mode in ("crop", "end_to_end"):
        g = real[mode]
        row[f"{mode}.incorrect_flagged"] = g["incorrect"]["all"]["flagged"]
        row[f"{mode}.incorrect_called_incorrect"] = g["incorrect"]["all"]["called_incorrect"]
        for size in ("<48", "48-96", ">96"):
            cell = g["incorrect"]["by_size"][size]
            row[f"{mode}.incorrect_flagged.{size}"] = (cell["flagged"], cell["n"])
        row[f"{mode}.mask_kept_test"] = (g["mask"]["by_split"]["test"]["kept"], g["mask"]["by_split"]["test"]["n"])
        row[f"{mode}.unmasked_flagged"] = g["unmasked"]["all"]["flagged"]
    row["kaggle12k_test_accuracy"] = metrics["kaggle12k/test"]["accuracy"]
    row["chandrikadeb7_test_accuracy"] = metrics["chandrikadeb7/test"]["accuracy"]
    return row


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m maskpatrol.training.wear", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="command", required=True)
    t = sub.add_parser("train", help="train the wear network")
    t.add_argument("--out", type=Path, required=True)
    t.add_argument("--drawn", action="store_true", help="add drawn masks (below the nose, on the chin, worn properly)")
    t.add_argument("--real-fabric", action="store_true",
                   help="with --drawn: draw them in the fabric of real masks (photos of the same split)")
    t.add_argument("--max-minutes", type=float, default=15.0)
    t.add_argument("--width", type=int, default=16)
    t.add_argument("--limit", type=int, default=None)
    t.add_argument("--resume", type=Path, default=None, help="start from the weights in this wear folder")
    t.add_argument("--nose-rows", type=int, nargs=2, default=list(NOSE_ROWS), metavar=("TOP", "BOTTOM"),
                   help=f"rows of the 64x64 crop the nose branch sees (default: {NOSE_ROWS})")
    c = sub.add_parser("compose", help="compose a served model folder with a wear network folder")
    c.add_argument("--served", type=Path, default=Path("models"))
    c.add_argument("--wear", type=Path, required=True)
    c.add_argument("--out", type=Path, required=True)
    c.add_argument("--binary-only", action="store_true", help="split mask / no mask by the binary network alone")
    e = sub.add_parser("evaluate", help="real set and test-split figures of a model folder (into DIR/reports)")
    e.add_argument("model", type=Path)
    for p in (t, c, e):
        p.add_argument("--data", type=Path, default=data_dir_from_env())
    args = ap.parse_args(argv)
    if data.missing_data_dir(args.data):
        return 2
    if args.command == "train":
        train(args.data, args.out, drawn=args.drawn, real_fabric=args.real_fabric, max_minutes=args.max_minutes, width=args.width, limit=args.limit,
              resume=args.resume, nose_rows=tuple(args.nose_rows))
    elif args.command == "compose":
        build(args.served, args.wear, args.out, args.data, keep_three=not args.binary_only)
    else:
        evaluate(args.model, args.data)
        print(json.dumps(summary_row(args.model), indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
