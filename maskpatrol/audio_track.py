"""Carry a video's sound into the annotated mp4.

People upload phone and camera clips and expect to hear them in the result, as in any video
tool. Browsers play AAC and MP3 from an mp4, so those tracks are copied packet for packet
(no quality loss, almost no CPU); anything else (PCM from a camera's .mov, Vorbis or Opus
from .webm) is re-encoded to AAC. Only the first audio track is kept. The sound never
decides whether a video can be annotated: if it cannot be carried over, the video is still
written, without it, and :attr:`AudioTrack.outcome` says why.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Optional

import av

#: Codecs an mp4 holds that every browser's ``<video>`` plays: copied as they are.
COPIED_CODECS = frozenset({"aac", "mp3"})
#: Encoder for everything else (FFmpeg's native AAC encoder, always built in).
REENCODE_CODEC = "aac"
#: Channel count -> a layout the AAC encoder accepts. Decoders of PCM in .avi/.mkv report
#: only a count ("2 channels"), which the encoder refuses; other counts are mixed to stereo.
AAC_LAYOUTS = {1: "mono", 2: "stereo", 6: "5.1"}
#: Sample rates AAC can store; others (192 kHz from a recorder) are resampled to 48 kHz.
AAC_RATES = frozenset({96000, 88200, 64000, 48000, 44100, 32000, 24000, 22050, 16000, 12000, 11025, 8000, 7350})
#: Packets held while the output file does not exist yet (it is created with the first
#: annotated frame). A few seconds of sound at most; beyond this the track is dropped
#: rather than let memory grow with a file whose video never starts.
MAX_HELD_PACKETS = 2000


def _aac_settings(ctx: av.audio.codeccontext.AudioCodecContext) -> tuple[int, str]:
    """(sample rate, layout) for the AAC encoder, as close to the source as AAC allows."""
    rate = ctx.sample_rate if ctx.sample_rate in AAC_RATES else 48000
    channels = ctx.layout.nb_channels if ctx.layout else 2
    return rate, AAC_LAYOUTS.get(channels, "stereo")


class AudioTrack:
    """The input's first audio track, from demuxed packets to the output container.

    ``feed`` may be called before ``attach`` (the output is created only when the first
    frame has been analysed); packets are held until then. ``start_s`` given to ``attach``
    is the input time of the first video frame: the annotated video starts at 0, so the
    sound is shifted by the same amount to stay in sync.
    """

    def __init__(self, source: Optional[av.audio.stream.AudioStream]) -> None:
        self.source = source
        self.failure: Optional[str] = None
        ctx = source.codec_context if source is not None else None
        # The codec's own name: the decoder's may differ ("mp3float" decodes "mp3").
        self.codec = (ctx.codec.canonical_name or ctx.name) if ctx is not None else ""
        if source is not None and ctx is None:
            self.failure = "no decoder for this sound"
        self.copy = self.codec in COPIED_CODECS
        self.out: Optional[av.audio.stream.AudioStream] = None
        self.container: Optional[av.container.OutputContainer] = None
        self.held: list[av.Packet] = []
        self.start_s = 0.0
        self.offset = 0  # start_s in the source's time base (copied packets)
        self.written = 0

    @property
    def active(self) -> bool:
        return self.source is not None and self.failure is None

    @property
    def outcome(self) -> str:
        """What happened to the sound, in words for the result line and the CLI's JSON."""
        if self.source is None:
            return "none"
        if self.failure is not None:
            return f"{'cut short' if self.written else 'dropped'} ({self.failure})"
        return f"copied ({self.codec})" if self.copy else f"re-encoded to AAC (from {self.codec})"

    def attach(self, container: av.container.OutputContainer, start_s: float) -> None:
        """Add the output audio stream (before anything is muxed) and write what was held."""
        if not self.active:
            return
        src = self.source
        try:
            if self.copy:
                self.out = container.add_stream_from_template(src)
            else:
                rate, layout = _aac_settings(src.codec_context)
                # Try the settings on a loose encoder first: a stream added to the file
                # cannot be taken out again, and an encoder that refuses its settings there
                # would fail the whole video when the header is written.
                trial = av.CodecContext.create(REENCODE_CODEC, "w")
                trial.sample_rate, trial.layout, trial.format = rate, layout, "fltp"
                trial.open()
                self.out = container.add_stream(REENCODE_CODEC, rate=rate, layout=layout)
        except (av.error.FFmpegError, ValueError, TypeError) as exc:
            self._fail(f"cannot be stored in mp4: {exc.__class__.__name__}")
            return
        self.container = container
        self.start_s = max(0.0, start_s)
        if start_s > 0 and src.time_base:
            self.offset = round(Fraction(start_s).limit_denominator(1_000_000) / src.time_base)
        held, self.held = self.held, []
        for packet in held:
            self.feed(packet)

    def feed(self, packet: av.Packet) -> None:
        """One demuxed packet of the source track (including the final empty one)."""
        if not self.active:
            return
        if self.container is None:
            if len(self.held) >= MAX_HELD_PACKETS:
                self._fail("the video did not start within the first few seconds of sound")
            else:
                self.held.append(packet)
            return
        try:
            if self.copy:
                self._copy(packet)
            else:
                for frame in packet.decode():
                    self._encode(frame)
        except av.error.FFmpegError as exc:
            self._fail(f"damaged: {exc.__class__.__name__}")

    def finish(self) -> None:
        """Flush the encoder (re-encoding only); call before the container is closed."""
        if not self.active or self.copy or self.container is None:  # attached means self.out exists
            return
        try:  # the decoder was already drained by the demuxer's final empty packet
            self._encode(None)
        except av.error.FFmpegError as exc:
            self._fail(f"damaged: {exc.__class__.__name__}")

    def _copy(self, packet: av.Packet) -> None:
        if packet.dts is None:  # the demuxer's final empty packet: nothing to copy
            return
        if self.offset:
            if packet.pts is not None and packet.pts - self.offset < 0:
                return  # sound from before the first video frame
            packet.dts -= self.offset
            if packet.pts is not None:
                packet.pts -= self.offset
        packet.stream = self.out
        self.container.mux(packet)
        self.written += 1

    def _encode(self, frame: Optional[av.AudioFrame]) -> None:
        if frame is not None and frame.time is not None and frame.sample_rate:
            # Timestamps in samples: some sources count in whole codec frames (MP3 and AC3
            # in .avi), where 1024-sample AAC frames would share a timestamp and be refused.
            pts = round((frame.time - self.start_s) * frame.sample_rate)
            if pts < 0:
                return  # sound from before the first video frame
            frame.pts, frame.time_base = pts, Fraction(1, frame.sample_rate)
        for packet in self.out.encode(frame):
            self.container.mux(packet)
            self.written += 1

    def _fail(self, reason: str) -> None:
        self.failure = reason
        self.held = []
