#!/usr/bin/env bash
# Makes sure what `make run` and `make test` need is on this machine and running:
# a PostgreSQL server on 127.0.0.1:5432 and a Redis server on 127.0.0.1:6379
# (started, or installed and started) and, for the tests that talk to the
# broker with a second real Kafka client, kcat (--with-kcat), and for the
# sign-in test in headless Chromium, Debian's chromium (--with-chromium), and
# for the integration tests' second readers of what we parse, dcmtk
# (--with-dcmtk) and Node.js with npm (--with-node).
set -euo pipefail

need_apt_update=1
apt_install() {
	if [ "$(id -u)" != 0 ]; then
		echo "ensure-services: $* missing; install it (needs root): apt-get install -y $*" >&2
		return 1
	fi
	if [ "$need_apt_update" = 1 ]; then
		apt-get update -qq
		need_apt_update=0
	fi
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

pg_up() { pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; }

if ! command -v pg_isready >/dev/null 2>&1 || ! ls /etc/postgresql/*/main >/dev/null 2>&1; then
	echo "ensure-services: installing PostgreSQL" >&2
	apt_install postgresql postgresql-contrib
fi
if ! pg_up; then
	echo "ensure-services: starting PostgreSQL" >&2
	for v in /etc/postgresql/*; do
		pg_ctlcluster --skip-systemctl-redirect "$(basename "$v")" main start || true
	done
	for _ in $(seq 1 30); do pg_up && break; sleep 1; done
fi
if ! pg_up; then
	echo "ensure-services: PostgreSQL is not answering on 127.0.0.1:5432" >&2
	exit 1
fi

redis_up() { redis-cli -h 127.0.0.1 -p 6379 ping 2>/dev/null | grep -q PONG; }

if ! command -v redis-server >/dev/null 2>&1 || ! command -v redis-cli >/dev/null 2>&1; then
	echo "ensure-services: installing Redis" >&2
	apt_install redis-server
fi
if ! redis_up; then
	echo "ensure-services: starting Redis" >&2
	redis-server --bind 127.0.0.1 --port 6379 --daemonize yes --save "" --appendonly no >/dev/null
	for _ in $(seq 1 30); do redis_up && break; sleep 1; done
fi
if ! redis_up; then
	echo "ensure-services: Redis is not answering on 127.0.0.1:6379" >&2
	exit 1
fi

with_kcat=0
with_chromium=0
with_dcmtk=0
with_node=0
for arg in "$@"; do
	case "$arg" in
	--with-kcat) with_kcat=1 ;;
	--with-chromium) with_chromium=1 ;;
	--with-dcmtk) with_dcmtk=1 ;;
	--with-node) with_node=1 ;;
	esac
done
if [ "$with_kcat" = 1 ] && ! command -v kcat >/dev/null 2>&1; then
	echo "ensure-services: installing kcat" >&2
	apt_install kcat
fi
if [ "$with_chromium" = 1 ] && ! command -v chromium >/dev/null 2>&1; then
	echo "ensure-services: installing chromium (the sign-in page's browser test)" >&2
	apt_install chromium
fi
if [ "$with_dcmtk" = 1 ] && ! command -v dcmdump >/dev/null 2>&1; then
	echo "ensure-services: installing dcmtk (the DICOM reader's oracle)" >&2
	apt_install dcmtk
fi
if [ "$with_node" = 1 ] && { ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; }; then
	echo "ensure-services: installing Node.js and npm (the HL7 v2 parser's oracle and MLLP client)" >&2
	apt_install nodejs npm
fi
