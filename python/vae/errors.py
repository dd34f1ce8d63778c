"""The exceptions `vae` raises. Every one is a `vae.Error`, and also the built-in exception its
kind is, so `except ValueError` and `except FileNotFoundError` work as they do elsewhere."""


class Error(Exception):
    """Every error the toolkit raises."""


class InvalidInputError(Error, ValueError):
    """A bad shape, dtype or value (NaN, outside [0, 1]), option or configuration."""


class NotFittedError(InvalidInputError):
    """A model asked to encode, decode, sample or save before it was fitted or loaded."""


class NotFoundError(Error, FileNotFoundError):
    """A run directory or data file that does not exist."""


class IOError(Error, OSError):
    """A file that could not be read or written, or a download that failed."""


class BadFileError(Error, ValueError):
    """A file that is not what it should be: truncated, corrupt, of the wrong kind."""


class RunLockedError(Error, RuntimeError):
    """Another process trains into the same run directory."""


class DivergedError(Error, ArithmeticError):
    """Training produced a loss or gradient that is not finite; the last checkpoint is kept."""


class StoppedError(Error, RuntimeError):
    """Training was stopped before its end; the last finished epoch is kept."""
