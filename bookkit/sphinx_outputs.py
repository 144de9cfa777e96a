"""Sphinx extension: a notebook's text streams appear on the website as a terminal would leave them.

A progress bar (tqdm) writes its state again and again, each time after a carriage return; a
kernel sends these as separate stream outputs. myst-nb renders every one as its own grey box, or
(with ``nb_merge_streams``) joins them with a newline after each, so a 14-step bar became up to 24
boxes or 14 lines. Here the chunks of each stream are joined as written, then every line keeps
only what follows its last carriage return: one final progress line, as the reader's own terminal
or JupyterLab shows once the cell has run. Outputs left empty (a lone newline) are dropped.

myst-nb has no hook for this: the extension replaces the function that its ``nb_merge_streams``
option calls (``myst_nb.core.render.coalesce_streams``, myst-nb 1.4, pinned). If a new myst-nb
moves it, ``setup`` raises, and tests/test_book.py says so, instead of the bars silently returning.
"""

from __future__ import annotations

import re

_BACKSPACE = re.compile(r"[^\n]\x08")


def terminal_text(text: str) -> str:
    """``text`` as a terminal shows it: each line keeps what follows its last carriage return
    (a carriage return ending a line, as tqdm's close writes, erases nothing), backspaces
    erase the character before them, and trailing blank lines go."""
    while _BACKSPACE.search(text):
        text = _BACKSPACE.sub("", text)
    lines = []
    for line in text.split("\n"):
        parts = [p for p in line.split("\r") if p]
        lines.append(parts[-1] if parts else "")
    return "\n".join(lines).strip("\n") + "\n"


def terminal_streams(outputs: list) -> list:
    """One output per stream name (stderr, stdout), at the place of its first chunk, holding
    what a terminal would show; stream outputs with nothing visible are dropped."""
    merged, streams = [], {}
    for output in outputs:
        if output["output_type"] != "stream":
            merged.append(output)
        elif output["name"] in streams:
            streams[output["name"]]["text"] += output["text"]
        else:
            output = output.copy()
            streams[output["name"]] = output
            merged.append(output)
    for output in streams.values():
        output["text"] = terminal_text(output["text"])
    return [o for o in merged if o["output_type"] != "stream" or o["text"].strip()]


def setup(app):
    import myst_nb.core.render as render

    if not hasattr(render, "coalesce_streams"):
        raise RuntimeError("myst_nb.core.render.coalesce_streams is gone (a new myst-nb?): "
                           "bookkit.sphinx_outputs must be adapted, or progress bars return as boxes")
    render.coalesce_streams = terminal_streams  # called for every cell: _config.yml sets nb_merge_streams
    return {"parallel_read_safe": True, "parallel_write_safe": True}
