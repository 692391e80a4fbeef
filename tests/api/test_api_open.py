"""The HTTP API of an open server (a local run: no token), over real HTTP on 127.0.0.1.

One ``streamlit run app.py`` serves the pages and the API; this module checks that the API
answers exactly what the CLI prints for the same files, every error status with its JSON
body, and that a burst of requests beyond the analysis slots gets 503 while the server's
health check and a page still answer.
"""

from __future__ import annotations

import json
import re
import shutil
import threading
import time
from pathlib import Path

import numpy as np
import pytest
import requests

from support.api_client import API, api_server, cli_json, error_body, post, raw_request
from support.event_log import START, seed_log
from support.images import png_bytes
from maskpatrol.events.location import URL_ENV_VAR
from maskpatrol.detectors import DETECTOR_NAMES
from maskpatrol.model_card import load_card
from maskpatrol.paths import default_model_dir

#: Real face photos from the data folder: unmasked and masked, two sources.
DATA_PHOTOS = {"nomask_a.jpg": "faces/kaggle12k/test/without_mask", "mask_a.jpg": "faces/kaggle12k/test/with_mask",
               "nomask_b.jpg": "faces/chandrikadeb7/without_mask", "mask_b.jpg": "faces/chandrikadeb7/with_mask"}
MB = 1024 * 1024


@pytest.fixture(scope="module")
def server_tmp(tmp_path_factory) -> Path:
    """The server's TMPDIR, so a test can see whether any upload reached the disk."""
    return tmp_path_factory.mktemp("server_tmp")


@pytest.fixture(scope="module")
def logged(tmp_path_factory) -> tuple[Path, list]:
    """An event log with known events (``support.event_log``), newest first."""
    path = tmp_path_factory.mktemp("log") / "events.sqlite3"
    return path, seed_log(path)


@pytest.fixture(scope="module")
def server(tmp_path_factory, server_tmp, logged):
    """One worker and one queue place, so three requests at once already fill the house; the
    event log is the seeded one."""
    env = {"MASKPATROL_API_WORKERS": "1", "MASKPATROL_API_QUEUE": "1", "MASKPATROL_API_RATE": "0",
           "TMPDIR": str(server_tmp), URL_ENV_VAR: f"sqlite:///{logged[0]}"}
    with api_server(tmp_path_factory.mktemp("streamlit"), env) as srv:
        yield srv


@pytest.fixture(scope="module")
def photos(data_dir, astronaut_png, tmp_path_factory) -> Path:
    """A folder of inputs: real face photos, the astronaut, a truncated JPEG, a text file
    named like a PNG. Copied to a temporary folder only, so CLI paths and upload names match."""
    folder = tmp_path_factory.mktemp("photos")
    for name, sub in DATA_PHOTOS.items():
        source = sorted(p for p in (data_dir / sub).iterdir() if p.suffix.lower() in (".jpg", ".jpeg"))[0]
        shutil.copyfile(source, folder / name)
    shutil.copyfile(astronaut_png, folder / "astronaut.png")
    whole = (folder / "nomask_a.jpg").read_bytes()
    (folder / "truncated.jpg").write_bytes(whole[: len(whole) // 2])
    (folder / "fake.png").write_text("this is not a photo at all\n")
    return folder


def names(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def upload(folder: Path, names_: list[str]) -> list[tuple[str, bytes]]:
    return [(n, (folder / n).read_bytes()) for n in names_]


def test_health_names_the_served_model_threshold_and_every_detector(server):
    response = requests.get(server.url + API + "/health", timeout=60)
    assert response.status_code == 200
    health = response.json()
    card = load_card(default_model_dir())
    assert health["ok"] is True
    assert health["model"]["name"] == card.raw["name"] and health["model"]["date"] == card.raw["date"]
    assert health["threshold"] == card.threshold
    assert health["incorrect_threshold"] == card.incorrect_threshold  # null for a binary model
    assert health["labels"] == (["mask", "no_mask", "incorrect"] if card.has_incorrect else ["mask", "no_mask"])
    assert health["detectors"] == list(DETECTOR_NAMES)
    assert health["auth"] == "open"
    assert health["limits"]["max_body_mb"] == 25


def test_on_a_loopback_address_without_a_token_analysis_is_open(server, astronaut_png):
    """Only this machine reaches a server on 127.0.0.1 (``make run``), so no token is asked for."""
    response = post(server, "/detect", astronaut_png.read_bytes(), "image/png")
    assert response.status_code == 200, response.text
    assert response.json()["faces"][0]["label"] == "no_mask"


def test_openapi_describes_each_route_and_offers_every_detector(server):
    doc = requests.get(server.url + API + "/openapi.json", timeout=30).json()
    assert doc["openapi"].startswith("3.1")
    assert set(doc["paths"]) == {"/detect", "/classify", "/events", "/events/{event_id}/thumbnail", "/health",
                                 "/openapi.json"}
    detector = next(p for p in doc["paths"]["/detect"]["post"]["parameters"] if p["name"] == "detector")
    assert detector["schema"]["enum"] == list(DETECTOR_NAMES)
    described = set(doc["paths"]["/detect"]["post"]["responses"])
    assert {"200", "400", "401", "413", "415", "422", "429", "503"} <= described
    # Every route it lists answers at the address it gives.
    for path, ops in doc["paths"].items():
        if "get" in ops and "{" not in path:
            assert requests.get(server.url + doc["servers"][0]["url"] + path, timeout=30).status_code == 200


def events(server, **params) -> dict:
    response = requests.get(server.url + API + "/events", params=params, timeout=30)
    assert response.status_code == 200, response.text
    return response.json()


def test_events_come_newest_first_a_page_at_a_time_and_filter_by_time_camera_and_label(server, logged):
    _, seeded = logged
    pages, offset = [], 0
    while offset is not None:
        page = events(server, limit=3, offset=offset)
        assert page["total"] == 7 and page["limit"] == 3 and len(page["events"]) <= 3
        pages.append(page)
        offset = page["next_offset"]
    assert [len(p["events"]) for p in pages] == [3, 3, 1]
    assert [e for p in pages for e in p["events"]] == [e.record() for e in seeded]
    till = events(server, camera="till")
    assert till["total"] == 3 and {e["camera"] for e in till["events"]} == {"till"}
    below = events(server, label="incorrect")
    assert [e["person"] for e in below["events"]] == [4, 2]
    # Times: an hour from 08:30 (zone given), then the same span without a zone (UTC); until is
    # exclusive, so person 5, first seen at 09:30, is not in it.
    span = events(server, since="2026-12-07T08:30:00+00:00", until="2026-12-07T09:30:00Z")
    assert [e["person"] for e in span["events"]] == [4, 3]
    assert events(server, since="2026-12-07T08:30:00", until="2026-12-07T09:30:00") == span
    assert events(server, since=(START.replace(year=2030)).isoformat())["events"] == []


def test_an_events_face_is_its_jpeg_and_a_missing_one_says_why(server, logged):
    _, seeded = logged
    [with_face] = [e for e in seeded if e.thumbnail is not None]
    response = requests.get(server.url + API + f"/events/{with_face.id}/thumbnail", timeout=30)
    assert response.status_code == 200 and response.headers["content-type"] == "image/jpeg"
    assert response.content == with_face.thumbnail
    faceless = next(e for e in seeded if e.thumbnail is None)
    missing = error_body(requests.get(server.url + API + f"/events/{faceless.id}/thumbnail", timeout=30), 404)
    assert "--keep-faces" in missing["error"]
    unknown = error_body(requests.get(server.url + API + "/events/nosuchid/thumbnail", timeout=30), 404)
    assert "nosuchid" in unknown["error"]


@pytest.mark.parametrize("params, words", [
    ({"since": "yesterday"}, "ISO 8601"), ({"limit": "0"}, "limit must be a whole number from 1"),
    ({"offset": "-1"}, "offset"), ({"label": "mask"}, "label must be one of no_mask, incorrect"),
    ({"since": "2026-12-07T10:00:00Z", "until": "2026-12-07T09:00:00Z"}, "until must be later"),
    ({"page": "2"}, "Unknown query parameter page")])
def test_a_bad_events_query_is_422_naming_the_parameter(server, params, words):
    body = error_body(requests.get(server.url + API + "/events", params=params, timeout=30), 422)
    assert words in body["error"], body


@pytest.mark.parametrize("detector", DETECTOR_NAMES)
def test_detect_answers_what_the_cli_prints_for_the_same_files(server, photos, detector):
    files = names(photos)
    expected = cli_json("detect", files, photos, "--detector", detector)
    response = post(server, "/detect", files=upload(photos, files), params={"detector": detector})
    assert response.status_code == 200, response.text
    assert response.json() == expected
    # The inputs are not a trivial case: faces found, both labels, and the two bad files.
    assert any(r["faces"] for r in expected) and sum(r["error"] is not None for r in expected) == 2


def test_threshold_and_smallest_face_mean_what_the_cli_options_mean(server, photos):
    files = [n for n in names(photos) if n.endswith((".jpg", ".png")) and n not in ("fake.png", "truncated.jpg")]
    expected = cli_json("detect", files, photos, "--threshold", "0.97", "--min-face", "60")
    response = post(server, "/detect", files=upload(photos, files), params={"threshold": "0.97", "min_face": "60"})
    assert response.json() == expected
    default = post(server, "/detect", files=upload(photos, files)).json()
    assert default != expected  # the parameters changed the answer, as the CLI options do


def test_raw_image_body_gives_one_record_named_by_the_name_parameter(server, photos):
    [expected] = cli_json("detect", ["astronaut.png"], photos)
    response = post(server, "/detect", (photos / "astronaut.png").read_bytes(), "image/png",
                    params={"name": "astronaut.png"})
    assert response.status_code == 200
    assert response.json() == expected
    assert expected["faces"][0]["label"] == "no_mask"
    assert set(expected["faces"][0]) == {"box", "label", "p_no_mask", "p_incorrect"}
    assert 0.0 <= response.json()["faces"][0]["p_incorrect"] <= 1.0
    # Where the time went: queued for a worker, then analysed.
    assert re.fullmatch(r"queue;dur=\d+\.\d, analysis;dur=\d+\.\d", response.headers["server-timing"])


def test_classify_answers_what_the_cli_prints(server, photos):
    files = names(photos)
    expected = cli_json("classify", files, photos)
    assert post(server, "/classify", files=upload(photos, files)).json() == expected
    [one] = cli_json("classify", ["mask_a.jpg"], photos, "--threshold", "0.5")
    raw = post(server, "/classify", (photos / "mask_a.jpg").read_bytes(), "image/jpeg",
               params={"name": "mask_a.jpg", "threshold": "0.5"})
    assert raw.json() == one


@pytest.mark.parametrize("name", ["truncated.jpg", "fake.png"])
def test_undecodable_image_is_400_with_the_cli_record_and_message(server, photos, name):
    [expected] = cli_json("detect", [name], photos)
    body = error_body(post(server, "/detect", (photos / name).read_bytes(), "image/jpeg", params={"name": name}), 400)
    assert body == {**expected, "status": 400}
    assert body["error"].startswith(name)  # the CLI's wording, naming the file
    [classified] = cli_json("classify", [name], photos)
    body = error_body(post(server, "/classify", (photos / name).read_bytes(), "image/png", params={"name": name}), 400)
    assert body["error"] == classified["error"]


def test_a_declared_body_over_25_mb_is_refused_before_it_is_sent(server):
    head = (f"POST {API}/detect HTTP/1.1\nHost: 127.0.0.1\nContent-Type: image/jpeg\n"
            f"Content-Length: {25 * MB + 1}\n")
    status, headers, body = raw_request(server, head)  # no byte of the body is ever sent
    assert status == 413
    assert "25 MB" in json.loads(body)["error"]


def test_a_chunked_body_over_25_mb_is_cut_off_with_413(server):
    def chunks():
        block = b"\0" * MB
        for _ in range(40):
            yield block

    response = post(server, "/detect", chunks(), "image/png")  # a generator: no Content-Length
    assert "25 MB" in error_body(response, 413)["error"]
    # Exactly at the limit is still read (and then judged as an image).
    at_limit = post(server, "/detect", b"\0" * (25 * MB), "image/png")
    assert "not an image we can read" in error_body(at_limit, 400)["error"]


def test_more_than_20_files_is_413(server, photos):
    data = (photos / "mask_a.jpg").read_bytes()
    body = error_body(post(server, "/detect", files=[(f"f{i}.jpg", data) for i in range(21)]), 413)
    assert "at most 20" in body["error"]


@pytest.mark.parametrize("content_type", ["text/plain", "application/json", None])
def test_a_body_that_is_not_an_image_or_a_form_is_415(server, content_type):
    response = requests.post(server.url + API + "/detect", data=b"hello",
                             headers={"Content-Type": content_type} if content_type else {}, timeout=30)
    body = error_body(response, 415)
    assert "image/jpeg" in body["error"] and "multipart/form-data" in body["error"]


@pytest.mark.parametrize("params,words", [
    ({"detector": "nosuch"}, "detector must be one of " + ", ".join(DETECTOR_NAMES)),
    ({"threshold": "high"}, "threshold must be a number between 0 and 1"),
    ({"threshold": "1.5"}, "threshold must be a number between 0 and 1"),
    ({"min_face": "0"}, "min_face must be a whole number"),
    ({"treshold": "0.2"}, "Unknown query parameter treshold"),
])
def test_bad_query_parameters_are_422_and_name_the_parameter(server, photos, params, words):
    response = post(server, "/detect", (photos / "mask_a.jpg").read_bytes(), "image/jpeg", params=params)
    assert words in error_body(response, 422)["error"]


def test_a_form_without_a_file_is_422(server):
    response = requests.post(server.url + API + "/detect", files={"note": (None, "no image here")}, timeout=30)
    assert "no file" in error_body(response, 422)["error"]


def test_unknown_route_is_404_and_wrong_method_405_in_json(server):
    assert "No such API route" in error_body(requests.get(server.url + API + "/nosuch", timeout=30), 404)["error"]
    response = requests.get(server.url + API + "/detect", timeout=30)
    error_body(response, 405)
    assert response.headers["allow"] == "POST"


def test_cors_is_off_without_configured_origins(server, photos):
    preflight = requests.options(server.url + API + "/detect", timeout=30, headers={
        "Origin": "https://example.org", "Access-Control-Request-Method": "POST"})
    assert "access-control-allow-origin" not in preflight.headers
    response = post(server, "/detect", (photos / "mask_a.jpg").read_bytes(), "image/jpeg",
                    headers={"Origin": "https://example.org"})
    assert response.status_code == 200 and "access-control-allow-origin" not in response.headers


def test_uploads_are_never_written_to_disk(server, server_tmp):
    # Random pixels do not compress: a PNG of several MB, well over the 1 MB at which
    # Starlette's form parser would otherwise spill a part into a temporary file.
    big = png_bytes(np.random.default_rng(0).integers(0, 256, (1200, 1600, 3), dtype=np.uint8))
    assert len(big) > 4 * MB
    # Models loaded first, so that any file a library writes at start is not counted: only
    # files that appear during the upload do.
    assert post(server, "/detect", png_bytes(np.zeros((64, 64, 3), np.uint8)), "image/png").status_code == 200
    before = {p.name for p in server_tmp.rglob("*")}
    seen: set[str] = set()
    stop = threading.Event()

    def watch() -> None:
        while not stop.is_set():
            seen.update(p.name for p in server_tmp.rglob("*"))
            time.sleep(0.005)

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        response = post(server, "/detect", files=[("big.png", big), ("big2.png", big)])
    finally:
        stop.set()
        watcher.join()
    assert response.status_code == 200
    assert [r["width"] for r in response.json()] == [1600, 1600]
    assert seen == before and {p.name for p in server_tmp.rglob("*")} == before
    assert all((server_tmp / name).stat().st_size < 4096 for name in before)  # no upload hides there


@pytest.mark.browser
def test_a_burst_beyond_the_slots_gets_503_while_health_and_a_page_answer(server, photos, browser, artifacts):
    """Twelve clients post at once, again and again, to a server with one worker and one
    queue place. Some must be turned away with 503 and Retry-After; meanwhile the health
    check answers and a visitor's browser still gets the Home page."""
    # A 1920x1080 photo: Haar takes long enough per request that the slots stay full.
    rng = np.random.default_rng(1)
    big = png_bytes(np.clip(rng.normal(128, 40, (1080, 1920, 3)), 0, 255).astype(np.uint8))
    statuses: list[int] = []
    rejected: list[requests.Response] = []
    stop = threading.Event()
    start = threading.Barrier(12)

    def client() -> None:
        start.wait()
        while not stop.is_set():
            r = post(server, "/detect", big, "image/png")
            statuses.append(r.status_code)
            if r.status_code == 503:
                rejected.append(r)
                time.sleep(0.05)  # keep knocking, but leave the shared machine some CPU

    threads = [threading.Thread(target=client) for _ in range(12)]
    for t in threads:
        t.start()
    health: list[int] = []
    page = browser.new_page()
    try:
        time.sleep(1.0)  # the burst is under way
        page.goto(server.url, wait_until="domcontentloaded", timeout=60_000)
        page.locator("h1").filter(has_text="Mask Patrol").wait_for(timeout=60_000)
        page.get_by_test_id("stSidebarNav").get_by_text("Photos", exact=True).wait_for(timeout=60_000)
        for _ in range(5):
            health.append(requests.get(server.url + "/_stcore/health", timeout=30).status_code)
    finally:
        page.close()
        stop.set()
        for t in threads:
            t.join(timeout=300)
    (artifacts / "api_burst.json").write_text(json.dumps(
        {"requests": len(statuses), "ok": statuses.count(200), "busy_503": statuses.count(503)}, indent=2) + "\n")
    assert health == [200] * 5
    assert set(statuses) <= {200, 503}, statuses
    assert statuses.count(200) >= 1 and rejected, statuses
    for r in rejected[:5]:
        assert "busy" in error_body(r, 503)["error"]
        assert int(r.headers["retry-after"]) >= 1
    # Once the burst is over the slots are free again.
    assert post(server, "/detect", (photos / "astronaut.png").read_bytes(), "image/png").status_code == 200
