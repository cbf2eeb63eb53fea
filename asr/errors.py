"""Exceptions whose message is shown to the user as-is, without a traceback."""


class UserError(Exception):
    """A problem the user can fix: bad config, bad input, missing file."""


class AudioError(UserError):
    """An audio file that cannot be used; the message is the reason."""


class TextError(UserError):
    """A transcript that cannot be normalised (a number too long to say); the message is the reason."""
