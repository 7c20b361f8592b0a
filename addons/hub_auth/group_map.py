"Directory groups mapped to the hub's groups (and shops)"
import logging

from trytond.model import DeactivableMixin, ModelSQL, ModelView, fields
from trytond.pool import Pool
from trytond.transaction import Transaction

from .directory import DirectoryError

logger = logging.getLogger(__name__)


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
    directory_group_id = fields.Char("Directory Group ID", readonly=True,
        help="The group's id in the directory (objectGUID in Active "
        "Directory, entryUUID in OpenLDAP), found when the group is entered: "
        "a renamed or moved group keeps its mapping. Empty: the group is "
        "matched by its name (DN).")
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
            values['directory_group_id'] = cls.directory_id(
                values['directory_group'])
        return values

    @classmethod
    def directory_id(cls, dn):
        "The directory's id of the group dn, None when it cannot be told"
        directory = Pool().get('res.user').hub_auth_directory_client()
        if directory is None:
            return None
        try:
            return directory.group_id(dn)
        except DirectoryError:
            logger.warning("directory unreachable: group '%s' mapped by its "
                "DN only", dn, exc_info=True)
            return None

    @classmethod
    def managed(cls):
        """Every mapping, deactivated ones too: what they give is the
        directory's to give or take back"""
        with Transaction().set_context(active_test=False):
            return cls.search([])

    @classmethod
    def matching(cls, group_dns):
        """The active mappings of the directory groups group_dns: by the
        group's current DN when the mapping has its id, else by the DN
        entered"""
        dns = {normalize_dn(dn) for dn in group_dns}
        if not dns:
            return []
        mappings = cls.search([])
        current = cls.current_dns(mappings)
        return [m for m in mappings
            if current.get(m.id, m.directory_group) in dns]

    @classmethod
    def current_dns(cls, mappings):
        """{mapping id: the group's DN now} for the mappings with an id; None
        for a group gone from the directory; {} when it cannot be asked"""
        ids = {m.directory_group_id for m in mappings if m.directory_group_id}
        directory = Pool().get('res.user').hub_auth_directory_client()
        if not ids or directory is None:
            return {}
        try:
            found = directory.groups_by_id(ids)
        except DirectoryError:
            logger.warning("directory unreachable: groups matched by DN",
                exc_info=True)
            return {}
        return {m.id: normalize_dn(found[m.directory_group_id])
            if m.directory_group_id in found else None
            for m in mappings if m.directory_group_id}


class GroupMapGroup(ModelSQL):
    "Directory Group Mapping - Group"
    __name__ = 'hub_auth.group_map-res.group'

    map = fields.Many2One('hub_auth.group_map', "Mapping", required=True,
        ondelete='CASCADE')
    group = fields.Many2One('res.group', "Group", required=True,
        ondelete='CASCADE')
