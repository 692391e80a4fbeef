"""The Video page driven by Streamlit's AppTest: upload, annotate, result, downloads, errors."""

from __future__ import annotations

import io

import av
import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from support import video_clip as vc
from support.paths import ROOT

PAGE = str(ROOT / "pages" / "video.py")
TIMEOUT = 180
FPS = 10


@pytest.fixture
def page() -> AppTest:
    at = AppTest.from_file(PAGE, default_timeout=TIMEOUT)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


@pytest.fixture(scope="module")
def astro_mp4(tmp_path_factory, astronaut_rgb) -> bytes:
    path = tmp_path_factory.mktemp("clip") / "astro.mp4"
    vc.astronaut_clip(path, astronaut_rgb, n_frames=20, fps=FPS)
    return path.read_bytes()


def annotate(at: AppTest, name: str, data: bytes, every: int = 1) -> AppTest:
    at.file_uploader(key="video_upload").set_value((name, data, "video/mp4"))
    if every != 1:
        at.number_input(key="video_every").set_value(every)
    at.run()
    assert not at.get("video"), "nothing is processed before the user asks"
    at.button(key="video_start").click().run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def frames_of(mp4: bytes) -> tuple[int, tuple[int, int], str]:
    with av.open(io.BytesIO(mp4)) as c:
        s = c.streams.video[0]
        return sum(1 for _ in c.decode(s)), (s.codec_context.width, s.codec_context.height), s.codec_context.name


def test_empty_page_states_upload_limit_and_what_to_do(page):
    limit = int(st.get_option("server.maxUploadSize"))
    assert any(f"Up to **{limit} MB** per video" in c.value for c in page.caption)
    assert "Upload a video" in page.info[0].value
    assert not page.get("video") and not page.error


def test_upload_annotate_play_download_and_timeline(page, astro_mp4):
    annotate(page, "walk.mp4", astro_mp4)
    summary = [m.value for m in page.markdown if m.value.startswith("**20 frames")]
    assert summary and ("640x480 at 10 fps (2 s): 1 person: 0 masked, 1 no mask, 0 mask below nose; "
                        "up to 1 face per frame") in summary[0]
    assert any(w.value.startswith("1 person is not wearing a mask, of 1 seen. ")
               and "without a mask is visible for about 2.0 s" in w.value for w in page.warning)
    assert [(m.label, m.value) for m in page.metric] == [("People seen", "1"), ("Not properly masked", "1")]
    assert len(page.get("video")) == 1
    labels = [b.label for b in page.get("download_button")]
    assert labels == ["Annotated video (MP4)", "People (CSV)", "Per-frame counts (CSV)"]
    assert len(page.get("vega_lite_chart")) == 1
    assert [b.label for b in page.button] == ["Annotate video"]  # Cancel is gone once finished
    done = page.session_state["video_result"]
    assert frames_of(done["mp4"]) == (20, (640, 480), "h264")
    rows = list(done["result"].counts.rows())
    assert len(rows) == 20 and all(r[2] == 1 and r[4] == 1 for r in rows)
    [person] = done["result"].people
    assert (person.number, person.frames, person.label) == (1, 20, "no_mask")
    # A rerun (any widget) shows the stored result without processing the video again.
    page.run()
    assert len(page.get("video")) == 1 and page.session_state["video_result"] is done


def test_every_nth_frame_is_explained_and_applied(page, astro_mp4):
    annotate(page, "walk.mp4", astro_mp4, every=5)
    assert any("Only 1 frame in 5 is analysed" in c.value for c in page.caption)
    result = page.session_state["video_result"]["result"]
    assert result.analyzed_frames == 4 and result.frames == 20
    assert any("4 analysed (1 in 5" in m.value for m in page.markdown)


def test_changed_settings_are_flagged_on_the_old_result(page, astro_mp4):
    annotate(page, "walk.mp4", astro_mp4)
    page.slider(key="video_min_face").set_value(100).run()
    assert any("settings changed" in i.value for i in page.info)
    assert len(page.get("video")) == 1


def test_a_video_without_faces_gets_advice_for_its_detector_and_size(page, tmp_path):
    """Stripes and no face, 576x240: the advice names the sidebar's own controls for the
    detector that ran (YuNet by default, then Haar picked) and says the video is small."""
    clip = tmp_path / "stripes.mp4"
    vc.patches_clip(clip, 576, 240)
    annotate(page, "stripes.mp4", clip.read_bytes())
    [info] = [i.value for i in page.info if i.value.startswith("No faces found")]
    assert "Use a larger video: this one is only 576x240 pixels" in info
    assert "Detector confidence" in info and "Switch" not in info and "strictness" not in info
    assert not page.success and len(page.get("video")) == 1
    page.radio(key="video_detector").set_value("haar").run()
    annotate(page, "stripes.mp4", clip.read_bytes())
    [info] = [i.value for i in page.info if i.value.startswith("No faces found")]
    assert "Detector strictness" in info and "Switch **Face detector** to **YuNet**" in info


def test_a_crash_mid_run_is_not_later_blamed_on_the_user(page, astro_mp4, monkeypatch):
    """The page tells a person when their own click stopped a run; a run that crashed
    (here: out of memory) must not produce that message on the next rerun."""
    from maskpatrol import video as video_package

    def crash(*args, **kwargs):
        raise MemoryError("no room")

    monkeypatch.setattr(video_package, "annotate_video_bytes", crash)
    page.file_uploader(key="video_upload").set_value(("walk.mp4", astro_mp4, "video/mp4"))
    page.run()
    page.button(key="video_start").click().run()
    assert page.exception and "no room" in page.exception[0].value
    page.slider(key="video_min_face").set_value(100).run()
    assert not page.warning, [w.value for w in page.warning]


def test_unreadable_video_is_an_error_not_a_crash(page):
    annotate(page, "holiday.mp4", b"this is not really a video" * 100)
    [error] = page.error
    assert "holiday.mp4" in error.value and "not a video we can read" in error.value
    assert not page.get("video") and "video_result" not in page.session_state


def test_binary_model_keeps_the_two_label_legend_and_chart(monkeypatch, astro_mp4):
    from support.three_class import fake_binary

    fake_binary(monkeypatch)
    page = AppTest.from_file(PAGE, default_timeout=TIMEOUT)
    page.run()
    assert "**Mask** (thin box) or **No mask** (thick box)" in page.caption[0].value
    assert "Mask below nose" not in " ".join(c.value for c in page.caption)
    annotate(page, "walk.mp4", astro_mp4)
    chart = page.get("vega_lite_chart")[0].proto.spec
    assert "No mask" in chart and "Mask below nose" not in chart


def test_three_class_model_counts_masks_below_the_nose(monkeypatch, tmp_path, patrol, astronaut_rgb):
    """With a model that tells a mask below the nose (see tests/support/three_class.py): the legend says
    what it means, the masked astronaut is warned about as not properly masked, and the
    chart and the CSV carry the new label."""
    from support.images import paint_mask
    from support.three_class import fake_three_class, legend_explains_mask_below_nose

    box = patrol.analyze(astronaut_rgb)[0].box
    clip = tmp_path / "chin.mp4"
    vc.astronaut_clip(clip, paint_mask(astronaut_rgb, box, 1.0), n_frames=10, fps=FPS)
    fake_three_class(monkeypatch)
    at = AppTest.from_file(PAGE, default_timeout=TIMEOUT)
    at.run()
    assert legend_explains_mask_below_nose(" ".join(c.value for c in at.caption))
    annotate(at, "chin.mp4", clip.read_bytes())
    assert any("not properly masked is visible for about 1.0 s" in w.value
               and "with the mask below the nose for about 1.0 s" in w.value for w in at.warning), \
        [w.value for w in at.warning]
    assert not at.success
    assert any("a mask below the nose in 10 frames" in m.value for m in at.markdown)
    assert "Mask below nose" in at.get("vega_lite_chart")[0].proto.spec
    result = at.session_state["video_result"]["result"]
    assert [(r[2], r[6]) for r in result.counts.rows()] == [(1, 1)] * 10
    assert result.counts.csv_text().splitlines()[0].endswith(",incorrect")
