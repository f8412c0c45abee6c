#!/bin/sh
# tsmesh traffic redirect, run by the tsmesh-init container in the pod's network namespace
# (it needs NET_ADMIN and NET_RAW, nothing else). POSIX sh; safe to run again: the TSMESH_*
# chains are flushed and refilled, and the jumps into them are added only once.
#
#   inbound  TCP (PREROUTING) -> TSMESH_INBOUND  -> REDIRECT to the proxy's inbound port 15006
#   outbound TCP (OUTPUT)     -> TSMESH_OUTPUT   -> REDIRECT to the proxy's outbound port 15001
#
# Never redirected: traffic of the proxy's own UID/GID (or it would loop into itself), loopback,
# the admin port 15020 (kubelet probes the proxy there), TCP DNS, and the excluded ports/CIDRs.
# IPv4 only: on dual-stack pods IPv6 traffic bypasses the mesh.
#
# Environment (defaults in brackets):
#   TSMESH_PROXY_UID [1337]  TSMESH_PROXY_GID [= UID]
#   TSMESH_INBOUND_PORT [15006]  TSMESH_OUTBOUND_PORT [15001]  TSMESH_ADMIN_PORT [15020]
#   TSMESH_EXCLUDE_INBOUND_PORTS, TSMESH_EXCLUDE_OUTBOUND_PORTS  comma list: 5432,9000:9100
#   TSMESH_EXCLUDE_OUTBOUND_CIDRS  comma list: 10.0.0.0/8,169.254.169.254/32
#   TSMESH_IPTABLES [iptables]  TSMESH_DRY_RUN=1 prints the commands without running them.
set -eu

PROXY_UID=${TSMESH_PROXY_UID:-1337}
PROXY_GID=${TSMESH_PROXY_GID:-$PROXY_UID}
INBOUND_PORT=${TSMESH_INBOUND_PORT:-15006}
OUTBOUND_PORT=${TSMESH_OUTBOUND_PORT:-15001}
ADMIN_PORT=${TSMESH_ADMIN_PORT:-15020}
EXCLUDE_INBOUND_PORTS=${TSMESH_EXCLUDE_INBOUND_PORTS:-}
EXCLUDE_OUTBOUND_PORTS=${TSMESH_EXCLUDE_OUTBOUND_PORTS:-}
EXCLUDE_OUTBOUND_CIDRS=${TSMESH_EXCLUDE_OUTBOUND_CIDRS:-}
IPT=${TSMESH_IPTABLES:-iptables}
DRY_RUN=${TSMESH_DRY_RUN:-}

fail() {
  echo "tsmesh-iptables: TSMESH_ERR_IPTABLES_CONFIG: $*" >&2
  exit 2
}

is_uint() {
  case $1 in '' | *[!0-9]*) return 1 ;; *) return 0 ;; esac
}

check_port() {
  is_uint "$2" && [ "$2" -ge 1 ] && [ "$2" -le 65535 ] || fail "$1 must be a port (1-65535), got '$2'"
}

check_port_list() {
  [ -z "$2" ] && return 0
  for p in $(echo "$2" | tr ',' ' '); do
    case $p in
      *:*) check_port "$1" "${p%%:*}"; check_port "$1" "${p#*:}" ;;
      *) check_port "$1" "$p" ;;
    esac
  done
}

check_cidr_list() {
  [ -z "$2" ] && return 0
  for c in $(echo "$2" | tr ',' ' '); do
    case $c in
      */*) is_uint "${c#*/}" || fail "$1: bad prefix length in '$c'" ;;
      *) fail "$1: '$c' is not a CIDR (a.b.c.d/n)" ;;
    esac
    case ${c%/*} in *[!0-9.]* | '') fail "$1: '$c' is not an IPv4 CIDR" ;; esac
  done
}

# Validate everything before touching the tables: bad input changes nothing.
is_uint "$PROXY_UID" && [ "$PROXY_UID" -gt 0 ] || fail "TSMESH_PROXY_UID must be a positive integer, got '$PROXY_UID'"
is_uint "$PROXY_GID" && [ "$PROXY_GID" -gt 0 ] || fail "TSMESH_PROXY_GID must be a positive integer, got '$PROXY_GID'"
check_port TSMESH_INBOUND_PORT "$INBOUND_PORT"
check_port TSMESH_OUTBOUND_PORT "$OUTBOUND_PORT"
check_port TSMESH_ADMIN_PORT "$ADMIN_PORT"
check_port_list TSMESH_EXCLUDE_INBOUND_PORTS "$EXCLUDE_INBOUND_PORTS"
check_port_list TSMESH_EXCLUDE_OUTBOUND_PORTS "$EXCLUDE_OUTBOUND_PORTS"
check_cidr_list TSMESH_EXCLUDE_OUTBOUND_CIDRS "$EXCLUDE_OUTBOUND_CIDRS"

nat() {
  echo "+ $IPT -t nat $*"
  [ -n "$DRY_RUN" ] || "$IPT" -w -t nat "$@"
}

# Create the chain, or empty it if an earlier run (a restarted init container) left it.
fresh_chain() {
  if [ -z "$DRY_RUN" ] && "$IPT" -w -t nat -S "$1" >/dev/null 2>&1; then
    nat -F "$1"
  else
    nat -N "$1"
  fi
}

# Add "-p tcp -j TARGET" to a built-in chain unless it is already there.
jump_once() {
  if [ -z "$DRY_RUN" ] && "$IPT" -w -t nat -C "$1" -p tcp -j "$2" >/dev/null 2>&1; then
    return 0
  fi
  nat -A "$1" -p tcp -j "$2"
}

fresh_chain TSMESH_IN_REDIRECT
fresh_chain TSMESH_INBOUND
fresh_chain TSMESH_REDIRECT
fresh_chain TSMESH_OUTPUT

nat -A TSMESH_IN_REDIRECT -p tcp -j REDIRECT --to-ports "$INBOUND_PORT"
nat -A TSMESH_REDIRECT -p tcp -j REDIRECT --to-ports "$OUTBOUND_PORT"

# Inbound: everything but the proxy's own listeners and the excluded ports goes through 15006.
nat -A TSMESH_INBOUND -p tcp --dport "$ADMIN_PORT" -j RETURN
nat -A TSMESH_INBOUND -p tcp --dport "$INBOUND_PORT" -j RETURN
for p in $(echo "$EXCLUDE_INBOUND_PORTS" | tr ',' ' '); do
  nat -A TSMESH_INBOUND -p tcp --dport "$p" -j RETURN
done
nat -A TSMESH_INBOUND -p tcp -j TSMESH_IN_REDIRECT

# Outbound: the proxy's own connections (to peers and the control plane) leave untouched.
nat -A TSMESH_OUTPUT -m owner --uid-owner "$PROXY_UID" -j RETURN
nat -A TSMESH_OUTPUT -m owner --gid-owner "$PROXY_GID" -j RETURN
nat -A TSMESH_OUTPUT -o lo -j RETURN
nat -A TSMESH_OUTPUT -d 127.0.0.1/32 -j RETURN
nat -A TSMESH_OUTPUT -p tcp --dport 53 -j RETURN
for p in $(echo "$EXCLUDE_OUTBOUND_PORTS" | tr ',' ' '); do
  nat -A TSMESH_OUTPUT -p tcp --dport "$p" -j RETURN
done
for c in $(echo "$EXCLUDE_OUTBOUND_CIDRS" | tr ',' ' '); do
  nat -A TSMESH_OUTPUT -d "$c" -j RETURN
done
nat -A TSMESH_OUTPUT -p tcp -j TSMESH_REDIRECT

jump_once PREROUTING TSMESH_INBOUND
jump_once OUTPUT TSMESH_OUTPUT

echo "tsmesh-iptables: inbound -> :$INBOUND_PORT, outbound -> :$OUTBOUND_PORT, proxy uid $PROXY_UID exempt"
