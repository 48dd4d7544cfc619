"""Build script for the compiled kernels of jsae_fast.

``kernels/_vector_ops.pyx`` compiles into ``jsae_fast._vector_ops``, the
multithreaded vector passes of the L-BFGS optimizer.  The kernel source
``kernels/_jsae_kernels_impl.pxi`` compiles into up to three extension
modules.  ``jsae_fast._jsae_kernels`` uses only the platform's baseline
instructions (no ``-march``), so a wheel runs on any CPU of its platform.
``jsae_fast._jsae_kernels_avx2`` is the same code compiled with ``-mavx2
-mfma`` and ``jsae_fast._jsae_kernels_avx512`` with AVX-512 (F, DQ, VL) as
well; ``jsae_fast._cython_backend`` imports the widest one that the CPU
supports.  A wider module is built only when the compiler accepts its flags
and compiles its intrinsics (x86-64 with GCC or clang).  Otherwise the build
prints a message and continues without it.

OpenMP is used when a test program compiles and links with ``-fopenmp``.
Otherwise (for example with Apple clang without libomp) the kernels build
single-threaded and the build prints a warning.

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


#: Extra builds of the kernel for wider x86-64 vector units, mapped from the
#: module name to the compiler flags.  Each needs its own .pyx in kernels/.
_SIMD_VARIANTS = {
    "jsae_fast._jsae_kernels_avx2": ["-mavx2", "-mfma"],
    "jsae_fast._jsae_kernels_avx512": ["-mavx512f", "-mavx512dq", "-mavx512vl",
                                       "-mavx2", "-mfma"],
}

# Compiled (never run, since the build machine may lack the instructions) to
# check that the compiler targets x86-64 and accepts a variant's flags and
# intrinsics.
_SIMD_TEST_PROGRAMS = {
    "jsae_fast._jsae_kernels_avx2": textwrap.dedent(
        """\
        #include <immintrin.h>
        int main(void) {
            __m256i k = _mm256_add_epi32(_mm256_set1_epi32(1), _mm256_set1_epi32(2));
            __m256 x = _mm256_set1_ps(1.0f);
            x = _mm256_fmadd_ps(x, x, x);
            return _mm256_movemask_epi8(k) == 0 && _mm256_cvtss_f32(x) == 2.0f ? 0 : 1;
        }
        """
    ),
    "jsae_fast._jsae_kernels_avx512": textwrap.dedent(
        """\
        #include <immintrin.h>
        int main(void) {
            __m512 x = _mm512_fmadd_ps(_mm512_set1_ps(1.0f), _mm512_set1_ps(2.0f),
                                       _mm512_set1_ps(3.0f));
            __m512d d = _mm512_cvtps_pd(_mm256_set1_ps(1.0f));
            __m256 h = _mm512_extractf32x8_ps(x, 1);
            __mmask8 k = _mm256_cmp_ps_mask(h, h, _CMP_EQ_OQ);
            return _mm512_reduce_add_ps(x) > 0.0f && _mm512_reduce_add_pd(d) > 0.0
                   && k == 0xff ? 0 : 1;
        }
        """
    ),
}


def _compiles(compiler, program, flags, link):
    """Return True if ``compiler`` compiles ``program`` with ``flags``.

    With ``link`` true the object must also link into an executable.
    """
    with tempfile.TemporaryDirectory() as tmp:
        source = os.path.join(tmp, "check.c")
        with open(source, "w") as fh:
            fh.write(program)
        try:
            objects = compiler.compile(
                [source], output_dir=tmp, extra_postargs=flags
            )
            if link:
                compiler.link_executable(
                    objects, "check", output_dir=tmp, extra_postargs=flags
                )
        except Exception:  # CompileError, LinkError or a missing compiler
            return False
    return True


def _warn(message):
    # pip hides the output of a successful build unless run with -v, so
    # jsae_fast.backends() also reports a build without OpenMP at run time.
    warnings.warn(message, stacklevel=2)
    print(f"WARNING: {message}", file=sys.stderr)


class BuildExtWithOpenMP(build_ext):
    """``build_ext`` that adds OpenMP and SIMD flags the compiler supports."""

    def finalize_options(self):
        super().finalize_options()
        # The extensions are independent; compiling them side by side cuts
        # the install time on machines with more than one core.
        if not self.parallel:
            self.parallel = os.cpu_count() or 1

    def build_extensions(self):
        if _env_flag("JSAE_FAST_DISABLE_OPENMP"):
            use_openmp = False
            reason = "JSAE_FAST_DISABLE_OPENMP is set"
        elif self.compiler.compiler_type == "msvc":
            # MSVC spells the flag /openmp and needs no link flag.
            use_openmp = True
            reason = ""
        else:
            use_openmp = _compiles(
                self.compiler, _OPENMP_TEST_PROGRAM, ["-fopenmp"], link=True
            )
            reason = (
                "the C compiler cannot build an OpenMP program with -fopenmp; "
                "install an OpenMP runtime (for example libomp for clang) and "
                "rebuild for multithreading"
            )
        if not use_openmp:
            _warn(
                f"jsae_fast is built without OpenMP because {reason}. The "
                f"Cython kernels will run on one thread."
            )
        self._drop_unsupported_simd_variants()
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
            ext.extra_compile_args += _SIMD_VARIANTS.get(ext.name, [])
            if use_openmp:
                ext.extra_compile_args += ["-fopenmp"]
                ext.extra_link_args += ["-fopenmp"]
        super().build_extensions()

    def _drop_unsupported_simd_variants(self):
        """Remove the SIMD variants that this compiler cannot build."""
        kept = []
        for ext in self.extensions:
            flags = _SIMD_VARIANTS.get(ext.name)
            if flags is None:
                kept.append(ext)
                continue
            if self.compiler.compiler_type == "msvc":
                reason = "its flags are written for GCC and clang, not MSVC"
            elif not _compiles(
                self.compiler, _SIMD_TEST_PROGRAMS[ext.name], flags, link=False
            ):
                reason = (
                    f"the C compiler rejects {' '.join(flags)} or the "
                    f"intrinsics they enable (it does not target x86-64)"
                )
            else:
                kept.append(ext)
                continue
            # Not a warning: the baseline module covers every CPU.
            print(
                f"jsae_fast: skipping the optional extension {ext.name} "
                f"because {reason}; the baseline kernel is built as usual.",
                file=sys.stderr,
            )
        self.extensions[:] = kept


def _extensions():
    common = dict(
        include_dirs=[np.get_include(), "kernels"],
        depends=["kernels/_jsae_kernels_impl.pxi", "kernels/_jsae_math.h"],
        define_macros=[("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION")],
    )
    extensions = [
        Extension("jsae_fast._jsae_kernels", ["kernels/_jsae_kernels.pyx"], **common),
        Extension("jsae_fast._vector_ops", ["kernels/_vector_ops.pyx"],
                  include_dirs=[np.get_include()],
                  define_macros=common["define_macros"]),
    ]
    for name in _SIMD_VARIANTS:
        source = "kernels/" + name.rpartition(".")[2] + ".pyx"
        # optional=True: if compiling it still fails, setuptools prints the
        # error and the build goes on with the baseline module.
        extensions.append(Extension(name, [source], optional=True, **common))
    return extensions


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
