"""The `cms-hep-tutorial-2012` dataset's sample: ``sample`` generates it (its ``RECIPE``), and
``realism`` compares it with the real dataset."""
