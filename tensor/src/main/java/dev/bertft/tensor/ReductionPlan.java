package dev.bertft.tensor;

/**
 * How every backend lays out a reduction: the kept axes first, the reduced ones last, so each of
 * the {@code outer} output elements reduces one run of {@code inner} inputs of
 * {@code x.permute(perm)}.
 *
 * @param perm     kept axes in order, then reduced axes in order
 * @param outer    number of output elements (product of the kept sizes)
 * @param inner    inputs per output element (product of the reduced sizes)
 * @param outShape the result's shape, with reduced axes as 1 (keepDims) or dropped
 */
public record ReductionPlan(int[] perm, int outer, int inner, int[] outShape) {

    /** @param axes sorted, distinct axes to reduce over */
    public static ReductionPlan of(int[] shape, int[] axes, boolean keepDims) {
        boolean[] reduced = new boolean[shape.length];
        for (int a : axes) reduced[a] = true;
        int[] perm = new int[shape.length];
        int k = 0;
        for (int d = 0; d < shape.length; d++) if (!reduced[d]) perm[k++] = d;
        int kept = k;
        for (int d = 0; d < shape.length; d++) if (reduced[d]) perm[k++] = d;
        int outer = 1, inner = 1;
        for (int i = 0; i < kept; i++) outer *= shape[perm[i]];
        for (int i = kept; i < perm.length; i++) inner *= shape[perm[i]];
        int[] outShape = new int[keepDims ? shape.length : kept];
        for (int d = 0, j = 0; d < shape.length; d++) {
            if (keepDims) outShape[d] = reduced[d] ? 1 : shape[d];
            else if (!reduced[d]) outShape[j++] = shape[d];
        }
        return new ReductionPlan(perm, outer, inner, outShape);
    }

    /** True when the reduced axes are exactly the leading ones (a bias gradient's sum over rows). */
    public static boolean leadingAxes(int[] axes) {
        return axes[axes.length - 1] == axes.length - 1;
    }

    /** The permutation that moves {@code axis} to the end, keeping the others in order (argmax). */
    public static int[] axisLast(int rank, int axis) {
        int[] perm = new int[rank];
        for (int i = 0, j = 0; i < rank; i++) if (i != axis) perm[j++] = i;
        perm[rank - 1] = axis;
        return perm;
    }
}
