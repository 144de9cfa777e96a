"""The `calochallenge-2022-ds1` dataset's sample: ``sample`` generates it (its ``RECIPE``), and
``realism`` compares it with the real dataset."""
