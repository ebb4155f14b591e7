"""The one exception hierarchy of stancekit.

Every error the library raises on purpose derives from `StancekitError`; the message is one line
naming the file and, where there is one, the location. Most are in one of two branches:

- `InputError`: an input cannot be used (unreadable, malformed, not of the expected shape, or
  naming something the taxonomy does not have).
- `CheckFailed`: the input was read, and a check refused it (the exports have validation errors,
  a release would overwrite another, the changes need another version bump).

Two kinds sit beside them, directly under `StancekitError`: `labelstudio.LabelStudioError`, the
Label Studio server or its API misbehaved (not our input, not our check); and
`release.Unchanged`, raised by `release.build(bump=...)` when the inputs give the latest release
again: an answer, not a failure (`stancekit release` prints it and exits 0).

The library never knows about exit codes: the CLI alone maps these classes to them
(`stancekit.cli.exit_code`: an input error 2, anything else 1).
"""

from __future__ import annotations


class StancekitError(Exception):
    """Base of every error stancekit raises on purpose; the message is one line."""


class InputError(StancekitError, ValueError):
    """An input cannot be used: unreadable, malformed, or not of the expected shape."""


class CheckFailed(StancekitError):
    """The input was read and a check refused it."""


class ReleaseError(StancekitError):
    """A release cannot be built, verified or found (one of the kinds below)."""


class ReleaseInputError(ReleaseError, InputError):
    """An input of the release, a release directory or its manifest cannot be read or used."""


class ReleaseNotFound(ReleaseInputError, FileNotFoundError):
    """There is no such release (or none at all) where it was looked for; the message says where."""


class ReleaseRefused(ReleaseError, CheckFailed):
    """The inputs were read and the release is refused: validation errors in the exports or
    predictions, gold that does not fit the documents, an existing version, or the wrong bump."""
