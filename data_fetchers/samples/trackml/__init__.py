"""The `trackml-2018` dataset's sample: ``sample`` generates it (its ``RECIPE``) in the detector
layout that ``geometry`` builds from the real ``detectors.csv``, and ``realism`` compares it with
the real dataset."""
