# cython: language_level=3
"""Fused JSAE loss-and-gradient kernel, built for the platform's baseline CPU.

This build runs on every CPU of the platform.  The code and its design note
are in ``_jsae_kernels_impl.pxi``, shared with the AVX2 build.
"""

include "_jsae_kernels_impl.pxi"
