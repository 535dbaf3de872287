# Sourced by the GPU scripts: unpacks .devicepack/jre.tar.xz (bench/scripts/make-devicepack.sh)
# outside the tree, since the device tool brings back only what is under $OUT, and sets $java_bin.
pack=${pack:-$root/.devicepack}
if [ ! -f "$pack/jre.tar.xz" ]; then
  echo "no .devicepack/jre.tar.xz: run bench/scripts/make-devicepack.sh first" >&2
  exit 2
fi
jre_dir=$(mktemp -d)
xz -dc -T0 "$pack/jre.tar.xz" | tar -C "$jre_dir" -xf -
java_bin=$jre_dir/jre/bin/java
