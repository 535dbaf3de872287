import dev.bertft.bert.BertConfig;
import dev.bertft.bert.BertForSequenceClassification;
import dev.bertft.autograd.GradMode;
import dev.bertft.tensor.DType;
import dev.bertft.tensor.Tensor;
import dev.bertft.tensor.cpu.CpuBackend;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.util.Arrays;
import java.util.Map;

/** Per-thread CPU ms of one prediction, a plain model and a held one alternated in one JVM. */
public class HeldProbe {
    public static void main(String[] args) throws Exception {
        String shape = args[0];
        int batch = Integer.parseInt(args[1]), seq = Integer.parseInt(args[2]), warm = Integer.parseInt(args[3]), rounds = Integer.parseInt(args[4]);
        int threads = Integer.parseInt(args[5]);
        String json = shape.equals("bert-base")
                ? "{\"hidden_size\": 768, \"num_hidden_layers\": 12, \"num_attention_heads\": 12, \"intermediate_size\": 3072, \"vocab_size\": 30522, \"max_position_embeddings\": 512}"
                : "{\"hidden_size\": 384, \"num_hidden_layers\": 6, \"num_attention_heads\": 12, \"intermediate_size\": 1536, \"vocab_size\": 30522, \"max_position_embeddings\": 512}";
        java.nio.file.Path f = java.nio.file.Files.createTempFile("config", ".json");
        java.nio.file.Files.writeString(f, json);
        BertConfig c = BertConfig.read(f);
        CpuBackend cpu = new CpuBackend(threads);
        BertForSequenceClassification plain = BertForSequenceClassification.init(c, cpu, 42), held = BertForSequenceClassification.init(c, cpu, 42);
        plain.setTraining(false);
        held.holdForPrediction();
        int[] ids = new int[batch * seq], ones = new int[batch * seq];
        for (int i = 0; i < ids.length; i++) { ids[i] = (i * 31 + 7) % 30522; ones[i] = 1; }
        Tensor x = cpu.fromHost(ids, DType.I32, batch, seq), t = cpu.fromHost(new int[ids.length], DType.I32, batch, seq), m = cpu.fromHost(ones, DType.I32, batch, seq);
        ThreadMXBean T = ManagementFactory.getThreadMXBean();
        double[][] ms = new double[2][rounds], wall = new double[2][rounds];
        try (GradMode off = GradMode.off()) {
            for (int w = 0; w < warm; w++) { plain.predictLogits(x, t, m); held.predictLogits(x, t, m); }
            float[] a = plain.predictLogits(x, t, m).toFloatArray(), b = held.predictLogits(x, t, m).toFloatArray();
            System.out.println("same bits: " + Arrays.equals(a, b));
            for (int r = 0; r < rounds; r++) {
                for (int v = 0; v < 2; v++) {
                    BertForSequenceClassification model = v == 0 ? plain : held;
                    long c0 = T.getCurrentThreadCpuTime(), w0 = System.nanoTime();
                    model.predictLogits(x, t, m).toFloatArray();
                    ms[v][r] = (T.getCurrentThreadCpuTime() - c0) / 1e6;
                    wall[v][r] = (System.nanoTime() - w0) / 1e6;
                }
            }
        }
        double flop = 2.0 * batch * seq * (c.numHiddenLayers() * (4.0 * c.hiddenSize() * c.hiddenSize() + 2.0 * c.hiddenSize() * c.intermediateSize()));
        double[] ratio = new double[rounds], wratio = new double[rounds];
        for (int r = 0; r < rounds; r++) { ratio[r] = ms[1][r] / ms[0][r]; wratio[r] = wall[1][r] / wall[0][r]; }
        Arrays.sort(ratio);
        Arrays.sort(wratio);
        double[] w0 = wall[0].clone(), w1 = wall[1].clone();
        Arrays.sort(w0);
        Arrays.sort(w1);
        System.out.printf("held/plain per round, median: CPU %.3f (quartiles %.3f-%.3f), wall %.3f (quartiles %.3f-%.3f); wall ms median plain %.1f held %.1f%n",
                ratio[rounds / 2], ratio[rounds / 4], ratio[3 * rounds / 4], wratio[rounds / 2], wratio[rounds / 4], wratio[3 * rounds / 4], w0[rounds / 2], w1[rounds / 2]);
        for (int v = 0; v < 2; v++) {
            double[] s = ms[v].clone();
            Arrays.sort(s);
            System.out.printf("%s %s %dx%d threads %d: main-thread CPU ms median %.1f (min %.1f, max %.1f), Linear GFLOP per CPU-s at the median %.0f%n",
                    v == 0 ? "plain" : "held ", shape, batch, seq, threads, s[s.length / 2], s[0], s[s.length - 1], flop / s[s.length / 2] / 1e6);
        }
    }
}
