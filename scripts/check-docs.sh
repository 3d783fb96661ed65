#!/usr/bin/env bash
# check-docs.sh: the code's references to documentation point at documents this repository has.
#
# Usage: scripts/check-docs.sh     (from anywhere; reads the repository it lives in)
#
# Scans the source trees (crates/ src-tauri/ ui/src/ scripts/ tests/, without node_modules and
# target) and reports, one line per problem, `check-docs: FILE:LINE: what`:
#   (a) a citation `SEC-<n>` of a rule that docs/security.md does not define as a heading
#       `### SEC-<n>.` (the rules are cited by number, so a number with no rule is a dangling
#       reference);
#   (b) a mention of a document that is not in the repository: the upper-case design, style,
#       security and stack-notes briefs kept outside it, or the shared folder beside the checkout
#       (the exact patterns are in the scan below). The repository's own documents are
#       docs/design.md and docs/security.md, in lower case, which do not match;
#   (c) a citation of a tracker item, `issue N` / `Issue N`: the tracker is not part of the
#       repository, so say what the requirement is instead of its number. Any occurrence is
#       reported, in a comment or not: a string that says "issue 4" is as opaque to a reader;
#   (d) a file the documents name (README.md and docs/*.md, a path in backquotes under
#       crates/, src-tauri/, ui/, scripts/ or tests/) that does not exist: docs/security.md
#       says where each rule is enforced and proved, and a moved file must not leave it stale.
#
# Exit 0 and `check-docs: ok` when there is none; exit 1 otherwise. This file itself is not
# scanned (it has to spell the patterns it looks for).

set -euo pipefail

cd "$(dirname "$0")/.."

readonly SECURITY_DOC=docs/security.md
readonly SELF=scripts/check-docs.sh
dirs=()
for d in crates src-tauri ui/src scripts tests; do
    [[ -d $d ]] && dirs+=("$d")
done

problems=0
report() {
    printf 'check-docs: %s\n' "$1"
    problems=$((problems + 1))
}

# grep over the source trees: text files only, no dependency or build directories, not this
# script. Prints FILE:LINE:TEXT (or FILE:LINE:MATCH with -o). No match is not an error.
scan() {
    ((${#dirs[@]})) || return 0
    grep -rnI --exclude-dir=node_modules --exclude-dir=target "$@" -- "${dirs[@]}" |
        grep -v "^$SELF:" || true
}

# (a) Rule citations that docs/security.md does not define.
defined=" "
if [[ -f $SECURITY_DOC ]]; then
    while IFS= read -r n; do
        defined+="$n "
    done < <(sed -nE 's/^### SEC-([0-9]+)\..*/\1/p' "$SECURITY_DOC")
else
    report "$SECURITY_DOC is missing: no SEC-<n> citation can be checked"
fi
while IFS= read -r hit; do
    [[ -n $hit ]] || continue
    location=${hit%:*}            # FILE:LINE
    rule=${hit##*:}               # SEC-<n>
    n=${rule#SEC-}
    n=$((10#$n))
    if [[ $defined != *" $n "* ]]; then
        report "$location: cites $rule, which $SECURITY_DOC does not define (no heading '### $rule.')"
    fi
done < <(scan -oE 'SEC-[0-9]+')

# Splits a grep hit FILE:LINE:TEXT into $file, $line and $text (leading blanks dropped).
split_hit() {
    file=${1%%:*}
    local rest=${1#*:}
    line=${rest%%:*}
    text=${rest#*:}
    text=${text#"${text%%[![:space:]]*}"}
}

# (b) Documents outside the repository.
while IFS= read -r hit; do
    [[ -n $hit ]] || continue
    split_hit "$hit"
    doc=$(grep -oE '\.\./shared|DESIGN\.md|STYLE\.md|SECURITY\.md|STACK-NOTE[S](\.md)?' <<<"$text" | head -n 1)
    report "$file:$line: refers to $doc, which is not in this repository (use docs/design.md or docs/security.md): $text"
done < <(scan -E '\.\./shared|DESIGN\.md|STYLE\.md|SECURITY\.md|STACK-NOTE[S]')

# (c) Tracker item numbers.
while IFS= read -r hit; do
    [[ -n $hit ]] || continue
    split_hit "$hit"
    report "$file:$line: cites a tracker issue by number; say what the requirement is: $text"
done < <(scan -E '[Ii]ssue [0-9]+')

# (d) Files the documents name.
while IFS= read -r hit; do
    [[ -n $hit ]] || continue
    split_hit "$hit"
    path=${text//\`/}
    case $path in *test-artifacts*) continue ;; esac # written by the tests themselves
    [[ -e $path ]] || report "$file:$line: names $path, which does not exist"
done < <(grep -noE '`(crates|src-tauri|ui|scripts|tests)/[A-Za-z0-9_./-]+`' README.md docs/*.md || true)

if ((problems)); then
    exit 1
fi
echo "check-docs: ok"
