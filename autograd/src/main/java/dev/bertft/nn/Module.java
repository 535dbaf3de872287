package dev.bertft.nn;

import dev.bertft.autograd.Var;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A node of a model tree. Each module names its own parameters and children the way the
 * Hugging Face checkpoint does, so dotted paths such as
 * {@code encoder.layer.0.attention.self.query.weight} fall out of the tree.
 */
public interface Module {

    /** Receives a module's direct parameters and children, in declaration order. */
    interface Visitor {
        void parameter(String name, Var p);

        void child(String name, Module m);

        /**
         * A child trained as one module ({@code trained}, named {@code name}) and stored in
         * checkpoints as the {@code stored} children, whose parameters are {@link Var#rows} of its
         * own: BERT's fused Q, K and V and HF's separate query, key and value. A visitor that
         * does not override this sees the stored children, the checkpoint's layout.
         */
        default void fusedChild(String name, Module trained, Map<String, Module> stored) {
            stored.forEach(this::child);
        }
    }

    void visit(Visitor v);

    /** Train mode turns dropout on; modules without mode-dependent behaviour ignore it. */
    default void setTraining(boolean training) {}

    /** Every parameter under this module by its dotted checkpoint name, in declaration order (fused ones as their stored rows). */
    static Map<String, Var> namedParameters(Module root) {
        Map<String, Var> out = new LinkedHashMap<>();
        collect(root, "", out, false);
        return out;
    }

    /**
     * Every parameter the optimizer updates, by dotted name, in declaration order: {@link
     * #namedParameters} with each fused child's parameters in place of the rows it is stored as.
     */
    static Map<String, Var> trainableParameters(Module root) {
        Map<String, Var> out = new LinkedHashMap<>();
        collect(root, "", out, true);
        return out;
    }

    private static void collect(Module m, String prefix, Map<String, Var> out, boolean trained) {
        m.visit(new Visitor() {
            @Override
            public void parameter(String name, Var p) {
                out.put(prefix + name, p);
            }

            @Override
            public void child(String name, Module c) {
                collect(c, prefix + name + ".", out, trained);
            }

            @Override
            public void fusedChild(String name, Module trainedAs, Map<String, Module> stored) {
                if (trained) child(name, trainedAs);
                else stored.forEach(this::child);
            }
        });
    }

    /**
     * How many parameter values sit outside embedding tables: what HF's
     * {@code num_parameters(exclude_embeddings=True)} counts, the basis of its FLOP estimate.
     */
    static long nonEmbeddingParameterCount(Module root) {
        long[] count = {0};
        root.visit(new Visitor() {
            @Override
            public void parameter(String name, Var p) {
                count[0] += p.value().numel();
            }

            @Override
            public void child(String name, Module c) {
                if (!(c instanceof Embedding)) count[0] += nonEmbeddingParameterCount(c);
            }
        });
        return count[0];
    }

    /** Puts the whole tree in train (true) or eval (false) mode. */
    static void train(Module root, boolean training) {
        root.setTraining(training);
        root.visit(new Visitor() {
            @Override
            public void parameter(String name, Var p) {}

            @Override
            public void child(String name, Module c) {
                train(c, training);
            }
        });
    }
}
