"""The live page's alert sound for the server mode: a short two-tone beep as WAV bytes
(the browser mode makes the same beep itself, with the Web Audio API)."""

from __future__ import annotations

import io
import wave

import numpy as np

RATE = 16_000
#: (frequency Hz, seconds) of each tone, as the browser's beep.
TONES = ((880.0, 0.16), (660.0, 0.16))
GAP_S = 0.02


def beep_wav(alert: int = 0) -> bytes:
    """The beep, followed by ``alert`` samples of silence: each alert's sound is a different
    file, so the page plays it afresh (the same file would be taken for the one already
    played)."""
    parts = []
    for freq, seconds in TONES:
        t = np.arange(int(RATE * seconds)) / RATE
        fade = np.minimum(1.0, np.minimum(t, seconds - t) / 0.01)  # no clicks at the ends
        parts.append(0.3 * np.sin(2 * np.pi * freq * t) * fade)
        parts.append(np.zeros(int(RATE * GAP_S)))
    parts.append(np.zeros(max(0, int(alert))))
    pcm = (np.concatenate(parts) * 32767).astype("<i2")
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(RATE)
        w.writeframes(pcm.tobytes())
    return out.getvalue()
