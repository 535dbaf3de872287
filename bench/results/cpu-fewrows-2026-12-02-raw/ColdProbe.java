import dev.bertft.bert.BertConfig;
import dev.bertft.bert.BertForSequenceClassification;
import dev.bertft.autograd.GradMode;
import dev.bertft.tensor.DType;
import dev.bertft.tensor.Tensor;
import dev.bertft.tensor.cpu.CpuBackend;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;

/** CPU ms of the calling thread for each of the first predictions of a fresh JVM: how many batches the JIT takes. */
public class ColdProbe {
    public static void main(String[] args) throws Exception {
        int batch = Integer.parseInt(args[1]), seq = Integer.parseInt(args[2]), steps = Integer.parseInt(args[3]);
        String json = args[0].equals("bert-base")
                ? "{\"hidden_size\": 768, \"num_hidden_layers\": 12, \"num_attention_heads\": 12, \"intermediate_size\": 3072, \"vocab_size\": 30522, \"max_position_embeddings\": 512}"
                : "{\"hidden_size\": 384, \"num_hidden_layers\": 6, \"num_attention_heads\": 12, \"intermediate_size\": 1536, \"vocab_size\": 30522, \"max_position_embeddings\": 512}";
        java.nio.file.Path f = java.nio.file.Files.createTempFile("config", ".json");
        java.nio.file.Files.writeString(f, json);
        CpuBackend cpu = new CpuBackend(1);
        BertForSequenceClassification model = BertForSequenceClassification.init(BertConfig.read(f), cpu, 42);
        ThreadMXBean T = ManagementFactory.getThreadMXBean();
        long h0 = T.getCurrentThreadCpuTime();
        model.holdForPrediction();
        System.out.printf("holdForPrediction: %.0f CPU ms%n", (T.getCurrentThreadCpuTime() - h0) / 1e6);
        int[] ids = new int[batch * seq], ones = new int[batch * seq];
        for (int i = 0; i < ids.length; i++) { ids[i] = (i * 31 + 7) % 30522; ones[i] = 1; }
        Tensor x = cpu.fromHost(ids, DType.I32, batch, seq), t = cpu.fromHost(new int[ids.length], DType.I32, batch, seq), m = cpu.fromHost(ones, DType.I32, batch, seq);
        StringBuilder line = new StringBuilder("CPU ms per batch from the first:");
        try (GradMode off = GradMode.off()) {
            for (int s = 0; s < steps; s++) {
                long c0 = T.getCurrentThreadCpuTime();
                model.predictLogits(x, t, m).toFloatArray();
                line.append(String.format(" %.0f", (T.getCurrentThreadCpuTime() - c0) / 1e6));
            }
        }
        System.out.println(line);
    }
}
