"""The control page of a simulator (``GET /__sandbox__/``): plain HTML,
no scripts, for a person watching the demo.  Simulators give sections;
this module only lays them out."""
from collections import Counter
from datetime import datetime
from html import escape

from .clock import MSK

STYLE = '''
body { font: 14px/1.4 sans-serif; margin: 1.5em; color: #222; }
h1 { font-size: 1.4em; } h2 { font-size: 1.15em; margin-top: 1.6em; }
table { border-collapse: collapse; margin: .4em 0; }
th, td { border: 1px solid #ccc; padding: .2em .5em; text-align: left;
  vertical-align: top; }
th { background: #f2f2f2; } td.num { text-align: right; }
.note { color: #666; } .done { background: #e8f5e9; padding: .4em; }
form { display: inline; } button { margin: .2em .4em .2em 0; }
'''


def cell(value):
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return f'<td class="num">{escape(f"{value:g}")}</td>'
    return f'<td>{escape("" if value is None else str(value))}</td>'


def table(headers, rows, empty='Нет данных'):
    "An HTML table; rows of plain values (escaped here)"
    if not rows:
        return f'<p class="note">{escape(empty)}</p>'
    head = ''.join(f'<th>{escape(h)}</th>' for h in headers)
    body = ''.join('<tr>' + ''.join(cell(v) for v in row) + '</tr>'
        for row in rows)
    return f'<table><tr>{head}</tr>{body}</table>'


def pairs(items):
    "A two-column table of (label, value)"
    return table(('', ''), list(items)).replace('<tr><th></th><th></th></tr>',
        '', 1)


def counts(values):
    "'a: 2, b: 1' for a list of values"
    return ', '.join(f'{k}: {n}' for k, n in Counter(values).most_common())


def moment(epoch):
    return datetime.fromtimestamp(epoch, MSK).strftime('%d.%m %H:%M:%S')


def buttons(items):
    return ''.join('<form method="post" action="">'
        f'<input type="hidden" name="action" value="{escape(action)}">'
        f'<button type="submit">{escape(label)}</button></form>'
        for action, label in items)


def shorten(doc, limit=240):
    "A docstring on one line, cut at limit characters"
    text = ' '.join((doc or '').split())
    return text if len(text) <= limit else text[:limit - 1] + '…'


def actions_list(actions):
    "Control actions with the first line of their description"
    rows = [(f'POST /__sandbox__/{name}', shorten(method.__doc__))
        for name, method in sorted(actions.items())]
    return table(('Действие', 'Что делает'), rows)


def render(title, sections, done=None, refresh=30):
    "The whole page: title, an optional done note, then (title, html)"
    parts = [f'<h1>{escape(title)}</h1>',
        f'<p class="note">Страница обновляется каждые {refresh} с. '
        'JSON того же: <a href="requests">requests</a>, '
        '<a href="faults">faults</a>, <a href="webhooks">webhooks</a>.</p>']
    if done:
        parts.append(f'<p class="done">{escape(done)}</p>')
    parts += [f'<h2>{escape(name)}</h2>{html}' for name, html in sections]
    return ('<!doctype html><html lang="ru"><head><meta charset="utf-8">'
        f'<meta http-equiv="refresh" content="{refresh}; url=./">'
        f'<title>{escape(title)}</title><style>{STYLE}</style></head>'
        f'<body>{"".join(parts)}</body></html>')
