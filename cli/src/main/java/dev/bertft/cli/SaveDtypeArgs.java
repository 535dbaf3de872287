package dev.bertft.cli;

import dev.bertft.tensor.DType;
import picocli.CommandLine.Option;

import java.util.Locale;
import java.util.Map;

/** --save-dtype: the type of the saved model's weights. */
final class SaveDtypeArgs {
    private static final Map<String, DType> TYPES = Map.of("float32", DType.F32, "bfloat16", DType.BF16, "float16", DType.F16);

    @Option(names = "--save-dtype", defaultValue = "float32", paramLabel = "float32|bfloat16|float16",
            description = "The type of the final model.safetensors (config.json's torch_dtype says it); checkpoints stay float32"
                    + " so --resume is exact. Default: ${DEFAULT-VALUE}, as Hugging Face saves.")
    String saveDtype;

    DType dtype() {
        DType t = TYPES.get(saveDtype.toLowerCase(Locale.ROOT));
        if (t == null) throw new IllegalArgumentException("--save-dtype must be float32, bfloat16 or float16, got '" + saveDtype + "'");
        return t;
    }
}
