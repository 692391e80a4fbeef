"""The classifier network: a small separable-convolution CNN trained from scratch.

Small on purpose: it must run in a few milliseconds per face on two CPU cores and fit in
a few hundred kilobytes, and 15k training faces cannot feed a large network from scratch.
"""

from __future__ import annotations

import keras
from keras import layers

from ..preprocess import INPUT_SIZE


def _block(x, filters: int, name: str):
    for i in (1, 2):
        x = layers.SeparableConv2D(filters, 3, padding="same", use_bias=False, name=f"{name}_sep{i}")(x)
        x = layers.BatchNormalization(name=f"{name}_bn{i}")(x)
        x = layers.ReLU(name=f"{name}_relu{i}")(x)
    return layers.MaxPooling2D(2, name=f"{name}_pool")(x)


def build_model(input_size: int = INPUT_SIZE, width: int = 32, dropout: float = 0.3,
                classes: int = 3) -> keras.Model:
    """Input: float32 (N, S, S, 3) in [-1, 1] (see ``preprocess.scale_pixels``).
    Output: (N, 3) softmax over mask / no mask / incorrect, or with ``classes=1`` (N, 1)
    sigmoid p(no mask), the binary model the cross-source checks train."""
    inputs = keras.Input((input_size, input_size, 3), name="face")
    x = layers.Conv2D(width, 3, strides=2, padding="same", use_bias=False, name="stem")(inputs)
    x = layers.BatchNormalization(name="stem_bn")(x)
    x = layers.ReLU(name="stem_relu")(x)
    x = _block(x, width * 2, "b1")
    x = _block(x, width * 4, "b2")
    x = _block(x, width * 6, "b3")
    x = layers.GlobalAveragePooling2D(name="gap")(x)
    x = layers.Dropout(dropout, name="dropout")(x)
    if classes == 1:
        outputs = layers.Dense(1, activation="sigmoid", name="p_no_mask")(x)
    else:
        outputs = layers.Dense(classes, activation="softmax", name="p_classes")(x)
    return keras.Model(inputs, outputs, name="mask_classifier")
