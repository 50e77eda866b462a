"""The errors staff and auditors see: one clear line in Chinese and English, and an exit code each.

Raised by the service layer and the commands; the command line turns them into its exit codes
(``yuqing.console``): 1 refused, 2 usage, 3 unreachable.
"""

from __future__ import annotations


class YuqingError(Exception):
    """Something asked for cannot be done; ``str()`` is the message to show. Exit code 1."""

    exit_code = 1


class Rejected(YuqingError):
    """The system refused the request (a rule, a closed incident, a report the workflow refuses)."""


class UnknownIncident(Rejected):
    pass


class IncidentExists(Rejected):
    pass


class UsageError(YuqingError):
    """The command line is wrong. Exit code 2."""

    exit_code = 2


class Unreachable(YuqingError):
    """The server cannot be reached, or nothing answered in time. Exit code 3."""

    exit_code = 3


class Unconfirmed(Unreachable):
    """A report was sent but its filing was not confirmed in time; the same command can be run again
    (it reuses the report id, so the report is never filed twice)."""
