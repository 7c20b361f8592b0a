"""Failures of backups and restores, each naming its message in message.xml
(``msg_id``) and the values it needs; plain Python, so the command line
works while the hub is down.  ``transient`` ones are worth retrying."""


class BackupError(Exception):
    msg_id = 'msg_backup_failed'
    transient = False

    def __init__(self, **params):
        self.params = {k: '' if v is None else v for k, v in params.items()}
        super().__init__(f'{self.msg_id}: {self.params}')


class KeyMissing(BackupError):
    msg_id = 'msg_key_missing'


class WrongKey(BackupError):
    msg_id = 'msg_wrong_key'


class CorruptArchive(BackupError):
    msg_id = 'msg_corrupt_archive'


class StorageUnavailable(BackupError):
    msg_id = 'msg_storage_unavailable'
    transient = True


class DiskFull(BackupError):
    msg_id = 'msg_disk_full'


class TargetExists(BackupError):
    msg_id = 'msg_target_exists'


class BadTarget(BackupError):
    msg_id = 'msg_bad_target'


class ToolFailed(BackupError):
    msg_id = 'msg_tool_failed'


class SetNotFound(BackupError):
    msg_id = 'msg_set_not_found'


class SourceUnsupported(BackupError):
    msg_id = 'msg_source_unsupported'
