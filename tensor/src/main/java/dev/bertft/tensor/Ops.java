package dev.bertft.tensor;

/** The closed sets of pointwise and reducing ops a backend implements. */
public final class Ops {
    private Ops() {}

    /** y = f(x). GELU is the exact erf form: x·½·(1 + erf(x/√2)). */
    public enum Unary { NEG, EXP, LOG, SQRT, TANH, GELU, ABS }

    /** y = f(x, s) for a scalar s: x+s, x·s, s−x, s/x, x^s. */
    public enum Scalar { ADD, MUL, RSUB, RDIV, POW }

    /** z = f(x, y) with NumPy broadcasting; EQ gives 1 where x = y, else 0. */
    public enum Binary { ADD, SUB, MUL, DIV, MAX, MIN, EQ }

    public enum Reduce { SUM, MEAN, MAX }
}
