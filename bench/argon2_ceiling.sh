# The hashing ceiling's second contender for bench/run.sh (sourced): the Argon2 reference
# library (libargon2, the PHC winner's C code) built optimised for this CPU
# (`make OPTTARGET=native`: its AVX2/AVX-512 code where the CPU has them). Debian's `argon2`
# CLI is the generic build, slower than either optimised one. The source comes from the
# argon2-cffi-bindings sdist on PyPI (it vendors libargon2), pinned by hash.

ARGON2_SDIST_URL="https://files.pythonhosted.org/packages/76/3b/f7bd1daac24c7017b6d09d05c56bb3f71aaae76b2ac4234ed2c00e0dd2d2/argon2_cffi_bindings-26.2.0.tar.gz"
ARGON2_SDIST_SHA256="f21ab89bb9850f32b9ca038d9961424bb0d3669d579cbbbfed068cffa6fc0643"

# optimised_argon2_cli DIR: builds (once) and prints the path of the optimised `argon2` CLI,
# or nothing if the source cannot be fetched or built.
optimised_argon2_cli() {
  local dir=$1 source
  source="$dir/argon2_cffi_bindings-26.2.0/extras/libargon2"
  if [[ ! -x $source/argon2 ]]; then
    mkdir -p "$dir"
    curl -fsSL --max-time 60 -o "$dir/sdist.tar.gz" "$ARGON2_SDIST_URL" || return 0
    echo "$ARGON2_SDIST_SHA256  $dir/sdist.tar.gz" | sha256sum -c --quiet - || return 0
    tar -xzf "$dir/sdist.tar.gz" -C "$dir" || return 0
    make -s -C "$source" OPTTARGET=native argon2 >/dev/null 2>&1 || return 0
  fi
  echo "$source/argon2"
}
