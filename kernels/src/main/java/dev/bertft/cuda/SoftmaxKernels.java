package dev.bertft.cuda;

import dev.bertft.tensor.Tensor;

import static dev.bertft.cuda.Launches.THREADS;
import static dev.bertft.cuda.Launches.rowThreads;
import static dev.bertft.cuda.Launches.suffix;

/**
 * The launches of softmax.cu: one block per row of the last axis (up to 256 threads, a multiple of
 * 32, so the block reductions' {@code scratch[32]} holds a value per warp), for softmax, its
 * backward and cross-entropy, whose mean one more block takes over the row losses in order.
 */
final class SoftmaxKernels {
    private final Launches l;

    SoftmaxKernels(Launches launches) {
        this.l = launches;
    }

    /** Softmax (or log-softmax when {@code log}) of {@code rows} contiguous rows of {@code len}. */
    void softmax(Tensor in, Tensor out, int rows, int len, boolean log) {
        if (rows > 0 && len > 0) {
            l.ops.launch("softmax_" + suffix(in.dtype()), l.rowGrid(rows), 1, 1, rowThreads(len), 1, l.ptr(in), l.ptr(out), rows, len, log ? 1 : 0);
        }
    }

    void softmaxBackward(Tensor y, Tensor dy, Tensor out, int rows, int len, boolean log) {
        if (rows > 0 && len > 0) {
            l.ops.launch("softmax_backward_" + suffix(y.dtype()), l.rowGrid(rows), 1, 1, rowThreads(len), 1,
                    l.ptr(y), l.ptr(dy), l.ptr(out), rows, len, log ? 1 : 0);
        }
    }

    /** Each row's loss into {@code rowLoss}, then their mean over the rows whose label counts into {@code out} (the kernel counts them). */
    void crossEntropy(Tensor logits, Tensor labels, Tensor rowLoss, Tensor out, int rows, int classes, int ignoreIndex, double smoothing) {
        String t = suffix(logits.dtype());
        if (rows > 0) {
            l.ops.launch("cross_entropy_rows_" + t, l.rowGrid(rows), 1, 1, rowThreads(classes), 1,
                    l.ptr(logits), l.ptr(labels), l.ptr(rowLoss), rows, classes, ignoreIndex, smoothing);
        }
        l.ops.launch("mean_of_rows_" + t, 1, 1, 1, THREADS, 1, l.ptr(rowLoss), l.ptr(labels), l.ptr(out), rows, ignoreIndex);
    }

    void crossEntropyBackward(Tensor logits, Tensor labels, Tensor dLoss, Tensor out, int rows, int classes, int ignoreIndex,
                              double smoothing) {
        if (rows > 0 && classes > 0) {
            l.ops.launch("cross_entropy_backward_" + suffix(logits.dtype()), l.rowGrid(rows), 1, 1, rowThreads(classes), 1,
                    l.ptr(logits), l.ptr(labels), l.ptr(dLoss), l.ptr(out), rows, classes, ignoreIndex, smoothing);
        }
    }
}
