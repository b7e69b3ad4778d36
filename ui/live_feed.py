"""The live view's progress line, kept current in the browser without a Streamlit run.

Every Streamlit run, a fragment's too, costs the browser about 37 ms of CPU whatever it draws
(bench/refresh_cost.py): React redraws Streamlit's page. A fetch of a small file costs it about a
third of that. So a thread of this server writes each watched training's progress, in its
learner's language, to a file under Streamlit's static folder twice a second, and a script in the
page fetches it once a second; the live view's fragment itself runs only every few seconds (its
curves, and the end of the training). A file's name is a random token that only its page knows.

Behind a load balancer the fetches reach the page's own server through the same cookie affinity
that keeps its websocket there (scripts/tryout.sh, deploy/k8s/app.yaml). Where the file cannot be
written or fetched, the page shows the progress its fragment draws, a few seconds apart.
"""

from __future__ import annotations

import contextlib
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import streamlit as st

from core.engine import TrainingHandle
from core.training import Progress

FEED_EVERY = 1.0  # seconds between the page's fetches of its feed
# Written twice as often as fetched: two fetches in a row never find the same version.
WRITE_EVERY = FEED_EVERY / 2
FEED_LIFETIME = 15.0  # seconds a feed lives after its page last asked for it
STATIC_DIR = Path(__file__).resolve().parent.parent / "static"  # beside streamlit_app.py
FEED_DIR = STATIC_DIR / "live"
FEED_URL = "app/static/live"  # relative to the page: also right under a server.baseUrlPath


@dataclass
class Feed:
    job: TrainingHandle
    render: Callable[[Progress], str]  # the progress as HTML, in the learner's language
    expires: float  # time.monotonic() after which nobody watches it


class LiveFeeds:
    """The feeds of this server and the thread that writes them."""

    def __init__(self, folder: Path = FEED_DIR, every: float = WRITE_EVERY) -> None:
        self.folder = folder
        self.every = every
        self._feeds: dict[str, Feed] = {}
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def watch(self, token: str, job: TrainingHandle, render: Callable[[Progress], str]) -> bool:
        """Keep the feed `token` of this job written for FEED_LIFETIME more seconds; False where its
        file cannot be written (the page then shows what its fragment draws)."""
        if not self._write(token, render(job.snapshot())):
            return False
        with self._lock:
            self._feeds[token] = Feed(job, render, time.monotonic() + FEED_LIFETIME)
            if self._thread is None:
                self._remove_abandoned()
                self._thread = threading.Thread(target=self._run, name="live-feeds", daemon=True)
                self._thread.start()
        return True

    def _run(self) -> None:
        while True:
            time.sleep(self.every)
            with self._lock:
                feeds = list(self._feeds.items())
            for token, feed in feeds:
                try:
                    progress = feed.job.snapshot()
                    kept = (
                        feed.expires >= time.monotonic()
                        and progress.active
                        and self._write(token, feed.render(progress))
                    )
                except Exception:  # a handle that cannot answer now (its Ray head is away)
                    kept = False  # the page's fragment still draws the progress
                if not kept:
                    self._end(token)

    def _write(self, token: str, html: str) -> bool:
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            # Each thread its own temporary name: the page's fragment writes a feed too.
            partial = self.folder / f".{token}.{threading.get_ident()}.tmp"
            partial.write_text(html, encoding="utf-8")
            partial.replace(self.folder / f"{token}.html")  # a fetch never reads half a file
        except OSError:
            return False
        return True

    def _end(self, token: str) -> None:
        with self._lock:
            self._feeds.pop(token, None)
        with contextlib.suppress(OSError):
            (self.folder / f"{token}.html").unlink()

    def _remove_abandoned(self) -> None:
        """Files that no server has written for a minute (their server stopped): another server
        sharing the folder rewrites its own every second."""
        for path in self.folder.glob("*.html"):
            with contextlib.suppress(OSError):
                if time.time() - path.stat().st_mtime > 60:
                    path.unlink()


@st.cache_resource
def live_feeds() -> LiveFeeds:
    """This server's feeds (one writer thread for all its sessions)."""
    return LiveFeeds()


def new_token() -> str:
    return secrets.token_urlsafe(16)


def fed_html(token: str, progress_html: str) -> str:
    """The progress as the fragment drew it, and the script that replaces it with each newer
    version of its feed (newer: a later data-at; the fragment may have drawn a later one)."""
    return f"""<div id="feed-{token}">{progress_html}</div>
<script>
(() => {{
  const feeds = (window.digitLabFeeds ??= {{}});
  if (feeds["{token}"]) return;  // each run of the fragment runs this script again
  const at = (element) => Number(element?.dataset.at ?? 0);
  feeds["{token}"] = setInterval(async () => {{
    const holder = document.getElementById("feed-{token}");
    if (!holder) {{  // the page moved on: the training ended or the learner left
      clearInterval(feeds["{token}"]);
      delete feeds["{token}"];
      return;
    }}
    try {{
      const response = await fetch("{FEED_URL}/{token}.html", {{cache: "no-store"}});
      if (!response.ok) return;
      const template = document.createElement("template");
      template.innerHTML = await response.text();
      const fresh = template.content.firstElementChild;
      if (at(fresh) > at(holder.firstElementChild)) holder.replaceChildren(fresh);
    }} catch {{}}  // offline for a moment: the next fetch or fragment run catches up
  }}, {int(FEED_EVERY * 1000)});
}})();
</script>"""
