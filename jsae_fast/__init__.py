"""Fast CPU training of Jacobian-regularized sparse autoencoders (JSAE).

The JSAE cost adds a KL sparsity penalty and the squared Frobenius norm of the
encoder's Jacobian to a sigmoid autoencoder with weight decay.  For a sigmoid
encoder that norm reduces to ``sum_j (h_j (1 - h_j))^2 ||W_j||^2``, so the whole
cost and its gradient take O(m n s) time.  ``jsae_fast`` computes them with
fused, multithreaded Cython and Numba kernels, trains with L-BFGS, gradient
descent or Adam, and classifies the learned codes with a softmax classifier.
"""

import logging

from . import augment, datasets, reference
from ._backends import backends, loss_and_grad
from ._gradcheck import check_gradient
from ._model import init_params
from .api import decode, encode
from .estimators import (
    Autoencoder,
    ContractiveAutoencoder,
    JacobianSparseAutoencoder,
    SparseAutoencoder,
)
from .persistence import load_model, save_model
from .softmax import SoftmaxClassifier
from .stacked import StackedAutoencoderClassifier
from .trainer import Trainer, TrainingResult

__version__ = "0.1.0"

__all__ = [
    "Autoencoder",
    "ContractiveAutoencoder",
    "JacobianSparseAutoencoder",
    "SoftmaxClassifier",
    "SparseAutoencoder",
    "StackedAutoencoderClassifier",
    "Trainer",
    "TrainingResult",
    "augment",
    "backends",
    "check_gradient",
    "datasets",
    "decode",
    "encode",
    "init_params",
    "load_model",
    "loss_and_grad",
    "reference",
    "save_model",
]

logging.getLogger(__name__).addHandler(logging.NullHandler())
