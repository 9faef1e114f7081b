#!/usr/bin/env bash
# Installs storaged as a system service from a source checkout, as root:
#
#   systemd/install.sh [--prefix DIR] [--no-build] [--no-system]
#
# 1. builds in the checkout: npm ci && npm run build (the build needs the
#    TypeScript compiler, a devDependency, so it cannot run on --omit=dev);
# 2. packs the built package (npm pack: dist/src, migrations, openapi,
#    systemd, README.md, package.json) and unpacks it into PREFIX
#    (default /opt/storaged), with the checkout's package-lock.json;
# 3. installs the runtime dependencies only, at the locked versions: after
#    a build, the checkout's node_modules (just installed from the lock)
#    copied and pruned of devDependencies, so native addons are not compiled
#    a second time; with --no-build, npm ci --omit=dev in PREFIX (no
#    compiler, no test tools);
# 4. creates the system user and group `storaged`, /etc/storaged (0750) with
#    an empty storaged.env (0600), installs the unit and reloads systemd, and
#    puts `storagectl` in /usr/local/bin (a two-line wrapper running the
#    prefix's copy with /usr/bin/node).
#
# --no-build uses the dist/ already built in the checkout; --no-system stops
# after step 3 (no user, no unit, nothing under /etc). Needs Node.js >= 20
# and npm; python3, make and g++ too where better-sqlite3 has no prebuilt
# binary for the host. Running it again upgrades PREFIX in place.

set -euo pipefail
umask 022

prefix=/opt/storaged
build=1
system=1
while [ $# -gt 0 ]; do
  case "$1" in
    --prefix) prefix="${2:?--prefix needs a directory}"; shift 2 ;;
    --prefix=*) prefix="${1#--prefix=}"; shift ;;
    --no-build) build=0; shift ;;
    --no-system) system=0; shift ;;
    -h|--help) sed -n '2,20p' "$0"; exit 0 ;;
    *) echo "install.sh: unknown argument '$1'" >&2; echo "usage: systemd/install.sh [--prefix DIR] [--no-build] [--no-system]" >&2; exit 2 ;;
  esac
done
case "$prefix" in /*) ;; *) echo "install.sh: --prefix must be an absolute path" >&2; exit 2 ;; esac
# The prefix goes into the unit's ExecStart= through sed, and into the
# storagectl wrapper: a space splits ExecStart=, and '#', '&' or '\' would
# change what sed writes. Refuse them rather than install a broken unit.
case "$prefix" in *[!A-Za-z0-9/._+-]*) echo "install.sh: --prefix may hold only letters, digits and / . _ + - (got '$prefix')" >&2; exit 2 ;; esac

checkout="$(cd "$(dirname "$0")/.." && pwd)"
cd "$checkout"

if [ "$build" = 1 ]; then
  npm ci --no-audit --no-fund
  npm run build
fi
[ -f dist/src/daemon/bin.js ] || { echo "install.sh: dist/ is not built (run without --no-build)" >&2; exit 1; }

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
tarball="$(npm pack --silent --pack-destination "$work" | tail -n 1)"

mkdir -p "$prefix"
# An upgrade replaces the code and its dependencies; nothing else lives in PREFIX.
rm -rf "$prefix/dist" "$prefix/node_modules" "$prefix/packages"
tar -xzf "$work/$tarball" -C "$prefix" --strip-components=1 --no-same-owner
cp package-lock.json "$prefix/package-lock.json"
if [ "$build" = 1 ]; then
  cp -a node_modules "$prefix/node_modules"
  # The SO_PEERCRED addon (STORAGED_SOCKET_AUTH=peercred) is a file: dependency: node_modules links to
  # packages/peer-credentials, and the tarball holds its sources, not what npm ci built from them.
  # Optional: without a compiler the build had none to give, and peercred is refused at start.
  if [ -d packages/peer-credentials/build ]; then cp -a packages/peer-credentials/build "$prefix/packages/peer-credentials/"; fi
  (cd "$prefix" && npm prune --omit=dev --no-audit --no-fund)
else
  # The checkout's node_modules may not match the lock: install afresh.
  (cd "$prefix" && npm ci --omit=dev --no-audit --no-fund)
fi

if [ "$system" = 0 ]; then
  echo "installed storaged into $prefix (files only)"
  exit 0
fi

getent group storaged >/dev/null || groupadd --system storaged
getent passwd storaged >/dev/null ||
  useradd --system --gid storaged --home-dir /var/lib/storaged --no-create-home --shell /usr/sbin/nologin storaged
install -d -m 0750 -o root -g storaged /etc/storaged
if [ ! -e /etc/storaged/storaged.env ]; then
  install -m 0600 -o root -g root /dev/null /etc/storaged/storaged.env
  printf '%s\n' '# storaged settings (see README.md, "Configuration"); read by systemd as root.' \
    '# MINIO_ENDPOINT=minio.internal' '# MINIO_ACCESS_KEY=' '# MINIO_SECRET_KEY=' \
    '# STORAGED_TOKENS_FILE=/etc/storaged/tokens' >/etc/storaged/storaged.env
fi
sed "s#/opt/storaged#$prefix#g" "$prefix/systemd/storaged.service" >/etc/systemd/system/storaged.service
# A wrapper, not a symlink: tsc does not make bin.js executable, and the unit's node is the one to use.
printf '#!/bin/sh\nexec /usr/bin/node %s/dist/src/storagectl/bin.js "$@"\n' "$prefix" >/usr/local/bin/storagectl
chmod 0755 /usr/local/bin/storagectl
chmod 0644 /etc/systemd/system/storaged.service
if [ -d /run/systemd/system ]; then systemctl daemon-reload; fi
echo "installed storaged into $prefix and /usr/local/bin/storagectl; edit /etc/storaged/storaged.env, then: systemctl enable --now storaged"
