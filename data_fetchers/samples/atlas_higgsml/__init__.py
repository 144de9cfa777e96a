"""The `atlas-higgsml-2014` dataset's sample: ``sample`` generates it (its ``RECIPE``), and
``realism`` compares it with the real dataset."""
