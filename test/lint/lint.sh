#!/usr/bin/env bash
# Source lint: banned functions anywhere in lib/ and cmd/, and includes that
# break the module layering of test/lint/layers.txt. Prints every finding
# and exits 1 if there is any.
set -u
root=${1:-$(cd "$(dirname "$0")/../.." && pwd)}
layers="$root/test/lint/layers.txt"
fail=0

report() {
    echo "lint: $*"
    fail=1
}

# 1. Banned functions: unbounded writes and silent-failure conversions.
banned='\b(sprintf|vsprintf|strcpy|strcat|strncat|strtok|atoi|atol|atof|gets|tmpnam|mktemp)[[:space:]]*\('
while IFS= read -r hit; do
    report "banned function: $hit"
done < <(cd "$root" && grep -rnE --include='*.c' --include='*.h' "$banned" lib cmd test/unit test/fuzz 2>/dev/null \
         | grep -vE '^\S+:[0-9]+:\s*(\*|//|/\*)')

# 2. Layering.
declare -A header_module allowed
core_modules=""
while IFS= read -r line; do
    line=${line%%#*}
    [[ -z "${line// }" ]] && continue
    case "$line" in
        header:*) read -r _ file mod <<<"$line"; header_module[$file]=$mod ;;
        core:*) core_modules=${line#core:} ;;
        *:*) mod=${line%%:*}; allowed[$mod]=" $mod ${line#*:} " ;;
    esac
done < "$layers"

module_of_header() {
    local h=$1
    if [[ -n "${header_module[$h]:-}" ]]; then echo "${header_module[$h]}"; else echo "${h%.h}"; fi
}

for dir in "$root"/lib/*/; do
    mod=$(basename "$dir")
    [[ "$mod" == include ]] && continue
    if [[ -z "${allowed[$mod]:-}" ]]; then
        report "lib/$mod is not in test/lint/layers.txt"
        continue
    fi
    while IFS= read -r inc; do
        file=${inc%%:*}
        rest=${inc#*:}; lineno=${rest%%:*}
        header=$(sed -E 's/.*#include[[:space:]]*"ahpa\/([^"]+)".*/\1/' <<<"$inc")
        dep=$(module_of_header "$header")
        if [[ "${allowed[$mod]}" != *" $dep "* ]]; then
            report "${file#$root/}:$lineno: lib/$mod may not include ahpa/$header (module $dep)"
        fi
    done < <(grep -nE '#include[[:space:]]*"ahpa/' "$dir"*.c "$dir"*.h 2>/dev/null)
done

# Public headers follow their module's rules too.
for h in "$root"/lib/include/ahpa/*.h; do
    [[ -e "$h" ]] || continue
    mod=$(module_of_header "$(basename "$h")")
    [[ -z "${allowed[$mod]:-}" ]] && { report "header $(basename "$h") maps to unknown module $mod"; continue; }
    while IFS= read -r inc; do
        header=$(sed -E 's/.*#include[[:space:]]*"ahpa\/([^"]+)".*/\1/' <<<"$inc")
        dep=$(module_of_header "$header")
        [[ "${allowed[$mod]}" == *" $dep "* ]] ||
            report "lib/include/ahpa/$(basename "$h") may not include ahpa/$header"
    done < <(grep -hE '#include[[:space:]]*"ahpa/' "$h")
done

# 3. Core modules stay pure: no threads, sockets, files, clock or logging.
impure='#include[[:space:]]*<(pthread\.h|sys/socket\.h|netinet/[a-z_]+\.h|unistd\.h|fcntl\.h|curl/curl\.h|microhttpd\.h)>|\b(clock_gettime|time\(NULL\)|fopen|gettimeofday)\b'
for mod in $core_modules; do
    [[ "$mod" == base ]] && continue
    [[ -d "$root/lib/$mod" ]] || continue
    while IFS= read -r hit; do
        report "core module $mod is not pure: ${hit#$root/}"
    done < <(grep -nE "$impure" "$root/lib/$mod"/*.c "$root/lib/$mod"/*.h 2>/dev/null)
done

if [[ $fail -eq 0 ]]; then
    echo "lint: clean"
fi
exit $fail
