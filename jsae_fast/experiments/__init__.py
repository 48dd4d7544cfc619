"""Reproductions of the JSAE paper's experiments (Wang and Song 2019).

Each experiment is a subcommand of ``jsae-fast experiment``:

* ``train-size``: MNIST accuracy against 1500-4000 training images.
* ``penalty-sweep``: MNIST accuracy over sparsity and Jacobian weights.
* ``iterations``: MNIST accuracy against 250-750 L-BFGS iterations.
* ``pendigits``: Pen digits, random halves and the official split.
* ``usps``: USPS, official split.
* ``tune``: validation search for penalty weights on a training set.
* ``beyond``: stacked, fine-tuned JSAE configurations chosen on validation data.

Every run writes a raw CSV (resumable), a PNG figure and a markdown summary.
Hyperparameters are chosen on training data only.
"""

from ._base import Experiment, run_experiment
from .beyond import Beyond
from .digits import Pendigits, Tune, Usps
from .mnist import Iterations, PenaltySweep, TrainSize

#: Name to experiment instance, in the order of the paper's figures.
EXPERIMENTS = {e.name: e for e in (TrainSize(), PenaltySweep(), Iterations(), Pendigits(),
                                    Usps(), Tune(), Beyond())}

__all__ = ["EXPERIMENTS", "Experiment", "run_experiment"]
