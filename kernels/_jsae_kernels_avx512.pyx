# cython: language_level=3
"""Fused JSAE loss-and-gradient kernel, built with AVX-512 (F, DQ, VL) and FMA.

Importing this module on a CPU without those instructions may crash the
process with an illegal instruction, so only ``jsae_fast._cython_backend``
imports it, after checking the CPU.  The code and its design note are in
``_jsae_kernels_impl.pxi``, shared with the other builds.
"""

include "_jsae_kernels_impl.pxi"
