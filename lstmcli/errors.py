"""The one exception type that reaches the user.

Library code raises :class:`LstmError` (or a subclass) with a message of one line that
names the problem and the fix; the CLI prints it and exits with status 1. Anything else
that escapes is a bug.
"""


class LstmError(Exception):
    """A problem the user can fix: bad input, a missing file, an incompatible model."""


class CheckpointError(LstmError):
    """A model file that is missing, corrupt, foreign or incompatible."""


class DataError(LstmError):
    """Text that cannot be read, decoded or tokenized into anything useful."""
