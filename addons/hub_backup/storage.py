"""Where backup sets are kept: a local folder or an S3-compatible bucket.

A set is a folder (a key prefix in S3) named by its id, holding its
encrypted parts and ``manifest.json``, written last: a set without a
manifest is unfinished and never listed.  Plain Python, no Tryton imports.
"""
import json
import os
import shutil
import time
from pathlib import Path

from .errors import SetNotFound, StorageUnavailable

MANIFEST = 'manifest.json'


class LocalStorage:
    kind = 'local'

    def __init__(self, folder):
        self.folder = Path(folder)

    def __str__(self):
        return str(self.folder)

    def staging(self, set_id):
        "The folder a new set is written into before it is complete"
        path = self.folder / f'.{set_id}.partial'
        path.mkdir(parents=True, exist_ok=False)
        return path

    def commit(self, set_id, staging):
        os.replace(staging, self.folder / set_id)

    def put_set(self, set_id, staging):
        "Copy a complete set from another folder"
        target = self.staging(set_id)
        try:
            for path in sorted(Path(staging).iterdir()):
                shutil.copyfile(path, target / path.name)
        except BaseException:
            shutil.rmtree(target, ignore_errors=True)
            raise
        self.commit(set_id, target)

    def list_sets(self):
        if not self.folder.is_dir():
            return []
        return sorted(p.name for p in self.folder.iterdir()
            if not p.name.startswith('.') and (p / MANIFEST).is_file())

    def read_manifest(self, set_id):
        try:
            return json.loads((self.folder / set_id / MANIFEST).read_bytes())
        except FileNotFoundError as error:
            raise SetNotFound(set=set_id, storage=str(self)) from error

    def open_part(self, set_id, name, scratch):
        "A local path of the part (here: where it lies)"
        path = self.folder / set_id / name
        if not path.is_file():
            raise SetNotFound(set=f'{set_id}/{name}', storage=str(self))
        return path

    def delete_set(self, set_id):
        shutil.rmtree(self.folder / set_id, ignore_errors=True)

    def set_size(self, set_id):
        return sum(p.stat().st_size for p in (self.folder / set_id).iterdir())


class S3Storage:
    """An S3-compatible bucket through boto3.  Credentials come from boto3's
    usual chain (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY in the environment,
    ~/.aws), never from the hub's database."""
    kind = 's3'

    def __init__(self, bucket, endpoint=None, region=None, prefix='',
            attempts=4, retry_delay=2.0, multipart_mb=64, timeout=30,
            access_key=None, secret_key=None):
        self.bucket = bucket
        self.endpoint = endpoint
        self.prefix = prefix.strip('/')
        self.attempts = max(1, attempts)
        self.retry_delay = retry_delay
        self.multipart = multipart_mb * 1024 * 1024
        self._options = dict(endpoint=endpoint, region=region,
            timeout=timeout, access_key=access_key, secret_key=secret_key)
        self._client = None

    def __str__(self):
        where = f' ({self.endpoint})' if self.endpoint else ''
        return f's3://{self.bucket}/{self.prefix}'.rstrip('/') + where

    @property
    def client(self):
        if self._client is None:
            import boto3
            from botocore.config import Config
            options = self._options
            config = Config(signature_version='s3v4',
                s3={'addressing_style': 'path'},
                # several Russian providers refuse boto3's default CRCs
                request_checksum_calculation='when_required',
                response_checksum_validation='when_required',
                connect_timeout=options['timeout'],
                read_timeout=options['timeout'],
                retries={'total_max_attempts': 1})
            self._client = boto3.client('s3',
                endpoint_url=options['endpoint'],
                region_name=options['region'] or 'us-east-1',
                aws_access_key_id=options['access_key'],
                aws_secret_access_key=options['secret_key'],
                config=config)
        return self._client

    def _key(self, *names):
        return '/'.join(n for n in (self.prefix, *names) if n)

    def _call(self, operation, *args, **kwargs):
        "Retry what may pass (network, 5xx, throttling) with back-off"
        from boto3.exceptions import Boto3Error
        from botocore.exceptions import BotoCoreError, ClientError
        for attempt in range(self.attempts):
            try:
                return operation(*args, **kwargs)
            except ClientError as error:
                status = error.response.get('ResponseMetadata', {}).get(
                    'HTTPStatusCode') or 0
                code = error.response.get('Error', {}).get('Code', '')
                if status < 500 and status != 429 and code not in {
                        'SlowDown', 'RequestTimeout', 'Throttling'}:
                    if code in {'NoSuchKey', '404'}:
                        raise SetNotFound(set=args and args[-1] or '',
                            storage=str(self)) from error
                    raise StorageUnavailable(storage=str(self),
                        reason=f'{code}: {error}') from error
                last = error
            except (Boto3Error, BotoCoreError, OSError) as error:
                last = error
            if attempt + 1 < self.attempts:
                time.sleep(self.retry_delay * 2 ** attempt)
        raise StorageUnavailable(storage=str(self), reason=str(last)) from last

    def put_set(self, set_id, staging):
        from boto3.s3.transfer import TransferConfig
        transfer = TransferConfig(multipart_threshold=self.multipart,
            multipart_chunksize=self.multipart)
        manifest = json.loads((Path(staging) / MANIFEST).read_bytes())
        digests = {p['name']: p['sha256'] for p in manifest['parts']}
        for path in sorted(Path(staging).iterdir(),
                key=lambda p: p.name == MANIFEST):
            extra = {'Metadata': {'sha256': digests[path.name]}} if (
                path.name in digests) else {}
            self._call(self.client.upload_file, str(path), self.bucket,
                self._key(set_id, path.name), ExtraArgs=extra,
                Config=transfer)

    def list_sets(self):
        sets = set()
        paginator = self.client.get_paginator('list_objects_v2')
        prefix = self._key() + '/' if self.prefix else ''

        def pages():
            return list(paginator.paginate(Bucket=self.bucket, Prefix=prefix))
        for page in self._call(pages):
            for item in page.get('Contents', []):
                name = item['Key'][len(prefix):]
                if name.count('/') == 1 and name.endswith('/' + MANIFEST):
                    sets.add(name.split('/')[0])
        return sorted(sets)

    def read_manifest(self, set_id):
        def get():
            return self.client.get_object(Bucket=self.bucket,
                Key=self._key(set_id, MANIFEST))['Body'].read()
        return json.loads(self._call(get))

    def open_part(self, set_id, name, scratch):
        "Download the part into the scratch folder; its local path"
        path = Path(scratch) / name
        self._call(self.client.download_file, self.bucket,
            self._key(set_id, name), str(path))
        return path

    def delete_set(self, set_id):
        def listing():
            return self.client.list_objects_v2(Bucket=self.bucket,
                Prefix=self._key(set_id) + '/').get('Contents', [])
        for item in self._call(listing):
            self._call(self.client.delete_object, Bucket=self.bucket,
                Key=item['Key'])

    def set_size(self, set_id):
        def listing():
            return self.client.list_objects_v2(Bucket=self.bucket,
                Prefix=self._key(set_id) + '/').get('Contents', [])
        return sum(i['Size'] for i in self._call(listing))
