# Sourced by the scripts that install a pinned Python tool for the tests.
# ensure_python_tool VENV PACKAGE VERSION EXECUTABLE PURPOSE: installs PACKAGE==VERSION into
# the virtualenv VENV unless its EXECUTABLE already reports that version.
ensure_python_tool() {
  local venv=$1 package=$2 version=$3 executable=$4 purpose=$5
  if "$venv/bin/$executable" --version 2>/dev/null | grep -q "$version"; then
    return 0
  fi
  if ! command -v python3 >/dev/null; then
    echo "error: python3 is needed for $purpose: sudo apt-get install -y python3 python3-venv" >&2
    return 1
  fi
  echo "Installing $package $version into $venv..." >&2
  rm -rf "$venv"
  python3 -m venv "$venv" || {
    echo "error: could not create a virtualenv: sudo apt-get install -y python3-venv" >&2
    return 1
  }
  "$venv/bin/pip" install --quiet --disable-pip-version-check "$package==$version" >&2
}
