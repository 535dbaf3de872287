package dev.bertft.autograd;

import com.fasterxml.jackson.databind.JsonNode;
import dev.bertft.tensor.Backend;
import dev.bertft.tensor.DType;
import dev.bertft.tensor.Tensor;
import dev.bertft.tensor.cpu.CpuBackend;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Forward values and gradients against PyTorch 1.13 (fixtures from src/test/python/make_fixtures.py,
 * references computed by torch in float64 from float32 inputs). The float32 path must meet float32
 * tolerances: forward rtol 1e-5 / atol 1e-6, gradients rtol 1e-4 (atol 1e-6); the float64 path,
 * which shares no kernel with the float32 one for most ops, must agree to 1e-10. Every case runs
 * twice: on contiguous inputs and on the same values as strided views.
 */
class TorchReferenceTest {
    private static final Backend CPU = new CpuBackend(2);
    static final double FWD_RTOL = 1e-5, FWD_ATOL = 1e-6, GRAD_RTOL = 1e-4, GRAD_ATOL = 1e-6;
    static final double F64_RTOL = 1e-10, F64_ATOL = 1e-12;

    private static int[] intArray(JsonNode n) {
        int[] out = new int[n.size()];
        for (int i = 0; i < out.length; i++) out[i] = n.get(i).asInt();
        return out;
    }

    /** The op of one fixture case, built from Var methods; {@code ints} holds what gets no gradient: ids, labels, a loss's targets. */
    private static Var apply(JsonNode c, Map<String, Var> v, Map<String, Tensor> ints) {
        JsonNode args = c.get("args");
        String op = c.get("op").asText();
        return switch (op) {
            case "add" -> v.get("a").add(v.get("b"));
            case "sub" -> v.get("a").sub(v.get("b"));
            case "mul" -> v.get("a").mul(v.get("b"));
            case "div" -> v.get("a").div(v.get("b"));
            case "add_scalar" -> v.get("x").add(args.get("s").asDouble());
            case "mul_scalar" -> v.get("x").mul(args.get("s").asDouble());
            case "rsub" -> v.get("x").rsub(args.get("s").asDouble());
            case "pow" -> v.get("x").pow(args.get("s").asDouble());
            case "neg" -> v.get("x").neg();
            case "exp" -> v.get("x").exp();
            case "log" -> v.get("x").log();
            case "sqrt" -> v.get("x").sqrt();
            case "tanh" -> v.get("x").tanh();
            case "gelu" -> v.get("x").gelu();
            case "sum" -> v.get("x").sum(intArray(args.get("axes")));
            case "mean" -> v.get("x").mean(intArray(args.get("axes")));
            case "max" -> v.get("x").max(intArray(args.get("axes")));
            case "matmul" -> v.get("a").matmul(v.get("b"));
            case "matmul_bt" -> v.get("a").matmul(v.get("b").transpose(-1, -2));
            case "linear" -> v.get("x").linear(v.get("w"), v.get("b"));
            case "softmax" -> v.get("x").softmax();
            case "log_softmax" -> v.get("x").logSoftmax();
            case "layer_norm" -> v.get("x").layerNorm(v.get("gamma"), v.get("beta"), args.get("eps").asDouble());
            case "embedding" -> Var.embedding(v.get("weight"), ints.get("ids"));
            case "cross_entropy" -> v.get("logits").crossEntropy(ints.get("labels"), args.get("ignore_index").asInt(),
                    args.path("label_smoothing").asDouble(0));
            case "mse_loss" -> v.get("x").mseLoss(ints.get("target"));
            case "bce_with_logits" -> v.get("x").bceWithLogits(ints.get("target"));
            case "permute_reshape" -> v.get("x").permute(0, 2, 1, 3).reshape(2, 3, 8);
            case "concat" -> Var.concat(List.of(v.get("a"), v.get("b")), args.get("axis").asInt());
            default -> throw new AssertionError("fixture op " + op + " has no Java counterpart");
        };
    }

    @Test
    void everyOpMatchesTorch() {
        JsonNode cases = Fixtures.load("ops.json").get("cases");
        assertTrue(cases.size() >= 30, "fixture holds " + cases.size() + " cases");
        for (DType dt : new DType[] {DType.F32, DType.F64}) for (boolean strided : new boolean[] {false, true}) {
            boolean f32 = dt == DType.F32;
            for (JsonNode c : cases) {
                String name = c.get("op").asText() + " " + c.get("args") + " " + dt + (strided ? " strided inputs" : "");
                Map<String, Var> vars = new LinkedHashMap<>();
                c.get("inputs").fields().forEachRemaining(e -> {
                    Tensor t = Fixtures.tensor(e.getValue(), CPU, dt);
                    vars.put(e.getKey(), Var.parameter(strided ? Fixtures.strided(t) : t));
                });
                Map<String, Tensor> ints = new LinkedHashMap<>();
                c.get("ints").fields().forEachRemaining(e -> ints.put(e.getKey(), Fixtures.ints(e.getValue(), CPU)));
                c.get("targets").fields().forEachRemaining(e -> ints.put(e.getKey(), Fixtures.tensor(e.getValue(), CPU, dt)));
                Var y = apply(c, vars, ints);
                Fixtures.assertClose(name + " forward", c.get("y"), y.value(), f32 ? FWD_RTOL : F64_RTOL, f32 ? FWD_ATOL : F64_ATOL);
                y.backward(Fixtures.tensor(c.get("dy"), CPU, dt));
                for (Map.Entry<String, Var> e : vars.entrySet()) {
                    Fixtures.assertClose(name + " d/d" + e.getKey(), c.get("grads").get(e.getKey()), e.getValue().grad(),
                            f32 ? GRAD_RTOL : F64_RTOL, f32 ? GRAD_ATOL : F64_ATOL);
                }
            }
        }
    }

    /**
     * HF BertLayer (eval mode): q/k/v projections, heads split by reshape + permute, scores
     * q·kᵀ/√d plus the padding mask (1 − m)·float32 min, softmax, context merged back, output
     * projection, residual + LayerNorm, GELU MLP, residual + LayerNorm. {@code fused} runs the
     * attention core through {@link Var#attention} instead of the composed ops.
     */
    static Var bertLayer(Var x, Map<String, Var> w, Tensor additiveMask, int heads, boolean fused) {
        int b = x.size(0), t = x.size(1), h = x.size(2), d = h / heads;
        java.util.function.Function<String, Var> proj = n -> x.linear(w.get(n + ".weight"), w.get(n + ".bias"))
                .reshape(b, t, heads, d).permute(0, 2, 1, 3);
        Var q = proj.apply("attention.self.query"), k = proj.apply("attention.self.key"), v = proj.apply("attention.self.value");
        Var probsTimesV;
        if (fused) {
            probsTimesV = Var.attention(q, k, v, additiveMask, 1 / Math.sqrt(d), 0.0, false, 0, 0);
        } else {
            // [B, T] → [B, 1, 1, T], broadcast over heads and query positions
            Tensor ext = additiveMask.unsqueeze(1).unsqueeze(1);
            Var scores = q.matmul(k.transpose(-1, -2)).mul(1 / Math.sqrt(d)).add(Var.constant(ext));
            probsTimesV = scores.softmax().matmul(v);
        }
        Var ctx = probsTimesV.permute(0, 2, 1, 3).reshape(b, t, h);
        Var a = ctx.linear(w.get("attention.output.dense.weight"), w.get("attention.output.dense.bias"));
        Var h1 = a.add(x).layerNorm(w.get("attention.output.LayerNorm.weight"), w.get("attention.output.LayerNorm.bias"), 1e-12);
        Var inter = h1.linear(w.get("intermediate.dense.weight"), w.get("intermediate.dense.bias")).gelu();
        Var o = inter.linear(w.get("output.dense.weight"), w.get("output.dense.bias"));
        return o.add(h1).layerNorm(w.get("output.LayerNorm.weight"), w.get("output.LayerNorm.bias"), 1e-12);
    }

    @Test
    void attentionBlockMatchesTorch() {
        JsonNode f = Fixtures.load("block.json");
        int heads = f.get("config").get("heads").asInt();
        for (DType dt : new DType[] {DType.F32, DType.F64}) for (boolean fused : new boolean[] {false, true}) {
            boolean f32 = dt == DType.F32;
            String tag = "block " + dt + (fused ? " fused attention" : " composed attention");
            Map<String, Var> w = new LinkedHashMap<>();
            f.get("weights").fields().forEachRemaining(e -> w.put(e.getKey(), Var.parameter(Fixtures.tensor(e.getValue(), CPU, dt))));
            assertEquals(16, w.size());
            Var x = Var.parameter(Fixtures.tensor(f.get("x"), CPU, dt));
            // [B, T] mask of 1/0 → additive (1 − m)·float32 min, as HF's get_extended_attention_mask.
            Tensor m = Fixtures.tensor(f.get("mask"), CPU, dt);
            Tensor additive = m.scalarOp(dev.bertft.tensor.Ops.Scalar.RSUB, 1).mul(-Float.MAX_VALUE);
            Var out = bertLayer(x, w, additive, heads, fused);
            Fixtures.assertClose(tag + " out", f.get("out"), out.value(), f32 ? FWD_RTOL : F64_RTOL, f32 ? FWD_ATOL : F64_ATOL);
            out.mul(Var.constant(Fixtures.tensor(f.get("r"), CPU, dt))).sum().backward();
            double rtol = f32 ? GRAD_RTOL : F64_RTOL, atol = f32 ? GRAD_ATOL : F64_ATOL;
            Fixtures.assertClose(tag + " d/dx", f.get("grad_x"), x.grad(), rtol, atol);
            List<String> names = new ArrayList<>(w.keySet());
            for (String n : names) Fixtures.assertClose(tag + " d/d" + n, f.get("grads").get(n), w.get(n).grad(), rtol, atol);
        }
    }
}
