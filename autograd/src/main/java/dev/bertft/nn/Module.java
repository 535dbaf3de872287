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
    }

    void visit(Visitor v);

    /** Train mode turns dropout on; modules without mode-dependent behaviour ignore it. */
    default void setTraining(boolean training) {}

    /** Every parameter under this module, by dotted name, in declaration order. */
    static Map<String, Var> namedParameters(Module root) {
        Map<String, Var> out = new LinkedHashMap<>();
        collect(root, "", out);
        return out;
    }

    private static void collect(Module m, String prefix, Map<String, Var> out) {
        m.visit(new Visitor() {
            @Override
            public void parameter(String name, Var p) {
                out.put(prefix + name, p);
            }

            @Override
            public void child(String name, Module c) {
                collect(c, prefix + name + ".", out);
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
