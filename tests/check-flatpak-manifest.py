#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
#
# Checks flatpak/io.github.tandem.Tandem.json for what Flathub requires and
# what the app needs, without building it (no network to Flathub here):
# the ids agree with the desktop file and the metainfo, the runtime is
# GNOME's, the command is a program the build installs, the sandbox has no
# file system access, every downloaded source is pinned, and the last module
# builds this tree with options that exist. Prints TAP.
#
# Usage: check-flatpak-manifest.py MANIFEST DESKTOP_FILE METAINFO
#        MESON_OPTIONS_FILE PROGRAM...
#   PROGRAM: the programs `meson install` puts in bindir with -Dserver=false.

import json
import os
import re
import sys
import xml.etree.ElementTree as ET

results = []

# What the app needs and nothing more: the network for sync, a display,
# and GL for GTK's renderer. Files stay in the app's own data directory.
EXPECTED_FINISH_ARGS = {
    '--share=network',
    '--share=ipc',
    '--socket=wayland',
    '--socket=fallback-x11',
    '--device=dri',
}


def check(ok, what, detail=''):
    results.append((bool(ok), what, detail))
    return ok


def meson_options(path):
    with open(path, encoding='utf-8') as f:
        return set(re.findall(r"option\(\s*'([A-Za-z0-9_-]+)'", f.read()))


def main():
    if len(sys.argv) < 6:
        sys.exit('usage: check-flatpak-manifest.py MANIFEST DESKTOP_FILE METAINFO '
                 'MESON_OPTIONS_FILE PROGRAM...')
    manifest_path, desktop_path, metainfo_path, options_path = sys.argv[1:5]
    programs = sys.argv[5:]

    try:
        with open(manifest_path, encoding='utf-8') as f:
            manifest = json.load(f)
    except (OSError, ValueError) as e:
        check(False, 'the manifest is valid JSON', f'{manifest_path}: {e}')
        return
    check(isinstance(manifest, dict), 'the manifest is valid JSON')

    app_id = manifest.get('app-id') or manifest.get('id')
    desktop_id = os.path.basename(desktop_path)
    check(app_id and desktop_id == f'{app_id}.desktop',
          'app-id names the desktop file', f'app-id={app_id}, desktop file {desktop_id}')
    metainfo = ET.parse(metainfo_path).getroot()
    check(metainfo.findtext('id') == app_id, 'app-id is the metainfo id',
          f'app-id={app_id}, metainfo id={metainfo.findtext("id")}')
    check(os.path.basename(metainfo_path) == f'{app_id}.metainfo.xml',
          'the metainfo file is named after the app-id', metainfo_path)

    check(manifest.get('runtime') == 'org.gnome.Platform', 'runtime is org.gnome.Platform',
          f'runtime={manifest.get("runtime")}')
    check(manifest.get('sdk') == 'org.gnome.Sdk', 'sdk is org.gnome.Sdk',
          f'sdk={manifest.get("sdk")}')
    version = manifest.get('runtime-version')
    check(isinstance(version, str) and re.fullmatch(r'[0-9]+', version) is not None,
          'runtime-version names a stable GNOME runtime', f'runtime-version={version!r}')

    command = manifest.get('command')
    check(command in programs, 'command is a program the build installs',
          f'command={command!r}, installed: {programs}')
    exec_line = None
    with open(desktop_path, encoding='utf-8') as f:
        for line in f:
            if line.startswith('Exec='):
                exec_line = line[len('Exec='):].split()[0]
                break
    check(exec_line == command, 'command is what the desktop file runs',
          f'command={command!r}, Exec={exec_line!r}')

    finish_args = manifest.get('finish-args', [])
    check(not [a for a in finish_args if a.startswith('--filesystem')],
          'finish-args give no file system access', f'{finish_args}')
    check('--socket=wayland' in finish_args and '--socket=fallback-x11' in finish_args
          and '--socket=x11' not in finish_args,
          'finish-args: wayland, and X11 only as a fallback', f'{finish_args}')
    check(set(finish_args) == EXPECTED_FINISH_ARGS and len(finish_args) == len(set(finish_args)),
          'finish-args are exactly what the app needs',
          f'extra: {sorted(set(finish_args) - EXPECTED_FINISH_ARGS)}, '
          f'missing: {sorted(EXPECTED_FINISH_ARGS - set(finish_args))}')

    modules = manifest.get('modules', [])
    if not check(modules and all(isinstance(m, dict) for m in modules),
                 'modules are written out in the manifest', f'{modules!r}'):
        return
    for module in modules:
        name = module.get('name')
        sources = module.get('sources', [])
        check(name and sources, f'module {name!r} has a name and sources')
        for source in sources:
            kind = source.get('type')
            if kind == 'git':
                check(source.get('url') and (source.get('commit') or source.get('tag')),
                      f'module {name}: git source pinned by commit or tag', f'{source}')
            elif 'url' in source:
                check(re.fullmatch(r'[0-9a-f]{64}', source.get('sha256', '')),
                      f'module {name}: {source["url"]} has a sha256', f'{source}')
                check(source['url'].startswith('https://'),
                      f'module {name}: downloaded over https', source['url'])

    last = modules[-1]
    check(last.get('buildsystem') == 'meson', 'the last module is built with meson',
          f'buildsystem={last.get("buildsystem")}')
    check(any(s.get('type') == 'dir' and s.get('path') == '..' for s in last.get('sources', [])),
          'the last module is this source tree', f'{last.get("sources")}')
    known = meson_options(options_path)
    opts = last.get('config-opts', [])
    for opt in opts:
        m = re.fullmatch(r'-D([A-Za-z0-9_-]+)=(.*)', opt)
        check(m and (m.group(1) in known or m.group(1) in ('buildtype', 'b_lto')),
              f'config-opt {opt} is an option of this project', f'known: {sorted(known)}')
    check('-Dserver=false' in opts,
          'the app is built without tandem-server (no libpq in the sandbox)', f'{opts}')
    check(not any(re.search(r'postgres|libpq', m.get('name', ''), re.I) for m in modules),
          'no module builds PostgreSQL', f'{[m.get("name") for m in modules]}')


if __name__ == '__main__':
    try:
        main()
    finally:
        if not results:
            results.append((False, 'the checks ran', 'main() stopped before any check'))
        print(f'1..{len(results)}')
        for n, (ok, what, detail) in enumerate(results, 1):
            print(f'{"ok" if ok else "not ok"} {n} - {what}')
            if not ok and detail:
                for line in str(detail).splitlines():
                    print(f'# {line}')
