package dev.bertft.cuda;

import dev.bertft.tensor.Tensor;
import jcuda.driver.CUdeviceptr;

import static dev.bertft.cuda.Launches.THREADS;
import static dev.bertft.cuda.Launches.suffix;

/**
 * The launches of random.cu: each thread draws eight dropout decisions (16 bits each, one Philox
 * block in a whole mask), 32 of attention's as bits, or one Philox block of four normal samples, so
 * the grids cover n / 8, n / 32 and n / 4 threads:
 * the streams the CPU backend draws element for element. A dropout draw's offset is {@code offset}
 * plus the 64-bit start the kernel reads at {@code start} (see {@link StepGraphs#philoxStart}).
 */
final class RandomKernels {
    private final Launches l;

    RandomKernels(Launches launches) {
        this.l = launches;
    }

    void dropoutMask(Tensor out, double p, long seed, CUdeviceptr start, long offset) {
        dropoutMask(out, out.numel(), out.numel(), p, seed, start, offset);
    }

    /** out [B, NH, Tq, T]: the first Tq rows of each [T, T] head block of the mask drawn for [B, NH, T, T], and only those drawn. */
    void attentionDropoutMask(Tensor out, double p, long seed, CUdeviceptr start, long offset) {
        int tq = out.size(2), t = out.size(3);
        dropoutMask(out, (long) tq * t, (long) t * t, p, seed, start, offset);
    }

    /**
     * bits, ⌈t/32⌉ words for each of the {@code rows} = B·NH·Tq query rows: the kept elements of
     * {@link #attentionDropoutMask}'s mask as bits, the CPU backend's attention dropoutBits.
     */
    void attentionKeepBits(Tensor bits, long rows, int tq, int t, double p, long seed, CUdeviceptr start, long offset) {
        long words = rows * ((t + 31) / 32);
        if (words > 0) {
            l.ops.launch("dropout_bits_attention", l.grid(words), 1, 1, THREADS, 1, l.ptr(bits), rows, tq, t, (float) p, seed, start, offset);
        }
    }

    /** out's element e: the draw of stream element (e / drawn)·period + e % drawn. */
    private void dropoutMask(Tensor out, long drawn, long period, double p, long seed, CUdeviceptr start, long offset) {
        long n = out.numel();
        if (n > 0) {
            l.ops.launch("dropout_mask_" + suffix(out.dtype()), l.grid((n + 7) / 8), 1, 1, THREADS, 1, l.ptr(out), n, drawn, period,
                    (float) p, 1.0 / (1.0 - p), seed, start, offset);
        }
    }

    void normal(Tensor out, double mean, double std, long seed, long offset) {
        long n = out.numel();
        if (n > 0) l.ops.launch("normal_" + suffix(out.dtype()), l.grid((n + 3) / 4), 1, 1, THREADS, 1, l.ptr(out), n, mean, std, seed, offset);
    }
}
