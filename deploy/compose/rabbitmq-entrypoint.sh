#!/usr/bin/env bash
# Start RabbitMQ with fitfleet's queue topology AND the deployment's own users.
#
# Why: when RabbitMQ imports definitions at boot (load_definitions in rabbitmq.conf), a blank
# node does not seed its default user; RABBITMQ_DEFAULT_USER/RABBITMQ_DEFAULT_PASS are ignored
# too. crates/fleet/rabbitmq/definitions.json holds no users, so loading it as it is would leave a
# broker nobody can log in to. This script writes the definitions RabbitMQ loads: three users,
# each with a salted SHA-256 hash of its password (RabbitMQ's default hashing), their
# permissions on vhost "/", and the topology file unchanged. Then it execs its arguments (the
# image's own entrypoint). Only hashes are written; the passwords leave the environment of the
# server.
#
#   RABBITMQ_USER    administrator (management UI, operators): tag administrator, every
#                    permission. No fitfleet process uses it.
#   fitfleet-client  the fitfleet CLI: publishes tasks to {prefix}submit (write), reads and
#                    configures nothing. It checks passively that the queues exist.
#   fitfleet-worker  the workers and their dead-letter recorders: consume {prefix}tasks and
#                    {prefix}tasks.dead (read), write and configure nothing. Rejected tasks are
#                    dead-lettered by the broker itself, which needs no permission of theirs.
# The topology must therefore exist before they connect: this file declares it.
#
# Environment:
#   RABBITMQ_USER                  administrator's name (letters, digits, . _ -)
#   RABBITMQ_PASSWORD              its password (required, at least 12 characters)
#   RABBITMQ_WORKER_PASSWORD       fitfleet-worker's password (required, at least 12 characters)
#   RABBITMQ_CLIENT_PASSWORD       fitfleet-client's password (required, at least 12 characters)
#   FITFLEET_QUEUE_PREFIX          the fleet's queue_prefix (default fitfleet.)
#   FITFLEET_TOPOLOGY              topology file (default /etc/fitfleet/topology.json)
#   FITFLEET_DEFINITIONS_OUT       where to write (default /tmp/fitfleet/definitions.json;
#                                  rabbitmq.conf's load_definitions names the same file)
set -euo pipefail

die() { echo "rabbitmq-entrypoint: $*" >&2; exit 1; }

user=${RABBITMQ_USER:-}
password=${RABBITMQ_PASSWORD:-}
worker_password=${RABBITMQ_WORKER_PASSWORD:-}
client_password=${RABBITMQ_CLIENT_PASSWORD:-}
prefix=${FITFLEET_QUEUE_PREFIX:-fitfleet.}
topology=${FITFLEET_TOPOLOGY:-/etc/fitfleet/topology.json}
out=${FITFLEET_DEFINITIONS_OUT:-/tmp/fitfleet/definitions.json}

[[ -n $user ]] || die "RABBITMQ_USER is not set"
[[ $user =~ ^[A-Za-z0-9._-]+$ ]] || die "RABBITMQ_USER may hold only letters, digits, '.', '_' and '-'"
[[ $user != guest ]] || die "RABBITMQ_USER must not be guest"
[[ $user != fitfleet-worker && $user != fitfleet-client ]] || die "RABBITMQ_USER must not be $user (a fleet user)"
for var in RABBITMQ_PASSWORD RABBITMQ_WORKER_PASSWORD RABBITMQ_CLIENT_PASSWORD; do
  [[ -n ${!var:-} ]] || die "$var is not set"
done
((${#password} >= 12)) || die "RABBITMQ_PASSWORD is shorter than 12 characters"
((${#worker_password} >= 12)) || die "RABBITMQ_WORKER_PASSWORD is shorter than 12 characters"
((${#client_password} >= 12)) || die "RABBITMQ_CLIENT_PASSWORD is shorter than 12 characters"
if [[ $password == "$worker_password" || $password == "$client_password" || $worker_password == "$client_password" ]]; then
  die "RABBITMQ_PASSWORD, RABBITMQ_WORKER_PASSWORD and RABBITMQ_CLIENT_PASSWORD must differ"
fi
[[ $prefix =~ ^[A-Za-z0-9._-]*$ ]] || die "FITFLEET_QUEUE_PREFIX may hold only letters, digits, '.', '_' and '-'"
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

# The prefix as a regular expression in JSON: each '.' escaped for the regex, the backslash
# for JSON.
re=${prefix//./\\\\.}

user_json() {
  # $1 name, $2 password, $3 tags (JSON list)
  printf '{"name": "%s", "password_hash": "%s", "hashing_algorithm": "rabbit_password_hashing_sha256", "tags": %s}' \
    "$1" "$(hash_password "$2")" "$3"
}

umask 077
mkdir -p "$(dirname "$out")"
{
  printf '{\n'
  printf '  "users": [\n    %s,\n    %s,\n    %s\n  ],\n' \
    "$(user_json "$user" "$password" '["administrator"]')" \
    "$(user_json fitfleet-worker "$worker_password" '[]')" \
    "$(user_json fitfleet-client "$client_password" '[]')"
  printf '  "permissions": [\n'
  printf '    {"user": "%s", "vhost": "/", "configure": ".*", "write": ".*", "read": ".*"},\n' "$user"
  printf '    {"user": "fitfleet-worker", "vhost": "/", "configure": "^$", "write": "^$", "read": "^%stasks(%sdead)?$"},\n' "$re" '\\.'
  printf '    {"user": "fitfleet-client", "vhost": "/", "configure": "^$", "write": "^%ssubmit$", "read": "^$"}\n' "$re"
  printf '  ],\n'
  # The topology object without its opening brace: its keys follow ours.
  tail -c +2 "$topology"
} >"$out.tmp"
mv "$out.tmp" "$out"
# The server runs as the rabbitmq user (the image's entrypoint drops root).
if [[ $(id -u) == 0 ]] && id rabbitmq >/dev/null 2>&1; then
  chown -R rabbitmq "$(dirname "$out")"
fi
echo "rabbitmq-entrypoint: definitions for users $user, fitfleet-worker, fitfleet-client written to $out" >&2

unset RABBITMQ_PASSWORD RABBITMQ_WORKER_PASSWORD RABBITMQ_CLIENT_PASSWORD password worker_password client_password
exec "$@"
