package dev.bertft.bert;

import dev.bertft.autograd.GradMode;
import dev.bertft.autograd.Var;
import dev.bertft.tensor.DType;
import dev.bertft.tensor.Tensor;
import dev.bertft.tensor.cpu.CpuBackend;

import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The last MiniLM layer for a [CLS]-reading head, B × T = 32 × 128, in one JVM, alternated: "rows"
 * is session 6's layer (full attention, then the output projection and FFN for the [CLS] rows),
 * "query" this branch's (query and attention for the [CLS] rows too). Process CPU time per call,
 * forward + backward (train, dropout on) or forward alone (predict), so the machine's load matters
 * less than for wall time. Run: java --add-modules jdk.incubator.vector -cp after.jar:. dev.bertft.bert.LastLayerAB
 */
public final class LastLayerAB {
    public static void main(String[] args) throws Exception {
        CpuBackend cpu = new CpuBackend(2);
        Path config = Files.createTempFile("minilm", ".json");  // the jar's Jackson is shaded: read the shape from a file
        Files.writeString(config, "{\"hidden_size\": 384, \"num_hidden_layers\": 6, \"num_attention_heads\": 12, \"intermediate_size\": 1536}");
        BertForSequenceClassification model = BertForSequenceClassification.init(BertConfig.read(config), cpu, 1);
        BertLayer last = model.bert.encoder.layer.get(5);
        int b = 32, t = 128;
        Tensor x0 = cpu.normal(DType.F32, new int[] {b, t, 384}, 0, 1, 5, 0), mask = cpu.zeros(DType.F32, b, t);
        Tensor up = cpu.normal(DType.F32, new int[] {b, 384}, 0, 1, 6, 0);
        com.sun.management.OperatingSystemMXBean os = (com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean();
        for (boolean train : new boolean[] {true, false}) {
            last.setTraining(train);
            double[] sum = new double[2];
            int rounds = 12, warm = 4;
            for (int r = 0; r < rounds + warm; r++) {
                for (int side = 0; side < 2; side++) {
                    long c0 = os.getProcessCpuTime();
                    Var x = Var.parameter(x0);
                    if (train) {
                        (side == 0 ? rows(last, x, mask) : last.forwardCls(x, mask)).backward(up);
                    } else {
                        try (GradMode off = GradMode.off()) {
                            if (side == 0) rows(last, x, mask);
                            else last.forwardCls(x, mask);
                        }
                    }
                    if (r >= warm) sum[side] += (os.getProcessCpuTime() - c0) / 1e6;
                }
            }
            System.out.printf("%s: last layer, process CPU ms per call, mean of %d alternated: rows (session 6) %.1f, query (clsattn) %.1f, saved %.1f%n",
                    train ? "train (forward + backward)" : "predict (forward)", rounds, sum[0] / rounds, sum[1] / rounds, (sum[0] - sum[1]) / rounds);
        }
    }

    /** Session 6's last layer: every query row's attention, the rest for the [CLS] rows. */
    private static Var rows(BertLayer l, Var x, Tensor mask) {
        Var attended = l.attention.output.forwardCls(l.attention.self.forward(x, mask).select(1, 0), x);
        Var cls = attended.select(1, 0);
        return l.output.forwardCls(l.intermediate.forward(cls), attended).select(1, 0);
    }
}
