package dev.bertft.spark;

import org.apache.spark.sql.SparkSession;

/** One Spark session in local[2] for all the tests of this JVM: starting one takes seconds. */
final class LocalSpark {
    private LocalSpark() {
    }

    static SparkSession session() {
        return SparkSession.builder().master("local[2]").appName("bert-ft-spark tests")
                .config("spark.ui.enabled", false)
                .config("spark.sql.shuffle.partitions", 2)
                .getOrCreate();
    }
}
