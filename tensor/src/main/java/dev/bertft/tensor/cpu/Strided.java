package dev.bertft.tensor.cpu;

/**
 * Walking a strided view row by row: a "row" is one run along the last axis. Everything else
 * (broadcast operands, transposed inputs) becomes a base offset per row plus a stride.
 */
final class Strided {
    private Strided() {}

    /** Number of rows (product of all but the last dim); 1 for a scalar. */
    static int rows(int[] shape) {
        int r = 1;
        for (int d = 0; d < shape.length - 1; d++) r *= shape[d];
        return r;
    }

    /** Length of a row (the last dim); 1 for a scalar. */
    static int rowLength(int[] shape) {
        return shape.length == 0 ? 1 : shape[shape.length - 1];
    }

    /** Storage offset of the first element of row {@code row}. */
    static int rowBase(int row, int[] shape, int[] strides, int offset) {
        int base = offset;
        for (int d = shape.length - 2; d >= 0; d--) {
            int i = row % shape[d];
            row /= shape[d];
            base += i * strides[d];
        }
        return base;
    }

    /** Stride along the last axis; 0 for a scalar. */
    static int innerStride(int[] strides) {
        return strides.length == 0 ? 0 : strides[strides.length - 1];
    }
}
