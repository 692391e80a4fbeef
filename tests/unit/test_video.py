"""maskpatrol.video: frames in = frames out, browser-playable H.264, true counts, every-Nth,
cancellation that leaves nothing behind, flat memory, clear errors."""

from __future__ import annotations

import csv
import io
import tracemalloc
from pathlib import Path

import av
import numpy as np
import pytest

from support import video_clip as vc
from maskpatrol.annotate import NO_MASK_RGB
from maskpatrol.detectors import DetectorSettings
from maskpatrol.pipeline import MaskPatrol, Settings
from maskpatrol.video import (FrameCounts, Progress, VideoCancelled, VideoError, annotate_video,
                              VideoResult, annotate_video_bytes, fitted_size, probe, timeline)

N_FRAMES = 20
FPS = 10


@pytest.fixture(scope="module")
def astro_clip(tmp_path_factory, astronaut_rgb) -> Path:
    path = tmp_path_factory.mktemp("clips") / "astro.mp4"
    assert vc.astronaut_clip(path, astronaut_rgb, N_FRAMES, FPS) == N_FRAMES
    return path


def decode_all(path_or_bytes) -> tuple[list[np.ndarray], av.video.stream.VideoStream, dict]:
    src = io.BytesIO(path_or_bytes) if isinstance(path_or_bytes, bytes) else str(path_or_bytes)
    with av.open(src) as c:
        s = c.streams.video[0]
        frames = [f.to_ndarray(format="rgb24") for f in c.decode(s)]
        meta = {"codec": s.codec_context.name, "pix_fmt": s.codec_context.pix_fmt,
                "profile": s.codec_context.profile, "fps": float(s.average_rate), "format": c.format.name}
    return frames, s, meta


def red_pixels(rgb: np.ndarray) -> int:
    """Pixels in the "No mask" box colour."""
    return int(np.all(np.abs(rgb.astype(int) - NO_MASK_RGB) < 30, axis=-1).sum())


def test_output_is_browser_h264_with_same_frames_size_and_boxes(astro_clip, tmp_path, patrol):
    out = tmp_path / "out.mp4"
    result = annotate_video(astro_clip, out, patrol)
    frames_in, _, _ = decode_all(astro_clip)
    frames_out, _, meta = decode_all(out)
    assert len(frames_out) == len(frames_in) == N_FRAMES == result.frames
    assert frames_out[0].shape == frames_in[0].shape == (480, 640, 3)
    assert (result.width, result.height, result.fps) == (640, 480, FPS)
    assert meta["codec"] == "h264" and meta["pix_fmt"] == "yuv420p" and meta["fps"] == FPS
    assert "mp4" in meta["format"]
    with av.open(str(out)) as c:  # a silent input gives a silent output, not an empty track
        assert not c.streams.audio and result.audio == "none"
    head = out.read_bytes()[:4096]
    assert head.find(b"moov") != -1 and head.find(b"moov") < out.read_bytes().find(b"mdat")  # faststart
    # Every frame got the thick red "No mask" box; the input had none.
    assert all(red_pixels(f) > 2000 for f in frames_out)
    assert all(red_pixels(f) < 200 for f in frames_in)
    assert [(n, bad) for _, _, n, _, bad, _, _ in result.counts.rows()] == [(1, 1)] * N_FRAMES
    assert result.analyzed_frames == N_FRAMES and result.max_faces == 1
    assert result.summary().startswith("20 frames, 640x480 at 10 fps (2 s): 1 person: 0 masked, 1 no mask, "
                                       "0 mask below nose; up to 1 face per frame")
    assert out.stat().st_mode & 0o777 == 0o644


def test_every_nth_frame_reuses_boxes_and_calls_pipeline_less(astro_clip, tmp_path, patrol, monkeypatch):
    calls = []
    original = MaskPatrol.analyze
    monkeypatch.setattr(MaskPatrol, "analyze", lambda self, rgb, *a, **k: calls.append(1) or original(self, rgb, *a, **k))
    result = annotate_video(astro_clip, tmp_path / "out.mp4", patrol, every=4)
    assert len(calls) == 5 == result.analyzed_frames
    rows = list(result.counts.rows())
    assert [r[5] for r in rows] == [1, 0, 0, 0] * 5
    assert all(r[2] == 1 and r[4] == 1 for r in rows)  # skipped frames count the carried faces
    frames_out, _, _ = decode_all(tmp_path / "out.mp4")
    assert len(frames_out) == N_FRAMES and all(red_pixels(f) > 2000 for f in frames_out)
    assert "5 analysed (1 in 4" in result.summary()


def test_progress_reports_fraction_and_eta(astro_clip, tmp_path, patrol):
    seen: list[Progress] = []
    annotate_video(astro_clip, tmp_path / "out.mp4", patrol, on_progress=seen.append, progress_interval_s=0)
    assert len(seen) >= N_FRAMES // 2
    assert [p.frames_done for p in seen] == sorted(p.frames_done for p in seen)
    assert seen[-1].fraction == 1.0 and seen[-1].frames_total == N_FRAMES
    assert any(0 < p.frames_done < N_FRAMES for p in seen)
    # The time left: not guessed from the first (warm-up) frames, then from the speed so far.
    assert Progress(5, 900, 0.5).eta_s is None
    assert Progress(5, 900, 0.5).describe() == "Frame 5 of 900 · 10 fps · estimating the time left"
    assert Progress(30, 900, 2.0).eta_s == pytest.approx(58.0)
    assert Progress(30, 900, 2.0).describe() == "Frame 30 of 900 · 15 fps · about 58 s left"
    assert Progress(30, 9000, 2.0).describe().endswith("about 9 min 58 s left")
    assert Progress(40, None, 2.0).fraction is None and Progress(40, None, 2.0).describe() == "Frame 40 · 20 fps"


def leftovers(folder: Path, keep: set[str]) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name not in keep)


def test_cancel_stops_early_and_leaves_no_file(astro_clip, tmp_path, patrol):
    asked = {"n": 0}

    def cancel_after_five() -> bool:
        asked["n"] += 1
        return asked["n"] > 5

    with pytest.raises(VideoCancelled):
        annotate_video(astro_clip, tmp_path / "out.mp4", patrol, should_cancel=cancel_after_five)
    assert asked["n"] == 6  # stopped at once, not at the end of the video
    assert leftovers(tmp_path, set()) == []


class ScriptStopped(BaseException):
    """Stands for Streamlit's StopException, raised inside a progress update."""


def test_exception_from_progress_callback_cleans_up(astro_clip, tmp_path, patrol):
    def stop(p: Progress) -> None:
        if p.frames_done >= 3:
            raise ScriptStopped()

    with pytest.raises(ScriptStopped):
        annotate_video(astro_clip, tmp_path / "out.mp4", patrol, on_progress=stop, progress_interval_s=0)
    assert leftovers(tmp_path, set()) == []


def test_a_failed_run_keeps_an_earlier_result(astro_clip, tmp_path, patrol):
    out = tmp_path / "out.mp4"
    out.write_bytes(b"the previous, complete video")
    with pytest.raises(VideoCancelled):
        annotate_video(astro_clip, out, patrol, should_cancel=lambda: True)
    assert out.read_bytes() == b"the previous, complete video" and leftovers(tmp_path, {"out.mp4"}) == []


def test_bytes_api_deletes_its_temporary_folder(astro_clip, tmp_path, patrol, monkeypatch):
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    mp4, result = annotate_video_bytes(astro_clip.read_bytes(), patrol)
    assert mp4[4:8] == b"ftyp" and result.frames == N_FRAMES
    assert len(decode_all(mp4)[0]) == N_FRAMES
    assert leftovers(tmp_path, set()) == []
    with pytest.raises(VideoCancelled):
        annotate_video_bytes(astro_clip.read_bytes(), patrol, should_cancel=lambda: True)
    assert leftovers(tmp_path, set()) == []


@pytest.mark.parametrize("data, message", [
    (b"", "empty"),
    (b"this is a text file, not a video" * 10, "not a video we can read"),
])
def test_unreadable_uploads_are_clear_errors(data, message, patrol, tmp_path):
    with pytest.raises(VideoError, match=message):
        annotate_video(data, tmp_path / "out.mp4", patrol)
    assert leftovers(tmp_path, set()) == []


def test_missing_file_and_folder_are_clear_errors(tmp_path, patrol):
    with pytest.raises(VideoError, match="File not found"):
        annotate_video(tmp_path / "nope.mp4", tmp_path / "out.mp4", patrol)
    with pytest.raises(VideoError, match="is a folder"):
        probe(tmp_path)


@pytest.mark.parametrize("suffix", [".webm", ".avi", ".mov", ".mkv"])
def test_other_containers_and_codecs(suffix, tmp_path, astronaut_rgb, patrol):
    src = tmp_path / f"clip{suffix}"
    vc.write_clip(src, vc.astronaut_frames(astronaut_rgb, 8), FPS)
    info = probe(src)
    assert (info.width, info.height) == (640, 480) and info.fps == FPS
    result = annotate_video(src, tmp_path / "out.mp4", patrol)
    frames, _, meta = decode_all(tmp_path / "out.mp4")
    assert len(frames) == 8 == result.frames and meta["codec"] == "h264"
    assert [r[4] for r in result.counts.rows()] == [1] * 8


def test_odd_sized_video_is_padded_to_even(tmp_path, astronaut_rgb, patrol):
    """yuv420p needs even sides: a 641x481 video comes out 642x482, nothing cut off."""
    src = tmp_path / "odd.mp4"
    frames = vc.astronaut_frames(astronaut_rgb, 4, size=(641, 481))
    with av.open(str(src), "w") as out:
        s = out.add_stream("libx264", rate=FPS)
        s.width, s.height, s.pix_fmt = 641, 481, "yuv444p"
        for f in frames:
            for p in s.encode(av.VideoFrame.from_ndarray(f, format="rgb24")):
                out.mux(p)
        for p in s.encode():
            out.mux(p)
    result = annotate_video(src, tmp_path / "out.mp4", patrol)
    got, _, _ = decode_all(tmp_path / "out.mp4")
    assert len(got) == 4 and got[0].shape == (482, 642, 3) and (result.width, result.height) == (642, 482)


def test_memory_does_not_grow_with_video_length(tmp_path, patrol):
    """Frames are streamed: ten times the frames must not mean more live arrays."""
    rng = np.random.default_rng(0)
    base = np.full((240, 320, 3), 90, np.uint8)
    short, long_ = tmp_path / "short.mp4", tmp_path / "long.mp4"
    vc.write_clip(short, (np.roll(base + rng.integers(0, 3, base.shape, dtype=np.uint8), i, 1) for i in range(30)), 30)
    vc.write_clip(long_, (np.roll(base + rng.integers(0, 3, base.shape, dtype=np.uint8), i, 1) for i in range(300)), 30)
    peaks = []
    for clip in (short, long_):
        tracemalloc.start()
        annotate_video(clip, tmp_path / "out.mp4", patrol, every=5)
        peaks.append(tracemalloc.get_traced_memory()[1])
        tracemalloc.stop()
    frame_bytes = 320 * 240 * 3
    assert peaks[1] < peaks[0] + 4 * frame_bytes, peaks  # 270 more frames: a few frames' worth at most


def test_counts_csv_and_timeline():
    from maskpatrol.pipeline import Face

    counts = FrameCounts()
    mask, bare = Face((0, 0, 10, 10), 0.1, "mask"), Face((20, 0, 10, 10), 0.9, "no_mask")
    for i, faces in enumerate([[], [mask], [mask, bare], [bare], [], [mask]]):
        counts.append(i * 0.4, faces, analyzed=i % 2 == 0)
    rows = list(csv.DictReader(io.StringIO(counts.csv_text())))
    assert list(rows[0]) == list(FrameCounts.CSV_HEADER)
    assert [(r["faces"], r["mask"], r["no_mask"], r["analyzed"]) for r in rows] == [
        ("0", "0", "0", "1"), ("1", "1", "0", "0"), ("2", "1", "1", "1"), ("1", "0", "1", "0"),
        ("0", "0", "0", "1"), ("1", "1", "0", "0")]
    assert rows[2]["time_s"] == "0.8"
    # Seconds 0 (0.0, 0.4, 0.8), 1 (1.2, 1.6), 2 (2.0): the most seen in one frame.
    assert timeline(counts) == {"Second": [0, 1, 2], "Faces": [2, 1, 1], "No mask": [1, 1, 0],
                                "Mask below nose": [0, 0, 0], "Mask": [1, 0, 1]}
    assert {r["incorrect"] for r in rows} == {"0"}  # a binary model's labels


def test_counts_keep_masks_below_the_nose_apart_and_count_them_as_not_masked():
    """A 3-class model's labels: each face in exactly one column, the new one last in the CSV."""
    from maskpatrol.pipeline import Face

    counts = FrameCounts()
    mask, bare = Face((0, 0, 10, 10), 0.1, "mask"), Face((20, 0, 10, 10), 0.9, "no_mask")
    chin = Face((40, 0, 10, 10), 0.1, "incorrect", 0.8)
    frames = [[mask, chin], [chin, chin], [bare, bare], [mask], [chin, bare]]
    for i, faces in enumerate(frames):
        counts.append(i * 0.4, faces, analyzed=True)
    assert FrameCounts.CSV_HEADER[-1] == "incorrect"
    rows = list(csv.DictReader(io.StringIO(counts.csv_text())))
    assert [(r["faces"], r["mask"], r["no_mask"], r["incorrect"]) for r in rows] == [
        ("2", "1", "0", "1"), ("2", "0", "0", "2"), ("2", "0", "2", "0"), ("1", "1", "0", "0"), ("2", "0", "1", "1")]
    assert [c.not_masked for c in counts] == [1, 2, 2, 0, 2]
    # Second 0 (0.0, 0.4, 0.8): 2 no mask and 2 below the nose, in different frames of 2
    # faces; the bar stays 2 faces tall and no mask goes first.
    assert timeline(counts) == {"Second": [0, 1], "Faces": [2, 2], "No mask": [2, 1],
                                "Mask below nose": [0, 1], "Mask": [0, 0]}
    result = VideoResult(64, 48, 2.5, len(counts), len(counts), 1, 1.0, counts)
    assert (result.frames_with_no_mask, result.frames_with_incorrect, result.frames_not_masked) == (2, 3, 4)
    assert "someone without a mask in 2 frames; a mask below the nose in 3 frames." in result.summary()
    assert result.not_masked_text() == ("Someone not properly masked is visible for about 1.6 s of the video: "
                                        "without a mask for about 0.8 s, with the mask below the nose for about 1.2 s.")
    binary = FrameCounts()
    for faces in ([mask], [bare], [mask]):
        binary.append(0.0, faces, analyzed=True)
    binary_result = VideoResult(64, 48, 2.5, 3, 3, 1, 1.0, binary)
    assert binary_result.not_masked_text() == "Someone without a mask is visible for about 0.4 s of the video."
    assert "below the nose" not in binary_result.summary()


@pytest.mark.data
def test_counts_match_the_faces_placed_in_a_real_face_clip(data_dir, tmp_path, patrol):
    clip = tmp_path / "scene.mp4"
    truth = vc.scene_clip(clip, data_dir, patrol, fps=FPS)
    result = annotate_video(clip, tmp_path / "out.mp4", patrol)
    assert [(n, bad) for _, _, n, _, bad, _, _ in result.counts.rows()] == truth
    assert result.counts.per_second() == [(0, 0, 0, 0), (1, 2, 1, 0), (2, 1, 1, 0)]
    assert result.frames_with_no_mask == 2 * FPS


@pytest.mark.parametrize("rotation, corner", [(90, "bottom_left"), (-90, "top_right")])
def test_phone_rotation_tag_is_applied(rotation, corner, tmp_path, patrol):
    """Phones store portrait video sideways plus a display matrix; players show it upright,
    and so must our output (which has no matrix). The tag means "rotate counter-clockwise
    by this many degrees": a mark at the stored top-left ends bottom-left for +90."""
    src = tmp_path / "phone.mp4"
    img = np.zeros((240, 320, 3), np.uint8)
    img[:40, :80] = 255
    with av.open(str(src), "w") as out:
        s = out.add_stream("libx264", rate=FPS)
        s.width, s.height, s.pix_fmt = 320, 240, "yuv420p"
        s.set_display_rotation(rotation)
        for _ in range(3):
            for p in s.encode(av.VideoFrame.from_ndarray(img, format="rgb24")):
                out.mux(p)
        for p in s.encode():
            out.mux(p)
    info = probe(src)
    assert (info.width, info.height) == (240, 320)
    result = annotate_video(src, tmp_path / "out.mp4", patrol)
    frames, _, _ = decode_all(tmp_path / "out.mp4")
    assert len(frames) == 3 and frames[0].shape == (320, 240, 3) and (result.width, result.height) == (240, 320)
    grey = frames[0].mean(axis=2)
    corners = {"top_left": grey[:30, :30], "top_right": grey[:30, -30:],
               "bottom_left": grey[-30:, :30], "bottom_right": grey[-30:, -30:]}
    assert {name for name, patch in corners.items() if patch.mean() > 200} == {corner}


@pytest.mark.parametrize("matrix, colour_range", [("itu709", "MPEG"), ("itu601", "JPEG"), ("itu601", "MPEG")])
def test_colours_come_through_whatever_the_colour_tags(matrix, colour_range, tmp_path, patrol):
    """HD phone clips are BT.709 and some cameras record full range; decoded with the
    wrong matrix a saturated red lost 14 levels. Stripes of known colour, encoded with
    each tag, must come out of our video with the colours they went in with, as a player
    that honours our output's own tags shows them (Chromium's view: tests/e2e)."""
    src = tmp_path / f"{matrix}_{colour_range}.mp4"
    vc.patches_clip(src, 576, 240, matrix, colour_range)
    annotate_video(src, tmp_path / "out.mp4", patrol)
    with av.open(str(tmp_path / "out.mp4")) as c:
        first = next(c.decode(video=0))
        # Tagged: BT.601 matrix, BT.709 (sRGB) primaries and transfer, video range.
        assert (first.colorspace, first.color_primaries, first.color_trc, first.color_range) == (6, 1, 1, 1)
        shown = first.to_ndarray(format="rgb24")  # swscale follows the tags, as players do
    # Within 6 levels: two lossy encodes, and swscale alone is off by 2 on full-range grey.
    # The wrong matrix costs 14 levels on the red.
    errors = vc.patch_errors(shown)
    assert max(errors) <= 6, dict(zip(vc.PATCH_COLOURS, errors))


@pytest.mark.parametrize("matrix, colour_range", [("itu709", "MPEG"), ("itu601", "JPEG"), ("itu709", "JPEG")])
def test_yuv420p_frames_are_read_with_their_own_tags(matrix, colour_range):
    """H.264 full range usually decodes as yuvj420p, but other decoders hand over plain
    yuv420p tagged full range; the fast BT.601 video-range path must not take those."""
    from av.video.reformatter import ColorRange

    from maskpatrol.video import _to_rgb

    frame = vc.patches_frame(96 * len(vc.PATCH_COLOURS), 64, matrix, colour_range)
    assert frame.format.name == "yuv420p" and frame.color_range == ColorRange[colour_range].value
    assert max(vc.patch_errors(_to_rgb(frame))) <= 3


def test_frames_above_the_size_limit_are_scaled_down(astro_clip, tmp_path, patrol):
    assert fitted_size(1920, 1080, 1280 * 720) == (1280, 720)
    assert fitted_size(1080, 1920, 1280 * 720) == (720, 1280)
    assert fitted_size(640, 480, 1280 * 720) == (640, 480)
    small_faces = Settings(DetectorSettings(min_face_px=30))  # the 62 px face becomes ~46 px
    result = annotate_video(astro_clip, tmp_path / "out.mp4", patrol, small_faces, max_pixels=480 * 360)
    frames, _, _ = decode_all(tmp_path / "out.mp4")
    assert len(frames) == N_FRAMES and frames[0].shape == (360, 480, 3) and (result.width, result.height) == (480, 360)
    assert [r[4] for r in result.counts.rows()] == [1] * N_FRAMES  # analysed at the smaller size


def sound_of(path: Path) -> tuple[str, float, float, float]:
    """(codec, seconds of sound, strongest frequency in Hz, seconds of video) of a file."""
    with av.open(str(path)) as c:
        a, v = c.streams.audio[0], c.streams.video[0]
        rate = a.codec_context.sample_rate
        samples = np.concatenate([f.to_ndarray()[0] for f in c.decode(a)])
        video_s = float(v.duration * v.time_base)
        codec = a.codec_context.codec.canonical_name  # "mp3", whichever decoder reads it
    spectrum = np.abs(np.fft.rfft(samples))
    return codec, len(samples) / rate, float(np.argmax(spectrum) * rate / len(samples)), video_s


@pytest.mark.parametrize("suffix, codec, layout, rate, outcome", [
    (".mp4", "aac", "mono", 48000, "copied (aac)"),
    (".avi", "libmp3lame", "stereo", 44100, "copied (mp3)"),
    (".mov", "pcm_s16le", "mono", 48000, "re-encoded to AAC (from pcm_s16le)"),
    (".mov", "pcm_s16le", "stereo", 192000, "re-encoded to AAC (from pcm_s16le)"),  # a recorder's 192 kHz
    (".avi", "pcm_s16le", "stereo", 44100, "re-encoded to AAC (from pcm_s16le)"),  # layout given as a count
    (".avi", "ac3", "stereo", 48000, "re-encoded to AAC (from ac3)"),  # timestamps in whole codec frames
    (".webm", "libopus", "mono", 48000, "re-encoded to AAC (from opus)"),
])
def test_the_sound_comes_along(suffix, codec, layout, rate, outcome, tmp_path, astronaut_rgb, patrol):
    """A phone or camera clip keeps its sound: copied when browsers play it from mp4,
    re-encoded to AAC otherwise; the same tone, as long as the video."""
    src, out = tmp_path / f"in{suffix}", tmp_path / "out.mp4"
    vc.write_clip_with_sound(src, vc.astronaut_frames(astronaut_rgb, N_FRAMES), FPS, codec,
                             tones=[(N_FRAMES / FPS, 440.0)], sample_rate=rate, layout=layout)
    result = annotate_video(src, out, patrol)
    assert result.audio == outcome and f"Sound: {outcome}." in result.summary()
    got_codec, sound_s, peak_hz, video_s = sound_of(out)
    assert got_codec == ("mp3" if outcome == "copied (mp3)" else "aac")
    assert abs(peak_hz - 440.0) < 5, peak_hz
    assert abs(sound_s - video_s) < 0.1, (sound_s, video_s)
    frames_out, _, _ = decode_all(out)
    assert len(frames_out) == N_FRAMES and red_pixels(frames_out[0]) > 500  # the video is still annotated


def test_sound_stays_in_step_with_a_video_that_starts_late(tmp_path, astronaut_rgb, patrol):
    """A clip cut from a longer recording: sound from 0 s, first picture at 0.5 s. The
    annotated video starts at its first picture, so the sound before it is left out and
    what is heard with the first frame is what played with it (880 Hz, not 440)."""
    src, out = tmp_path / "late.mp4", tmp_path / "out.mp4"
    vc.write_clip_with_sound(src, vc.astronaut_frames(astronaut_rgb, N_FRAMES), FPS, "aac",
                             tones=[(0.5, 440.0), (N_FRAMES / FPS, 880.0)], video_start_s=0.5)
    result = annotate_video(src, out, patrol)
    assert result.audio == "copied (aac)"
    _, sound_s, peak_hz, video_s = sound_of(out)
    assert abs(peak_hz - 880.0) < 5, peak_hz
    assert abs(sound_s - video_s) < 0.15, (sound_s, video_s)


def test_picture_and_sound_stay_in_step_in_variable_frame_rate_video(tmp_path, astronaut_rgb, patrol):
    """Phones record at a variable frame rate. Here 5 fps for 2 s, then 20 fps for 2 s, with
    the tone changing from 440 to 880 Hz at 2 s: every output frame keeps its input time,
    so the picture that was on screen at the change is still there when the tone changes."""
    times = [i / 5 for i in range(10)] + [2 + i / 20 for i in range(40)]
    src, out = tmp_path / "vfr.mp4", tmp_path / "out.mp4"
    vc.write_clip_with_sound(src, vc.astronaut_frames(astronaut_rgb, len(times)), 10, "aac",
                             tones=[(2.0, 440.0), (2.0, 880.0)], frame_times=times)
    annotate_video(src, out, patrol)
    with av.open(str(out)) as c:
        got = [float(f.time) for f in c.decode(c.streams.video[0])]
    assert len(got) == len(times)
    assert max(abs(a - b) for a, b in zip(got, times)) < 0.002, list(zip(got, times))[8:13]
    _, sound_s, _, _ = sound_of(out)
    assert abs(sound_s - 4.0) < 0.1


def test_sound_without_a_decoder_is_dropped_and_the_video_still_made(tmp_path, astronaut_rgb, patrol):
    """A track whose codec nobody knows (here a PCM .mov with its codec tag garbled) costs
    the sound, said in the result, never the annotated video."""
    src, out = tmp_path / "in.mov", tmp_path / "out.mp4"
    vc.write_clip_with_sound(src, vc.astronaut_frames(astronaut_rgb, N_FRAMES), FPS, "pcm_s16le",
                             tones=[(N_FRAMES / FPS, 440.0)])
    data = src.read_bytes()
    assert data.count(b"sowt") == 1  # the sample description's tag for little-endian PCM
    src.write_bytes(data.replace(b"sowt", b"zzzz"))
    result = annotate_video(src, out, patrol)
    assert result.audio == "dropped (no decoder for this sound)"
    assert "Sound: dropped (no decoder for this sound)." in result.summary()
    frames_out, _, _ = decode_all(out)
    assert len(frames_out) == N_FRAMES and red_pixels(frames_out[0]) > 500
    with av.open(str(out)) as c:
        assert not c.streams.audio
