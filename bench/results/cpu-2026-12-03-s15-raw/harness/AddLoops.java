package dev.bertft.tensor.cpu;
/** Scratch (session 15): which plain add loops C2 vectorises, ns per element, one thread. */
public class AddLoops {
    static void offsets(float[] c, int row, float[] b, int bOff, int n) { for (int j = 0; j < n; j++) c[row + j] += b[bOff + j]; }
    static void zero(float[] c, float[] b, int n) { for (int j = 0; j < n; j++) c[j] += b[j]; }
    static void rowOnly(float[] c, int row, float[] b, int n) { for (int j = 0; j < n; j++) c[row + j] += b[j]; }
    public static void main(String[] args) {
        float[] c = new float[144 * 1152], b = new float[1152];
        for (int rep = 0; rep < 4; rep++) {
            long t0 = System.nanoTime();
            for (int it = 0; it < 2000; it++) for (int i = 0; i < 144; i++) offsets(c, i * 1152, b, 0, 576);
            long t1 = System.nanoTime();
            for (int it = 0; it < 2000; it++) for (int i = 0; i < 144; i++) zero(c, b, 576);
            long t2 = System.nanoTime();
            for (int it = 0; it < 2000; it++) for (int i = 0; i < 144; i++) rowOnly(c, i * 1152, b, 576);
            long t3 = System.nanoTime();
            double n = 2000.0 * 144 * 576;
            System.out.printf("offsets %.3f, zero %.3f, rowOnly %.3f ns/el%n", (t1 - t0) / n, (t2 - t1) / n, (t3 - t2) / n);
        }
    }
}
