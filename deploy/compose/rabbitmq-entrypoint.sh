#!/usr/bin/env bash
# Start RabbitMQ with fitfleet's queue topology AND a user of the deployment's own.
#
# Why: when RabbitMQ imports definitions at boot (load_definitions in rabbitmq.conf), a blank
# node does not seed its default user; RABBITMQ_DEFAULT_USER/RABBITMQ_DEFAULT_PASS are ignored
# too. crates/fleet/rabbitmq/definitions.json holds no users, so loading it as it is would leave a
# broker nobody can log in to. This script writes the definitions RabbitMQ loads: the user
# (RABBITMQ_USER, with a salted SHA-256 hash of RABBITMQ_PASSWORD, RabbitMQ's default hashing),
# its permissions on vhost "/", and the topology file unchanged. Then it execs its arguments
# (the image's own entrypoint). Only the hash is written; the password leaves the environment
# of the server.
#
# Environment:
#   RABBITMQ_USER                  user name (letters, digits, . _ -)
#   RABBITMQ_PASSWORD              its password (required, at least 12 characters)
#   FITFLEET_TOPOLOGY              topology file (default /etc/fitfleet/topology.json)
#   FITFLEET_DEFINITIONS_OUT       where to write (default /tmp/fitfleet/definitions.json;
#                                  rabbitmq.conf's load_definitions names the same file)
set -euo pipefail

die() { echo "rabbitmq-entrypoint: $*" >&2; exit 1; }

user=${RABBITMQ_USER:-}
password=${RABBITMQ_PASSWORD:-}
topology=${FITFLEET_TOPOLOGY:-/etc/fitfleet/topology.json}
out=${FITFLEET_DEFINITIONS_OUT:-/tmp/fitfleet/definitions.json}

[[ -n $user ]] || die "RABBITMQ_USER is not set"
[[ $user =~ ^[A-Za-z0-9._-]+$ ]] || die "RABBITMQ_USER may hold only letters, digits, '.', '_' and '-'"
[[ $user != guest ]] || die "RABBITMQ_USER must not be guest"
[[ -n $password ]] || die "RABBITMQ_PASSWORD is not set"
((${#password} >= 12)) || die "RABBITMQ_PASSWORD is shorter than 12 characters"
[[ -r $topology ]] || die "$topology: cannot read the topology definitions"
[[ $(head -c 1 "$topology") == "{" ]] || die "$topology: expected a JSON object starting with '{'"

# rabbit_password_hashing_sha256: base64(salt ++ sha256(salt ++ password)), 4 random salt bytes.
hash_password() {
  local tmp digest escaped='' i
  tmp=$(mktemp)
  head -c 4 /dev/urandom >"$tmp"
  digest=$({ cat "$tmp"; printf '%s' "$1"; } | sha256sum | cut -d' ' -f1)
  # Hex digest to bytes: bash's printf turns \xHH into the byte HH.
  for ((i = 0; i < ${#digest}; i += 2)); do escaped+="\\x${digest:i:2}"; done
  # shellcheck disable=SC2059
  printf "$escaped" >>"$tmp"
  base64 -w0 <"$tmp"
  rm -f "$tmp"
}

umask 077
mkdir -p "$(dirname "$out")"
hash=$(hash_password "$password")
{
  printf '{\n'
  printf '  "users": [{"name": "%s", "password_hash": "%s", "hashing_algorithm": "rabbit_password_hashing_sha256", "tags": ["administrator"]}],\n' "$user" "$hash"
  printf '  "permissions": [{"user": "%s", "vhost": "/", "configure": ".*", "write": ".*", "read": ".*"}],\n' "$user"
  # The topology object without its opening brace: its keys follow ours.
  tail -c +2 "$topology"
} >"$out.tmp"
mv "$out.tmp" "$out"
# The server runs as the rabbitmq user (the image's entrypoint drops root).
if [[ $(id -u) == 0 ]] && id rabbitmq >/dev/null 2>&1; then
  chown -R rabbitmq "$(dirname "$out")"
fi
echo "rabbitmq-entrypoint: definitions for user $user written to $out" >&2

unset RABBITMQ_PASSWORD password
exec "$@"
