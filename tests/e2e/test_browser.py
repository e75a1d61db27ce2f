"""The Recommendations view in a real browser: headless Chromium logs into the Airflow UI and uses the view.

An ``airflow api-server`` over three published nights (``tests.support.airflow_server``); Chromium (Debian's
``chromium`` and ``chromium-driver``, which .ci/run installs when missing) logs in through the simple auth
manager's form, opens "Recommendations" in the navigation (the plugin's page in Airflow's iframe), checks the
plots were drawn, looks a user up, and leaves screenshots in outputs/screenshots/.
"""

from __future__ import annotations

import shutil
import subprocess
import time

import duckdb
import pytest

from jobs.config import load_settings
from tests.support import ROOT
from tests.support.airflow_server import PASSWORD, USER, api_server, free_port, published_home
from tests.support.webdriver import chromium, find_browser

pytestmark = [pytest.mark.slow, pytest.mark.airflow]

LOOKED_UP = "1"


def _browser() -> tuple[str, str]:
    found = find_browser()
    if found is None and shutil.which("apt-get") and hasattr(__import__("os"), "geteuid") and \
            __import__("os").geteuid() == 0:
        subprocess.run(["apt-get", "install", "-y", "chromium", "chromium-driver"], capture_output=True, timeout=900)
        found = find_browser()
    if found is None:
        pytest.skip("no chromium + chromedriver on the PATH, and they could not be installed (apt-get install -y "
                    "chromium chromium-driver needs root)")
    return found


@pytest.fixture(scope="module")
def home(tmp_path_factory):
    return published_home(tmp_path_factory.mktemp("recs_home"))


@pytest.fixture(scope="module")
def browser(tmp_path_factory, home):
    paths = _browser()
    with api_server(tmp_path_factory.mktemp("airflow"), home) as server, \
            chromium(*paths, port=free_port(), size="1400,1100") as driver:
        yield server, driver


def _titles(home) -> list[str]:
    con = duckdb.connect(str(home / "outputs" / "recs.duckdb"), read_only=True)
    try:
        return [t for (t,) in con.execute("select i.title from recommendations r join items i using (item_id) "
                                          "where r.user_id = ? order by r.rank limit 5", [LOOKED_UP]).fetchall()]
    finally:
        con.close()


def _until(condition, timeout: float = 60, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.5)


def test_log_in_open_the_view_and_look_a_user_up(browser, home):
    server, driver = browser
    screenshots = load_settings(home=ROOT).layout.screenshots
    driver.get(server.url + "/")
    driver.type(driver.wait_for("input[name=username]"), USER)
    driver.type(driver.wait_for("input[name=password]"), PASSWORD)
    driver.click(driver.wait_for("button[type=submit]"))
    _until(lambda: "/auth/login" not in driver.url, what="the login to finish")
    assert "_token" in _until(driver.cookies, what="the UI's cookie"), "the UI keeps its JWT in the _token cookie"

    # The navigation's entry, then the plugin's page inside Airflow's iframe.
    _until(lambda: any(driver.text(a) == "Recommendations" for a in driver.find_all("a, button")), what="the nav entry")
    driver.get(server.url + "/plugin/recommendations")
    frame = driver.wait_for("iframe[title=Recommendations]")
    driver.frame(frame)
    driver.wait_for("svg.plot polyline")
    plots = driver.run("return Array.from(document.querySelectorAll('svg.plot')).map("
                       "s => s.querySelectorAll('polyline, path, circle').length)")
    assert len(plots) >= 4 and all(n > 0 for n in plots), plots
    assert "Champion decisions" in driver.text(driver.wait_for("body"))
    driver.frame(None)
    driver.screenshot(screenshots / "recommendations.png")

    # The user lookup form.
    driver.frame(driver.wait_for("iframe[title=Recommendations]"))
    driver.type(driver.wait_for("input[name=user]"), LOOKED_UP)
    driver.click(driver.wait_for("form button[type=submit]"))
    section = driver.wait_for(f"section#user-{LOOKED_UP}")
    text = driver.text(section)
    titles = _titles(home)
    assert titles and all(t in text for t in titles), (titles, text[:2000])
    assert "Most recent ratings" in text and "because_you_rated" in text
    driver.run("document.querySelector('section#user-" + LOOKED_UP + "').scrollIntoView()")
    driver.frame(None)
    driver.screenshot(screenshots / "recommendations-user.png")
