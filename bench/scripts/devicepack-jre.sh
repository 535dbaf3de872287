# Sourced by the GPU scripts: unpacks .devicepack/jre.tar.xz (bench/scripts/make-devicepack.sh)
# outside the tree, since the device tool brings back only what is under $OUT, and sets $java_bin
# and $java: that runtime with the flags bert-ft.jar's launcher adds (the Vector API; each CPU vector
# loop compiled on its own, see the README) and an 8 GB heap.
pack=${pack:-$root/.devicepack}
if [ ! -f "$pack/jre.tar.xz" ]; then
  echo "no .devicepack/jre.tar.xz: run bench/scripts/make-devicepack.sh first" >&2
  exit 2
fi
jre_dir=$(mktemp -d)
xz -dc -T0 "$pack/jre.tar.xz" | tar -C "$jre_dir" -xf -
java_bin=$jre_dir/jre/bin/java
java=("$java_bin" --add-modules jdk.incubator.vector -XX:CompileCommand=quiet
      "-XX:CompileCommand=dontinline,dev.bertft.tensor.cpu.*::*Pass" -Xmx8g)
