"""The portal's one route: everything under /<database>/hub/shop/ goes to
``hub_portal.portal.dispatch``, a Pool model modules extend with pages."""
from trytond.protocols.wrappers import with_pool
from trytond.wsgi import app

PREFIX = '/<database_name>/hub/shop'


@app.route(PREFIX, methods={'GET'})
@app.route(PREFIX + '/', methods={'GET', 'POST'})
@app.route(PREFIX + '/<path:path>', methods={'GET', 'POST'})
@with_pool
def portal(request, pool, path=''):
    return pool.get('hub_portal.portal').dispatch(request, path)
