"""app.json, the one-click Heroku deployment: it must name the buildpack the slug is built
with, a dyno that fits the app, and exactly the variables the app reads for the webcam
page, none of them required (the page works without TURN, in the browser)."""

from __future__ import annotations

import json

from support.paths import ROOT
from maskpatrol import ice
from maskpatrol.web import mode


def test_app_json_deploys_the_python_app_on_one_basic_dyno():
    app = json.loads((ROOT / "app.json").read_text())
    assert app["buildpacks"] == [{"url": "heroku/python"}]
    assert app["formation"] == {"web": {"quantity": 1, "size": "basic"}}
    assert (ROOT / "Procfile").read_text().startswith("web:")


def test_app_json_offers_the_webcam_settings_the_app_reads_and_requires_none():
    env = json.loads((ROOT / "app.json").read_text())["env"]
    assert set(env) == {*ice.NAMES, mode.ENV_VAR}
    assert all(not var["required"] and var["description"] for var in env.values())
