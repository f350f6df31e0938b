#!/usr/bin/env bash
# Makes sure MariaDB and Redis answer, starting them when they are installed but stopped,
# and saying exactly what to install when they are missing. Sourced by run.sh and test.sh.

port_open() { (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; }

wait_port() {
  local host=$1 port=$2 name=$3
  for _ in $(seq 1 60); do
    port_open "$host" "$port" && return 0
    sleep 0.5
  done
  echo "error: $name did not start listening on $host:$port within 30 s" >&2
  return 1
}

# host and port of a URL like scheme://user@host:port/db
url_host() { echo "$1" | sed -E 's#^[a-z]+://([^@/]*@)?([^:/?]+).*#\2#'; }
url_port() { echo "$1" | sed -nE 's#^[a-z]+://([^@/]*@)?[^:/?]+:([0-9]+).*#\2#p'; }

is_local() { [[ "$1" == "127.0.0.1" || "$1" == "localhost" || "$1" == "::1" ]]; }

ensure_mariadb() {
  local url=${DATABASE_URL:-mysql://root@127.0.0.1:3306/dispatch}
  local host port
  host=$(url_host "$url"); port=$(url_port "$url"); port=${port:-3306}
  port_open "$host" "$port" && return 0
  if ! is_local "$host"; then
    echo "error: MySQL/MariaDB at $host:$port (DATABASE_URL) does not answer" >&2
    return 1
  fi
  local daemon
  daemon=$(command -v mariadbd || command -v mysqld || ls /usr/sbin/mariadbd /usr/sbin/mysqld 2>/dev/null | head -n1)
  if [[ -z "$daemon" ]]; then
    cat >&2 <<'MSG'
error: MariaDB is not installed. Install it with:
    sudo apt-get update && sudo apt-get install -y mariadb-server
(or point DATABASE_URL at a running MySQL/MariaDB server)
MSG
    return 1
  fi
  echo "Starting MariaDB ($daemon)..."
  mkdir -p /run/mysqld 2>/dev/null && chown mysql:mysql /run/mysqld 2>/dev/null || true
  if command -v start-stop-daemon >/dev/null; then
    start-stop-daemon --start --oknodo --background --exec "$daemon"
  else
    nohup "$daemon" >/dev/null 2>&1 &
  fi
  wait_port "$host" "$port" MariaDB
}

ensure_redis() {
  local url=${REDIS_URL:-redis://127.0.0.1:6379}
  local host port
  host=$(url_host "$url"); port=$(url_port "$url"); port=${port:-6379}
  port_open "$host" "$port" && return 0
  if ! is_local "$host"; then
    echo "error: Redis at $host:$port (REDIS_URL) does not answer" >&2
    return 1
  fi
  if ! command -v redis-server >/dev/null; then
    cat >&2 <<'MSG'
error: Redis is not installed. Install it with:
    sudo apt-get update && sudo apt-get install -y redis-server
(or point REDIS_URL at a running Redis server)
MSG
    return 1
  fi
  echo "Starting Redis..."
  redis-server --daemonize yes --bind 127.0.0.1 --port "$port" --save "" --appendonly no >/dev/null
  wait_port "$host" "$port" Redis
}

ensure_rust() {
  if ! command -v cargo >/dev/null; then
    echo "error: Rust is not installed. Install it from https://rustup.rs (rustup, then: rustup default stable)" >&2
    return 1
  fi
}

# The worker links libjpeg-turbo (fast, DCT-scaled JPEG decoding), built from the source
# bundled with the turbojpeg crate: that build needs cmake and nasm.
ensure_build_tools() {
  local missing=()
  command -v cmake >/dev/null || missing+=(cmake)
  command -v nasm >/dev/null || missing+=(nasm)
  [[ ${#missing[@]} -eq 0 ]] && return 0
  if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null; then
    echo "Installing ${missing[*]} (needed to build libjpeg-turbo)..."
    apt-get install -y -qq "${missing[@]}" >/dev/null 2>&1 \
      || { apt-get update -qq >/dev/null && apt-get install -y -qq "${missing[@]}" >/dev/null; } \
      || { echo "error: could not install ${missing[*]}" >&2; return 1; }
    return 0
  fi
  cat >&2 <<MSG
error: building Dispatch needs ${missing[*]} (for libjpeg-turbo). Install with:
    sudo apt-get update && sudo apt-get install -y cmake nasm
(macOS: brew install cmake nasm)
MSG
  return 1
}

# The web console's end-to-end tests drive Debian's Chromium through ChromeDriver.
ensure_browser() {
  [[ -n "${CHROMEDRIVER:-}" && -x "${CHROMEDRIVER}" ]] && return 0
  command -v chromium >/dev/null && command -v chromedriver >/dev/null && return 0
  if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null; then
    echo "Installing chromium and chromium-driver (for the web console's browser tests)..."
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null 2>&1 \
      || { apt-get update -qq >/dev/null \
           && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null; } \
      || { echo "error: could not install chromium chromium-driver" >&2; return 1; }
    return 0
  fi
  cat >&2 <<'MSG'
error: the web console's tests need Chromium and ChromeDriver. Install them with:
    sudo apt-get update && sudo apt-get install -y chromium chromium-driver
(elsewhere: any Chrome/Chromium with the matching chromedriver; set CHROME and CHROMEDRIVER to their paths)
MSG
  return 1
}

ensure_services() {
  ensure_rust && ensure_build_tools && ensure_mariadb && ensure_redis
}
