"""The project's own errors and the exit codes they map to.

Every error that can reach a user is a ``DeprovisionError``; the CLI prints
``Error: <message>`` on stderr and exits with ``exit_code``. Nothing else
(no traceback) reaches the user unless ``--debug`` is given.
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_FAILURE = 1  # failure talking to the org, partial failure, verify found leftovers
EXIT_INVALID = 2  # invalid input: usage, playbook, plan file
EXIT_CHANGES = 3  # plan --detailed-exitcode found changes
EXIT_STALE = 4  # a saved plan no longer matches the org


class DeprovisionError(Exception):
    """Base of every error shown to a user as one ``Error:`` line."""

    exit_code = EXIT_FAILURE

    def __init__(self, message: str, *, details: list[str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details or []


class InvalidInputError(DeprovisionError):
    """Bad input from the user: usage, playbook, variables, plan file."""

    exit_code = EXIT_INVALID


class PlaybookError(InvalidInputError):
    """A playbook that cannot be used; ``details`` holds one line per problem."""


class OrgError(DeprovisionError):
    """A failure talking to the org, carrying Salesforce's error code when there is one."""

    def __init__(
        self,
        message: str,
        *,
        error_code: str | None = None,
        status: int | None = None,
        record_id: str | None = None,
        details: list[str] | None = None,
    ) -> None:
        super().__init__(message, details=details)
        self.error_code = error_code
        self.status = status
        self.record_id = record_id


class StalePlanError(DeprovisionError):
    """A saved plan whose rows moved in the org since it was made."""

    exit_code = EXIT_STALE
