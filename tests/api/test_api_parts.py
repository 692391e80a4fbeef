"""The API's parts without a server: rate, slots, the one shared model, the light start and the
description. (Its settings: ``test_api_config.py``.)"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import threading

import pytest

from support.paths import ROOT
from maskpatrol.api.access import RateLimiter
from maskpatrol.api.config import load_config
from maskpatrol.api.errors import ApiError
from maskpatrol.api.slots import AnalysisSlots


def test_rate_allows_a_minute_of_requests_at_once_then_refills_evenly():
    now = [0.0]
    limiter = RateLimiter(6, clock=lambda: now[0])
    for _ in range(6):
        limiter.check("a")
    with pytest.raises(ApiError) as refused:
        limiter.check("a")
    assert refused.value.status == 429 and refused.value.headers["Retry-After"] == "10"
    limiter.check("b")  # another client has its own allowance
    now[0] = 10.0  # one request's worth refilled
    limiter.check("a")
    with pytest.raises(ApiError):
        limiter.check("a")


def test_rate_zero_means_no_limit_and_forgotten_clients_bound_the_memory():
    unlimited = RateLimiter(0)
    for _ in range(1000):
        unlimited.check("a")
    limiter = RateLimiter(1, max_clients=100)
    for i in range(1000):
        limiter.check(f"client{i}")
    assert len(limiter._buckets) == 100


def test_slots_turn_away_the_request_beyond_workers_plus_queue_and_free_them_after_the_work():
    async def scenario() -> tuple[list[int], int]:
        slots = AnalysisSlots(workers=1, queue=1)
        release = threading.Event()
        outcomes: list[int] = []

        async def request() -> None:
            try:
                async with slots.reserve() as ticket:
                    await ticket.run(release.wait, 30)
                outcomes.append(200)
            except ApiError as exc:
                outcomes.append(exc.status)
                assert int(exc.headers["Retry-After"]) >= 1

        tasks = [asyncio.create_task(request()) for _ in range(3)]
        await asyncio.sleep(0.2)
        assert slots.admitted == 2
        release.set()
        await asyncio.gather(*tasks)
        await asyncio.sleep(0.05)
        left = slots.admitted
        slots.shutdown()
        return sorted(outcomes), left

    outcomes, left = asyncio.run(scenario())
    assert outcomes == [200, 200, 503]
    assert left == 0


def test_a_client_that_leaves_keeps_its_slot_until_the_thread_is_done():
    """Cancelling the handler (the client hung up) must not free a slot whose work still
    runs: otherwise a client that keeps hanging up could queue unbounded work."""
    async def scenario() -> tuple[int, int]:
        slots = AnalysisSlots(workers=1, queue=0)
        release = threading.Event()

        async def request() -> None:
            async with slots.reserve() as ticket:
                await ticket.run(release.wait, 30)

        task = asyncio.create_task(request())
        await asyncio.sleep(0.1)
        task.cancel()
        await asyncio.sleep(0.1)
        during = slots.admitted
        release.set()
        await asyncio.sleep(0.2)
        after = slots.admitted
        slots.shutdown()
        return during, after

    assert asyncio.run(scenario()) == (1, 0)


def test_a_request_refused_before_its_work_started_gives_its_slot_back():
    async def scenario() -> int:
        slots = AnalysisSlots(workers=1, queue=0)
        with pytest.raises(ApiError):
            async with slots.reserve():
                raise ApiError(413, "too large")  # e.g. the body turned out too large
        left = slots.admitted
        slots.shutdown()
        return left

    assert asyncio.run(scenario()) == 0


def test_pages_and_api_share_one_model_per_process():
    from maskpatrol.shared import shared_patrol
    from maskpatrol.ui import get_patrol

    assert get_patrol() is shared_patrol()
    assert shared_patrol() is shared_patrol()


def test_streamlit_run_finds_the_app_object_in_app_py():
    """``streamlit run app.py`` serves app.py's ``st.App`` (pages plus API); without it the
    API would silently be missing. (The pages' own run of app.py is tested by the AppTests
    in tests/app and the browser tests.)"""
    from streamlit.web.server.app_discovery import discover_asgi_app

    found = discover_asgi_app(ROOT / "app.py")
    assert found.is_asgi_app and found.import_string == "app:app"


def test_serving_the_api_loads_no_image_library_until_a_request_needs_it():
    """app.py imports the API when the server starts; numpy, Pillow, OpenCV and the model
    runtimes must wait for the first request, so an unused server stays as small as before
    the API existed (54 MB instead of 123 MB, measured)."""
    heavy = ("numpy", "PIL", "cv2", "ai_edge_litert", "onnxruntime")
    code = ("import sys, maskpatrol.api as api; api.api_routes(api.load_config({}, '127.0.0.1')); "
            f"print([m for m in {heavy!r} if m in sys.modules])")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


def test_the_description_gives_the_third_label_and_p_incorrect_and_the_records_fit_it():
    """The schema a client generates code from: label may be "incorrect" (a mask below the
    nose), every face and classify record carries p_incorrect; records built by the same
    helpers as the handlers' validate against it, and a wrong label does not."""
    import jsonschema

    from maskpatrol.api.openapi import openapi_document
    from maskpatrol.pipeline import Face, image_record

    doc = openapi_document(load_config({}, "127.0.0.1"))
    schemas = doc["components"]["schemas"]
    assert schemas["Face"]["properties"]["label"]["enum"] == ["mask", "no_mask", "incorrect"]
    assert "p_incorrect" in schemas["Face"]["required"] and "p_incorrect" in schemas["ClassifyRecord"]["required"]
    assert schemas["ClassifyRecord"]["properties"]["label"]["enum"] == ["mask", "no_mask", "incorrect", None]
    assert {"incorrect_threshold", "labels"} <= set(schemas["Health"]["properties"])

    def check(record: dict, name: str) -> None:
        jsonschema.validate(record, {"$ref": f"#/components/schemas/{name}", "components": doc["components"]})

    faces = [Face((1, 2, 3, 4), 0.1, "incorrect", 0.8), Face((5, 6, 7, 8), 0.9, "no_mask")]
    record = image_record("a.jpg", faces, 640, 480)
    check(record, "DetectRecord")
    check({"path": "f.jpg", "label": "incorrect", "p_no_mask": 0.1, "p_incorrect": 0.8, "error": None}, "ClassifyRecord")
    check({"path": "f.jpg", "label": None, "p_no_mask": None, "p_incorrect": None, "error": "bad"}, "ClassifyRecord")
    record["faces"][0]["label"] = "chin"
    with pytest.raises(jsonschema.ValidationError):
        check(record, "DetectRecord")
    del record["faces"][1]["p_incorrect"]
    record["faces"][0]["label"] = "incorrect"
    with pytest.raises(jsonschema.ValidationError):
        check(record, "DetectRecord")
