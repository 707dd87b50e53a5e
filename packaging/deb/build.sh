#!/bin/sh
# Builds BUILD/pkg/llmtap_VERSION_ARCH.deb from BUILD/llmtap with dpkg-deb
# (no debhelper: the maintainer scripts are debhelper's own snippets, kept in
# this directory).  Dependencies are computed by dpkg-shlibdeps from the
# binary's NEEDED libraries, as dh_shlibdeps would.
# Usage: packaging/deb/build.sh BUILD VERSION [GIT_REV]; run from the checkout.
# LLMTAP_PKG_OUT: output directory (default BUILD/pkg).
# LLMTAP_PKG_CONF_EXTRA: a line appended to the shipped llmtap.yaml (the
# upgrade test uses it to ship a changed conffile).
set -eu

build=${1:?usage: packaging/deb/build.sh BUILD VERSION [GIT_REV]}
version=${2:?version}
rev=${3:-unknown}
arch=$(dpkg --print-architecture)
out=${LLMTAP_PKG_OUT:-$build/pkg}
root=$out/deb-root
here=packaging/deb

rm -rf "$root"
mkdir -p "$root/DEBIAN" "$out"
# reproducible timestamps: the commit's time when there is one
if [ -z "${SOURCE_DATE_EPOCH:-}" ]; then
	SOURCE_DATE_EPOCH=$(git log -1 --format=%ct 2>/dev/null || date +%s)
	export SOURCE_DATE_EPOCH
fi

# Debian policy 10.1: shipped binaries are stripped (BUILD/llmtap keeps
# its debug information)
strip --strip-unneeded --remove-section=.comment --remove-section=.note \
	-o "$out/llmtap.stripped" "$build/llmtap"
DESTDIR=$root LLMTAP_NO_DOCS=1 packaging/install.sh "$out/llmtap.stripped"
[ -z "${LLMTAP_PKG_CONF_EXTRA:-}" ] ||
	printf '%s\n' "$LLMTAP_PKG_CONF_EXTRA" >>"$root/etc/llmtap/llmtap.yaml"
gzip -9n "$root/usr/share/man/man8/llmtap.8" "$root/usr/share/man/man5/llmtap.yaml.5"

doc=$root/usr/share/doc/llmtap
install -d -m 0755 "$doc" "$root/usr/share/lintian/overrides"
install -m 0644 "$here/copyright" "$doc/copyright"
install -m 0644 docs/security.md "$doc/security.md"
date=$(date -R -u -d "@$SOURCE_DATE_EPOCH")
printf 'llmtap (%s) unstable; urgency=medium\n\n  * Built from git revision %s.\n\n -- llmtap maintainers <maintainers@llmtap.dev>  %s\n' \
	"$version" "$rev" "$date" | gzip -9n >"$doc/changelog.gz"
chmod 0644 "$doc/changelog.gz"
install -m 0644 "$here/lintian-overrides" "$root/usr/share/lintian/overrides/llmtap"

# Depends: from the ELF NEEDED entries and the shlibs/symbols files of the
# libraries installed on the build host (Debian 12 here)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir "$tmp/debian"
printf 'Source: llmtap\n\nPackage: llmtap\nArchitecture: any\n' >"$tmp/debian/control"
abs_root=$(cd "$root" && pwd)
deps=$(cd "$tmp" && dpkg-shlibdeps -O -e"$abs_root/usr/sbin/llmtap" 2>"$tmp/err") || {
	cat "$tmp/err" >&2
	exit 1
}
deps=${deps#shlibs:Depends=}
size=$(du -sk --exclude=DEBIAN "$root" | cut -f1)
sed -e "s|@VERSION@|$version|" -e "s|@ARCH@|$arch|" -e "s|@SIZE@|$size|" \
	-e "s|@DEPENDS@|$deps|" "$here/control.in" >"$root/DEBIAN/control"
echo /etc/llmtap/llmtap.yaml >"$root/DEBIAN/conffiles"
for s in postinst prerm postrm; do
	install -m 0755 "$here/$s" "$root/DEBIAN/$s"
done
(cd "$root" && find . -path ./DEBIAN -prune -o -type f -printf '%P\0' | sort -z |
	xargs -0 md5sum) >"$root/DEBIAN/md5sums"
chmod 0644 "$root/DEBIAN/control" "$root/DEBIAN/conffiles" "$root/DEBIAN/md5sums"

deb=$out/llmtap_${version}_$arch.deb
dpkg-deb --root-owner-group -Zxz --build "$root" "$deb" >/dev/null
echo "$deb"
