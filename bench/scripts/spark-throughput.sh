#!/usr/bin/env bash
# Rows/s of 2,000 IMDB test reviews (every 12.5th of the test split, neg then pos, by id) with
# all-MiniLM-L6-v2 at max length 128, batch 32: `bert-ft predict` in one process beside PredictJob in
# local[1] and local[2], REPS runs each, interleaved. Prints one line a run: whole-command seconds and,
# for Spark, the prediction job's own milliseconds from its log.
# Needs: mvn -q -pl cli,spark -am package -DskipTests; ../shared (model and IMDB archive).
set -u
cd "$(dirname "$0")/../.."
REPS=${REPS:-2}
WORK=${WORK:-/tmp/spark-throughput}
M=../shared/models/all-MiniLM-L6-v2
IN=$WORK/reviews.jsonl
mkdir -p "$WORK"
if [ ! -f "$IN" ]; then
  /usr/bin/python3 - "$IN" <<'PY'
import json, re, sys, tarfile
reviews = {}
with tarfile.open('../shared/data/imdb/aclImdb_v1_labeled.tar.gz') as t:
    for m in t:
        k = re.match(r'aclImdb/test/(neg|pos)/(\d+)_(\d+)\.txt$', m.name)
        if k and m.isfile():
            reviews[(k.group(1), int(k.group(2)), int(k.group(3)))] = t.extractfile(m).read().decode('utf-8')
keys = sorted(reviews)
with open(sys.argv[1], 'w') as f:
    for i in range(2000):
        f.write(json.dumps({"id": i, "text": reviews[keys[i * len(keys) // 2000]]}, ensure_ascii=False) + "\n")
PY
fi
CP="$(cat spark/target/spark-classpath.txt):spark/target/bert-ft-spark.jar"
for rep in $(seq "$REPS"); do
  for what in predict local1 local2; do
    load=$(cut -d' ' -f1 /proc/loadavg)
    out=$WORK/out-$what-$rep
    rm -rf "$out"
    t0=$(date +%s.%N)
    case $what in
      predict) java --add-modules jdk.incubator.vector -XX:CompileCommand=quiet "-XX:CompileCommand=dontinline,dev.bertft.tensor.cpu.*::*Pass" -jar cli/target/bert-ft.jar predict --device cpu --model $M \
                 --input "$IN" --max-length 128 --batch-size 32 > "$out.jsonl" 2> "$out.log" ;;
      local*) java @spark/jvm-options -cp "$CP" dev.bertft.spark.PredictJob --master "local[${what#local}]" --model $M \
                 --input "$IN" --output "$out" --max-length 128 --batch-size 32 > "$out.log" 2>&1 ;;
    esac
    rc=$?
    t1=$(date +%s.%N)
    job=$(grep -o "Job [0-9]* finished: .* took [0-9.]* ms" "$out.log" | tail -1 | grep -o "took [0-9.]*" | cut -d' ' -f2)
    echo "$what rep=$rep rc=$rc load=$load wall_s=$(echo "$t1 - $t0" | bc) job_ms=${job:-} rows=$(cat "$out"/part-* "$out.jsonl" 2>/dev/null | wc -l)"
  done
done
