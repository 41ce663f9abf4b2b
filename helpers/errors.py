"""Exceptions raised by `helpers`, each with a message that names what went wrong and what to do."""

__all__ = [
    "HelpersError",
    "ImageError",
    "WeightsUnavailableError",
    "ImageTooSmallError",
    "NonFiniteLossError",
    "DeviceMemoryError",
]


class HelpersError(Exception):
    """Base class of every error raised on purpose by `helpers`."""


class ImageError(HelpersError, ValueError):
    """An image file could not be read: the message names the file and the reason."""


class WeightsUnavailableError(HelpersError, RuntimeError):
    """Network weights could not be loaded: the message says what to do instead."""


class ImageTooSmallError(HelpersError, ValueError):
    """An image is smaller than the deepest VGG layer asked for can take."""


class NonFiniteLossError(HelpersError, FloatingPointError):
    """The loss became NaN or infinite during an optimisation."""


class DeviceMemoryError(HelpersError, MemoryError):
    """The device ran out of memory at a given image size."""
