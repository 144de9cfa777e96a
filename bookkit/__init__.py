"""The book's own machinery, apart from what the lessons teach (that is ``hepml``).

- ``stats``: the measured execution figures (``book/_data/execution-stats.json``), read and formatted;
- ``pages``: what the pages render from them (each lesson's header, the Execution statistics page);
- ``school``: planning a school (lesson slots, programmes, hub capacity, instructor notes);
- ``preflight``: the go/no-go check of a platform before a school (``python -m bookkit.preflight``);
- ``sphinx_outputs``: a Sphinx extension (progress bars shown as their final line).

It sits above both the lesson library and the data layer (it reads the registry and the samples);
neither imports it. A lesson's only use of it is its header cell, ``execution_figures``.
"""
