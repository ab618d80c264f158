#!/usr/bin/env bash
# The floor of "time to a live preview": the same real work as a deploy, as plain shell, nothing else.
#
#   floor.sh up     git fetch the commit into the work dir, docker compose up -d --build --wait,
#                   write the nginx file, nginx -s reload (the private nginx), curl until 200
#   floor.sh down   docker compose down (volumes, built images), remove the work dir and the nginx file
#
# bench/time_to_live.py runs it, alternating with the real shim. Everything comes from the environment:
#   FLOOR_REPO FLOOR_REF FLOOR_SHA   the git repository, the ref holding the commit, the commit
#   FLOOR_WORKDIR FLOOR_PROJECT      the checkout, the compose project name
#   FLOOR_PORT FLOOR_LABEL           the app's port on 127.0.0.1, the URL path label
#   FLOOR_NGINX_DIR                  the nginx preview-configs directory
#   FLOOR_NGINX_PREFIX FLOOR_NGINX_CONF   the private nginx (-p, -c)
#   FLOOR_URL                        the preview's URL through nginx
# Prints "phase <name> <epoch seconds>" after each step (bash's EPOCHREALTIME: no extra process).
set -euo pipefail

mark() { printf 'phase %s %s\n' "$1" "$EPOCHREALTIME"; }
nginx_bin=$(command -v nginx || echo /usr/sbin/nginx)
reload() { "$nginx_bin" -p "$FLOOR_NGINX_PREFIX" -c "$FLOOR_NGINX_CONF" -s reload; }
compose() { PREVIEW_APP_PORT="$FLOOR_PORT" docker compose --project-name "$FLOOR_PROJECT" \
  --project-directory "$FLOOR_WORKDIR" "$@"; }

case "${1:-}" in
  up)
    mark start
    [ -d "$FLOOR_WORKDIR/.git" ] || git init -q "$FLOOR_WORKDIR"
    git -C "$FLOOR_WORKDIR" fetch -q "$FLOOR_REPO" "+$FLOOR_REF:refs/remotes/origin/pr"
    git -C "$FLOOR_WORKDIR" checkout -q --force "$FLOOR_SHA"
    mark fetched
    compose up -d --build --wait >"$FLOOR_WORKDIR.compose.log" 2>&1 || { cat "$FLOOR_WORKDIR.compose.log" >&2; exit 1; }
    mark started
    cat >"$FLOOR_NGINX_DIR/$FLOOR_LABEL.location.conf" <<EOF
location = /$FLOOR_LABEL {
    return 301 /$FLOOR_LABEL/;
}
location /$FLOOR_LABEL/ {
    proxy_pass http://127.0.0.1:$FLOOR_PORT/;
    proxy_http_version 1.1;
    proxy_set_header Host \$host;
    proxy_set_header X-Real-IP \$remote_addr;
    proxy_set_header X-Forwarded-For \$proxy_add_x_forwarded_for;
    proxy_set_header X-Forwarded-Proto \$scheme;
    proxy_set_header X-Forwarded-Prefix /$FLOOR_LABEL;
    proxy_read_timeout 60s;
}
EOF
    reload
    mark routed
    for _ in $(seq 1 600); do
      [ "$(curl -s -o /dev/null -w '%{http_code}' "$FLOOR_URL")" = 200 ] && { mark live; exit 0; }
      sleep 0.05
    done
    echo "floor: $FLOOR_URL did not answer 200 within 30 s" >&2
    exit 1
    ;;
  down)
    compose down --volumes --rmi local --remove-orphans --timeout 2 >/dev/null 2>&1 || true
    # Older builds that a rebuild untagged: compose down does not know them.
    docker image prune --force --filter "label=com.docker.compose.project=$FLOOR_PROJECT" >/dev/null
    rm -rf "$FLOOR_WORKDIR" "$FLOOR_WORKDIR.compose.log"
    rm -f "$FLOOR_NGINX_DIR/$FLOOR_LABEL.location.conf"
    reload
    ;;
  *)
    echo "usage: floor.sh up|down (settings in FLOOR_* variables, see the header)" >&2
    exit 2
    ;;
esac
