"Directory groups mapped to the hub's groups (and shops)"
from trytond.model import DeactivableMixin, ModelSQL, ModelView, fields
from trytond.transaction import Transaction


def normalize_dn(dn):
    "DNs compare case-insensitively and without spaces around separators"
    return ','.join(part.strip() for part in (dn or '').split(',')).lower()


class GroupMap(DeactivableMixin, ModelSQL, ModelView):
    "Directory Group Mapping"
    __name__ = 'hub_auth.group_map'

    name = fields.Char("Name", required=True)
    directory_group = fields.Char("Directory Group", required=True,
        help="The distinguished name (DN) of the directory group, for "
        "example CN=hub-msk,OU=Groups,DC=corp,DC=example,DC=ru. Members of "
        "its nested groups count.")
    groups = fields.Many2Many('hub_auth.group_map-res.group', 'map', 'group',
        "Groups", help="The hub's groups (roles) given to the members.")

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._order = [('name', 'ASC'), ('id', 'ASC')]

    @classmethod
    def preprocess_values(cls, mode, values):
        values = super().preprocess_values(mode, values)
        if values.get('directory_group'):
            values['directory_group'] = normalize_dn(values['directory_group'])
        return values

    @classmethod
    def managed(cls):
        """Every mapping, deactivated ones too: what they give is the
        directory's to give or take back"""
        with Transaction().set_context(active_test=False):
            return cls.search([])

    @classmethod
    def matching(cls, group_dns):
        "The active mappings of the directory groups group_dns"
        dns = {normalize_dn(dn) for dn in group_dns}
        if not dns:
            return []
        return cls.search([('directory_group', 'in', sorted(dns))])


class GroupMapGroup(ModelSQL):
    "Directory Group Mapping - Group"
    __name__ = 'hub_auth.group_map-res.group'

    map = fields.Many2One('hub_auth.group_map', "Mapping", required=True,
        ondelete='CASCADE')
    group = fields.Many2One('res.group', "Group", required=True,
        ondelete='CASCADE')
