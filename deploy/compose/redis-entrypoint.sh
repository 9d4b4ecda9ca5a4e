#!/bin/sh
# Start Redis with fitfleet's users: write the ACL file from deploy/compose/redis-users.acl and
# the passwords in the environment, then exec the arguments (redis-server ... --aclfile FILE).
#
# POSIX sh: the redis:*-alpine images have no bash. Only SHA-256 hashes of the passwords are
# written (Redis's `#<hash>` form); the passwords leave the environment of the server.
#
# Environment:
#   REDIS_PASSWORD          user default (administration, health check)   required, >= 12 chars
#   REDIS_WORKER_PASSWORD   user fitfleet-worker                          required, >= 12 chars
#   REDIS_CLIENT_PASSWORD   user fitfleet-client                          required, >= 12 chars
#   FITFLEET_KEY_PREFIX     the fleet's key prefix (default fitfleet:)
#   FITFLEET_ACL_TEMPLATE   template (default /etc/fitfleet/redis-users.acl)
#   FITFLEET_ACL_OUT        where to write (default /tmp/fitfleet/users.acl; the compose
#                           command's --aclfile names the same file)
set -eu

die() { echo "redis-entrypoint: $*" >&2; exit 1; }

template=${FITFLEET_ACL_TEMPLATE:-/etc/fitfleet/redis-users.acl}
out=${FITFLEET_ACL_OUT:-/tmp/fitfleet/users.acl}
prefix=${FITFLEET_KEY_PREFIX:-fitfleet:}

[ -r "$template" ] || die "$template: cannot read the ACL template"
case $prefix in
  '' | *[!A-Za-z0-9:._-]*) die "FITFLEET_KEY_PREFIX may hold only letters, digits, ':', '.', '_' and '-'" ;;
esac

hash() {
  # $1: variable name
  eval "pw=\${$1:-}"
  [ -n "$pw" ] || die "$1 is not set"
  [ "${#pw}" -ge 12 ] || die "$1 is shorter than 12 characters"
  printf '%s' "$pw" | sha256sum | cut -d' ' -f1
}
admin=$(hash REDIS_PASSWORD)
worker=$(hash REDIS_WORKER_PASSWORD)
client=$(hash REDIS_CLIENT_PASSWORD)
if [ "$admin" = "$worker" ] || [ "$admin" = "$client" ] || [ "$worker" = "$client" ]; then
  die "REDIS_PASSWORD, REDIS_WORKER_PASSWORD and REDIS_CLIENT_PASSWORD must differ"
fi

umask 077
mkdir -p "$(dirname "$out")"
grep -v -e '^#' -e '^[[:space:]]*$' "$template" | sed \
  -e "s/@PREFIX@/$prefix/g" \
  -e "s/@REDIS_PASSWORD_SHA256@/$admin/g" \
  -e "s/@REDIS_WORKER_PASSWORD_SHA256@/$worker/g" \
  -e "s/@REDIS_CLIENT_PASSWORD_SHA256@/$client/g" >"$out.tmp"
if grep -q '@[A-Z_0-9]*@' "$out.tmp"; then
  die "$template: unknown placeholder $(grep -o '@[A-Z_0-9]*@' "$out.tmp" | head -n 1)"
fi
mv "$out.tmp" "$out"
# The image's entrypoint runs the server as the redis user.
if [ "$(id -u)" = 0 ] && id redis >/dev/null 2>&1; then
  chown -R redis "$(dirname "$out")"
fi
echo "redis-entrypoint: users default, fitfleet-worker, fitfleet-client written to $out" >&2

unset REDIS_PASSWORD REDIS_WORKER_PASSWORD REDIS_CLIENT_PASSWORD pw
exec "$@"
