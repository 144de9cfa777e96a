"""Errors a reader can meet when asking for data.

Each carries one sentence that says what happened and what to do next; notebooks
let them propagate so the reader sees that sentence, never a silent fallback.
"""


class DataError(RuntimeError):
    """Base class for every data_fetchers error."""


class UnknownDatasetError(DataError, KeyError):
    def __str__(self):  # KeyError would quote the message
        return self.args[0]


class InvalidModeError(DataError, ValueError):
    pass


class DownloadError(DataError):
    """The file could not be downloaded (offline, HTTP error, time-out, cut-off transfer)."""


class ChecksumMismatchError(DataError):
    """A downloaded or cached file does not have the checksum recorded in the registry."""


class UnverifiedChecksumError(DataError):
    """The registry has no checksum for this file yet, so a download could not be verified."""


class SampleGenerationError(DataError):
    pass
