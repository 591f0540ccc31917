#!/usr/bin/env bash
# Release check (issue 18, item 5): the .deb that CPack writes installs on a fresh Debian 12
# root made by debootstrap from Debian's archive, pulling its dependencies with apt-get; there
# `querylens --version`, `querylens --help`, `querylens make-demo-model` and `querylens caption`
# of a sample image (with the demo model, and with the tiny-opt fixture checkpoint) work, the desktop entry and the icon are in place; `apt-get remove` leaves none of the
# package's files behind. Prints the .deb's size and the install time. Needs root.
#   bash packaging/release-check.sh [--keep-root]
# The fresh root is kept as a tarball in $QUERYLENS_RELEASE_CACHE (default /var/tmp/querylens-release)
# so that a second run skips debootstrap; the root itself is rebuilt from it every run.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../scripts/common.sh"

keep=false
[ "${1:-}" = "--keep-root" ] && keep=true
cache=${QUERYLENS_RELEASE_CACHE:-/var/tmp/querylens-release}
mirror=${QUERYLENS_DEBIAN_MIRROR:-http://deb.debian.org/debian}
root="$cache/root"
mkdir -p "$cache"

querylens_install_packages
querylens_install_packages debootstrap dpkg-dev
querylens_build >/dev/null
(cd "$QUERYLENS_BUILD" && cpack -G DEB >"$cache/cpack.log" 2>&1) || { tail -20 "$cache/cpack.log"; exit 1; }
deb=$(ls -t "$QUERYLENS_BUILD"/querylens_*.deb | head -1)
echo "package: $(basename "$deb"), $(( $(stat -c %s "$deb") / 1024 )) KiB"

cleanup() {
  for mount in proc dev/pts dev sys; do umount -l "$root/$mount" 2>/dev/null || true; done
  $keep || rm -rf "$root"
}
trap cleanup EXIT

if [ ! -f "$cache/bookworm-minbase.tar" ]; then
  start=$(date +%s)
  rm -rf "$root"
  debootstrap --variant=minbase bookworm "$root" "$mirror" >"$cache/debootstrap.log" 2>&1 ||
    { tail -20 "$cache/debootstrap.log"; exit 1; }
  tar -C "$root" -cf "$cache/bookworm-minbase.tar" .
  echo "debootstrap: $(( $(date +%s) - start )) s"
else
  rm -rf "$root"
  mkdir -p "$root"
  tar -C "$root" -xf "$cache/bookworm-minbase.tar"
fi
mount -t proc proc "$root/proc"
mount --bind /dev "$root/dev"
mount --bind /dev/pts "$root/dev/pts"
cp /etc/resolv.conf "$root/etc/resolv.conf" 2>/dev/null || true
in_root() { chroot "$root" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 "$@"; }

cp "$deb" "$root/tmp/querylens.deb"
cp "$QUERYLENS_ROOT/../shared/fixtures/image.png" "$root/tmp/sample.png"
cp -r "$QUERYLENS_ROOT/../shared/fixtures/tiny-opt" "$QUERYLENS_ROOT/../shared/fixtures/tiny-t5" "$root/tmp/"

start=$(date +%s)
in_root apt-get update -q >/dev/null
in_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends /tmp/querylens.deb \
  >"$cache/install.log" 2>&1 || { tail -30 "$cache/install.log"; exit 1; }
install_seconds=$(( $(date +%s) - start ))
packages=$(in_root dpkg-query -W -f='${Package}\n' | wc -l)
echo "apt-get install ./querylens.deb: $install_seconds s, $packages packages in the root"

failures=0
check() {  # check DESCRIPTION COMMAND...: runs a command in the root, says ok or FAILED
  local description=$1
  shift
  if out=$("$@" 2>&1); then
    echo "ok      $description"
  else
    echo "FAILED  $description"
    echo "$out" | tail -15 | sed 's/^/        /'
    failures=$((failures + 1))
  fi
}
check "querylens --version" sh -c "chroot '$root' env -i PATH=/usr/bin:/bin querylens --version | grep -q '^querylens '"
check "querylens --help lists the commands" sh -c "chroot '$root' querylens --help | grep -q caption"
check "querylens make-demo-model /tmp/demo" in_root querylens make-demo-model /tmp/demo
check "querylens caption /tmp/sample.png --model /tmp/demo" \
  sh -c "chroot '$root' env -i PATH=/usr/bin:/bin HOME=/root querylens caption /tmp/sample.png --model /tmp/demo | grep -q ."
check "querylens caption /tmp/sample.png --model /tmp/tiny-opt (fixture checkpoint)" \
  sh -c "chroot '$root' env -i PATH=/usr/bin:/bin HOME=/root querylens caption /tmp/sample.png --model /tmp/tiny-opt | grep -q ."
check "querylens caption /tmp/sample.png --model /tmp/tiny-t5 (Flan-T5: the SentencePiece plugin)" \
  sh -c "chroot '$root' env -i PATH=/usr/bin:/bin HOME=/root querylens caption /tmp/sample.png --model /tmp/tiny-t5 | grep -q ."
check "the window without a display exits 1 with a message" \
  sh -c "chroot '$root' env -i PATH=/usr/bin:/bin HOME=/root querylens /tmp/sample.png; test \$? -eq 1"
check "desktop entry /usr/share/applications/querylens.desktop" test -f "$root/usr/share/applications/querylens.desktop"
check "desktop entry valid (Exec=querylens, Icon=querylens)" \
  sh -c "grep -q '^Exec=querylens' '$root/usr/share/applications/querylens.desktop' && grep -q '^Icon=querylens' '$root/usr/share/applications/querylens.desktop'"
check "icon /usr/share/icons/hicolor/256x256/apps/querylens.png" test -s "$root/usr/share/icons/hicolor/256x256/apps/querylens.png"
check "SentencePiece plugin installed" sh -c "chroot '$root' dpkg -L querylens | grep -q libquerylens_sentencepiece.so"
package_files=$(in_root dpkg -L querylens | sort)

in_root env DEBIAN_FRONTEND=noninteractive apt-get remove -y -q querylens >"$cache/remove.log" 2>&1
left=0
while read -r path; do
  [ -f "$root$path" ] || [ -L "$root$path" ] && { echo "        left behind: $path"; left=$((left + 1)); }
done <<<"$package_files"
check "apt-get remove leaves none of the package's files ($left left)" test "$left" -eq 0
check "dpkg no longer has querylens installed" \
  sh -c "test \"\$(chroot '$root' dpkg-query -W -f='\${db:Status-Status}' querylens 2>/dev/null)\" != installed"
echo "release check: $failures failed"
exit $((failures > 0))
