"""The model card: the contract between training and serving.

Training writes ``models/model_card.json``; serving reads from it the input size, the
class order and the decision thresholds (no mask; mask below the nose for a 3-class model), so
a retrained model never needs a code change.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .paths import MODEL_BASENAME

CARD_NAME = "model_card.json"

#: The card's name of a composed model's first mask / no-mask network; more are ``no_mask_2``,
#: ``no_mask_3``, ... (their log-odds averaged, ``training/compose.py``). Training writes these
#: names and the Model page reads them, so the convention lives here, in the contract.
BINARY_BRANCH = "no_mask"


def binary_branch_names(n: int) -> list[str]:
    """The card's (and the composed graph's) names of ``n`` mask / no-mask networks."""
    return [BINARY_BRANCH] + [f"{BINARY_BRANCH}_{k}" for k in range(2, n + 1)]


def binary_branches(training: dict[str, Any]) -> list[str]:
    """The names of a card's mask / no-mask networks, from its ``training`` entry."""
    return [k for k in training.get("branches") or {} if k == BINARY_BRANCH or k.startswith(f"{BINARY_BRANCH}_")]


class ModelNotFoundError(FileNotFoundError):
    """The model folder lacks a file serving needs; the message says how to get it."""


@dataclass(frozen=True)
class ModelCard:
    input_size: int
    threshold: float
    class_names: tuple[str, ...]
    tflite_file: str
    #: Threshold on p(incorrect) for a 3-class model; None for a binary model.
    incorrect_threshold: float | None = None
    raw: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @property
    def has_incorrect(self) -> bool:
        """Whether the model tells a mask worn below the nose from a proper one."""
        return "incorrect" in self.class_names

    @property
    def metrics(self) -> dict[str, Any]:
        return self.raw.get("metrics", {})


def load_card(model_dir: str | Path) -> ModelCard:
    path = Path(model_dir) / CARD_NAME
    if not path.is_file():
        raise ModelNotFoundError(
            f"No model card at {path}. Train a model with "
            "`python -m maskpatrol.train --data DIR --out models/` or restore models/ from git."
        )
    raw = json.loads(path.read_text())
    return ModelCard(
        input_size=int(raw["input_size"]),
        threshold=float(raw["threshold"]),
        class_names=tuple(raw.get("class_names", ["mask", "no_mask"])),
        tflite_file=raw.get("tflite_file", f"{MODEL_BASENAME}.tflite"),
        incorrect_threshold=(float(raw["incorrect_threshold"]) if raw.get("incorrect_threshold") is not None
                             else None),
        raw=raw,
    )
