#!/usr/bin/env bash
# Build the test-only stand-in base images with rootful podman, without any image registry
# (docs/deploy.md, "Images built and run offline"; decision 080):
#   localhost/standin/debian:bookworm           debootstrap --variant=minbase of Debian 12, imported
#   localhost/standin/python:3.11-slim-bookworm  stand-in for python:3.11.x-slim-bookworm
#   localhost/standin/python:3.10-slim-bookworm  stand-in for python:3.10.x-slim-bookworm
#   localhost/standin/node:20-bookworm-slim      stand-in for node:20.x-bookworm-slim
#   localhost/standin/beam_python3.10_sdk        stand-in for apache/beam_python3.10_sdk (boot placeholder)
# An image already present is kept (podman's store is the cache); FORCE=1 rebuilds all.
# Needs: podman, runc, debootstrap (apt), and pyenv's CPython 3.10 and 3.11, Node.js 20 on the host.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
export CONTAINERS_CONF="${CONTAINERS_CONF:-$here/containers.conf}"
ns=localhost/standin
host_ca="${HOST_CA_DIR:-/usr/local/share/ca-certificates}"
force="${FORCE:-0}"

have() { [ "$force" != 1 ] && podman image exists "$1"; }
say() { printf '%s %s\n' "$(date +%T)" "$*" >&2; }

pyenv_prefix() {  # newest pyenv CPython of one minor version, e.g. 3.10
  local root
  root="$(pyenv root 2>/dev/null || echo "$HOME/.pyenv")"
  ls -d "$root"/versions/"$1".* 2>/dev/null | grep -E "/$1\.[0-9]+$" | sort -V | tail -n1
}

if ! have $ns/debian:bookworm; then
  # the Debian archive apt already uses (its sources list), not a third-party repository
  mirror="${DEBIAN_MIRROR:-$( { cat /etc/apt/sources.list /etc/apt/sources.list.d/* 2>/dev/null || true; } \
            | grep -oE 'https?://[^ ]+/debian/?$' | head -n1)}"
  [ -n "$mirror" ] || { echo "no Debian mirror in apt's sources (DEBIAN_MIRROR)" >&2; exit 1; }
  rootfs="$(mktemp -d)"
  trap 'rm -rf "$rootfs"' EXIT
  say "debootstrap bookworm from $mirror"
  debootstrap --variant=minbase bookworm "$rootfs" "$mirror" >/dev/null
  rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*
  tar -C "$rootfs" -c . | podman import --change 'CMD ["/bin/bash"]' - $ns/debian:bookworm >/dev/null
  rm -rf "$rootfs"
  trap - EXIT
fi

[ -d "$host_ca" ] || { echo "no CA directory $host_ca (HOST_CA_DIR)" >&2; exit 1; }
for minor in 3.11 3.10; do
  tag=$ns/python:$minor-slim-bookworm
  have $tag && continue
  prefix="$(pyenv_prefix $minor)"
  [ -n "$prefix" ] || { echo "pyenv has no CPython $minor (pyenv install $minor)" >&2; exit 1; }
  say "python $minor from $prefix"
  podman build --quiet --network=host -f "$here/python.Containerfile" --build-arg PYTHON_MINOR=$minor --build-arg SOURCE_PREFIX="$prefix" \
    -v "$prefix:/opt/src-python:ro" -v "$host_ca:/opt/host-ca:ro" -t $tag "$here" >/dev/null
done

if ! have $ns/node:20-bookworm-slim; then
  node="$(command -v node)"
  case "$("$node" --version)" in v20.*) ;; *) echo "Node.js 20 is needed on the host, found $("$node" --version)" >&2; exit 1;; esac
  npm_dir="$(dirname "$(dirname "$(readlink -f "$(command -v npm)")")")"
  staging="$(mktemp -d)"
  cp "$(readlink -f "$node")" "$staging/node" && cp -a "$npm_dir" "$staging/npm"
  say "node $("$node" --version)"
  podman build --quiet --network=host -f "$here/node.Containerfile" \
    -v "$staging:/opt/src-node:ro" -v "$host_ca:/opt/host-ca:ro" -t $ns/node:20-bookworm-slim "$here" >/dev/null
  rm -rf "$staging"
fi

if ! have $ns/beam_python3.10_sdk; then
  say "beam sdk stand-in"
  podman build --quiet -f "$here/beam.Containerfile" -t $ns/beam_python3.10_sdk "$here" >/dev/null
fi
podman images --filter reference="$ns/*" --format '{{.Repository}}:{{.Tag}} {{.Size}}'
