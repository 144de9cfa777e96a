"""A web server on 127.0.0.1 for the tests that download, mirror, check links or browse the site."""

from __future__ import annotations

import contextlib
import functools
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer


class QuietFileHandler(SimpleHTTPRequestHandler):
    """Serves a directory's files without logging each request to stderr."""

    def log_message(self, *args):
        pass


@contextlib.contextmanager
def serve(handler=QuietFileHandler, directory=None):
    """Serve with ``handler`` (given ``directory``, a file-serving handler serves that directory)
    on a free port; yields the base URL and shuts the server down afterwards."""
    if directory is not None:
        handler = functools.partial(handler, directory=str(directory))
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()
