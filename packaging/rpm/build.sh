#!/bin/sh
# Builds BUILD/pkg/llmtap-VERSION-RELEASE.ARCH.rpm from BUILD/llmtap with
# rpmbuild -bb (rpm 4.18 from Debian here; the spec also builds on Fedora).
# Usage: packaging/rpm/build.sh BUILD DEB_STYLE_VERSION [GIT_REV]
# The rpm Version is the VERSION file's, the Release carries the revision:
# 0.1.0+gabc -> Version 0.1.0, Release 1.gabc (rpm versions take no '+').
# LLMTAP_PKG_OUT: output directory (default BUILD/pkg).
# LLMTAP_PKG_CONF_EXTRA: a line appended to the shipped llmtap.yaml.
set -eu

build=${1:?usage: packaging/rpm/build.sh BUILD VERSION [GIT_REV]}
full=${2:?version}
version=${full%%+*}
release=1
[ "$version" = "$full" ] || release="1.$(printf '%s' "${full#*+}" | tr -c 'A-Za-z0-9.\n' '.')"
out=${LLMTAP_PKG_OUT:-$build/pkg}
out=$(mkdir -p "$out" && cd "$out" && pwd)
top=$out/rpmbuild
src=$(pwd)

rm -rf "$top"
mkdir -p "$top/RPMS" "$top/BUILD" "$top/BUILDROOT" "$top/SPECS" "$top/SRPMS"
strip --strip-unneeded --remove-section=.comment --remove-section=.note \
	-o "$out/llmtap.stripped" "$build/llmtap"
if [ -z "${SOURCE_DATE_EPOCH:-}" ]; then
	SOURCE_DATE_EPOCH=$(git log -1 --format=%ct 2>/dev/null || date +%s)
	export SOURCE_DATE_EPOCH
fi
set -- --define "_topdir $top" --define "_sourcedir $src" \
	--define "llmtap_version $version" --define "llmtap_release $release" \
	--define "llmtap_bin $out/llmtap.stripped" --define "_build_id_links none" \
	--define "use_source_date_epoch_as_buildtime 1"
[ -z "${LLMTAP_PKG_CONF_EXTRA:-}" ] ||
	set -- "$@" --define "llmtap_conf_extra $LLMTAP_PKG_CONF_EXTRA"
# Debian's rpm has no systemd-rpm-macros package: its BuildRequires cannot
# be checked against the dpkg database
# the spec plus a %changelog entry for this build (rpm wants one per release)
spec=$top/SPECS/llmtap.spec
cp packaging/rpm/llmtap.spec "$spec"
printf '\n%%changelog\n* %s llmtap maintainers <maintainers@llmtap.dev> - %s-%s\n- Built from git revision %s.\n' \
	"$(LC_ALL=C date -u -d "@$SOURCE_DATE_EPOCH" '+%a %b %d %Y')" "$version" "$release" \
	"${3:-unknown}" >>"$spec"
rpmbuild -bb --nodeps --quiet "$@" "$spec" >"$out/rpmbuild.log" 2>&1 || {
	cat "$out/rpmbuild.log" >&2
	exit 1
}
for f in "$top"/RPMS/*/llmtap-"$version"-"$release".*.rpm; do
	cp "$f" "$out/"
	echo "$out/$(basename "$f")"
done
