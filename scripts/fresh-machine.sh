#!/usr/bin/env bash
# Runs the README's test command on a fresh Debian root, to show it needs nothing but the Rust
# toolchain and a C compiler. Needs root, debootstrap and util-linux's unshare.
#
#   scripts/fresh-machine.sh /tmp/fresh-root [suite]
#
# The root is `debootstrap --variant=minbase` plus gcc (the C compiler) and ca-certificates;
# this machine's Rust toolchain (~/.cargo, ~/.rustup) and this work tree are bind-mounted into
# it at the same paths, so the build cache is reused. First `scripts/test.sh --no-run`
# installs what is missing (apt, pip: the package registries) and builds; then the tests run
# through `scripts/test.sh` in a network namespace of their own, loopback only, so nothing
# running on this machine (its PostgreSQL on 5432, say) can be what made them pass.
set -euo pipefail
root=${1:?usage: scripts/fresh-machine.sh ROOT [debian suite]}
suite=${2:-bookworm}
repo=$(cd "$(dirname "$0")/.." && pwd)
[ -x "$root/usr/bin/gcc" ] ||
  debootstrap --variant=minbase --include=gcc,libc6-dev,ca-certificates "$suite" "$root" \
    http://deb.debian.org/debian
cp /etc/resolv.conf "$root/etc/resolv.conf"
# The network's own certificate authorities (an egress proxy's, say): a machine on this network
# has them whatever it runs, so the root gets them too — they are the network's, not the project's.
if compgen -G "/usr/local/share/ca-certificates/*.crt" >/dev/null; then
  mkdir -p "$root/usr/local/share/ca-certificates"
  cp /usr/local/share/ca-certificates/*.crt "$root/usr/local/share/ca-certificates/"
  chroot "$root" update-ca-certificates >/dev/null
fi
printf '127.0.0.1 localhost\n::1 localhost ip6-localhost\n' >"$root/etc/hosts"

mounted=()
cleanup() {
  for ((i = ${#mounted[@]} - 1; i >= 0; i--)); do umount -l "${mounted[i]}" || true; done
}
trap cleanup EXIT
mnt() { mkdir -p "$root$2"; mount "${@:3}" "$1" "$root$2"; mounted+=("$root$2"); }
mnt proc /proc -t proc
mnt sysfs /sys -t sysfs
mnt /dev /dev --bind
mnt devpts /dev/pts -t devpts
mnt tmpfs /dev/shm -t tmpfs
mnt tmpfs /tmp -t tmpfs
for dir in "$HOME/.cargo" "$HOME/.rustup" "$repo"; do mnt "$dir" "$dir" --bind; done

inside() {
  chroot "$root" /usr/bin/env -i HOME="$HOME" TERM=dumb LANG=C.UTF-8 \
    PATH="$HOME/.cargo/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" \
    bash -c 'cd "$1" && shift && exec "$@"' bash "$repo" "$@"
}
echo "== installing and building (network: package registries)"
inside scripts/test.sh --no-run
echo "== the tests, loopback only"
export -f inside
export root repo
unshare --net bash -c 'ip link set lo up && inside scripts/test.sh'
