"""Fits the polynomial behind SimdGelu's float Φ and prints it as Java code.

For z = |x|/√2 ≥ 0, erfc(z) = t · R(t) · e^(−z²) with t = 1/(1 + P·z): R is smooth on t in (0, 1]
(R(0⁺) = P/√π, since erfc(z)·e^(z²)·√π·z → 1), so a polynomial fits it well, and e^(−z²) = e^(−x²/2)
is the Gaussian density's exponential, which GELU's backward needs anyway. Then
  Φ(x) = erfc(z)/2 for x < 0, 1 − erfc(z)/2 for x ≥ 0,
which keeps Φ relative-accurate in the negative tail (no 1 − erf cancellation there).
Least squares on Chebyshev nodes in t over z in [0, Z_MAX] (past it e^(−z²) underflows float),
minimising the relative error of erfc. The report evaluates Φ and GELU in float32 as the Java does:
Horner with one rounding a step, e^(−x²/2) rounded to float, the products rounded each.
Run (numpy needed): python3 tensor/src/test/python/fit_erf.py
"""
import math
import numpy as np

P, DEGREE, Z_MAX = 0.47, 8, 9.3
erfc = np.vectorize(math.erfc)
f32 = np.float32


def horner32(coefs, v):
    acc = np.full_like(v, f32(coefs[-1]))
    for c in coefs[-2::-1]:
        acc = (acc.astype(np.float64) * v.astype(np.float64) + np.float64(f32(c))).astype(f32)
    return acc


n = 6000
t_min = 1 / (1 + P * Z_MAX)
t = np.cos(np.pi * (np.arange(n) + 0.5) / n) * (1 - t_min) / 2 + (1 + t_min) / 2
z = (1 / t - 1) / P
r = erfc(z) * np.exp(z * z) / t
powers = np.vstack([t ** i for i in range(DEGREE + 1)]).T
coefs = np.linalg.lstsq(powers / r[:, None], np.ones_like(r), rcond=None)[0].astype(f32)

x = np.linspace(-13, 13, 400001).astype(f32)
density = np.exp(f32(-0.5) * x * x).astype(f32)
tx = (f32(1) / (f32(1) + f32(P) * (np.abs(x) * f32(math.sqrt(0.5))))).astype(f32)
half_erfc = (((tx * horner32(coefs, tx)).astype(f32) * density).astype(f32) * f32(0.5)).astype(f32)
phi = np.where(x >= 0, f32(1) - half_erfc, half_erfc).astype(f32)
xd = x.astype(np.float64)
want = 0.5 * erfc(-xd / math.sqrt(2))
gelu = (x * phi).astype(f32)
tail = xd < -1
print(f"// Φ: max abs error {np.max(np.abs(phi - want)):.1e}; relative below x = −1: {np.max(np.abs(phi - want)[tail] / want[tail]):.1e}")
print(f"// GELU: max error / max(1, |x|) {np.max(np.abs(gelu - xd * want) / np.maximum(1, np.abs(xd))):.1e}")
# Horner with the coefficients as literals: C2 folds constants into the loop, while loads from a
# float[] would be repeated every iteration (the loop's stores to float arrays might alias them)
print(f"FloatVector r = FloatVector.broadcast(F, {float(coefs[-1])!r}f);")
for c in coefs[-2::-1]:
    print(f"r = r.fma(t, FloatVector.broadcast(F, {float(c)!r}f));")
