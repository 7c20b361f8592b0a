"""Streaming authenticated encryption of backup parts (AES-256-GCM in chunks).

A part is ``MAGIC | key id (8) | nonce prefix (8)`` followed by chunks
``flag (1) | length (4) | ciphertext``; the nonce of a chunk is the prefix
and the chunk's counter, and its additional data bind the header, the
counter and the flag, so a chunk cannot be reordered, dropped or moved to
another part, and the last one says it is the last: a truncated part is
detected even at a chunk boundary.  Plain Python, no Tryton imports.
"""
import base64
import hashlib
import os
import struct

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from .errors import CorruptArchive, KeyMissing, WrongKey

MAGIC = b'HUBBKP1\n'
CHUNK = 1024 * 1024
HEADER = len(MAGIC) + 16
_chunk_head = struct.Struct('>BI')


def load_key(value=None, path=None):
    """The 32-byte key from a value (base64 or hex) or a file holding one;
    HUB_BACKUP_KEY in the environment when neither is given"""
    if value is None and path:
        try:
            with open(path, encoding='ascii') as file:
                value = file.read()
        except OSError as error:
            raise KeyMissing(path=path, reason=error.strerror) from error
    if value is None:
        value = os.environ.get('HUB_BACKUP_KEY')
    if not value or not value.strip():
        raise KeyMissing(path=path or 'HUB_BACKUP_KEY', reason='')
    value = value.strip()
    try:
        key = bytes.fromhex(value) if len(value) == 64 else (
            base64.urlsafe_b64decode(value + '=' * (-len(value) % 4)))
    except ValueError as error:
        raise KeyMissing(path=path or 'HUB_BACKUP_KEY',
            reason='not base64 or hex') from error
    if len(key) != 32:
        raise KeyMissing(path=path or 'HUB_BACKUP_KEY',
            reason='the key must be 32 bytes')
    return key


def new_key():
    "A fresh key, as base64 text for HUB_BACKUP_KEY or a key file"
    return base64.urlsafe_b64encode(os.urandom(32)).decode('ascii')


def key_id(key):
    "A public fingerprint of the key, stored in manifests and part headers"
    return hashlib.sha256(b'hub-backup-key-id\0' + key).digest()[:8]


class EncryptingWriter:
    """A binary file-like object: what is written is encrypted into ``out``;
    ``plain_size``/``plain_sha256`` describe what went in"""

    def __init__(self, out, key):
        self._out = out
        self._aead = AESGCM(key)
        self._header = MAGIC + key_id(key) + os.urandom(8)
        self._counter = 0
        self._buffer = bytearray()
        self._hash = hashlib.sha256()
        self.plain_size = 0
        out.write(self._header)

    def writable(self):
        return True

    def write(self, data):
        self._hash.update(data)
        self.plain_size += len(data)
        self._buffer += data
        while len(self._buffer) > CHUNK:
            self._emit(bytes(self._buffer[:CHUNK]), final=False)
            del self._buffer[:CHUNK]
        return len(data)

    def flush(self):
        pass

    def close(self):
        "Write the last chunk; the underlying file stays open"
        if self._aead is not None:
            self._emit(bytes(self._buffer), final=True)
            self._buffer.clear()
            self._aead = None

    @property
    def plain_sha256(self):
        return self._hash.hexdigest()

    def _emit(self, data, final):
        flag = 1 if final else 0
        nonce = self._header[-8:] + struct.pack('>I', self._counter)
        aad = self._header + struct.pack('>IB', self._counter, flag)
        sealed = self._aead.encrypt(nonce, data, aad)
        self._out.write(_chunk_head.pack(flag, len(sealed)) + sealed)
        self._counter += 1


class DecryptingReader:
    "A binary file-like object reading the plain text of an encrypted part"

    def __init__(self, source, key, name=''):
        self._in = source
        self._name = name
        header = source.read(HEADER)
        if len(header) < HEADER or not header.startswith(MAGIC):
            raise CorruptArchive(part=name, reason='no header')
        if header[len(MAGIC):len(MAGIC) + 8] != key_id(key):
            raise WrongKey(part=name)
        self._aead = AESGCM(key)
        self._header = header
        self._counter = 0
        self._buffer = b''
        self._done = False

    def readable(self):
        return True

    def read(self, size=-1):
        while not self._done and (size < 0 or len(self._buffer) < size):
            self._buffer += self._next_chunk()
        if size < 0:
            data, self._buffer = self._buffer, b''
        else:
            data, self._buffer = self._buffer[:size], self._buffer[size:]
        return data

    def readinto(self, buffer):
        data = self.read(len(buffer))
        buffer[:len(data)] = data
        return len(data)

    def _next_chunk(self):
        head = self._in.read(_chunk_head.size)
        if len(head) < _chunk_head.size:
            raise CorruptArchive(part=self._name, reason='truncated')
        flag, length = _chunk_head.unpack(head)
        sealed = self._in.read(length)
        if len(sealed) < length:
            raise CorruptArchive(part=self._name, reason='truncated')
        nonce = self._header[-8:] + struct.pack('>I', self._counter)
        aad = self._header + struct.pack('>IB', self._counter, flag)
        try:
            data = self._aead.decrypt(nonce, sealed, aad)
        except InvalidTag as error:
            raise CorruptArchive(part=self._name,
                reason='authentication failed') from error
        self._counter += 1
        if flag:
            self._done = True
            if self._in.read(1):
                raise CorruptArchive(part=self._name,
                    reason='data after the end')
        return data


class HashingWriter:
    "Counts and hashes what passes to ``out`` (the encrypted part as stored)"

    def __init__(self, out):
        self._out = out
        self._hash = hashlib.sha256()
        self.size = 0

    def write(self, data):
        self._hash.update(data)
        self.size += len(data)
        return self._out.write(data)

    @property
    def sha256(self):
        return self._hash.hexdigest()


def file_sha256(path):
    digest = hashlib.sha256()
    with open(path, 'rb') as file:
        while block := file.read(CHUNK):
            digest.update(block)
    return digest.hexdigest()
