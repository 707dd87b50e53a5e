#!/bin/sh
# Installs llmtap into $DESTDIR: `make install` and the staging tree of the
# deb and rpm builds (one file list for all three).
# Usage: packaging/install.sh BINARY
# Environment: DESTDIR (default empty), prefix (/usr), sbindir, datadir,
# mandir, sysconfdir (/etc), localstatedir (/var), unitdir, docdir.
# Run from the top of the checkout.  Existing configuration is never
# overwritten (a new default goes next to it as llmtap.yaml.new).
set -eu

bin=${1:?usage: packaging/install.sh BINARY}
: "${DESTDIR:=}"
: "${prefix:=/usr}"
: "${sbindir:=$prefix/sbin}"
: "${datadir:=$prefix/share}"
: "${mandir:=$datadir/man}"
: "${docdir:=$datadir/doc/llmtap}"
: "${sysconfdir:=/etc}"
: "${localstatedir:=/var}"
: "${unitdir:=$prefix/lib/systemd/system}"
# set by the package builds: the package manager owns docs and compression
: "${LLMTAP_NO_DOCS:=}"

D=$DESTDIR
install -d -m 0755 "$D$sbindir" "$D$datadir/llmtap/rules" "$D$sysconfdir/llmtap/rules.d" \
	"$D$unitdir" "$D$mandir/man8" "$D$mandir/man5"
install -m 0755 "$bin" "$D$sbindir/llmtap"
for f in rules/*.yaml; do
	install -m 0644 "$f" "$D$datadir/llmtap/rules/"
done
install -m 0644 share/prices.json "$D$datadir/llmtap/prices.json"

# the paths the unit and the default configuration name follow the prefix
sed -e "s|/usr/sbin/llmtap|$sbindir/llmtap|g" -e "s|/etc/llmtap/|$sysconfdir/llmtap/|g" \
	packaging/llmtap.service >"$D$unitdir/llmtap.service"
chmod 0644 "$D$unitdir/llmtap.service"
conf="$D$sysconfdir/llmtap/llmtap.yaml"
[ -e "$conf" ] && conf="$conf.new"
sed -e "s|/usr/share/llmtap/|$datadir/llmtap/|g" -e "s|/etc/llmtap/|$sysconfdir/llmtap/|g" \
	-e "s|/var/lib/llmtap|$localstatedir/lib/llmtap|g" \
	-e "s|/var/log/llmtap/|$localstatedir/log/llmtap/|g" packaging/llmtap.yaml >"$conf"
# may name headers with credentials once edited: not world-readable
chmod 0640 "$conf"

install -m 0644 man/llmtap.8 "$D$mandir/man8/llmtap.8"
install -m 0644 man/llmtap.yaml.5 "$D$mandir/man5/llmtap.yaml.5"

# state (keys, chain head, spools) and the audit log: root only
install -d -m 0700 "$D$localstatedir/lib/llmtap"
install -d -m 0750 "$D$localstatedir/log/llmtap"

if [ -z "$LLMTAP_NO_DOCS" ]; then
	install -d -m 0755 "$D$docdir"
	install -m 0644 LICENSE LICENSE.BSD-2-Clause LICENSE.LGPL-2.1 docs/security.md "$D$docdir/"
fi
