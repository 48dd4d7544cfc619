"""The ``jsae-fast experiment NAME`` subcommands."""

import re

# Sphinx cross-reference roles such as :class:`name`, shown as the bare name
# in command-line help.
_ROLE = re.compile(r":[a-z]+:`([^`]+)`")


def register(subparsers):
    """Add ``experiment`` and one sub-subcommand per experiment to ``subparsers``."""
    from . import EXPERIMENTS

    parser = subparsers.add_parser(
        "experiment", help="reproduce one of the paper's experiments",
        description="Reproduce one of the JSAE paper's experiments. Each writes a raw "
                    "results CSV, a PNG figure and a markdown summary (mean ± std) to "
                    "--output; rerunning with the same options resumes from the CSV.")
    names = parser.add_subparsers(title="experiments", dest="experiment", required=True)
    for experiment in EXPERIMENTS.values():
        sub = names.add_parser(experiment.name, help=experiment.help,
                               description=_ROLE.sub(r"\1", experiment.description))
        _add_common(sub, experiment)
        experiment.add_arguments(sub)
        sub.set_defaults(handler=_handler(experiment))
    return parser


#: Default repeats of a --quick run, which checks that the pipeline runs, not
#: how accurate it is.
QUICK_REPEATS = 2


def _add_common(parser, experiment):
    parser.add_argument("--repeats", type=int, default=None,
                        help=f"repeats with different seeds (default: "
                             f"{experiment.default_repeats}, or "
                             f"{min(QUICK_REPEATS, experiment.default_repeats)} with "
                             f"--quick)")
    parser.add_argument("--jobs", type=int, default=1,
                        help="tasks run in parallel processes (default: 1)")
    parser.add_argument("--n-threads", type=int, default=None,
                        help="kernel threads per task (default: usable cores / --jobs)")
    parser.add_argument("--quick", action="store_true",
                        help="tiny models and data for a smoke test (under a minute "
                             "on 2 idle cores)")
    parser.add_argument("--data-home", default=None,
                        help="folder with the data sets (default: the JSAE_FAST_DATA "
                             "environment variable, else ~/.cache/jsae_fast)")
    parser.add_argument("--output", default=None,
                        help=f"output folder (default: results/{experiment.name})")
    parser.add_argument("--seed", type=int, default=0,
                        help="base seed; repeat r uses 1000 * seed + r (default: 0)")
    parser.add_argument("--backend", default="auto",
                        choices=("auto", "cython", "numba", "numpy"),
                        help="cost-and-gradient implementation (default: auto)")
    parser.add_argument("--no-run", action="store_true",
                        help="run no fits; rebuild the summary and figure from the CSV in "
                             "--output")
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    parser.add_argument("-v", "--verbose", action="count", default=0,
                        help="log more (-v: info, -vv: debug)")


def _handler(experiment):
    def handle(args):
        from ._base import run_experiment

        if args.repeats is None:
            args.repeats = (min(QUICK_REPEATS, experiment.default_repeats) if args.quick
                            else experiment.default_repeats)
        if args.repeats < 1:
            raise ValueError(f"--repeats must be >= 1, got {args.repeats}.")
        if args.jobs < 1:
            raise ValueError(f"--jobs must be >= 1, got {args.jobs}.")
        if args.n_threads is not None and args.n_threads < 1:
            raise ValueError(f"--n-threads must be >= 1, got {args.n_threads}.")
        summary = run_experiment(experiment, args)
        print(summary)
        return 0

    return handle
