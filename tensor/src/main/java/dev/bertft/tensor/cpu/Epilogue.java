package dev.bertft.tensor.cpu;

import dev.bertft.tensor.Simd;

/**
 * The elementwise step a layer applies to a product next, done by the product itself to each
 * block of C's rows once its last block of k is complete, while the block is still in cache,
 * instead of in a second pass over a C that has left it. Each step is the same float operations
 * in the same order as the separate op, so the result has that op's bits.
 *
 * <p>Element (i, j) of C is at c[cOff + i·ldc + j]; every other matrix an epilogue reads or
 * writes is indexed by the same (i, j), from its own offset and row stride, and a bias by j.
 */
sealed interface Epilogue {
    /** Applies the step to rows i0..i1, columns j0..j1 of C, whose last block of k is done. */
    void apply(float[] c, int cOff, int ldc, int i0, int i1, int j0, int j1);

    /** The same step for the block of C whose element (0, 0) is this one's (rows, cols). */
    Epilogue shifted(int rows, int cols);

    /** Throws, before anything is written, when an m×n product's step would go outside its arrays. */
    void check(int m, int n);

    /**
     * C(i, j) += b[j]: a Linear layer's x·Wᵀ + b. Plain loops ({@link RowKernels#addRows}), not the Vector
     * API: inlined into the product's loop its vectors were boxed (1.8 GB allocated per MiniLM
     * training step), and as a pass of its own (session 15) it tipped the GELU and softmax kernels
     * of 4 JVMs in 7 into their boxed Java fallback (363 MB a MiniLM 8×128 step, those steps 5–15 %
     * slower).
     */
    record Bias(float[] b, int bOff) implements Epilogue {
        @Override
        public void apply(float[] c, int cOff, int ldc, int i0, int i1, int j0, int j1) {
            RowKernels.addRows(c, cOff, ldc, b, bOff, 0, c, cOff, ldc, i0, i1, j0, j1);
        }

        @Override
        public Epilogue shifted(int rows, int cols) {
            return new Bias(b, bOff + cols);
        }

        @Override
        public void check(int m, int n) {
            checkVector("bias", b, bOff, n);
        }
    }

    /**
     * y(i, j) = GELU(C(i, j) + b[j]), C left as it is or overwritten when y is C: BERT's
     * intermediate layer, GELU(x·Wᵀ + b), as {@link CpuBackend#biasGelu} computes it from the
     * product. With {@code derivative}, C(i, j) = GELU'(C(i, j) + b[j]) as well (y apart from C),
     * what the backward multiplies its gradient by ({@link Mul}): the same float operations as
     * {@link BiasGeluGrad} takes, so the backward's bits are those of taking it there.
     */
    record BiasGelu(float[] b, int bOff, float[] y, int yOff, int ldy, boolean derivative) implements Epilogue {
        @Override
        public void apply(float[] c, int cOff, int ldc, int i0, int i1, int j0, int j1) {
            RowKernels.addRows(c, cOff, ldc, b, bOff, 0, y, yOff, ldy, i0, i1, j0, j1);
            for (int i = i0; i < i1; i++) {
                int row = yOff + i * ldy, cRow = cOff + i * ldc;
                if (Simd.AVAILABLE) {
                    if (derivative) SimdGelu.forward(y, row + j0, y, row + j0, c, cRow + j0, j1 - j0);
                    else SimdGelu.forward(y, row + j0, y, row + j0, j1 - j0);
                    continue;
                }
                for (int j = j0; j < j1; j++) {
                    float z = y[row + j];
                    if (derivative) c[cRow + j] = Special.geluGradFast(z);
                    y[row + j] = Special.geluFast(z);
                }
            }
        }

        @Override
        public Epilogue shifted(int rows, int cols) {
            return new BiasGelu(b, bOff + cols, y, yOff + rows * ldy + cols, ldy, derivative);
        }

        @Override
        public void check(int m, int n) {
            checkVector("bias", b, bOff, n);
            checkMatrix("GELU output", y, yOff, ldy, m, n);
        }
    }

    /**
     * out(i, j) = C(i, j)·GELU'(P(i, j) + b[j]), out possibly C: the gradient at GELU's input when
     * C is the gradient at its output, P the product of x·Wᵀ + b that fed it (as
     * {@link CpuBackend#biasGeluBackward} computes it from C).
     */
    record BiasGeluGrad(float[] b, int bOff, float[] p, int pOff, int ldp, float[] out, int outOff, int ldo) implements Epilogue {
        /** Each thread's row of P + b, the argument of GELU', grown on demand. */
        private static final ThreadLocal<float[]> ARGUMENT = ThreadLocal.withInitial(() -> new float[0]);

        @Override
        public void apply(float[] c, int cOff, int ldc, int i0, int i1, int j0, int j1) {
            float[] arg = ARGUMENT.get();
            if (arg.length < j1) ARGUMENT.set(arg = new float[j1]);
            for (int i = i0; i < i1; i++) {
                int gRow = cOff + i * ldc, outRow = outOff + i * ldo;
                RowKernels.addRows(p, pOff + i * ldp, 0, b, bOff, 0, arg, 0, 0, 0, 1, j0, j1);
                if (Simd.AVAILABLE) {
                    SimdGelu.backward(arg, j0, c, gRow + j0, out, outRow + j0, j1 - j0);
                } else {
                    for (int j = j0; j < j1; j++) out[outRow + j] = c[gRow + j] * Special.geluGradFast(arg[j]);
                }
            }
        }

        @Override
        public Epilogue shifted(int rows, int cols) {
            return new BiasGeluGrad(b, bOff + cols, p, pOff + rows * ldp + cols, ldp, out, outOff + rows * ldo + cols, ldo);
        }

        @Override
        public void check(int m, int n) {
            checkVector("bias", b, bOff, n);
            checkMatrix("GELU input", p, pOff, ldp, m, n);
            checkMatrix("GELU gradient", out, outOff, ldo, m, n);
        }
    }

    /**
     * C(i, j) = C(i, j)·X(i, j): the gradient dz·W at GELU's output times the GELU' that
     * {@link BiasGelu} saved, the gradient at GELU's input.
     */
    record Mul(float[] x, int xOff, int ldx) implements Epilogue {
        @Override
        public void apply(float[] c, int cOff, int ldc, int i0, int i1, int j0, int j1) {
            RowKernels.mulRows(c, cOff, ldc, x, xOff, ldx, i0, i1, j0, j1);
        }

        @Override
        public Epilogue shifted(int rows, int cols) {
            return new Mul(x, xOff + rows * ldx + cols, ldx);
        }

        @Override
        public void check(int m, int n) {
            checkMatrix("factor", x, xOff, ldx, m, n);
        }
    }

    /**
     * C(i, j) += X(i, j): the gradient a product makes added to the one its value has collected
     * already (a Linear's dX onto the residual's), with the bits of X + C computed apart.
     */
    record Add(float[] x, int xOff, int ldx) implements Epilogue {
        @Override
        public void apply(float[] c, int cOff, int ldc, int i0, int i1, int j0, int j1) {
            RowKernels.addRows(c, cOff, ldc, x, xOff, ldx, c, cOff, ldc, i0, i1, j0, j1);
        }

        @Override
        public Epilogue shifted(int rows, int cols) {
            return new Add(x, xOff + rows * ldx + cols, ldx);
        }

        @Override
        public void check(int m, int n) {
            checkMatrix("addend", x, xOff, ldx, m, n);
        }
    }

    private static void checkVector(String name, float[] v, int off, int n) {
        if (off < 0 || (long) off + n > v.length) {
            throw new IndexOutOfBoundsException("gemm: " + name + " of " + n + " from " + off + ", array has " + v.length);
        }
    }

    private static void checkMatrix(String name, float[] a, int off, int ld, int m, int n) {
        if (off < 0 || ld < n || (long) off + (long) (m - 1) * ld + n > a.length) {
            throw new IndexOutOfBoundsException("gemm: " + name + " " + m + "x" + n + " (ld " + ld + ", offset " + off + ") does not fit an array of "
                    + a.length);
        }
    }
}
