"""Time of the shop portal's requests (hub_portal), in the server's process.

    .venv/bin/python benchmarks/portal_pages.py [--samples 120]

Each request goes through Tryton's WSGI app (werkzeug's test client: no
network), on SQLite with the test-only module hub_portal_test: a user in its
group with 50 notes of their own and 50 of somebody else (a record rule
hides those).  Measured: a static file (the floor: routing, no database),
the login page, a login (password hash, new ir.session), «Главная» (session
check, preferences, menu), the list of notes (search under the record rule)
and an action (a POST that writes, then its redirect).  Ratios are to the
floor measured in the same run.
"""
import argparse
import re

from common import drop_database, machine, setup_database, summary, timed

PASSWORD = 'Bench-portal-2026'


def create_data(db):
    from trytond.pool import Pool
    from trytond.transaction import Transaction
    with Transaction().start(db, 0) as transaction:
        pool = Pool()
        User = pool.get('res.user')
        ModelData = pool.get('ir.model.data')
        group = ModelData.get_id('hub_portal_test', 'group_notes')
        users = User.create([{'login': login, 'name': login,
                    'password': PASSWORD, 'groups': [('add', [group])]}
                for login in ['bench', 'other']])
        transaction.commit()
    for user in users:
        create_notes(db, user.id, 50)
    return users[0].id


def create_notes(db, owner, count):
    from trytond.pool import Pool
    from trytond.transaction import Transaction
    with Transaction().start(db, 0) as transaction:
        Note = Pool().get('hub_portal_test.note')
        notes = Note.create([{'name': f'Заметка {i}', 'owner': owner}
                for i in range(count)])
        transaction.commit()
        return [n.id for n in notes]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--samples', type=int, default=120)
    args = parser.parse_args()
    db = setup_database('sqlite', modules=('hub_portal_test',))
    from werkzeug.test import Client

    from trytond.wsgi import app
    base = f'/{db}/hub/shop'
    try:
        user = create_data(db)
        todo = {'notes': [], 'token': None}
        client = Client(app)

        def login():
            page = client.get(f'{base}/login')
            token = re.search(r'name="csrf_token" value="([^"]*)"',
                page.text).group(1)
            response = client.post(f'{base}/login', data={'login': 'bench',
                    'password': PASSWORD, 'csrf_token': token})
            assert response.status_code == 303, response.status_code

        def get(path, status=200):
            response = client.get(f'{base}/{path}')
            assert response.status_code == status, (path, response.status)
            return response

        login()

        def action(i):
            if not todo['notes']:    # each sample marks a note not yet done
                todo['notes'] = create_notes(db, user, args.samples + 1)
                # the form's token of the current session (logins above)
                todo['token'] = re.search(
                    r'name="csrf_token" value="([^"]*)"', get('').text
                    ).group(1)
            response = client.post(
                f"{base}/note_done/{todo['notes'].pop()}",
                data={'csrf_token': todo['token']})
            assert response.status_code == 303
            client.get(response.location)

        cases = [
            ('static file (floor)',
                lambda i: get('static/hub_portal/scan.js')),
            ('login page', lambda i: get('login')),
            ('login (POST, password hash)', lambda i: login()),
            ('«Главная»', lambda i: get('')),
            ('list of 50 own notes of 100', lambda i: get('notes')),
            ('action + redirected page', action),
            ]
        print(f'portal requests, {args.samples} samples each ({machine()})')
        floor = None
        for title, func in cases:
            func(0)     # warm
            samples = [timed(func, i)[0] for i in range(args.samples)]
            stats = summary(samples)
            floor = floor or stats['median_ms']
            print(f"{title:32} n={stats['n']} median={stats['median_ms']:.1f}"
                f" ms p95={stats['p95_ms']:.1f} ms p99={stats['p99_ms']:.1f} "
                f"ms max={stats['max_ms']:.1f} ms "
                f"x{stats['median_ms'] / floor:.1f} floor", flush=True)
    finally:
        drop_database()


if __name__ == '__main__':
    main()
