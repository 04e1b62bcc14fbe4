#!/usr/bin/env bash
# `npm run package:deb`: builds build/deb/knocktail_<version>_all.deb with Debian's dpkg-deb.
# It stages the npm package (what `npm pack` ships, so prepack's build runs) with its
# production node_modules under /usr/lib/knocktail, a /usr/bin/knocktail wrapper, the unit,
# the rsyslog drop-in and logrotate snippet (conffiles), man pages and shell completion when
# the build made them (dist/man/, dist/completion/), and /usr/share/doc/knocktail; then the
# maintainer scripts from debian/, and runs lintian when it is installed.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
OUT="$ROOT/build/deb"
STAGE="$OUT/root"
LIB=/usr/lib/knocktail
cd "$ROOT"

upstream=$(node -p 'require("./package.json").version')
version=$(dpkg-parsechangelog -l debian/changelog -S Version)
if [ "${version%-*}" != "$upstream" ]; then
  echo "build-deb: debian/changelog is at $version but package.json at $upstream; add a changelog entry (dch -v $upstream-1)" >&2
  exit 2
fi
# Every file gets the changelog's date: the same tree always gives the same .deb.
SOURCE_DATE_EPOCH=$(dpkg-parsechangelog -l debian/changelog -S Timestamp)
export SOURCE_DATE_EPOCH

rm -rf "$STAGE"
mkdir -p "$STAGE$LIB" "$STAGE/DEBIAN"

# The npm package itself; prepack builds, so the tarball always holds dist/.
tarball=$(npm pack --silent --pack-destination "$OUT" | tail -n 1)
tar -xzf "$OUT/$tarball" -C "$STAGE$LIB" --strip-components=1 --no-same-owner
rm -f "$OUT/$tarball"
# Production dependencies only, exactly as locked, no install scripts.
cp package-lock.json "$STAGE$LIB/"
(cd "$STAGE$LIB" && npm ci --omit=dev --ignore-scripts --no-audit --no-fund --loglevel=error)
rm -f "$STAGE$LIB/package-lock.json"
# What npm packages carry for their own development (dotfiles: lint configs, .npmignore,
# .gitattributes, node_modules/.bin) and their readmes; license files stay with the code.
find "$STAGE$LIB/node_modules" -depth -name '.*' -exec rm -rf {} +
find "$STAGE$LIB/node_modules" -type f \( -iname '*.md' -o -iname '*.markdown' \) ! -iname 'licen[cs]e*' -delete
# The copyright file quotes every bundled package's notices and license (Debian keeps them
# there, not as loose LICENSE files); the README is in /usr/share/doc.
DOC="$STAGE/usr/share/doc/knocktail"
install -d "$DOC"
node scripts/deb-copyright.mjs "$STAGE$LIB" "${LIB#/}" >"$DOC/copyright"
find "$STAGE$LIB" -type f \( -iname 'licen[cs]e' -o -iname 'licen[cs]e.*' -o -iname '*.html' \) -delete
rm -f "$STAGE$LIB/README.md"
# Source maps point at TypeScript sources that are not shipped.
find "$STAGE$LIB/dist" -name '*.map' -delete

install -d "$STAGE/usr/bin"
cat >"$STAGE/usr/bin/knocktail" <<WRAPPER
#!/bin/sh
# knocktail: the CLI in $LIB, run by the node of Debian's nodejs package.
exec /usr/bin/node $LIB/dist/src/cli/main.js "\$@"
WRAPPER

# Debian 13 merged /usr: units and tmpfiles.d entries live under /usr/lib (a package's /lib
# directory is what dpkg finds "not empty" at purge there).
install -D -m 0644 systemd/knocktail.service "$STAGE/usr/lib/systemd/system/knocktail.service"
install -D -m 0644 tmpfiles.d/knocktail.conf "$STAGE/usr/lib/tmpfiles.d/knocktail.conf"
install -D -m 0644 rsyslog/30-knocktail.conf "$STAGE/etc/rsyslog.d/30-knocktail.conf"
install -D -m 0644 logrotate/knocktail "$STAGE/etc/logrotate.d/knocktail"
printf '%s\n' /etc/logrotate.d/knocktail /etc/rsyslog.d/30-knocktail.conf >"$STAGE/DEBIAN/conffiles"

# Man pages and completion, when the build generated them (the npm package ships them under
# dist/man and dist/completion): moved to where man and the shells look. Only what the package
# holds counts, never a stale build tree.
docs="$STAGE$LIB/dist"
shopt -s nullglob
for page in "$docs"/man/*.[1-8]; do
  section=${page##*.}
  install -d "$STAGE/usr/share/man/man$section"
  gzip -9n <"$page" >"$STAGE/usr/share/man/man$section/$(basename "$page").gz"
done
for script in "$docs"/completion/*; do
  case "$(basename "$script")" in
    *bash*) install -D -m 0644 "$script" "$STAGE/usr/share/bash-completion/completions/knocktail" ;;
    *zsh* | _knocktail) install -D -m 0644 "$script" "$STAGE/usr/share/zsh/vendor-completions/_knocktail" ;;
    *fish*) install -D -m 0644 "$script" "$STAGE/usr/share/fish/vendor_completions.d/knocktail.fish" ;;
    *) echo "build-deb: no place for completion script $script" >&2; exit 1 ;;
  esac
done
shopt -u nullglob
rm -rf "$STAGE$LIB/dist/man" "$STAGE$LIB/dist/completion"

# The schema at a path that stays put across versions, for "$schema" in admins' configs
# (not under /usr/share/doc, which a system may strip: Debian Policy 12.3).
install -d "$STAGE/usr/share/knocktail"
ln -s ../../lib/knocktail/src/config/schema.json "$STAGE/usr/share/knocktail/config.schema.json"
if [ -f "$STAGE$LIB/src/client/client-schema.json" ]; then
  ln -s ../../lib/knocktail/src/client/client-schema.json "$STAGE/usr/share/knocktail/client.schema.json"
fi

install -d "$DOC/examples"
gzip -9n <README.md >"$DOC/README.md.gz"
install -m 0644 debian/README.Debian "$DOC/README.Debian"
gzip -9n <debian/changelog >"$DOC/changelog.Debian.gz"
install -m 0644 examples/*.json "$DOC/examples/"
gzip -9n <examples/demo.log >"$DOC/examples/demo.log.gz"
ln -s ../../knocktail/config.schema.json "$DOC/schema.json"

for script in postinst prerm postrm; do install -m 0755 "debian/$script" "$STAGE/DEBIAN/$script"; done

# Modes: directories 0755, files 0644, the wrapper 0755; owner root (dpkg-deb --root-owner-group).
find "$STAGE" -type d -exec chmod 0755 {} +
find "$STAGE" -type f ! -path "$STAGE/DEBIAN/*" -exec chmod 0644 {} +
chmod 0755 "$STAGE/usr/bin/knocktail"
# Scripts keep their execute bit (the CLI's entry, and the bins of bundled packages).
while IFS= read -r -d '' file; do
  [ "$(head -c 2 "$file")" = '#!' ] && chmod 0755 "$file"
done < <(find "$STAGE$LIB" -type f -name '*.js' -print0; find "$STAGE$LIB/node_modules" -type f -path '*/bin/*' -print0)
(cd "$STAGE" && find . -type f ! -path './DEBIAN/*' -printf '%P\0' | LC_ALL=C sort -z | xargs -0 md5sum) >"$STAGE/DEBIAN/md5sums"
chmod 0644 "$STAGE/DEBIAN/md5sums" "$STAGE/DEBIAN/conffiles"

installed_size=$(du -sk --exclude=DEBIAN "$STAGE" | cut -f1)
sed -e "s/@VERSION@/$version/" -e "s/@INSTALLED_SIZE@/$installed_size/" debian/control.in >"$STAGE/DEBIAN/control"
chmod 0644 "$STAGE/DEBIAN/control"
find "$STAGE" -exec touch -h -d "@$SOURCE_DATE_EPOCH" {} +

deb="$OUT/knocktail_${version}_all.deb"
dpkg-deb --root-owner-group -Zxz --build "$STAGE" "$deb" >/dev/null
echo "built $deb ($(du -h "$deb" | cut -f1), installed size ${installed_size} KiB)"
if command -v lintian >/dev/null; then
  lintian --info --display-info --suppress-tags-from-file debian/lintian-accepted "$deb" || true
fi
