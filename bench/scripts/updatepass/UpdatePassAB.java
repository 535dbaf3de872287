import java.lang.reflect.Method;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.file.Path;

/**
 * Runs UpdatePass from two bert-ft jars in one JVM, alternated round by round, and prints the
 * median process CPU time and wall time per pass of each: java UpdatePassAB classes before-classpath
 * after-classpath threads rounds-per-measure measures (each classpath jars or folders joined by ':').
 */
public final class UpdatePassAB {
    public static void main(String[] args) throws Exception {
        URL classes = Path.of(args[0]).toUri().toURL();
        int threads = Integer.parseInt(args[3]), rounds = Integer.parseInt(args[4]), measures = Integer.parseInt(args[5]);
        Object[] pass = new Object[2];
        Method[] run = new Method[2];
        for (int j = 0; j < 2; j++) {
            String[] jars = args[1 + j].split(":");
            URL[] urls = new URL[jars.length + 1];
            urls[0] = classes;
            for (int k = 0; k < jars.length; k++) urls[k + 1] = Path.of(jars[k]).toUri().toURL();
            var loader = new URLClassLoader(urls, ClassLoader.getPlatformClassLoader());
            Class<?> c = loader.loadClass("UpdatePass");
            pass[j] = c.getConstructor(int.class).newInstance(threads);
            run[j] = c.getMethod("run", int.class);
        }
        long[][][] got = new long[2][measures][];
        for (int i = -2; i < measures; i++) {
            for (int j = 0; j < 2; j++) {
                long[] r = (long[]) run[j].invoke(pass[j], rounds);
                if (i >= 0) got[j][i] = r;
            }
        }
        for (int j = 0; j < 2; j++) {
            double[] cpu = new double[measures], wall = new double[measures], alloc = new double[measures];
            for (int i = 0; i < measures; i++) {
                cpu[i] = got[j][i][0] / 1e6 / rounds;
                wall[i] = got[j][i][1] / 1e6 / rounds;
                alloc[i] = got[j][i][2] / 1e3 / rounds;
            }
            java.util.Arrays.sort(cpu);
            java.util.Arrays.sort(wall);
            java.util.Arrays.sort(alloc);
            System.out.printf("%s: CPU %.1f ms/pass (min %.1f, max %.1f), wall %.1f ms/pass (min %.1f), %.1f kB allocated/pass%n",
                    args[1 + j], cpu[measures / 2], cpu[0], cpu[measures - 1], wall[measures / 2], wall[0],
                    alloc[measures / 2]);
        }
    }
}
