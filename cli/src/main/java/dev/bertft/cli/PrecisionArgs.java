package dev.bertft.cli;

import dev.bertft.autograd.Precision;
import dev.bertft.cuda.CudaBackend;
import dev.bertft.tensor.Backend;
import picocli.CommandLine.Option;

/** --bf16, --fp16 and --tf32, Hugging Face's precision arguments, shared by the commands that compute. */
final class PrecisionArgs {
    @Option(names = "--bf16", arity = "0..1", fallbackValue = "true", paramLabel = "true|false",
            description = "Autocast as HF's bf16=True: every matrix product in bfloat16 with float32 sums; weights, gradients,"
                    + " optimizer state, LayerNorm, softmax and the loss stay float32. GPU only (compute capability 8.0+).")
    boolean bf16;

    @Option(names = "--fp16", arity = "0..1", fallbackValue = "true", paramLabel = "true|false",
            description = "The same in float16, training with dynamic loss scaling (torch.cuda.amp.GradScaler). GPU only.")
    boolean fp16;

    @Option(names = "--tf32", arity = "1", paramLabel = "true|false",
            description = "Whether the GPU's float32 products may round their operands to TF32 (true) or multiply in IEEE float32"
                    + " (false, PyTorch's default). A plain GPU run uses TF32; the CPU always computes IEEE float32.")
    Boolean tf32;

    /**
     * The precision these flags ask for on {@code backend}, which is set up for it (TF32 or IEEE
     * float32 products); what the backend cannot do is refused before anything is loaded.
     */
    Precision resolve(Backend backend) {
        if (bf16 && fp16) throw new IllegalArgumentException("--bf16 and --fp16: give one");
        boolean gpu = backend instanceof CudaBackend;
        if ((bf16 || fp16) && !gpu) {
            throw new IllegalArgumentException((bf16 ? "--bf16" : "--fp16") + ": the CPU computes in float32 only (its GEMM has no"
                    + " half-precision units to gain from); half precision runs on a CUDA GPU (--device cuda)");
        }
        if (Boolean.TRUE.equals(tf32) && !gpu) throw new IllegalArgumentException("--tf32 true: TF32 needs a CUDA GPU (compute capability 8.0+)");
        boolean useTf32 = gpu && (tf32 == null || tf32);
        if (gpu) ((CudaBackend) backend).useTf32(useTf32);
        return bf16 ? Precision.BF16 : fp16 ? Precision.FP16 : useTf32 ? Precision.TF32 : Precision.FP32;
    }
}
