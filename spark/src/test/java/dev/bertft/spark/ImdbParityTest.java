package dev.bertft.spark;

/** 200 reviews: the parity checks of {@link ImdbParity} within the suite's time. */
class ImdbParityTest extends ImdbParity {
    @Override
    int reviews() {
        return 200;
    }
}
