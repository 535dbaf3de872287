package dev.bertft.spark;

/** 96 reviews (three batches): the parity checks of {@link ImdbParity} within the suite's time. */
class ImdbParityTest extends ImdbParity {
    @Override
    int reviews() {
        return 96;
    }
}
