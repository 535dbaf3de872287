package dev.bertft.tensor.cpu;
import java.util.*;
/** Scratch (session 15): Epilogue.Bias.apply over a 144x576 block of C (ldc 1152), one thread, ns per element. */
public class EpiBench {
    public static void main(String[] args) {
        float[] c = new float[144 * 1152], b = new float[1152];
        Random r = new Random(1);
        for (int i = 0; i < c.length; i++) c[i] = r.nextFloat();
        for (int i = 0; i < b.length; i++) b[i] = r.nextFloat() * 1e-6f;
        Epilogue e = new Epilogue.Bias(b, 0);
        for (int rep = 0; rep < 5; rep++) {
            long t0 = System.nanoTime();
            for (int i = 0; i < 2000; i++) e.apply(c, 0, 1152, 0, 144, 0, 576);
            long t = System.nanoTime() - t0;
            System.out.printf("bias: %.3f ns/element%n", t / (2000.0 * 144 * 576));
        }
    }
}
