package dev.bertft.spark;

import org.junit.jupiter.api.Tag;

/** The 2,000 reviews: minutes on two cores, so run on request (-Dtest.excludedGroups=). */
@Tag("long")
class ImdbParityLongTest extends ImdbParity {
    @Override
    int reviews() {
        return 2000;
    }
}
