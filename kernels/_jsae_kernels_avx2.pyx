# cython: language_level=3
"""Fused JSAE loss-and-gradient kernel, built with ``-mavx2 -mfma``.

Importing this module on a CPU without AVX2 and FMA may crash the process
with an illegal instruction, so only ``jsae_fast._cython_backend`` imports
it, after checking the CPU.  The code and its design note are in
``_jsae_kernels_impl.pxi``, shared with the baseline build.
"""

include "_jsae_kernels_impl.pxi"
