/*
 * Branch-free exponential of a non-positive argument, for the sigmoids of the
 * jsae_fast kernels.
 *
 * libm's exp and expf are function calls, so a loop that calls them cannot be
 * vectorized.  For the 7.84 million decoder activations of (m, n) =
 * (10000, 784), the scalar calls took 26 ms (expf) and 41 ms (exp) on a
 * 2-core AMD EPYC, 11 to 15% of the time of the five matrix products on one
 * thread.  These inline versions use only arithmetic, a rounding trick and
 * integer shifts, so GCC 12 vectorizes the calling loops at -O3 for baseline
 * x86-64 (SSE2), as -fopt-info-vec reports.
 *
 * Method (Cody and Waite range reduction): write t = k ln2 + r with integer
 * k = round(t / ln2) and |r| <= ln2 / 2, evaluate e^r with its Taylor
 * polynomial in Horner form, and multiply by 2^k built from its IEEE bits.
 * The polynomial degree is the smallest whose truncation error at
 * |r| = ln2 / 2 is below half an ulp: degree 7 for float (5e-9) and degree 13
 * for double (4e-18).  Arguments below the clamp (-87 for float, -708 for
 * double) return e^clamp, about 1.6e-38 and 3.3e-308, instead of a subnormal
 * or zero.  The absolute error there is below that value.
 *
 * The rounding trick x + 1.5 * 2^p - 1.5 * 2^p rounds x to an integer in the
 * default rounding mode, so these functions must not be compiled with
 * -ffast-math, which may fold the two constants away.
 */
#ifndef JSAE_MATH_H
#define JSAE_MATH_H

#include <stdint.h>
#include <string.h>

static inline float jsae_exp_nonpos_f(float t)
{
    const float log2e = 1.44269504088896341f;
    /* ln 2 split so that k * ln2_hi is exact for |k| < 2^8. */
    const float ln2_hi = 0.693145751953125f;
    const float ln2_lo = 1.42860682030941723212e-6f;
    const float shift = 12582912.0f; /* 1.5 * 2^23 */
    float kf, r, p, scale;
    uint32_t bits;

    t = t < -87.0f ? -87.0f : t;
    kf = t * log2e + shift;
    memcpy(&bits, &kf, sizeof bits);
    kf -= shift;
    r = t - kf * ln2_hi;
    r = r - kf * ln2_lo;
    p = 1.0f / 5040.0f;
    p = p * r + 1.0f / 720.0f;
    p = p * r + 1.0f / 120.0f;
    p = p * r + 1.0f / 24.0f;
    p = p * r + 1.0f / 6.0f;
    p = p * r + 0.5f;
    p = p * r + 1.0f;
    p = p * r + 1.0f;
    /* The low 9 bits of the shifted sum hold k in two's complement, so
     * shifting them into the exponent field and adding the bias gives 2^k. */
    bits = (bits << 23) + (127u << 23);
    memcpy(&scale, &bits, sizeof scale);
    return p * scale;
}

static inline double jsae_exp_nonpos_d(double t)
{
    const double log2e = 1.4426950408889634074;
    /* ln 2 split so that k * ln2_hi is exact for |k| < 2^11. */
    const double ln2_hi = 6.93147180369123816490e-01;
    const double ln2_lo = 1.90821492927058770002e-10;
    const double shift = 6755399441055744.0; /* 1.5 * 2^52 */
    double kd, r, p, scale;
    uint64_t bits;

    t = t < -708.0 ? -708.0 : t;
    kd = t * log2e + shift;
    memcpy(&bits, &kd, sizeof bits);
    kd -= shift;
    r = t - kd * ln2_hi;
    r = r - kd * ln2_lo;
    p = 1.0 / 6227020800.0;
    p = p * r + 1.0 / 479001600.0;
    p = p * r + 1.0 / 39916800.0;
    p = p * r + 1.0 / 3628800.0;
    p = p * r + 1.0 / 362880.0;
    p = p * r + 1.0 / 40320.0;
    p = p * r + 1.0 / 5040.0;
    p = p * r + 1.0 / 720.0;
    p = p * r + 1.0 / 120.0;
    p = p * r + 1.0 / 24.0;
    p = p * r + 1.0 / 6.0;
    p = p * r + 0.5;
    p = p * r + 1.0;
    p = p * r + 1.0;
    bits = (bits << 52) + ((uint64_t) 1023 << 52);
    memcpy(&scale, &bits, sizeof scale);
    return p * scale;
}

#endif /* JSAE_MATH_H */
