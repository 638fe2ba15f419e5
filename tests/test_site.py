"""The built documentation site, checked in a real browser.

Runs only against a built site: ``SKNEURO_SITE=doc/_build/html`` names it
(``.ci/run`` builds the site, then runs this file). Without it every test here
is skipped, because there is nothing to check; the README's test command does
not build the site (a minute or more of gallery).

- Every internal link and image reference of every page points to a file of
  the site, and every ``#anchor`` to an id on the target page.
- Headless Chromium (Debian's package, driven by Playwright) opens the home
  page, a gallery page, an API page and a user-guide page with formulas, served
  on localhost: the screenshots are not blank, every image has loaded, the
  formulas are typeset by the site's own MathJax, and the browser asked for
  nothing outside the site (the docs must work offline).
"""

import functools
import html.parser
import http.server
import os
import pathlib
import shutil
import threading
import urllib.parse

import numpy as np
import pytest

SITE = os.environ.get("SKNEURO_SITE")
CHROMIUM = os.environ.get("SKNEURO_CHROMIUM") or shutil.which("chromium") or \
    shutil.which("chromium-browser")

pytestmark = pytest.mark.skipif(
    not SITE, reason="no built site: set SKNEURO_SITE to the HTML folder (.ci/run does)")

PAGES = {
    "home": "index.html",
    "gallery": "auto_examples/plot_overtraining.html",
    "api": "generated/skneuro.MLPClassifier.html",
    "formulas": "user_guide/mlp.html",
}


class _Links(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.ids, self.refs, self.loads = set(), [], []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        # What the browser fetches by itself (links to other sites are fine).
        if tag in ("script", "img", "iframe") and attrs.get("src"):
            self.loads.append(attrs["src"])
        if tag == "link" and "stylesheet" in (attrs.get("rel") or "") and attrs.get("href"):
            self.loads.append(attrs["href"])
        if "id" in attrs:
            self.ids.add(attrs["id"])
        if tag == "a" and attrs.get("name"):
            self.ids.add(attrs["name"])
        for key in ("href", "src"):
            if attrs.get(key) and not (tag == "link" and key == "href"
                                       and attrs.get("rel") in ("canonical",)):
                self.refs.append(attrs[key])


@functools.cache
def _parse(path):
    parser = _Links()
    parser.feed(path.read_text(encoding="utf-8", errors="replace"))
    return parser


def _site():
    return pathlib.Path(SITE).resolve()


def test_the_site_has_the_pages_checked_here():
    for page in PAGES.values():
        assert (_site() / page).is_file(), page
    examples = sorted((_site() / "auto_examples").glob("plot_*.html"))
    assert len(examples) >= 15
    # Every example ran and drew: its page shows at least one scraped figure.
    without = [page.name for page in examples
               if "sphx-glr-single-img" not in page.read_text(encoding="utf-8")
               and "sphx-glr-multi-img" not in page.read_text(encoding="utf-8")]
    assert not without, without


def test_no_broken_internal_link():
    root = _site()
    broken = []
    for page in sorted(root.rglob("*.html")):
        if "_static" in page.relative_to(root).parts:
            continue  # the theme's and MathJax's own files
        for ref in _parse(page).refs:
            parts = urllib.parse.urlsplit(ref)
            if parts.scheme or ref.startswith(("//", "mailto:", "javascript:", "data:")):
                continue
            target = page if not parts.path else (page.parent / urllib.parse.unquote(
                parts.path)).resolve()
            if target.is_dir():
                target = target / "index.html"
            if not target.is_file():
                broken.append(f"{page.relative_to(root)}: {ref}")
            elif parts.fragment and target.suffix == ".html" and \
                    parts.fragment not in _parse(target).ids:
                broken.append(f"{page.relative_to(root)}: {ref} (no such anchor)")
    assert not broken, "\n".join(broken[:50])


def test_no_page_loads_anything_from_outside_the_site():
    # The browser test opens four pages; this covers every page of the site.
    root = _site()
    outside = sorted({f"{page.relative_to(root)}: {ref}"
                      for page in root.rglob("*.html")
                      if "_static" not in page.relative_to(root).parts
                      for ref in _parse(page).loads
                      if urllib.parse.urlsplit(ref).scheme or ref.startswith("//")})
    assert not outside, "\n".join(outside[:50])


@pytest.fixture(scope="module")
def server():
    handler = functools.partial(_QuietHandler, directory=str(_site()))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def browser():
    playwright = pytest.importorskip("playwright.sync_api",
                                     reason="needs playwright (pip install -e .[doc])")
    assert CHROMIUM, "no Chromium: apt-get install chromium (.ci/run does)"
    with playwright.sync_playwright() as p:
        # The flags of a closed network: no background connections to Google.
        yield p.chromium.launch(executable_path=CHROMIUM, args=[
            "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
            "--disable-background-networking", "--disable-component-update",
            "--disable-sync"])


@pytest.mark.parametrize("name", list(PAGES))
def test_page_renders_in_chromium(name, server, browser, tmp_path):
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    requests, failures = [], []
    page.on("request", lambda r: requests.append(r.url))
    page.on("requestfailed", lambda r: failures.append(f"{r.url}: {r.failure}"))
    page.on("response", lambda r: r.status >= 400 and failures.append(f"{r.url}: {r.status}"))
    page.goto(f"{server}/{PAGES[name]}", wait_until="networkidle")

    assert not failures, failures
    outside = [url for url in requests if not url.startswith((server, "data:", "blob:"))]
    assert not outside, f"the page asked for resources outside the site: {outside}"
    broken_images = page.evaluate(
        "Array.from(document.images).filter(i => !(i.complete && i.naturalWidth > 0))"
        ".map(i => i.src)")
    assert not broken_images, broken_images
    if name == "gallery":
        assert page.evaluate("document.querySelectorAll('img.sphx-glr-single-img, "
                             "img.sphx-glr-multi-img').length") >= 1
    if name == "formulas":
        page.wait_for_selector("mjx-container", timeout=15000)

    shot = tmp_path / f"{name}.png"
    page.screenshot(path=str(shot), full_page=False)
    destination = os.environ.get("SKNEURO_SITE_SCREENSHOTS")
    if destination:
        pathlib.Path(destination).mkdir(parents=True, exist_ok=True)
        shutil.copy(shot, pathlib.Path(destination) / shot.name)
    import matplotlib.image

    pixels = matplotlib.image.imread(shot)[..., :3]
    # A blank or unstyled page is one flat colour; a rendered one has text,
    # the theme's bars and, on most pages, figures.
    assert pixels.std() > 0.05, f"{name}: the screenshot is nearly uniform"
    assert len(np.unique((pixels * 255).astype(np.uint8).reshape(-1, 3), axis=0)) > 50
    page.close()
