"""The Bitrix24 connection: incoming webhook or local application (OAuth),
the application token of outgoing events, the hub's pipeline and stages."""
import datetime
import hmac
import json

from trytond.i18n import gettext
from trytond.model import ModelView, fields
from trytond.pool import Pool, PoolMeta
from trytond.pyson import Eval
from trytond.transaction import Transaction, without_check_access

from .client import B24Client, refresh_tokens

SYSTEM = 'b24'
_b24 = {'invisible': Eval('code') != SYSTEM}
_oauth = {'invisible': (Eval('code') != SYSTEM)
    | (Eval('b24_auth') != 'oauth')}


class System(metaclass=PoolMeta):
    __name__ = 'hub_sync.system'

    b24_auth = fields.Selection([
            ('webhook', "Incoming Webhook"),
            ('oauth', "Local Application (OAuth)"),
            ], "Authorisation", states=_b24,
        help="Incoming webhook: «Base URL» is the webhook's address "
        "(https://PORTAL/rest/USER/CODE/).  Local application (box "
        "edition): «Base URL» is https://PORTAL/rest/, «Login» and "
        "«Password» the application's client_id and client_secret, "
        "«Token» its access token.")
    b24_oauth_url = fields.Char("OAuth Server", states=_oauth,
        help="Where tokens are refreshed: https://oauth.bitrix.info/ "
        "(also for the box edition).")
    b24_refresh_token = fields.Char("Refresh Token", states=_oauth,
        strip=False)
    b24_token_expires = fields.DateTime("Access Token Expires",
        readonly=True, states=_oauth)
    b24_member_id = fields.Char("Portal Member ID", states=_b24,
        help="auth[member_id] of the portal's events; when set, events of "
        "another portal are refused.")
    b24_hub_url = fields.Char("Hub Address", states=_b24,
        help="The web client's address (e.g. https://hub.example.ru), for "
        "the link from each deal to its order.")
    b24_category = fields.Integer("Pipeline ID", readonly=True, states=_b24,
        help="The deal pipeline of the hub's orders, created on the first "
        "exchange.")
    b24_stages = fields.Text("Stages", readonly=True, states=_b24,
        help="The pipeline's stage of each order status (JSON).")
    b24_rate = fields.Float("Requests per Second", states=_b24,
        help="The portal's rate limit (2 on cloud plans, 5 on Enterprise).")

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls.code.selection.append((SYSTEM, "Bitrix24"))
        cls._buttons.update({
                'b24_reset_pipeline': {
                    'invisible': Eval('code') != SYSTEM,
                    'depends': ['code'],
                    },
                })

    @classmethod
    def default_b24_auth(cls):
        return 'webhook'

    @classmethod
    def default_b24_oauth_url(cls):
        return 'https://oauth.bitrix.info/'

    @classmethod
    def default_b24_rate(cls):
        return 2.0

    @classmethod
    def copy(cls, systems, default=None):
        default = dict(default or {}, b24_category=None, b24_stages=None)
        return super().copy(systems, default=default)

    @classmethod
    @ModelView.button
    def b24_reset_pipeline(cls, systems):
        "Forget the pipeline: the next exchange looks it up or creates it"
        cls.write(systems, {'b24_category': None, 'b24_stages': None})

    # -- client ----------------------------------------------------------
    def b24_client(self):
        rate = self.b24_rate or 2.0
        if self.b24_auth == 'oauth':
            # refresh: HTTP only (it may run in the batch sender's thread);
            # the caller stores the new tokens with b24_keep_tokens
            client = B24Client(endpoint=self.base_url,
                access_token=self.token, timeout=self.timeout, rate=rate,
                refresh=lambda: self.b24_fetch_tokens(client))
            return client
        return B24Client(webhook=self.base_url, timeout=self.timeout,
            rate=rate)

    def b24_fetch_tokens(self, client):
        "A new access token; the new refresh token kept on the client"
        kept = getattr(client, 'tokens', None) or {}
        data = refresh_tokens(self.b24_oauth_url or
            self.default_b24_oauth_url(), self.login, self.password,
            kept.get('refresh_token') or self.b24_refresh_token,
            timeout=self.timeout)
        client.tokens = data
        return data['access_token']

    def b24_keep_tokens(self, client):
        """Store the tokens the client refreshed (the old refresh token no
        longer works: they must not be lost)"""
        data = getattr(client, 'tokens', None)
        if not data:
            return
        expires = datetime.datetime.now(datetime.UTC).replace(tzinfo=None) \
            + datetime.timedelta(seconds=int(data.get('expires_in') or 3600))
        with without_check_access():
            self.write([self], {'token': data['access_token'],
                    'b24_refresh_token': data.get('refresh_token')
                    or self.b24_refresh_token,
                    'b24_token_expires': expires})
        client.tokens = None

    def b24_event_allowed(self, form):
        "Whether an outgoing event comes from our portal (application token)"
        token = form.get('auth[application_token]') or ''
        if not self.secret or not hmac.compare_digest(
                token.encode(), self.secret.encode()):
            return False
        member = form.get('auth[member_id]')
        return not self.b24_member_id or member == self.b24_member_id

    # -- pipeline and stages ---------------------------------------------
    def b24_stage_map(self):
        return json.loads(self.b24_stages or '{}')

    def b24_stage_names(self):
        "{order state: Russian stage name}: the order statuses as users read"
        Order = Pool().get('order_hub.order')
        Config = Pool().get('ir.configuration')
        with Transaction().set_context(language=Config.get_language()):
            return dict(Order.fields_get(['state'])['state']['selection'])

    def b24_stage_plan(self):
        """[(order state, STATUS_ID suffix, sort, semantics)]: the default
        stages NEW, WON and LOSE are renamed, the others added"""
        return [
            ('awaiting_payment', 'NEW', 10, None),
            ('paid', 'UC_HUB_PAID', 20, None),
            ('assembling', 'UC_HUB_ASSEMBLING', 30, None),
            ('delivering', 'UC_HUB_DELIVERING', 40, None),
            ('issued', 'WON', 60, 'success'),
            ('cancelled', 'LOSE', 70, 'failure'),
            ]

    def b24_pipeline_name(self):
        return gettext('b24_bridge.msg_pipeline_name')

    def b24_ensure_pipeline(self, client):
        "The pipeline's stage per order state, created on first use"
        if self.b24_category is not None and self.b24_stages:
            return self.b24_stage_map()
        name = self.b24_pipeline_name()
        categories = client.call('crm.category.list',
            {'entityTypeId': 2})['categories']
        category = next((c for c in categories if c['name'] == name), None)
        if category is None:
            category = client.call('crm.category.add', {'entityTypeId': 2,
                    'fields': {'name': name, 'sort': 900}})['category']
        category_id = int(category['id'])
        entity = f'DEAL_STAGE_{category_id}'
        existing = {s['STATUS_ID']: s for s in client.call('crm.status.list',
                {'filter': {'ENTITY_ID': entity}})}
        names = self.b24_stage_names()
        stages, commands = {}, {}
        for state, suffix, sort, semantics in self.b24_stage_plan():
            status_id = f'C{category_id}:{suffix}'
            stages[state] = status_id
            row = existing.get(status_id)
            if row is None:
                fields_ = {'ENTITY_ID': entity, 'STATUS_ID': status_id,
                    'NAME': names[state], 'SORT': sort}
                if semantics:
                    fields_['EXTRA'] = {'SEMANTICS': semantics}
                commands[state] = ('crm.status.add', {'fields': fields_})
            elif row['NAME'] != names[state]:
                commands[state] = ('crm.status.update', {'id': row['ID'],
                        'fields': {'NAME': names[state], 'SORT': sort}})
        if commands:
            _, errors = client.batch(commands)
            if errors:
                raise next(iter(errors.values()))
        with without_check_access():
            self.write([self], {'b24_category': category_id,
                    'b24_stages': json.dumps(stages)})
        return stages

