"""Fits the two polynomials behind SimdGelu's float erf and prints them as Java code.

erf(z) for z in [0, END), in two pieces, both evaluated for every lane and blended:
  [0, SPLIT):    erf(z) = z * P(z^2)     odd, so exact at 0 and relative-accurate near it
  [SPLIT, END):  erf(z) = Q(z - MID)     centred, well conditioned
Least squares on Chebyshev nodes in float64; the report evaluates in float32 as the Java does
(Horner, one fused multiply-add a step: float64 holds the product of two floats exactly, and the
sum is rounded twice, which differs from the FMA's single rounding only on rare ties). Past END
float's erf is 1.
Run: /usr/bin/python3 tensor/src/test/python/fit_erf.py
"""
import math
import numpy as np

SPLIT, END = 1.2, 3.9  # float erf(z) rounds to 1 from about 3.83 on
MID = (SPLIT + END) / 2
P_DEGREE, Q_DEGREE = 7, 12
erf = np.vectorize(math.erf)


def nodes(lo, hi, n=5000):
    return np.cos(np.pi * (np.arange(n) + 0.5) / n) * (hi - lo) / 2 + (hi + lo) / 2


def horner32(coefs, v):
    acc = np.full_like(v, np.float32(coefs[-1]))
    for c in coefs[-2::-1]:
        acc = (acc.astype(np.float64) * v.astype(np.float64) + np.float64(np.float32(c))).astype(np.float32)
    return acc


def powers(v, degree):
    return np.vstack([v ** i for i in range(degree + 1)]).T


z = nodes(0, SPLIT)
ratio = erf(z) / z
weight = 1 / ratio  # fit the relative error of erf
p = np.linalg.lstsq(powers(z * z, P_DEGREE) * weight[:, None], ratio * weight, rcond=None)[0].astype(np.float32)
z = nodes(SPLIT, END)
q = np.linalg.lstsq(powers(z - MID, Q_DEGREE), erf(z), rcond=None)[0].astype(np.float32)

zt = np.linspace(0, SPLIT, 200001, dtype=np.float32)[1:]
got = (horner32(p, (zt * zt).astype(np.float32)) * zt).astype(np.float32)
want = erf(zt.astype(np.float64))
print(f"// [0, {SPLIT}): max abs error {np.max(np.abs(got - want)):.1e}, max rel error {np.max(np.abs(got - want) / want):.1e}")
zt = np.linspace(SPLIT, END, 200001, dtype=np.float32)
got = horner32(q, (zt - np.float32(MID)).astype(np.float32))
print(f"// [{SPLIT}, {END}): max abs error {np.max(np.abs(got - erf(zt.astype(np.float64)))):.1e}")

# Horner with the coefficients as literals: C2 folds constants into the loop, while loads from a
# float[] would be repeated every iteration (the loop's stores to float arrays might alias them)
for name, coefs, var in (("small", p, "u"), ("large", q, "t")):
    print(f"FloatVector {name} = FloatVector.broadcast(F, {float(coefs[-1])!r}f);")
    for c in coefs[-2::-1]:
        print(f"{name} = {name}.fma({var}, FloatVector.broadcast(F, {float(c)!r}f));")
