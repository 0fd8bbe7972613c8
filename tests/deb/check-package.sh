#!/usr/bin/env bash
# The Debian package, checked as root on a Debian machine (CI runs it from .ci/run):
# it builds, installs with dpkg -i, systemd-analyze verify accepts its unit, the installed
# daemon started as the unit starts it (its ExecStart, as its user, in its working directory,
# with the packaged configuration) answers /are_you_alive with the first-start password, and
# dpkg --purge leaves nothing behind but the system user, which this script then removes
# itself so that the machine is left as it was.
#
# DEB_PROFILE=dev builds the package from the debug build (quicker, for trying it by hand).
set -euo pipefail
cd "$(dirname "$0")/../.."

skip_or_fail() {
    if [ -n "${CI:-}" ]; then echo "FAIL: $1" >&2; exit 1; fi
    echo "SKIPPED: $1"; exit 0
}
[ "$(id -u)" = 0 ] || skip_or_fail "the package check needs root (dpkg -i, a system user)"
command -v dpkg >/dev/null || skip_or_fail "not a Debian system (no dpkg)"
if dpkg -s alignak-ws >/dev/null 2>&1; then
    skip_or_fail "alignak-ws is installed on this machine: not touching it"
fi
if ! command -v systemd-analyze >/dev/null; then
    [ -n "${CI:-}" ] || skip_or_fail "systemd-analyze is missing (apt-get install systemd)"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends systemd >/dev/null
fi
if ! command -v curl >/dev/null; then
    [ -n "${CI:-}" ] || skip_or_fail "curl is missing (apt-get install curl)"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends curl >/dev/null
fi
if ! command -v cargo-deb >/dev/null; then
    [ -n "${CI:-}" ] || skip_or_fail "cargo-deb is missing (cargo install cargo-deb)"
    cargo install cargo-deb --locked -q
fi

profile="${DEB_PROFILE:-release}"
cargo build -q --profile "$profile" -p alignak-receiver -p alignak-module-ws
deb=$(cargo deb -p alignak-receiver --no-build --profile "$profile" 2>/dev/null | tail -n 1)
version=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n 1)
case "$deb" in
    */alignak-ws_"$version"_amd64.deb) ;;
    *) echo "FAIL: unexpected package file '$deb'" >&2; exit 1 ;;
esac
echo "built $deb ($(du -h "$deb" | cut -f1))"

had_user=0
getent passwd alignak-ws >/dev/null && had_user=1
daemon_pid=
log=$(mktemp)
cleanup() {
    [ -n "$daemon_pid" ] && kill "$daemon_pid" 2>/dev/null && wait "$daemon_pid" 2>/dev/null
    dpkg --purge alignak-ws >/dev/null 2>&1 || true
    if [ "$had_user" = 0 ]; then
        userdel alignak-ws 2>/dev/null || true
        groupdel alignak-ws 2>/dev/null || true
    fi
    rm -f "$log"
}
trap cleanup EXIT

dpkg -i "$deb" >/dev/null
unit=/lib/systemd/system/alignak-ws.service
for path in /usr/bin/alignak-receiver /usr/lib/alignak-ws/modules/libalignak_module_ws.so \
    /etc/alignak-ws/alignak.cfg "$unit"; do
    [ -e "$path" ] || { echo "FAIL: $path is not installed" >&2; exit 1; }
done
conffiles=$(dpkg-query -W -f='${Conffiles}' alignak-ws)
for conf in alignak.cfg arbiter/daemons/receiver-master.cfg arbiter/modules/mod-ws.cfg; do
    grep -q "/etc/alignak-ws/$conf " <<<"$conffiles" || { echo "FAIL: $conf is not a conffile" >&2; exit 1; }
done
getent passwd alignak-ws >/dev/null || { echo "FAIL: postinst made no alignak-ws user" >&2; exit 1; }
[ "$(stat -c %U /var/lib/alignak-ws)" = alignak-ws ] || { echo "FAIL: /var/lib/alignak-ws is not the service's" >&2; exit 1; }

systemd-analyze verify "$unit"
echo "systemd-analyze verify: OK"

# Started as the unit would start it.
exec_start=$(sed -n 's/^ExecStart=//p' "$unit")
workdir=$(sed -n 's/^WorkingDirectory=//p' "$unit")
user=$(sed -n 's/^User=//p' "$unit")
(cd "$workdir" && exec setpriv --reuid="$user" --regid="$user" --init-groups -- $exec_start) >"$log" 2>&1 &
daemon_pid=$!
password=
for _ in $(seq 1 300); do
    password=$(sed -n 's/^ *admin password: //p' "$log" | head -n 1)
    [ -n "$password" ] && break
    kill -0 "$daemon_pid" 2>/dev/null || break
    sleep 0.1
done
[ -n "$password" ] || { echo "FAIL: no first-start password; the daemon said:" >&2; cat "$log" >&2; exit 1; }
port=$(sed -n 's/^ *port *\([0-9]*\).*/\1/p' /etc/alignak-ws/arbiter/modules/mod-ws.cfg | head -n 1)
answer=
for _ in $(seq 1 100); do
    answer=$(curl -sf -u "admin:$password" "http://127.0.0.1:$port/are_you_alive" || true)
    [ -n "$answer" ] && break
    sleep 0.1
done
[ -n "$answer" ] || { echo "FAIL: /are_you_alive did not answer; the daemon said:" >&2; cat "$log" >&2; exit 1; }
echo "/are_you_alive as admin with the first-start password: $answer"
[ "$(stat -c %U /var/lib/alignak-ws/users.htpasswd)" = alignak-ws ] || { echo "FAIL: the users file is not the service's" >&2; exit 1; }
kill "$daemon_pid"; wait "$daemon_pid" 2>/dev/null || true; daemon_pid=

installed=$(dpkg -L alignak-ws)
dpkg --purge alignak-ws >/dev/null
left=
while read -r path; do
    case "$path" in /|/.|/usr|/usr/bin|/usr/lib|/usr/share|/usr/share/doc|/etc|/lib|/lib/systemd|/lib/systemd/system) continue ;; esac
    [ -e "$path" ] && left="$left $path"
done <<<"$installed"
for path in /etc/alignak-ws /var/lib/alignak-ws; do
    [ -e "$path" ] && left="$left $path"
done
[ -z "$left" ] || { echo "FAIL: dpkg --purge left:$left" >&2; exit 1; }
echo "dpkg --purge: nothing left (the system user alignak-ws stays, as Debian policy allows; removed by this script)"
echo "OK: the alignak-ws package"
