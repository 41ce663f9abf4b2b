"""helpers: the tested versions of everything the notebooks build.

Importing it prints nothing, seeds nothing, downloads nothing and does not import ipywidgets;
the widget playground lives in ``helpers.ui`` and is imported on its own.
"""

from . import (
    analysis,
    checks,
    engine,
    errors,
    figures,
    images,
    losses,
    normalization,
    objective,
    optim,
    options,
    presentation,
    pyramid,
    runtime,
    units,
    vgg,
)
from .checks import *  # noqa: F401,F403
from .engine import *  # noqa: F401,F403
from .errors import *  # noqa: F401,F403
from .figures import *  # noqa: F401,F403
from .images import *  # noqa: F401,F403
from .losses import *  # noqa: F401,F403
from .runtime import *  # noqa: F401,F403
from .vgg import *  # noqa: F401,F403

__version__ = "0.1.0"

__all__ = (
    checks.__all__
    + engine.__all__
    + errors.__all__
    + figures.__all__
    + images.__all__
    + losses.__all__
    + runtime.__all__
    + vgg.__all__
)

from .realtime import adjustable_stylize, fast_stylize, multistyle_stylize, style_embedding  # noqa: E402

__all__ += ["adjustable_stylize", "fast_stylize", "multistyle_stylize", "style_embedding"]
