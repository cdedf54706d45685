#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
#
# Installs the build into a scratch DESTDIR with `meson install` and checks
# that a desktop finds everything where it looks under the prefix: the
# programs, the desktop file, the metainfo, the icons, the settings schema
# and the translations; and that the desktop file and the metainfo name
# things that were installed. Prints TAP.
#
# Usage: check-install.py BUILD_DIR PREFIX BINDIR DATADIR LOCALEDIR APP_ID
#        GETTEXT_DOMAIN LANG...

import configparser
import os
import shlex
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET

results = []


def check(ok, what, detail=''):
    results.append((bool(ok), what, detail))
    return ok


def under(root, prefix, path):
    # bindir and friends are relative to the prefix unless given absolute.
    return os.path.join(root + prefix, path) if not os.path.isabs(path) else root + path


def launch(program, args, schema_dir):
    """Starts what the desktop entry's Exec names, as a desktop would, on a
    database of its own: it must come up and still run after a few
    seconds, then stop on SIGTERM. Needs a display (meson test runs under
    Xvfb in scripts/dev)."""
    if not os.environ.get('DISPLAY') and not os.environ.get('WAYLAND_DISPLAY'):
        results.append((True, 'the installed app launches from its desktop entry '
                        '# SKIP no display', ''))
        return
    with tempfile.TemporaryDirectory(prefix='tandem-launch-') as home:
        schemas = os.path.join(home, 'schemas')
        os.mkdir(schemas)
        subprocess.run(['glib-compile-schemas', '--targetdir', schemas, schema_dir], check=False)
        env = dict(os.environ, HOME=home, XDG_DATA_HOME=os.path.join(home, 'data'),
                   XDG_CONFIG_HOME=os.path.join(home, 'config'), GSETTINGS_SCHEMA_DIR=schemas,
                   GSETTINGS_BACKEND='memory', TANDEM_NO_KEYRING='1')
        env.pop('TANDEM_DB', None)
        proc = subprocess.Popen([program] + args, env=env, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True)
        db = os.path.join(home, 'data', 'tandem', 'tandem.db')
        # Up: its database is there and it still runs two seconds later.
        deadline = time.monotonic() + 60
        up_since = None
        while proc.poll() is None and time.monotonic() < deadline:
            if up_since is None and os.path.isfile(db):
                up_since = time.monotonic()
            if up_since is not None and time.monotonic() - up_since >= 2:
                break
            time.sleep(0.1)
        status = proc.poll()
        if status is None:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        output = proc.stdout.read()
        check(status is None and up_since is not None,
              'the installed app launches from its desktop entry',
              f'{program}: ' + (f'ended with status {status}' if status is not None
                                else f'made no database at {db} in 60 s') + f':\n{output}')


def main():
    if len(sys.argv) < 9:
        sys.exit('usage: check-install.py BUILD_DIR PREFIX BINDIR DATADIR LOCALEDIR '
                 'APP_ID GETTEXT_DOMAIN LANG...')
    build_dir, prefix, bindir, datadir, localedir, app_id, domain = sys.argv[1:8]
    langs = sys.argv[8:]

    with tempfile.TemporaryDirectory(prefix='tandem-install-') as destdir:
        # Without --no-rebuild: meson test builds only what tests depend on,
        # and the translations (po/) cannot be named as a dependency here, so
        # `meson install` brings the rest of the build up to date first.
        cmd = ['meson', 'install', '-C', build_dir, '--destdir', destdir, '--quiet']
        proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              text=True)
        if not check(proc.returncode == 0, 'meson install --destdir succeeds',
                     f'{shlex.join(cmd)} exited {proc.returncode}:\n{proc.stdout}'):
            return

        bin_dir = under(destdir, prefix, bindir)
        data_dir = under(destdir, prefix, datadir)
        locale_dir = under(destdir, prefix, localedir)

        for program in ('tandem', 'tandem-cli', 'tandem-server'):
            path = os.path.join(bin_dir, program)
            check(os.path.isfile(path) and os.access(path, os.X_OK),
                  f'{program} is installed as an executable in bindir', path)

        desktop = os.path.join(data_dir, 'applications', app_id + '.desktop')
        metainfo = os.path.join(data_dir, 'metainfo', app_id + '.metainfo.xml')
        icon = os.path.join(data_dir, 'icons', 'hicolor', 'scalable', 'apps', app_id + '.svg')
        symbolic = os.path.join(data_dir, 'icons', 'hicolor', 'symbolic', 'apps',
                                app_id + '-symbolic.svg')
        schema = os.path.join(data_dir, 'glib-2.0', 'schemas', app_id + '.gschema.xml')
        for what, path in (('desktop file', desktop), ('metainfo', metainfo),
                           ('app icon', icon), ('symbolic icon', symbolic),
                           ('settings schema', schema)):
            check(os.path.isfile(path), f'the {what} is installed where a desktop looks',
                  path)

        # The server's unit where systemd looks for system units under the
        # prefix, and a manual page for each program.
        installed = [os.path.relpath(os.path.join(d, f), destdir)
                     for d, _, files in os.walk(destdir) for f in files]
        units = [f for f in installed if f.endswith('lib/systemd/system/tandem-server.service')]
        check(len(units) == 1 and ('/' + units[0]).startswith(prefix.rstrip('/') + '/'),
              'the tandem-server systemd unit is installed in the system unit directory',
              f'found: {units}')
        for program in ('tandem', 'tandem-cli', 'tandem-server'):
            pages = [f for f in installed if f.endswith(f'/man1/{program}.1')]
            check(len(pages) == 1, f'the manual page of {program} is installed', f'found: {pages}')

        for lang in langs:
            mo = os.path.join(locale_dir, lang, 'LC_MESSAGES', domain + '.mo')
            check(os.path.isfile(mo) and os.path.getsize(mo) > 0,
                  f'the {lang} translation is installed', mo)

        if os.path.isfile(desktop):
            entry = configparser.ConfigParser(interpolation=None)
            entry.optionxform = str
            entry.read(desktop, encoding='utf-8')
            section = entry['Desktop Entry']
            exec_argv = shlex.split(section.get('Exec', ''))
            exec_path = os.path.join(bin_dir, exec_argv[0]) if exec_argv else ''
            check(exec_argv and os.access(exec_path, os.X_OK),
                  'the desktop file Exec names an installed program',
                  f'Exec={section.get("Exec")} (looked for {exec_path})')
            icon_name = section.get('Icon', '')
            check(icon_name and os.path.isfile(os.path.join(
                data_dir, 'icons', 'hicolor', 'scalable', 'apps', icon_name + '.svg')),
                'the desktop file Icon names an installed icon', f'Icon={icon_name}')

        if os.path.isfile(metainfo):
            root = ET.parse(metainfo).getroot()
            check(root.findtext('id') == app_id, 'the metainfo id is the app id',
                  f'id={root.findtext("id")}')
            launchable = root.findtext("launchable[@type='desktop-id']")
            check(launchable == os.path.basename(desktop),
                  'the metainfo launches the installed desktop file', f'{launchable}')
            for binary in root.findall('provides/binary'):
                check(os.access(os.path.join(bin_dir, binary.text), os.X_OK),
                      f'the metainfo provides binary {binary.text}, which is installed')

        if os.path.isfile(desktop) and os.path.isfile(schema) and exec_argv:
            launch(exec_path, exec_argv[1:], os.path.dirname(schema))

        if os.path.isfile(schema):
            # The schema that was installed compiles, and under the app id.
            with tempfile.TemporaryDirectory() as out:
                proc = subprocess.run(['glib-compile-schemas', '--strict', '--targetdir', out,
                                       os.path.dirname(schema)],
                                      stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                      text=True)
                check(proc.returncode == 0, 'the installed schemas compile', proc.stdout)
            ids = [s.get('id') for s in ET.parse(schema).getroot().iter('schema')]
            check(app_id in ids, 'the installed schema has the app id', f'ids: {ids}')


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
