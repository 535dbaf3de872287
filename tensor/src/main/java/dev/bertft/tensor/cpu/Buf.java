package dev.bertft.tensor.cpu;

/**
 * Element access in double precision over a float[] or double[]. The reference kernels are
 * written once against it and serve both F32 and F64 (the JIT inlines both subclasses at a
 * call site); hot F32 paths have their own float kernels.
 */
abstract sealed class Buf permits Buf.F32, Buf.F64 {
    abstract double get(int i);

    abstract void set(int i, double v);

    static Buf of(Object array) {
        if (array instanceof float[] f) return new F32(f);
        if (array instanceof double[] d) return new F64(d);
        throw new IllegalArgumentException("not a floating array: " + array.getClass().getSimpleName());
    }

    static final class F32 extends Buf {
        final float[] a;

        F32(float[] a) {
            this.a = a;
        }

        @Override
        double get(int i) {
            return a[i];
        }

        @Override
        void set(int i, double v) {
            a[i] = (float) v;
        }
    }

    static final class F64 extends Buf {
        final double[] a;

        F64(double[] a) {
            this.a = a;
        }

        @Override
        double get(int i) {
            return a[i];
        }

        @Override
        void set(int i, double v) {
            a[i] = v;
        }
    }
}
