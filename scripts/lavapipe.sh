#!/usr/bin/env bash
# Prepare Mesa's lavapipe (software Vulkan) so that ONNX Runtime's WebGPU EP (Dawn → Vulkan) can
# be tested on a machine without a GPU, and print `export` lines for the caller:
#
#   eval "$(bash scripts/lavapipe.sh)"     # then e.g. --device webgpu runs on the CPU
#
# Why this way: bookworm's own Mesa 22.3 lavapipe is rejected by Dawn ("shaderUniform*ArrayDynamic
# Indexing required"); Mesa 25 from bookworm-backports works. Installing it would upgrade libdrm
# and Mesa for the whole machine, so the packages are only unpacked (dpkg -x) into a cache folder,
# and apt runs on private sources, lists and cache: the system's apt state is never touched and
# root is not needed. Lavapipe is slow: use it for correctness tests, never for timings.
#
# Env: LAVAPIPE_DIR (cache folder, default ~/.cache/infrec-lavapipe), DEBIAN_MIRROR (default: the
# mirror this machine's apt sources use for bookworm).
# Progress goes to stderr, only the export lines to stdout. Idempotent: a ready folder is reused.
set -euo pipefail

DIR=${LAVAPIPE_DIR:-$HOME/.cache/infrec-lavapipe}
# The mirror this machine's apt already uses for a suite (one-line or deb822 sources).
system_mirror() {
  { awk -v s="$1" '$1 == "deb" && $3 == s { print $2; exit }' /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null
    awk -v s="$1" '/^URIs:/ { u = $2 } /^Suites:/ { for (i = 2; i <= NF; i++) if ($i == s) { print u; exit } }' /etc/apt/sources.list.d/*.sources 2>/dev/null
  } | head -1
}
MIRROR=${DEBIAN_MIRROR:-$(system_mirror bookworm)}
SECURITY=$(system_mirror bookworm-security)
ROOT=$DIR/root                         # the unpacked packages
USRLIB=$ROOT/usr/lib/x86_64-linux-gnu
LIBDIRS=$USRLIB:$ROOT/lib/x86_64-linux-gnu   # bookworm still ships some libraries (libexpat) in /lib
ICD=$DIR/lvp_icd.json                  # our manifest, with an absolute library path

die() { echo "lavapipe.sh: $*" >&2; exit 1; }
emit() {
  # VK_ICD_FILENAMES is the older name of VK_DRIVER_FILES; set both for older loaders.
  printf 'export VK_DRIVER_FILES=%q\nexport VK_ICD_FILENAMES=%q\n' "$ICD" "$ICD"
  case ":${LD_LIBRARY_PATH:-}:" in
    *":$LIBDIRS:"*) printf 'export LD_LIBRARY_PATH=%q\n' "$LD_LIBRARY_PATH" ;;
    *) printf 'export LD_LIBRARY_PATH=%q\n' "$LIBDIRS${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" ;;
  esac
}
# Ready = finished once, and the driver's libraries all resolve here. Which packages were needed
# depends on what the machine had installed, so a folder copied from elsewhere is checked again.
ready() {
  local deps
  [ -f "$DIR/.ready" ] && [ -f "$ICD" ] && deps=$(LD_LIBRARY_PATH=$LIBDIRS ldd "$USRLIB/libvulkan_lvp.so" 2>&1) &&
    ! grep -q 'not found' <<< "$deps"
}
if ready; then emit; exit 0; fi

[ "$(uname -m)" = x86_64 ] || die "x86_64 only (onnxruntime-node ships its WebGPU EP for Linux x64 only)"
. /etc/os-release
[ "${VERSION_CODENAME:-}" = bookworm ] ||
  die "needs Debian bookworm (this is ${PRETTY_NAME:-unknown}): Mesa >= 24 comes from bookworm-backports"
[ -n "$MIRROR" ] || die "no Debian mirror for bookworm in /etc/apt/sources.list*; set DEBIAN_MIRROR"
for c in apt-get apt-cache dpkg ldd; do command -v $c >/dev/null || die "'$c' not found"; done

echo "lavapipe.sh: preparing Mesa 25 lavapipe in $DIR (one-time download)" >&2
# Wipe only a folder this script made (LAVAPIPE_DIR might point anywhere).
[ ! -d "$DIR" ] || [ -z "$(ls -A "$DIR")" ] || [ -d "$DIR/root" ] || [ -d "$DIR/apt" ] ||
  die "$DIR exists and is not a lavapipe cache folder: refusing to wipe it"
rm -rf "$DIR"; mkdir -p "$DIR/apt/lists/partial" "$DIR/apt/cache/archives/partial" "$DIR/debs" "$ROOT"
cat > "$DIR/apt/sources.list" <<EOF
deb $MIRROR bookworm main
deb $MIRROR bookworm-updates main
deb $MIRROR bookworm-backports main
${SECURITY:+deb $SECURITY bookworm-security main}
EOF
APT=(-q -o Dir::Etc::SourceList="$DIR/apt/sources.list" -o Dir::Etc::SourceParts=/nonexistent
     -o Dir::State::Lists="$DIR/apt/lists" -o Dir::Cache="$DIR/apt/cache" -o APT::Sandbox::User=root)
apt-get "${APT[@]}" --error-on=any update >&2 || die "apt-get update failed (no network to $MIRROR?)"

# Let apt's resolver say what this machine lacks or has too old (libdrm >= 2.4.121, and on a
# minimal machine LLVM 15, xcb, ...): a simulation against the installed packages, nothing installed.
PKGS=$(apt-get "${APT[@]}" -s install --no-install-recommends mesa-vulkan-drivers/bookworm-backports 2>&1 |
       sed -n 's/^Inst \([^ ]*\) .*(\([^ ]*\) .*/\1=\2/p' | tr '\n' ' ') ||
  die "apt could not resolve mesa-vulkan-drivers from bookworm-backports"
# mesa-vulkan-drivers itself even where that version is already installed system-wide.
MESA=$(apt-cache "${APT[@]}" show mesa-vulkan-drivers/bookworm-backports | sed -n 's/^Version: //p' | head -1)
[ -n "$MESA" ] || die "mesa-vulkan-drivers not found in bookworm-backports"
case " $PKGS " in *" mesa-vulkan-drivers="*) ;; *) PKGS="$PKGS mesa-vulkan-drivers=$MESA" ;; esac
echo "lavapipe.sh: downloading $(wc -w <<< "$PKGS") packages: $PKGS" >&2
(cd "$DIR/debs" && apt-get "${APT[@]}" download $PKGS >&2) || die "apt-get download failed"
for f in "$DIR"/debs/*.deb; do dpkg -x "$f" "$ROOT"; done

# Debian's manifest names the bare soname; an absolute path cannot pick up another libvulkan_lvp.
SRC=$(ls "$ROOT"/usr/share/vulkan/icd.d/lvp_icd*.json 2>/dev/null | head -1) || true
[ -n "$SRC" ] || die "no lvp_icd*.json in mesa-vulkan-drivers $MESA"
[ -f "$USRLIB/libvulkan_lvp.so" ] || die "libvulkan_lvp.so missing after unpacking"
sed "s#\"library_path\": *\"[^\"]*\"#\"library_path\": \"$USRLIB/libvulkan_lvp.so\"#" "$SRC" > "$ICD"
# Keep the folder small (64 MB -> 11 MB here, e.g. to carry it): drop the .debs, the hardware
# drivers and the layers (never loaded: the loader only looks for layers in system folders).
rm -rf "$DIR/apt" "$DIR/debs" "$USRLIB"/libVkLayer_* "$ROOT"/usr/share/vulkan/{explicit,implicit}_layer.d
find "$USRLIB" -name 'libvulkan_*.so' ! -name libvulkan_lvp.so -delete
touch "$DIR/.ready"
ready || die "unpacked, but libvulkan_lvp.so has unresolved libraries:
$(LD_LIBRARY_PATH=$LIBDIRS ldd "$USRLIB/libvulkan_lvp.so" | grep 'not found')"
echo "lavapipe.sh: ready ($(du -sh "$DIR" | cut -f1))" >&2
emit
