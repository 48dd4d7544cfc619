"""Build script for the compiled kernels of jsae_fast.

The Cython sources in ``kernels/`` compile into the extension module
``jsae_fast._jsae_kernels``.  OpenMP is used when a test program compiles and
links with ``-fopenmp``.  Otherwise (for example with Apple clang without
libomp) the kernels build single-threaded and the build prints a warning.

Environment variables:

``JSAE_FAST_DEBUG_BUILD=1``
    Compile with Cython bounds, wraparound and initialization checks turned
    on, ``cdivision`` off, and without ``-O3``.
``JSAE_FAST_DISABLE_OPENMP=1``
    Skip OpenMP even where the compiler supports it.
"""

import os
import sys
import tempfile
import textwrap
import warnings

import numpy as np
from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

try:
    from Cython.Build import cythonize
except ImportError as exc:  # pragma: no cover - build requirement
    raise SystemExit("Cython>=3 is required to build jsae_fast") from exc


def _env_flag(name):
    return os.environ.get(name, "").strip() not in ("", "0")


DEBUG_BUILD = _env_flag("JSAE_FAST_DEBUG_BUILD")

_OPENMP_TEST_PROGRAM = textwrap.dedent(
    """\
    #include <omp.h>
    int main(void) {
        int n = 0;
        #pragma omp parallel reduction(+:n)
        n += 1;
        return n > 0 && omp_get_max_threads() > 0 ? 0 : 1;
    }
    """
)


def _compiler_supports_openmp(compiler):
    """Return True if ``compiler`` compiles and links a small OpenMP program."""
    with tempfile.TemporaryDirectory() as tmp:
        source = os.path.join(tmp, "openmp_check.c")
        with open(source, "w") as fh:
            fh.write(_OPENMP_TEST_PROGRAM)
        try:
            objects = compiler.compile(
                [source], output_dir=tmp, extra_postargs=["-fopenmp"]
            )
            compiler.link_executable(
                objects, "openmp_check", output_dir=tmp,
                extra_postargs=["-fopenmp"],
            )
        except Exception:  # CompileError, LinkError or a missing compiler
            return False
    return True


class BuildExtWithOpenMP(build_ext):
    """``build_ext`` that adds OpenMP flags when the compiler supports them."""

    def build_extensions(self):
        if _env_flag("JSAE_FAST_DISABLE_OPENMP"):
            use_openmp = False
            reason = "JSAE_FAST_DISABLE_OPENMP is set"
        elif self.compiler.compiler_type == "msvc":
            # MSVC spells the flag /openmp and needs no link flag.
            use_openmp = True
            reason = ""
        else:
            use_openmp = _compiler_supports_openmp(self.compiler)
            reason = (
                "the C compiler cannot build an OpenMP program with -fopenmp; "
                "install an OpenMP runtime (for example libomp for clang) and "
                "rebuild for multithreading"
            )
        if not use_openmp:
            message = (
                f"jsae_fast is built without OpenMP because {reason}. The "
                f"Cython kernels will run on one thread."
            )
            warnings.warn(message, stacklevel=1)
            print(f"WARNING: {message}", file=sys.stderr)
        for ext in self.extensions:
            if self.compiler.compiler_type == "msvc":
                ext.extra_compile_args += ["/O2"] + (["/openmp"] if use_openmp else [])
                continue
            if not DEBUG_BUILD:
                # No -march=native: wheels must run on any CPU of the platform.
                ext.extra_compile_args += ["-O3"]
            # The kernels never read floating-point exception flags.  Without
            # this flag GCC keeps each comparison or multiplication that might
            # raise one behind a branch, so it cannot vectorize the sigmoid
            # loops.  The flag does not change any result.
            ext.extra_compile_args += ["-fno-trapping-math"]
            if use_openmp:
                ext.extra_compile_args += ["-fopenmp"]
                ext.extra_link_args += ["-fopenmp"]
        super().build_extensions()


def _extensions():
    return [
        Extension(
            "jsae_fast._jsae_kernels",
            ["kernels/_jsae_kernels.pyx"],
            include_dirs=[np.get_include(), "kernels"],
            depends=["kernels/_jsae_math.h"],
            define_macros=[("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION")],
        )
    ]


setup(
    ext_modules=cythonize(
        _extensions(),
        compiler_directives={
            "language_level": 3,
            "boundscheck": DEBUG_BUILD,
            "wraparound": DEBUG_BUILD,
            "initializedcheck": DEBUG_BUILD,
            "cdivision": not DEBUG_BUILD,
        },
    ),
    cmdclass={"build_ext": BuildExtWithOpenMP},
)
