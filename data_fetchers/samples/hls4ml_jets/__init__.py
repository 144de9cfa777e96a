"""The `hls4ml-lhc-jets-hlf` dataset's sample: ``sample`` generates it (its ``RECIPE``), and
``realism`` compares it with the real dataset."""
