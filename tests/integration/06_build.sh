#!/bin/sh
# The build: no file #includes a .c file; lookup/ (less its main) is a
# library the CLI, the unit tests and the fuzz targets link; header
# dependencies are tracked. Asked of make without changing the tree:
# `make -n -W FILE` says what make would rebuild were FILE just changed.
set -u
. "${SRCDIR:-$(pwd)}/tests/lib/itest.sh"
cd "$SRCDIR" || exit 2

out=$(grep -rnE '^[[:space:]]*#[[:space:]]*include[[:space:]]*[<"][^">]*\.c[">]' \
    --include='*.c' --include='*.h' . 2>/dev/null)
t_eq "no file #includes a .c file" "$out" ""
out=$(grep -rn 'static inline' --include='*.h' cli 2>/dev/null)
t_eq "cli/ headers hold no code" "$out" ""

# What make would rebuild were $1 just changed (the version as built: a
# commit or an edit since would change it, and rebuild common/version.o).
would() {
	make -n -W "$1" BUILD="$BUILD" \
	    SMIMEPUB_VERSION="$(cat "$BUILD/version.stamp" 2>/dev/null)" tests 2>&1 |
	    sed -n 's/.* -o \([^ ]*\) .*/\1/p'
}
out=$(would lookup/lk_api.c)
t_contains "lk_api.c changed: liblookup.a is rebuilt" "$out" "$BUILD/obj/lookup/lk_api.o"
t_contains "lk_api.c changed: smimepub is relinked" "$out" "$BUILD/smimepub
"
t_contains "lk_api.c changed: test_lk_api is relinked" "$out" "$BUILD/tests/test_lk_api
"
t_contains "lk_api.c changed: fuzz_lookup is relinked" "$out" "$BUILD/fuzz/fuzz_lookup"
t_not_contains "lk_api.c changed: smimepub-sync is not relinked" "$out" "$BUILD/smimepub-sync"
t_not_contains "lk_api.c changed: nothing else is compiled" "$out" "$BUILD/obj/lookup/lk_cache.o"

# A header: exactly the files that include it (from the compiler's .d files).
out=$(would lookup/lk.h)
t_contains "lk.h changed: cmd_lookup.c is recompiled" "$out" "$BUILD/obj/cli/cmd_lookup.o"
t_contains "lk.h changed: test_lk_cache.c is recompiled" "$out" "$BUILD/obj/tests/unit/test_lk_cache.o"
t_not_contains "lk.h changed: cmd_ca.c is not" "$out" "$BUILD/obj/cli/cmd_ca.o"
out=$(would dns/dns.h)
t_contains "dns.h changed: test_dns.c is recompiled" "$out" "$BUILD/obj/tests/unit/test_dns.o"
t_contains "dns.h changed: cmd_smimea.c is recompiled" "$out" "$BUILD/obj/cli/cmd_smimea.o"
t_not_contains "dns.h changed: lookup/ is not recompiled" "$out" "$BUILD/obj/lookup/lk_api.o"

t_done
