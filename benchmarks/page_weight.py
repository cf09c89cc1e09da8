"""Page weight: what a phone downloads on its first visit to the catalog.

    .venv/bin/python benchmarks/page_weight.py                         # own server, demo data
    .venv/bin/python benchmarks/page_weight.py --url http://127.0.0.1:5000/do-tang   # a running app

Without --url it seeds the demo (`flask seed-demo`: 80 items with pictures through the upload
pipeline) into a temporary SQLite file and serves it with gunicorn on 127.0.0.1 and a free port. It
fetches the catalog page, then every stylesheet, script, icon and image the HTML names, and prints
each one's size as sent and gzip-compressed (level 6, as nginx `gzip_comp_level 6` or Caddy `encode
gzip` would send it: the app leaves compression to the reverse proxy) with its Cache-Control.
Targets: HTML + CSS + JS (+ icon), gzip-compressed, ≤ 60 KB before images; each thumbnail ≤ 20 KB
(JPEG: not compressed further).
"""
import argparse
import gzip
import sys
import tempfile
import urllib.parse
from html.parser import HTMLParser
from http.client import HTTPConnection
from pathlib import Path

from load import SECRET_KEY, serve

BUDGET_TEXT = 60 * 1024
BUDGET_THUMB = 20 * 1024


class Resources(HTMLParser):
    """The URLs a browser loads for a page: stylesheets, icons, scripts, images."""

    def __init__(self):
        super().__init__()
        self.found: list[tuple[str, str]] = []  # (kind, url)

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "link" and a.get("rel") in ("stylesheet", "icon") and a.get("href"):
            self.found.append(("css" if a["rel"] == "stylesheet" else "icon", a["href"]))
        elif tag == "script" and a.get("src"):
            self.found.append(("js", a["src"]))
        elif tag == "img" and a.get("src"):
            self.found.append(("image", a["src"]))


def fetch(base: urllib.parse.SplitResult, path: str) -> tuple[bytes, dict]:
    conn = HTTPConnection(base.hostname, base.port or 80, timeout=10)
    conn.request("GET", path, headers={"User-Agent": "gianhang-page-weight/1"})
    resp = conn.getresponse()
    body, headers = resp.read(), {k.lower(): v for k, v in resp.getheaders()}
    conn.close()
    if resp.status != 200:
        raise RuntimeError(f"GET {path} answered {resp.status}")
    return body, headers


def measure(url: str) -> bool:
    base = urllib.parse.urlsplit(url)
    html, headers = fetch(base, base.path or "/")
    parser = Resources()
    parser.feed(html.decode("utf-8"))
    rows = [("html", base.path, html, headers)]
    seen = set()
    for kind, link in parser.found:
        target = urllib.parse.urlsplit(urllib.parse.urljoin(url, link))
        path = target.path + (f"?{target.query}" if target.query else "")
        if path in seen:
            continue
        seen.add(path)
        rows.append((kind, path, *fetch(base, path)))

    print(f"First load of {url}\n")
    print("| resource | kind | bytes | gzip -6 | Cache-Control |")
    print("|---|---|---:|---:|---|")
    text_total = thumbs = 0
    thumb_sizes = []
    for kind, path, body, hdrs in rows:
        packed = len(gzip.compress(body, 6)) if kind != "image" or path.endswith(".svg") \
            else len(body)
        if kind == "image" and not path.endswith(".svg"):
            thumbs += len(body)
            thumb_sizes.append(len(body))
            continue
        text_total += packed
        shown = path if len(path) < 60 else path[:57] + "…"
        print(f"| `{shown}` | {kind} | {len(body):,} | {packed:,} | "
              f"{hdrs.get('cache-control', '—')} |")
    print(f"| **HTML + CSS + JS + icon** | | | **{text_total:,}** | |")
    print()
    if thumb_sizes:
        print(f"Images: {len(thumb_sizes)} thumbnails, {thumbs:,} bytes in all, largest "
              f"{max(thumb_sizes):,} bytes, mean {thumbs // len(thumb_sizes):,} bytes "
              f"(lazy-loaded: a phone fetches those on screen).")
    ok_text = text_total <= BUDGET_TEXT
    ok_thumbs = all(n <= BUDGET_THUMB for n in thumb_sizes)
    print(f"{'PASS' if ok_text else 'MISS'} first load before images: {text_total / 1024:.1f} KB "
          f"gzip (≤ {BUDGET_TEXT // 1024} KB)")
    print(f"{'PASS' if ok_thumbs else 'MISS'} every thumbnail ≤ {BUDGET_THUMB // 1024} KB")
    fresh = [path for kind, path, _, hdrs in rows[1:] if kind != "image" and
             "max-age" not in hdrs.get("cache-control", "")]
    print(f"A repeat visit: the HTML ({len(gzip.compress(html, 6)) / 1024:.1f} KB) and "
          f"{len(fresh)} revalidation round trips for files without max-age {fresh or ''}")
    return ok_text and ok_thumbs


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", help="the catalog of a running app; default: serve the demo")
    args = parser.parse_args()
    if args.url:
        return 0 if measure(args.url) else 1
    from app import create_app
    from app.seed import seed_demo
    with tempfile.TemporaryDirectory(prefix="gianhang-weight-") as tmp:
        folder = Path(tmp)
        (folder / "uploads").mkdir()
        url = f"sqlite:///{folder / 'demo.db'}"
        app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": SECRET_KEY,
                          "UPLOAD_FOLDER": str(folder / "uploads")})
        from app.extensions import db
        with app.app_context():
            db.create_all()
            seed_demo()
            db.engine.dispose()
        with serve(url, folder, workers=1, worker_class="sync", threads=1) as (port, _):
            return 0 if measure(f"http://127.0.0.1:{port}/do-tang") else 1


if __name__ == "__main__":
    sys.exit(main())
