#!/usr/bin/env bash
# Run a command inside the Swift chroot made by setup-toolchains.sh (run as root):
#   scripts/swift-chroot.sh PROJECT_DIR COMMAND...
# PROJECT_DIR is bind-mounted at the same absolute path inside the chroot, so paths and rpaths
# (e.g. to a Rust .so built on the host) agree on both sides; Swift binaries built in the chroot
# need its newer glibc and only run there. COMMAND's words are joined with spaces and run by
# bash in PROJECT_DIR (like ssh), so `&&`, pipes and VAR=value prefixes work. The exit status is
# COMMAND's.
set -euo pipefail

TOOLS="${TAILOR_TOOLS:-${HOME:-/root}/.cache/tailor-tools}"
ROOT="$TOOLS/swift-root"

die() { printf 'swift-chroot: %s\n' "$*" >&2; exit 2; }
(($# >= 2)) || die "usage: $0 PROJECT_DIR COMMAND..."
[[ -f $TOOLS/swift-root.done ]] || die "no Swift chroot in $TOOLS; run scripts/setup-toolchains.sh swift"
PROJECT=$(realpath -e "$1") || die "no such directory: $1"
[[ -d $PROJECT && $PROJECT != / ]] || die "not a usable project directory: $PROJECT"
shift

# Re-run in a private mount namespace: the mounts are then invisible to every other process
# (so nothing can rm -rf through the project bind mount), concurrent runs don't share them,
# and the kernel drops them when the last process in the namespace exits, even on SIGKILL.
if [[ -z ${_SWIFT_CHROOT_NS:-} ]] && unshare --mount true 2>/dev/null; then
  _SWIFT_CHROOT_NS=1 exec unshare --mount --propagation private -- bash "${BASH_SOURCE[0]}" "$PROJECT" "$@"
fi

# Also unmount explicitly, newest first, on every exit path (needed when unshare is unavailable).
MOUNTED=()
# shellcheck disable=SC2317 # only reached through the EXIT trap
cleanup() {
  local i
  for ((i = ${#MOUNTED[@]} - 1; i >= 0; i--)); do
    umount -R "${MOUNTED[i]}" 2>/dev/null || umount -R -l "${MOUNTED[i]}" ||
      printf 'swift-chroot: could not unmount %s\n' "${MOUNTED[i]}" >&2
  done
}
trap cleanup EXIT
trap 'exit 129' HUP
trap 'exit 130' INT
trap 'exit 143' TERM

mnt() { # mnt TARGET MOUNT_ARGS...
  local target=$1
  shift
  mkdir -p "$target"
  mount "$@" "$target"
  MOUNTED+=("$target")
}
mnt "$ROOT/proc" -t proc proc # swiftc locates its own runtime libraries through /proc/self/exe
mnt "$ROOT/dev" --rbind /dev  # /dev/null, /dev/urandom, /dev/shm, /dev/pts for the tools
mount --make-rslave "$ROOT/dev" # so unmounting it can never propagate back to the host's /dev
mnt "$ROOT$PROJECT" --bind "$PROJECT"
install -d -m 1777 "$ROOT/tmp"

# A clean environment: the host's PATH, LD_LIBRARY_PATH etc. mean nothing inside.
rc=0
chroot "$ROOT" /usr/bin/env -i HOME=/root TERM="${TERM:-dumb}" LANG=C.UTF-8 \
  PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
  /bin/bash -lc "cd $(printf '%q' "$PROJECT") && $*" || rc=$?
exit "$rc"
