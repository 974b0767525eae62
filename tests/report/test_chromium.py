"""The HTML report in a real browser: headless Chromium parses the page, draws the plan graph and the
charts, and takes a screenshot kept at test-artifacts/report.png for a person to look at.

Skipped when Chromium is absent, unless CDP_AGENTS_REQUIRE_CHROMIUM=1 (CI sets it), then it fails.
Chromium runs as a subprocess with networking features off; the page needs nothing from outside.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections import Counter
from html.parser import HTMLParser
from pathlib import Path

import pytest
from PIL import Image

from tests.report.conftest import FinishedRun, cli

pytestmark = pytest.mark.xdist_group("report")

ARTIFACT = Path(__file__).resolve().parents[2] / "test-artifacts" / "report.png"
WINDOW = (1280, 2400)
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--disable-default-apps",
    "--hide-scrollbars",
]
DONE_GREEN = (0x2E, 0x8B, 0x57)


def chromium() -> str:
    found = shutil.which("chromium") or ("/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None)
    if found:
        return found
    if os.environ.get("CDP_AGENTS_REQUIRE_CHROMIUM") == "1":
        pytest.fail("CDP_AGENTS_REQUIRE_CHROMIUM=1 but chromium is not installed (apt-get install chromium)")
    pytest.skip("chromium is not installed")


def run_chromium(binary: str, tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    profile = tmp_path / "chromium-profile"
    result = subprocess.run(
        [binary, *FLAGS, f"--user-data-dir={profile}", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "HOME": str(tmp_path)},
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return result


class SectionCounter(HTMLParser):
    """Counts elements by (section id, tag, class) in the DOM as the browser serialised it."""

    def __init__(self) -> None:
        super().__init__()
        self.section: str | None = None
        self.counts: Counter[tuple[str | None, str, str]] = Counter()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if tag == "section":
            self.section = attributes.get("id")
        for cls in (attributes.get("class") or "").split():
            self.counts[(self.section, tag, cls)] += 1

    def handle_endtag(self, tag: str) -> None:
        if tag == "section":
            self.section = None

    def count(self, section: str, tag: str, cls: str) -> int:
        return self.counts[(section, tag, cls)]


def test_chromium_draws_the_report(measured_run: FinishedRun, tmp_path: Path):
    binary = chromium()
    page = tmp_path / "report.html"
    result = cli("report", measured_run.thread, "--db", measured_run.db, "--html", str(page))
    assert result.exit_code == 0, result.output
    url = page.resolve().as_uri()

    dom = run_chromium(binary, tmp_path, "--dump-dom", url).stdout
    parsed = SectionCounter()
    parsed.feed(dom)
    plan = measured_run.result["plan"]
    assert parsed.count("plan", "g", "task-node") == len(plan)
    assert parsed.count("plan", "path", "dep-edge") == sum(len(t["depends_on"]) for t in plan)
    assert parsed.count("timeline", "rect", "task-bar") == len(plan)
    assert parsed.count("timeline", "rect", "phase-bar") >= 3  # plan, launch, report
    assert parsed.count("audience", "rect", "bar") > 0
    reasons = {d for d in measured_run.result["suppressed"]}
    assert parsed.count("suppressions", "rect", "bar") == len(reasons)
    variants = measured_run.result["lifecycle"]["variants"]
    assert parsed.count("results", "path", "series-line") == 2 + 1 + len(variants)
    assert parsed.count("results", "path", "ci-band") == 1
    assert parsed.count("results", "line", "marker") == 3 * 2
    assert "<script" not in dom.lower()

    ARTIFACT.parent.mkdir(exist_ok=True)
    ARTIFACT.unlink(missing_ok=True)
    run_chromium(binary, tmp_path, f"--screenshot={ARTIFACT}", f"--window-size={WINDOW[0]},{WINDOW[1]}", url)
    with Image.open(ARTIFACT) as shot:
        assert shot.format == "PNG"
        image = shot.convert("RGB")
    assert image.size == WINDOW
    pixel = image.load()
    assert pixel is not None
    # Every other row and column: (r, g, b) of a quarter of the page.
    colours = Counter(pixel[x, y] for y in range(0, image.height, 2) for x in range(0, image.width, 2))
    assert len(colours) > 500, "a drawn page has text, gradients and charts, not a few flat colours"
    background = colours.most_common(1)[0][1] / sum(colours.values())
    assert background < 0.75, "most of the page is not empty background"
    green = sum(n for (r, g, b), n in colours.items() if max(abs(r - 46), abs(g - 139), abs(b - 87)) <= 6)
    assert green > 2_000, "status colour of finished tasks: plan boxes and timeline bars are drawn"
