"""The one exception hierarchy of privstats.

Every error privstats raises on purpose is a ``PrivstatsError``; the CLI prints its message on
one line and exits non-zero, so messages must be complete sentences that never carry an
identifier, a raw input line, a password or the key::

    PrivstatsError
    ├── ConfigError              the configuration file or an option is invalid
    ├── KeyMissingError          no pseudonymisation key where one is needed
    ├── InputError               an input cannot be read or does not fit its declared format
    │   ├── FormatMismatchError  not one line matched the format
    │   └── TooManyBadLinesError the quarantine ratio exceeded --max-bad-ratio
    ├── SourceError              a database source failed (connection, table, column)
    ├── StoreError               the store is locked, damaged or asked for something absent
    │   └── NoDataError          a question without data: no store, unknown partner, empty period
    ├── DisclosureError          a table cannot be protected or fails its audit
    ├── ReportError              a report notebook failed or its parameters are wrong
    │   └── ParameterError       an unknown, misspelt or mistyped report parameter
    └── GateError                the reviewer's gate refused a release
"""

from __future__ import annotations


class PrivstatsError(Exception):
    """Base of every error privstats raises on purpose."""

    exit_code = 1


class ConfigError(PrivstatsError):
    """The configuration file or a command-line option is invalid."""

    exit_code = 2


class KeyMissingError(PrivstatsError):
    """A command that pseudonymises found no secret key."""

    exit_code = 2


class InputError(PrivstatsError):
    """An input cannot be read, or its content does not fit its declared format."""


class FormatMismatchError(InputError):
    """Not one line of an input matched the declared format."""


class TooManyBadLinesError(InputError):
    """The share of quarantined lines exceeded the allowed ratio; nothing was written."""


class SourceError(PrivstatsError):
    """A database source failed: connection, authentication, a missing table or column."""


class StoreError(PrivstatsError):
    """The store is locked by another process, damaged, or lacks what was asked for."""


class NoDataError(StoreError):
    """A question without data to answer it: no store, a partner neither the store nor the
    configuration knows, a period the store holds nothing of. Never an empty table marked PASS.

    A usage error (exit 2): the command was pointed at the wrong folder, partner or period.
    """

    exit_code = 2


class DisclosureError(PrivstatsError):
    """A table cannot be protected, or it fails the independent audit."""


class ReportError(PrivstatsError):
    """A report notebook failed, or the report cannot be written."""


class ParameterError(ReportError):
    """A report parameter is unknown, misspelt or of the wrong type."""

    exit_code = 2


class GateError(PrivstatsError):
    """The reviewer's gate refused to release an artefact."""
