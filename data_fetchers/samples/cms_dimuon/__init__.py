"""The `cms-dimuon-2012` dataset's sample: ``sample`` generates it (its ``RECIPE``), and
``realism`` compares it with the real dataset."""
