# Rewrites a vendor Swagger 2.0 spec for Prism (see tests/contract/README.md): Prism ignores
# basePath when it matches a request, so the copy says `basePath: /` and puts PREFIX (e.g.
# /api/system/{tenant}) before every path under `paths:`. Usage:
#   awk -v prefix=/api/system/{tenant} -f rewrite-spec.awk vendor-system.yaml > copy.yaml
# It prints to stderr, and exits 1, when the spec has no basePath or no path to rewrite.
/^basePath:/ { print "basePath: /"; based = 1; next }
/^[^ ]/ { in_paths = ($0 == "paths:") }
in_paths && /^  \/[^ ]*:$/ { sub(/^  /, "  " prefix); print; rewritten++; next }
in_paths && /^  [^ ]/ { print "rewrite-spec.awk: path not rewritten: " $0 > "/dev/stderr"; bad = 1 }
{ print }
END {
    if (!based || !rewritten || bad) {
        print "rewrite-spec.awk: " FILENAME ": expected a basePath and paths like `  /x:` under `paths:`" > "/dev/stderr"
        exit 1
    }
}
