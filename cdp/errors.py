"""Typed errors of the CDP layer: each carries a message a user can act on."""


class CdpError(Exception):
    """Base class for every error the CDP raises on purpose."""


class FilterError(CdpError, ValueError):
    """An audience filter names an unknown field, a bad operator or a value of the wrong type."""


class UnknownProfileError(CdpError, LookupError):
    """No profile matches the id or identifier that was asked for."""


class UnknownSegmentError(CdpError, LookupError):
    """A segment id that does not exist in this CDP."""


class UnknownCampaignError(CdpError, LookupError):
    """A campaign id that does not exist in this CDP."""


class ImportRowError(CdpError, ValueError):
    """A row of an import file is invalid; nothing of that file was written."""

    def __init__(self, line: int, message: str):
        super().__init__(f"line {line}: {message}")
        self.line = line


class CdpUnavailableError(CdpError, OSError):
    """The database file cannot be written (read-only, disk full) or stays locked."""
