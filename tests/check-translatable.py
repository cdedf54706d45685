#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""Check that every user-visible string of Tandem can be translated.

  check-translatable.py --srcdir DIR [--allowlist FILE]
      Runs four checks on the source tree and prints TAP:
        ui        GtkBuilder (.ui) and Blueprint (.blp) text is marked
                  translatable;
        c         string literals the app, the sync engine and the core pass
                  to user-facing calls (labels, toasts, dialogs, menus,
                  tooltips, accessible names, GError messages, option help)
                  are wrapped in _(), N_(), C_(), NC_() or ngettext(); in the
                  app and the sync engine, so is any literal that reads like
                  a sentence, unless it only goes to the log;
        potfiles  every file with marked strings is in po/POTFILES, every
                  entry there exists, and nothing of src/server is marked
                  (the server speaks English: see tandem-server-main.c);
        catalogs  every language of po/LINGUAS translates every message of
                  a freshly extracted template, none fuzzy, with the same
                  format directives and one mnemonic where the original
                  has one.
      Each finding goes to stderr as "file:line: text".

  check-translatable.py --self-test FIXTURE_DIR
      Runs the same checks on a small tree with known mistakes and compares
      the findings with FIXTURE_DIR/expected.txt, so a checker that stops
      finding them fails.

Exceptions live in an allowlist (default tests/i18n-allowlist.txt), one a
line: "path | text | reason", where text is the string as written in the
source, without surrounding blanks (or "*" for the whole file), and the
reason is required.  An entry
that no longer matches anything is reported too.
"""

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import xml.parsers.expat

# The directories whose C code shows text to people.  src/server answers in
# English by design and src/cli has no translations; neither is checked.
C_SCOPE = ('src/app', 'src/sync', 'src/core')
# Where marked strings may live (for the POTFILES check).
POTFILES_SCOPE = ('src', 'ui', 'data')
ENGLISH_ONLY = ('src/server',)
SKIP_DIRS = {'.git', 'po', 'tests', 'subprojects', '_build', 'build'}

# --------------------------------------------------------------------------
# Helpers

LETTER = re.compile(r'[^\W\d_]')
PRINTF_SPEC = re.compile(r'%(?:\d+\$)?[-+ #0\']*\d*(?:\.\d+)?(?:hh|h|ll|l|L|z|j|t)?[diouxXeEfgGcsp%]')
MARKUP_TAG = re.compile(r'<[^>]*>')
ENTITY = re.compile(r'&(?:#\d+|\w+);')


def is_human_text(text):
    """True if the text has words: letters outside format specifiers,
    markup tags and entities."""
    text = PRINTF_SPEC.sub('', text)
    text = MARKUP_TAG.sub('', text)
    text = ENTITY.sub('', text)
    return LETTER.search(text) is not None


def shorten(text, limit=70):
    text = text.replace('\n', '\\n')
    return text if len(text) <= limit else text[:limit - 1] + '…'


class Finding:
    def __init__(self, check, path, line, text, value=None):
        self.check = check
        self.path = path
        self.line = line
        self.text = text
        # The string the finding is about, matched against the allowlist.
        self.value = value

    def __str__(self):
        return f'{self.path}:{self.line}: {self.text}'


class Allowlist:
    def __init__(self, path, relpath):
        self.entries = []
        self.findings = []
        self.relpath = relpath
        if path is None or not os.path.exists(path):
            return
        with open(path, encoding='utf-8') as f:
            for number, raw in enumerate(f, 1):
                line = raw.rstrip('\n')
                if not line.strip() or line.lstrip().startswith('#'):
                    continue
                parts = [p.strip() for p in line.split(' | ', 2)]
                if len(parts) != 3 or not all(parts):
                    self.findings.append(Finding(
                        'allowlist', relpath, number,
                        'an entry is "path | text | reason", all three given'))
                    continue
                self.entries.append({'path': parts[0], 'text': parts[1],
                                     'line': number, 'used': False})

    def allows(self, finding):
        for entry in self.entries:
            if entry['path'] != finding.path:
                continue
            if entry['text'] == '*' or (finding.value is not None and entry['text'] == finding.value.strip()):
                entry['used'] = True
                return True
        return False

    def unused(self):
        return [Finding('allowlist', self.relpath, e['line'],
                        f'entry for {e["path"]} "{e["text"]}" matches nothing; remove it')
                for e in self.entries if not e['used']]


def walk(srcdir, tops):
    for top in tops:
        base = os.path.join(srcdir, top)
        if not os.path.isdir(base):
            continue
        for root, dirs, files in os.walk(base):
            dirs[:] = sorted(d for d in dirs if d not in SKIP_DIRS and not d.startswith('.'))
            for name in sorted(files):
                path = os.path.join(root, name)
                yield os.path.relpath(path, srcdir).replace(os.sep, '/')


def read_potfiles(srcdir):
    entries = []
    path = os.path.join(srcdir, 'po', 'POTFILES')
    with open(path, encoding='utf-8') as f:
        for number, raw in enumerate(f, 1):
            line = raw.strip()
            if line and not line.startswith('#'):
                entries.append((number, line))
    return entries


def read_linguas(srcdir):
    langs = []
    with open(os.path.join(srcdir, 'po', 'LINGUAS'), encoding='utf-8') as f:
        for raw in f:
            line = raw.split('#', 1)[0]
            langs.extend(line.split())
    return langs

# --------------------------------------------------------------------------
# GtkBuilder and Blueprint

# Properties that hold text shown to people (or read out by a screen reader).
UI_TEXT_PROPERTIES = {
    'label', 'title', 'subtitle', 'tooltip-text', 'tooltip-markup',
    'placeholder-text', 'placeholder', 'description', 'text', 'secondary-text',
    'heading', 'body', 'button-label', 'comments', 'copyright',
    'website-label', 'translator-credits', 'release-notes', 'summary',
    'message', 'caption', 'value-text', 'role-description',
}
YES = {'yes', 'true', '1'}


def check_ui_file(srcdir, relpath):
    findings = []
    stack = []      # (name, attrs, line, text parts)
    parser = xml.parsers.expat.ParserCreate()

    def start(name, attrs):
        stack.append((name, attrs, parser.CurrentLineNumber, []))

    def end(name):
        tag, attrs, line, parts = stack.pop()
        parent = stack[-1][0] if stack else None
        text = ''.join(parts).strip()
        if not text or not is_human_text(text):
            return
        if tag == 'property' and attrs.get('name') in UI_TEXT_PROPERTIES:
            what = f'property "{attrs["name"]}"'
        elif tag == 'attribute' and attrs.get('name') == 'label':
            what = 'menu attribute "label"'
        elif tag == 'item' and parent == 'items':
            what = 'string list item'
        else:
            return
        if attrs.get('translatable', '').lower() not in YES:
            findings.append(Finding('ui', relpath, line,
                                    f'{what} "{shorten(text)}" lacks translatable="yes"', text))

    def chars(data):
        if stack:
            stack[-1][3].append(data)

    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = chars
    try:
        with open(os.path.join(srcdir, relpath), 'rb') as f:
            parser.ParseFile(f)
    except xml.parsers.expat.ExpatError as e:
        findings.append(Finding('ui', relpath, e.lineno, f'not well-formed XML: {e}'))
    return findings


BLP_PROPERTY = re.compile(r'\b([a-z][a-z-]*)\s*:\s*"((?:[^"\\]|\\.)*)"')
BLP_STRING = re.compile(r'"((?:[^"\\]|\\.)*)"')
BLP_MARKED_BEFORE = re.compile(r'(?:\b_\(|\bC_\(|\bC_\(\s*"(?:[^"\\]|\\.)*"\s*,)\s*$')


def check_blp_file(srcdir, relpath):
    """Blueprint: text properties and string list items must use _("…") or
    C_("context", "…")."""
    findings = []
    with open(os.path.join(srcdir, relpath), encoding='utf-8') as f:
        source = strip_c_comments(f.read())
    in_strings = False
    for number, line in enumerate(source.split('\n'), 1):
        for m in BLP_PROPERTY.finditer(line):
            if m.group(1) in UI_TEXT_PROPERTIES and is_human_text(m.group(2)):
                findings.append(Finding('ui', relpath, number,
                                        f'property "{m.group(1)}" "{shorten(m.group(2))}" is not wrapped in _()',
                                        m.group(2)))
        if re.search(r'\bstrings\s*\[', line):
            in_strings = True
        if in_strings:
            for m in BLP_STRING.finditer(line):
                if BLP_MARKED_BEFORE.search(line[:m.start()]):
                    continue
                if is_human_text(m.group(1)) and not re.search(r'\bC_\(\s*$', line[:m.start()]):
                    findings.append(Finding('ui', relpath, number,
                                            f'string list item "{shorten(m.group(1))}" is not wrapped in _()',
                                            m.group(1)))
            if ']' in line:
                in_strings = False
    return findings


def check_ui(srcdir):
    findings = []
    for relpath in walk(srcdir, POTFILES_SCOPE):
        if relpath.endswith('.ui'):
            findings += check_ui_file(srcdir, relpath)
        elif relpath.endswith('.blp'):
            findings += check_blp_file(srcdir, relpath)
    return findings

# --------------------------------------------------------------------------
# C


def strip_c_comments(source):
    """Blanks out comments, keeping line breaks and string literals."""
    out = []
    i, n = 0, len(source)
    while i < n:
        c = source[i]
        if c == '/' and source.startswith('//', i):
            j = source.find('\n', i)
            j = n if j < 0 else j
            i = j
        elif c == '/' and source.startswith('/*', i):
            j = source.find('*/', i + 2)
            j = n if j < 0 else j + 2
            out.append(re.sub(r'[^\n]', ' ', source[i:j]))
            i = j
        elif c in '"\'':
            j = i + 1
            while j < n and source[j] != c and source[j] != '\n':
                j += 2 if source[j] == '\\' else 1
            out.append(source[i:j + 1])
            i = j + 1
        else:
            out.append(c)
            i += 1
    return ''.join(out)


class Token:
    __slots__ = ('kind', 'value', 'line')

    def __init__(self, kind, value, line):
        self.kind = kind    # 'id', 'str', 'num', 'punct'
        self.value = value
        self.line = line

    def __repr__(self):
        return f'{self.kind}:{self.value!r}@{self.line}'


C_TOKEN = re.compile(r'''
    (?P<ws>[ \t\r\f\v]+)
  | (?P<nl>\n)
  | (?P<comment>//[^\n]*|/\*.*?\*/)
  | (?P<str>(?:u8|[uUL])?"(?:[^"\\\n]|\\.)*")
  | (?P<chr>(?:[uUL])?'(?:[^'\\\n]|\\.)*')
  | (?P<id>[A-Za-z_]\w*)
  | (?P<num>\.?\d(?:[\w.]|[eEpP][+-])*)
  | (?P<punct>->|\+\+|--|<<=|>>=|<<|>>|<=|>=|==|!=|&&|\|\||[-+*/%&|^!~<>=?:;,.()\[\]{}#])
  | (?P<other>.)
''', re.VERBOSE | re.DOTALL)


def tokenize_c(source):
    """Tokens of C source without comments and preprocessor lines; adjacent
    string literals are joined as the compiler joins them (a macro such as
    G_GINT64_FORMAT between them joins too, shown as its name)."""
    tokens = []
    line = 1
    at_line_start = True
    in_directive = False
    for m in C_TOKEN.finditer(source):
        kind = m.lastgroup
        text = m.group()
        newlines = text.count('\n')
        if kind == 'nl':
            if not (in_directive and tokens_continue(source, m.start())):
                in_directive = False
            at_line_start = True
            line += 1
            continue
        if kind in ('ws', 'comment'):
            line += newlines
            continue
        if at_line_start and text == '#':
            in_directive = True
        at_line_start = False
        if in_directive:
            line += newlines
            continue
        if kind == 'str':
            value = text[text.index('"') + 1:-1]
            prev = tokens[-1] if tokens else None
            if prev and prev.kind == 'str':
                prev.value += value
            elif (prev and prev.kind == 'id' and re.match(r'G_G\w*_FORMAT$|PRI\w+$', prev.value)
                  and len(tokens) > 1 and tokens[-2].kind == 'str'):
                tokens.pop()
                tokens[-1].value += '%' + value
            else:
                tokens.append(Token('str', value, line))
        elif kind == 'chr':
            tokens.append(Token('num', text, line))
        else:
            tokens.append(Token(kind if kind != 'other' else 'punct', text, line))
        line += newlines
    return tokens


def tokens_continue(source, newline_at):
    """True if the line ending at newline_at ends in a backslash."""
    j = newline_at - 1
    while j >= 0 and source[j] in ' \t\r':
        j -= 1
    return j >= 0 and source[j] == '\\'


GETTEXT_CALLS = {
    '_', 'N_', 'C_', 'NC_', 'Q_', 'gettext', 'ngettext', 'dgettext', 'dngettext',
    'pgettext', 'g_dgettext', 'g_dngettext', 'g_dpgettext', 'g_dpgettext2',
    'g_dcgettext',
}
# Calls whose string arguments are shown as they are (or formatted first).
PASSTHROUGH_CALLS = {
    'g_strdup', 'g_strdup_printf', 'g_markup_printf_escaped', 'g_markup_escape_text',
    'g_strconcat', 'g_string_new', 'g_strndup',
}
# Which arguments (0-based) of a call are shown to people.
UI_CALLS = {
    # GTK
    'gtk_label_new': [0], 'gtk_label_new_with_mnemonic': [0],
    'gtk_label_set_text': [1], 'gtk_label_set_label': [1], 'gtk_label_set_markup': [1],
    'gtk_label_set_text_with_mnemonic': [1], 'gtk_label_set_markup_with_mnemonic': [1],
    'gtk_button_new_with_label': [0], 'gtk_button_new_with_mnemonic': [0],
    'gtk_button_set_label': [1], 'gtk_check_button_new_with_label': [0],
    'gtk_check_button_new_with_mnemonic': [0], 'gtk_check_button_set_label': [1],
    'gtk_toggle_button_new_with_label': [0], 'gtk_toggle_button_new_with_mnemonic': [0],
    'gtk_menu_button_set_label': [1], 'gtk_link_button_new_with_label': [1],
    'gtk_frame_new': [0], 'gtk_frame_set_label': [1],
    'gtk_expander_new': [0], 'gtk_expander_new_with_mnemonic': [0], 'gtk_expander_set_label': [1],
    'gtk_widget_set_tooltip_text': [1], 'gtk_widget_set_tooltip_markup': [1],
    'gtk_window_set_title': [1], 'gtk_entry_set_placeholder_text': [1],
    'gtk_text_set_placeholder_text': [1], 'gtk_search_entry_set_placeholder_text': [1],
    'gtk_editable_set_text': [1], 'gtk_progress_bar_set_text': [1],
    'gtk_stack_add_titled': [3], 'gtk_stack_page_set_title': [1],
    'gtk_string_list_append': [1], 'gtk_about_dialog_set_comments': [1],
    'gtk_file_chooser_native_new': [0, 3, 4], 'gtk_alert_dialog_new': [0],
    'gtk_file_dialog_set_title': [1], 'gtk_file_dialog_set_accept_label': [1],
    # libadwaita
    'adw_toast_new': [0], 'adw_toast_new_format': [0], 'adw_toast_set_title': [1],
    'adw_toast_set_button_label': [1],
    'adw_window_title_new': [0, 1], 'adw_window_title_set_title': [1],
    'adw_window_title_set_subtitle': [1],
    'adw_preferences_row_set_title': [1], 'adw_action_row_set_subtitle': [1],
    'adw_expander_row_set_subtitle': [1],
    'adw_preferences_group_set_title': [1], 'adw_preferences_group_set_description': [1],
    'adw_preferences_page_set_title': [1],
    'adw_status_page_set_title': [1], 'adw_status_page_set_description': [1],
    'adw_message_dialog_new': [1, 2], 'adw_message_dialog_set_heading': [1],
    'adw_message_dialog_set_body': [1], 'adw_message_dialog_format_heading': [1],
    'adw_message_dialog_format_body': [1], 'adw_message_dialog_format_body_markup': [1],
    'adw_message_dialog_add_response': [2], 'adw_message_dialog_set_response_label': [2],
    'adw_about_window_set_comments': [1], 'adw_about_window_set_release_notes': [1],
    'adw_about_window_set_translator_credits': [1], 'adw_about_window_add_link': [1],
    'adw_about_window_add_credit_section': [1], 'adw_about_window_add_acknowledgement_section': [1],
    'adw_split_button_set_label': [1], 'adw_button_content_set_label': [1],
    'adw_view_stack_add_titled': [3], 'adw_view_stack_page_set_title': [1],
    'adw_tab_page_set_title': [1], 'adw_banner_new': [0], 'adw_banner_set_title': [1],
    'adw_banner_set_button_label': [1],
    # GIO
    'g_menu_append': [1], 'g_menu_prepend': [1], 'g_menu_insert': [2],
    'g_menu_item_new': [0], 'g_menu_item_set_label': [1],
    'g_menu_append_section': [1], 'g_menu_prepend_section': [1], 'g_menu_insert_section': [2],
    'g_menu_append_submenu': [1], 'g_menu_prepend_submenu': [1], 'g_menu_insert_submenu': [2],
    'g_menu_item_new_section': [0], 'g_menu_item_new_submenu': [0],
    'g_notification_new': [0], 'g_notification_set_title': [1],
    'g_notification_set_body': [1], 'g_notification_add_button': [1],
    'g_application_add_main_option': [5, 6],
    'g_application_set_option_context_summary': [1],
    'g_application_set_option_context_description': [1],
    'g_application_set_option_context_parameter_string': [1],
    # Errors: their messages end up in toasts, dialogs and rows.
    'g_set_error': [3], 'g_set_error_literal': [3], 'g_error_new': [2],
    'g_error_new_literal': [2], 'g_prefix_error': [1], 'g_prefix_error_literal': [1],
    'g_propagate_prefixed_error': [2], 'g_task_return_new_error': [3],
    # The label of a keyring item, shown by password managers.
    'secret_password_store': [2], 'secret_password_store_sync': [2],
    # Tandem's own helpers that show their argument.
    'tandem_window_show_toast': [1], 'tandem_sidebar_row_set_title': [1],
}
# In the app and the sync engine every sentence is for people: a literal
# that reads like one ("Sync failed", "Could not …") must be marked wherever
# it stands, unless it goes to the log or an assertion.
SENTENCE_SCOPE = ('src/app/', 'src/sync/')
SENTENCE = re.compile(r'^[A-Z][a-z]+[ ,]')
NOT_SHOWN_CALLS = {
    'g_debug', 'g_info', 'g_message', 'g_warning', 'g_critical', 'g_error', 'g_log',
    'g_log_structured', 'g_print', 'g_printerr', 'g_return_if_fail',
    'g_return_val_if_fail', 'g_warn_if_fail', 'g_warn_if_reached',
}
# Variadic calls of (name, value) pairs whose text-valued names are known.
PAIR_CALLS = {'g_object_set': 1, 'g_object_new': 1}
PAIR_TEXT_NAMES = UI_TEXT_PROPERTIES
ACCESSIBLE_CALLS = {'gtk_accessible_update_property'}
ACCESSIBLE_TEXT = {
    'GTK_ACCESSIBLE_PROPERTY_LABEL', 'GTK_ACCESSIBLE_PROPERTY_DESCRIPTION',
    'GTK_ACCESSIBLE_PROPERTY_PLACEHOLDER', 'GTK_ACCESSIBLE_PROPERTY_ROLE_DESCRIPTION',
    'GTK_ACCESSIBLE_PROPERTY_VALUE_TEXT',
}
# adw_message_dialog_add_responses (dialog, id, label, id, label, ..., NULL)
RESPONSES_CALLS = {'adw_message_dialog_add_responses'}


def matching_close(tokens, open_index):
    depth = 0
    for i in range(open_index, len(tokens)):
        v = tokens[i].value if tokens[i].kind == 'punct' else None
        if v in ('(', '[', '{'):
            depth += 1
        elif v in (')', ']', '}'):
            depth -= 1
            if depth == 0:
                return i
    return len(tokens) - 1


def split_args(tokens, open_index, close_index):
    """[(start, end)] of the top-level comma-separated arguments."""
    args = []
    depth = 0
    start = open_index + 1
    for i in range(open_index + 1, close_index):
        t = tokens[i]
        if t.kind == 'punct':
            if t.value in ('(', '[', '{'):
                depth += 1
            elif t.value in (')', ']', '}'):
                depth -= 1
            elif t.value == ',' and depth == 0:
                args.append((start, i))
                start = i + 1
    if start < close_index or args:
        args.append((start, close_index))
    return args


def shown_strings(tokens, start, end):
    """String literals in tokens[start:end] that would be shown as written:
    not inside a gettext call, nor inside a call that only uses them as keys
    or names (any call but the pass-through formatting ones)."""
    i = start
    while i < end:
        t = tokens[i]
        if t.kind == 'str':
            yield t
            i += 1
        elif (t.kind == 'id' and i + 1 < end and tokens[i + 1].kind == 'punct'
              and tokens[i + 1].value == '('):
            close = matching_close(tokens, i + 1)
            if t.value in PASSTHROUGH_CALLS:
                yield from shown_strings(tokens, i + 2, close)
            i = close + 1
        else:
            i += 1


def check_c_file(srcdir, relpath):
    with open(os.path.join(srcdir, relpath), encoding='utf-8') as f:
        tokens = tokenize_c(f.read())
    findings = []
    seen = set()

    def report(token, where):
        if id(token) in seen or not is_human_text(token.value):
            return
        seen.add(id(token))
        findings.append(Finding('c', relpath, token.line,
                                f'"{shorten(token.value)}" passed to {where} is not marked for translation',
                                token.value))

    for i, t in enumerate(tokens[:-1]):
        if t.kind != 'id' or tokens[i + 1].value != '(':
            continue
        name = t.value
        if name in UI_CALLS or name in PAIR_CALLS or name in ACCESSIBLE_CALLS or name in RESPONSES_CALLS:
            close = matching_close(tokens, i + 1)
            args = split_args(tokens, i + 1, close)
            positions = []
            if name in UI_CALLS:
                positions = UI_CALLS[name]
            elif name in RESPONSES_CALLS:
                positions = range(2, len(args), 2)
            elif name in PAIR_CALLS:
                for k in range(PAIR_CALLS[name], len(args) - 1, 2):
                    a, b = args[k]
                    if b - a == 1 and tokens[a].kind == 'str' and tokens[a].value in PAIR_TEXT_NAMES:
                        positions.append(k + 1)
            else:
                for k in range(1, len(args) - 1):
                    a, b = args[k]
                    if b - a == 1 and tokens[a].value in ACCESSIBLE_TEXT:
                        positions.append(k + 1)
            for k in positions:
                if k < len(args):
                    for s in shown_strings(tokens, *args[k]):
                        report(s, f'{name}()')

    # GOptionEntry tables: the description and the argument description.
    for i in range(len(tokens) - 4):
        if tokens[i].value != 'GOptionEntry' or tokens[i + 1].kind != 'id':
            continue
        j = i + 2
        while j < len(tokens) and tokens[j].value not in ('=', ';', ')', ','):
            j += 1
        if j + 1 >= len(tokens) or tokens[j].value != '=' or tokens[j + 1].value != '{':
            continue
        table_close = matching_close(tokens, j + 1)
        for a, b in split_args(tokens, j + 1, table_close):
            if a < b and tokens[a].value == '{':
                entry_close = matching_close(tokens, a)
                fields = split_args(tokens, a, entry_close)
                for k in (5, 6):
                    if k < len(fields):
                        for s in shown_strings(tokens, *fields[k]):
                            report(s, 'a GOptionEntry')

    if relpath.startswith(SENTENCE_SCOPE):
        hidden = set()
        for i, t in enumerate(tokens[:-1]):
            if (t.kind == 'id' and tokens[i + 1].value == '('
                    and (t.value in GETTEXT_CALLS or t.value in NOT_SHOWN_CALLS
                         or t.value.startswith('g_assert'))):
                hidden.update(range(i, matching_close(tokens, i + 1)))
        for i, t in enumerate(tokens):
            if (t.kind == 'str' and i not in hidden and id(t) not in seen
                    and SENTENCE.match(t.value)):
                seen.add(id(t))
                findings.append(Finding('c', relpath, t.line,
                                        f'"{shorten(t.value)}" reads like text for people but is not marked for translation',
                                        t.value))
    return findings


def check_c(srcdir):
    findings = []
    for relpath in walk(srcdir, C_SCOPE):
        if relpath.endswith(('.c', '.h')):
            findings += check_c_file(srcdir, relpath)
    return findings

# --------------------------------------------------------------------------
# POTFILES


def uses_gettext(srcdir, relpath):
    path = os.path.join(srcdir, relpath)
    if relpath.endswith(('.c', '.h')):
        with open(path, encoding='utf-8') as f:
            tokens = tokenize_c(f.read())
        for i, t in enumerate(tokens[:-1]):
            if t.kind == 'id' and t.value in GETTEXT_CALLS and tokens[i + 1].value == '(':
                return t.line
        return None
    if relpath.endswith(('.ui', '.blp', '.gschema.xml', '.desktop.in', '.metainfo.xml.in',
                         '.appdata.xml.in')):
        with open(path, encoding='utf-8') as f:
            for number, line in enumerate(f, 1):
                if relpath.endswith('.ui') and re.search(r'translatable="(yes|true|1)"', line):
                    return number
                if relpath.endswith('.blp') and re.search(r'\b_\(|\bC_?\(', line):
                    return number
                if relpath.endswith('.gschema.xml') and re.search(r'<(summary|description)\b', line):
                    return number
                if relpath.endswith('.desktop.in') and re.match(r'(Name|GenericName|Comment|Keywords)=', line):
                    return number
                if relpath.endswith('.xml.in') and re.search(r'<(name|summary|description|p|li)\b', line):
                    return number
    return None


def check_potfiles(srcdir):
    findings = []
    entries = read_potfiles(srcdir)
    listed = {}
    for number, entry in entries:
        if entry in listed:
            findings.append(Finding('potfiles', 'po/POTFILES', number, f'{entry} is listed twice'))
        listed[entry] = number
        if not os.path.isfile(os.path.join(srcdir, entry)):
            findings.append(Finding('potfiles', 'po/POTFILES', number, f'{entry} does not exist'))
        if entry.startswith(tuple(d + '/' for d in ENGLISH_ONLY)):
            findings.append(Finding('potfiles', 'po/POTFILES', number,
                                    f'{entry} belongs to the server, whose messages stay English'))
    for relpath in walk(srcdir, POTFILES_SCOPE):
        line = uses_gettext(srcdir, relpath)
        if line is None:
            continue
        if relpath.startswith(tuple(d + '/' for d in ENGLISH_ONLY)):
            findings.append(Finding('potfiles', relpath, line,
                                    'the server speaks English; its messages are not marked for translation'))
        elif relpath not in listed:
            findings.append(Finding('potfiles', relpath, line,
                                    'has translatable strings but is missing from po/POTFILES'))
    return findings

# --------------------------------------------------------------------------
# Catalogs

# The same extraction as i18n.gettext (preset 'glib') in po/meson.build.
XGETTEXT_ARGS = [
    '-k_', '--from-code=UTF-8', '--add-comments=Translators',
    '--keyword=N_', '--keyword=C_:1c,2', '--keyword=NC_:1c,2',
    '--keyword=g_dcgettext:2', '--keyword=g_dngettext:2,3', '--keyword=g_dpgettext2:2c,3',
    '--flag=N_:1:pass-c-format', '--flag=C_:2:pass-c-format', '--flag=NC_:2:pass-c-format',
    '--flag=g_dngettext:2:pass-c-format', '--flag=g_strdup_printf:1:c-format',
    '--flag=g_string_printf:2:c-format', '--flag=g_string_append_printf:2:c-format',
    '--flag=g_error_new:3:c-format', '--flag=g_set_error:4:c-format',
    '--flag=g_markup_printf_escaped:1:c-format',
]
STATISTICS = re.compile(r'(\d+) (translated|fuzzy|untranslated)')


def run(args, **kwargs):
    return subprocess.run(args, capture_output=True, text=True, **kwargs)


def po_entries(path):
    """(line, msgctxt, msgid) of each entry of a PO file."""
    entries = []
    ctxt = None
    current = None
    with open(path, encoding='utf-8') as f:
        lines = f.read().split('\n')
    key = None
    for number, line in enumerate(lines, 1):
        if line.startswith('msgctxt '):
            ctxt = eval_po_string(line[8:])
            key = 'ctxt'
        elif line.startswith('msgid '):
            current = [number, ctxt, eval_po_string(line[6:])]
            key = 'id'
        elif line.startswith('"') and key in ('ctxt', 'id'):
            if key == 'id':
                current[2] += eval_po_string(line)
            else:
                ctxt += eval_po_string(line)
        elif line.startswith('msgstr') or line.startswith('msgid_plural'):
            if current is not None and key == 'id':
                entries.append(tuple(current))
                ctxt = None
            key = None
    return entries


def eval_po_string(text):
    text = text.strip()
    if text.startswith('"') and text.endswith('"'):
        text = text[1:-1]
    return re.sub(r'\\(.)', lambda m: {'n': '\n', 't': '\t'}.get(m.group(1), m.group(1)), text)


def check_catalogs(srcdir):
    findings = []
    for tool in ('xgettext', 'msgmerge', 'msgfmt', 'msgattrib'):
        if shutil.which(tool) is None:
            return [Finding('catalogs', 'po', 0, f'{tool} is not installed (package gettext)')]
    with tempfile.TemporaryDirectory(prefix='tandem-i18n-') as tmp:
        listfile = os.path.join(tmp, 'POTFILES')
        with open(listfile, 'w', encoding='utf-8') as f:
            for _, entry in read_potfiles(srcdir):
                if os.path.isfile(os.path.join(srcdir, entry)):
                    f.write(entry + '\n')
        pot = os.path.join(tmp, 'tandem.pot')
        result = run(['xgettext', '--package-name=tandem', '-f', listfile, '-D', srcdir,
                      '-o', pot] + XGETTEXT_ARGS)
        if result.returncode != 0:
            return [Finding('catalogs', 'po/POTFILES', 0, 'xgettext failed: ' + result.stderr.strip())]
        if not os.path.exists(pot):
            # xgettext writes nothing when there is nothing to translate.
            return findings
        for lang in read_linguas(srcdir):
            po = os.path.join(srcdir, 'po', lang + '.po')
            relpo = f'po/{lang}.po'
            if not os.path.isfile(po):
                findings.append(Finding('catalogs', 'po/LINGUAS', 0, f'{relpo} does not exist'))
                continue
            merged = os.path.join(tmp, lang + '.po')
            result = run(['msgmerge', '--quiet', '-o', merged, po, pot])
            if result.returncode != 0:
                findings.append(Finding('catalogs', relpo, 0, 'msgmerge failed: ' + result.stderr.strip()))
                continue
            result = run(['msgfmt', '--check', '--check-accelerators=_', '--statistics',
                          '-o', os.devnull, merged])
            counts = {kind: int(n) for n, kind in STATISTICS.findall(result.stderr)}
            if result.returncode != 0:
                entries = po_entries(merged)
                for line in result.stderr.strip().split('\n'):
                    if ('translated' in line or 'header field' in line
                            or re.search(r'found \d+ fatal error', line)):
                        continue
                    # Line numbers are those of the merged copy: name the
                    # message instead.
                    where = re.match(r'^\S+:(\d+): ', line)
                    message = line[where.end():] if where else line
                    if where:
                        at = int(where.group(1))
                        before = [e for e in entries if e[0] <= at]
                        if before:
                            message += f' (in "{shorten(before[-1][2])}")'
                    findings.append(Finding('catalogs', relpo, 0, 'msgfmt --check: ' + message,
                                            message))
            for kind, option in (('untranslated', '--untranslated'), ('fuzzy', '--only-fuzzy')):
                if not counts.get(kind):
                    continue
                listed = os.path.join(tmp, f'{lang}-{kind}.po')
                run(['msgattrib', option, '--no-obsolete', '--no-wrap', '-o', listed, merged])
                for _, ctxt, msgid in po_entries(listed) if os.path.exists(listed) else []:
                    if msgid == '':
                        continue
                    label = f'{ctxt}|{msgid}' if ctxt else msgid
                    findings.append(Finding('catalogs', relpo, 0,
                                            f'{kind}: "{shorten(label)}"', msgid))
            if not counts.get('translated'):
                findings.append(Finding('catalogs', relpo, 0, 'translates nothing'))
    return findings

# --------------------------------------------------------------------------
# Running

CHECKS = [
    ('ui', 'GtkBuilder and Blueprint text is marked translatable', check_ui),
    ('c', 'user-visible C strings in src/app, src/sync and src/core are marked', check_c),
    ('potfiles', 'po/POTFILES lists exactly the files with marked strings', check_potfiles),
    ('catalogs', 'every language in po/LINGUAS is complete and valid', check_catalogs),
]


def gather(srcdir, allowlist):
    results = []
    for key, title, function in CHECKS:
        found = [f for f in function(srcdir) if not allowlist.allows(f)]
        results.append((key, title, found))
    return results


def main_check(args):
    srcdir = os.path.abspath(args.srcdir)
    allow_path = args.allowlist or os.path.join(srcdir, 'tests', 'i18n-allowlist.txt')
    allowlist = Allowlist(allow_path, os.path.relpath(allow_path, srcdir))
    results = gather(srcdir, allowlist)
    results.append(('allowlist', 'the allowlist is well-formed and every entry is used',
                    allowlist.findings + allowlist.unused()))
    print(f'1..{len(results)}')
    failed = 0
    for number, (key, title, found) in enumerate(results, 1):
        for finding in found:
            print(finding, file=sys.stderr)
            print(f'# {finding}')
        if found:
            failed += 1
            print(f'not ok {number} - {title} ({len(found)} problems)')
        else:
            print(f'ok {number} - {title}')
    return 1 if failed else 0


def main_self_test(args):
    fixtures = os.path.abspath(args.self_test)
    expected = set()
    with open(os.path.join(fixtures, 'expected.txt'), encoding='utf-8') as f:
        for line in f:
            line = line.strip()
            if line and not line.startswith('#'):
                expected.add(line)
    allow_path = os.path.join(fixtures, 'allowlist.txt')
    allowlist = Allowlist(allow_path, 'allowlist.txt')
    results = gather(fixtures, allowlist)
    results.append(('allowlist', '', allowlist.findings + allowlist.unused()))
    def key(f):
        # Catalog findings have no line of their own: the message tells them apart.
        return f'{f.check} {f.path}:{f.line}' + (f' {f.value}' if f.line == 0 and f.value else '')

    got = {key(f) for _, _, found in results for f in found}
    text = {key(f): str(f) for _, _, found in results for f in found}

    print(f'1..{len(results) + 1}')
    failed = 0
    for number, (key, _, found) in enumerate(results, 1):
        want = {e for e in expected if e.split(' ', 1)[0] == key}
        have = {g for g in got if g.split(' ', 1)[0] == key}
        for g in sorted(have - want):
            print(f'# unexpected: {text[g]}')
        for w in sorted(want - have):
            print(f'# not found: {w}')
        if have == want and want:
            print(f'ok {number} - the {key} check finds exactly the planted mistakes ({len(want)})')
        else:
            failed += 1
            print(f'not ok {number} - the {key} check finds exactly the planted mistakes '
                  f'({len(have & want)} of {len(want)} found, {len(have - want)} unexpected)')
    # The real entry point fails on the fixtures, as a test run would.
    result = run([sys.executable, os.path.abspath(__file__), '--srcdir', fixtures,
                  '--allowlist', allow_path])
    number = len(results) + 1
    if result.returncode == 1 and 'not ok' in result.stdout:
        print(f'ok {number} - a tree with unmarked strings fails the check')
    else:
        failed += 1
        print(f'not ok {number} - a tree with unmarked strings fails the check '
              f'(exit status {result.returncode})')
    return 1 if failed else 0


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--srcdir', help='the source tree to check')
    parser.add_argument('--allowlist', help='the allowlist (default: SRCDIR/tests/i18n-allowlist.txt)')
    parser.add_argument('--self-test', metavar='FIXTURE_DIR',
                        help='check the checker on a tree with known mistakes')
    args = parser.parse_args()
    if args.self_test:
        return main_self_test(args)
    if not args.srcdir:
        parser.error('--srcdir or --self-test is required')
    return main_check(args)


if __name__ == '__main__':
    sys.exit(main())
