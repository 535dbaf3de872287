#!/usr/bin/env bash
# Builds .devicepack/ at the repository root: what bench/scripts/gpu-check.sh needs on the CUDA
# machine, which has a driver and nvcc but no JDK, no Maven and no network.
#   jre.tar.xz  a jlink'ed Java runtime, packed (gpu-check.sh unpacks it outside the tree)
#   commit.txt  the commit the pack was built from (the device machine's copy has no .git)
#   lib/  the module jars (cli's unshaded, for dev.bertft.cli.Main), the kernels test-jar and bert test
#         classes as a jar, their runtime dependencies
#         (JCuda with only the natives we load), junit-platform-console-standalone
# Usage (from anywhere): bench/scripts/make-devicepack.sh
# The folder is git-ignored through info/exclude and must stay under 64 MiB to travel; the script
# prints its size and fails above that (2026-12-02: 31 MiB, 17 of them the packed runtime).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
pack=$root/.devicepack
cd "$root"
exclude=$(git rev-parse --git-path info/exclude)
grep -qx '/.devicepack/' "$exclude" 2>/dev/null || echo '/.devicepack/' >> "$exclude"

rm -rf "$pack"
mkdir -p "$pack/lib"
mvn -q -pl cli -am -DskipTests -Dmaven.source.skip -Dmaven.javadoc.skip package dependency:copy-dependencies \
    -DincludeScope=runtime -DoutputDirectory="$pack/lib"
version=$(sed -n 's|^  <version>\(.*\)</version>$|\1|p' pom.xml)
for m in tensor formats autograd tokenizer kernels bert cli; do cp "$m/target/$m-$version.jar" "$pack/lib/"; done
cp "kernels/target/kernels-$version-tests.jar" "$pack/lib/"
jar cf "$pack/lib/bert-tests.jar" -C bert/target/test-classes dev
mvn -q dependency:copy -Dartifact=org.junit.platform:junit-platform-console-standalone:1.14.4 -DoutputDirectory="$pack/lib"

# jcuda-natives also carries the PTX compiler, NVRTC and runtime bindings (about 25 MB) that we
# never load: keep the driver binding only.
python3 - "$pack"/lib/jcuda-natives-*.jar <<'PY'
import sys, zipfile, os
path = sys.argv[1]
tmp = path + ".tmp"
with zipfile.ZipFile(path) as src, zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as dst:
    for item in src.infolist():
        if item.filename.startswith("lib/") and item.filename != "lib/" and "JCudaDriver" not in item.filename:
            continue
        dst.writestr(item, src.read(item.filename))
os.replace(tmp, path)
PY

# Nothing may travel twice: no class or resource in two jars (the unshaded cli jar, not bert-ft.jar,
# which holds all the others again).
python3 - "$pack"/lib/*.jar <<'PY'
import sys, zipfile
where = {}
for jar in sys.argv[1:]:
    with zipfile.ZipFile(jar) as z:
        for item in z.infolist():
            name = item.filename
            if item.is_dir() or name.startswith("META-INF/") or name.endswith("module-info.class"):
                continue
            if name in where:
                sys.exit("%s is in both %s and %s" % (name, where[name], jar))
            where[name] = jar
PY

git rev-parse HEAD > "$pack/commit.txt"
git diff --quiet HEAD || echo "(with uncommitted changes)" >> "$pack/commit.txt"

# The modules of ../shared/device/make-jre.sh's base set and what jdeps finds our jars use beyond
# it: java.desktop for the training chart (train fails at its start without it), jdk.management
# for doctor, java.sql for Jackson. Linked uncompressed and packed with xz, the runtime travels as
# 18 MB instead of 51 MB as jlink's own compression leaves it.
jre=$(mktemp -d)/jre
jlink --add-modules java.base,jdk.incubator.vector,java.logging,jdk.unsupported,java.management,java.net.http,java.xml,jdk.zipfs,java.desktop,jdk.management,java.sql \
    --strip-debug --strip-native-debug-symbols=exclude-debuginfo-files --no-header-files --no-man-pages --compress=0 \
    --output "$jre" 2>/dev/null
tar -C "$(dirname "$jre")" -cf - jre | xz -6 -T2 > "$pack/jre.tar.xz"
rm -rf "$(dirname "$jre")"
du -b "$pack"/jre.tar.xz "$pack"/lib/* | sort -rn
bytes=$(du -sb "$pack" | cut -f1)
echo "device pack: $bytes bytes ($((bytes / 1048576)) MiB; the device tool carries at most 64 MiB)"
[ "$bytes" -lt $((64 * 1048576)) ] || { echo "the device pack is over 64 MiB and would not travel" >&2; exit 1; }
