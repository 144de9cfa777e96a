"""The lesson library: code the lessons teach and share (DESIGN.md: one importable place).

A lesson teaches in its own cells; what it has taught and what a later lesson needs again lives
here, tested: the datasets' formats, readers and physics formulas (``trackml``, ``calo``, ``higgsml``,
``hlf``, ``zboson``), a chapter's models and training code once its first lesson has taught them
(``tracking``, ``calogan``, ``fpga``), and the first cell of every lesson (``lesson``, ``plotting``,
``batch`` for a lesson on a Slurm farm).

It is the bottom layer: the data layer (``data_fetchers``) uses its formats and formulas to write
the samples, and the book's machinery (``bookkit``) sits above both. Nothing here imports either.
"""
