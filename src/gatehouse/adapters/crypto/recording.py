"""Call recordings encrypted while they are written: AES-GCM in chunks, never plain text on disk.

File layout::

    b"GHREC1\\n" | u32 header length | header JSON | chunk* | end chunk
    chunk = u32 ciphertext length | ciphertext (AES-256-GCM, nonce = chunk index)

Each recording has its own random data key, wrapped by the tenant's key (``KeyWrapper``) and
kept in the header. Every chunk authenticates the recording id, its index and whether it is
the last one, so a reordered, edited, spliced or truncated file is detected and the reader
names the first bad chunk. Each chunk is flushed to the kernel as it is written: a crash or
``kill -9`` loses at most the chunk being filled (``chunk_ms`` of audio, 1 s by default).
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import struct
import wave
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Protocol

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from gatehouse.domain.errors import GatehouseError

MAGIC = b"GHREC1\n"
_U32 = struct.Struct(">I")
MAX_HEADER = 64 * 1024
MAX_CHUNK = 16 * 1024 * 1024


class RecordingDamaged(GatehouseError):
    """A recording failed authentication: edited, reordered, spliced or truncated."""

    error_id = "recording-damaged"


class KeyWrapper(Protocol):
    """Wraps a recording's data key under the tenant key (and unwraps it)."""

    key_id: str

    def wrap(self, data_key: bytes, context: bytes) -> bytes: ...

    def unwrap(self, wrapped: bytes, context: bytes) -> bytes: ...


class AesGcmKeyWrapper:
    """Wrap data keys with AES-256-GCM under a tenant key (random nonce stored in front)."""

    def __init__(self, tenant_key: bytes, key_id: str) -> None:
        if len(tenant_key) != 32:
            raise ValueError("tenant key must be 32 bytes")
        self._aead = AESGCM(tenant_key)
        self.key_id = key_id

    def wrap(self, data_key: bytes, context: bytes) -> bytes:
        nonce = os.urandom(12)
        return nonce + self._aead.encrypt(nonce, data_key, b"recording-key|" + context)

    def unwrap(self, wrapped: bytes, context: bytes) -> bytes:
        try:
            return self._aead.decrypt(wrapped[:12], wrapped[12:], b"recording-key|" + context)
        except InvalidTag:
            raise RecordingDamaged(
                "the recording key does not unwrap under this tenant key"
            ) from None


@dataclass(frozen=True, slots=True)
class RecordingHeader:
    recording_id: str
    tenant: str
    key_id: str
    wrapped_key: str  # base64
    sample_rate: int
    channels: int  # 2: left = called person / far end, right = agent (or supervisor mix)
    chunk_ms: int


def _fields(header: RecordingHeader) -> dict[str, object]:
    return {name: getattr(header, name) for name in RecordingHeader.__slots__}


def _aad(header_digest: bytes, index: int, final: bool) -> bytes:
    return header_digest + struct.pack(">Q?", index, final)


def _nonce(index: int) -> bytes:
    # A fresh key per recording, so a counter nonce never repeats under one key.
    return b"\x00\x00\x00\x00" + struct.pack(">Q", index)


class RecordingWriter:
    """Append PCM (s16, interleaved) to an encrypted recording; ``close()`` seals it."""

    def __init__(
        self,
        path: Path,
        *,
        recording_id: str,
        tenant: str,
        wrapper: KeyWrapper,
        sample_rate: int = 8000,
        channels: int = 2,
        chunk_ms: int = 1000,
    ) -> None:
        self.path = path
        self.recording_id = recording_id
        self.tenant = tenant
        self.sample_rate = sample_rate
        self.channels = channels
        #: PCM bytes accepted; with the file's size and SHA-256 (hashed as it is written,
        #: so sealing needs no second read) this is what the catalogue registers.
        self.pcm_bytes = 0
        self.size_bytes = 0
        self._sha = hashlib.sha256()
        data_key = AESGCM.generate_key(bit_length=256)
        self._aead = AESGCM(data_key)
        context = f"{tenant}|{recording_id}".encode()
        header = RecordingHeader(
            recording_id=recording_id,
            tenant=tenant,
            key_id=wrapper.key_id,
            wrapped_key=base64.b64encode(wrapper.wrap(data_key, context)).decode(),
            sample_rate=sample_rate,
            channels=channels,
            chunk_ms=chunk_ms,
        )
        encoded = json.dumps(_fields(header), sort_keys=True, separators=(",", ":")).encode()
        self._digest = hashlib.sha256(encoded).digest()
        self._chunk_bytes = max(2 * channels, sample_rate * channels * 2 * chunk_ms // 1000)
        self._buffer = bytearray()
        self._index = 0
        self._closed = False
        path.parent.mkdir(parents=True, exist_ok=True)
        # O_EXCL: never overwrite (or append to) an existing recording.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        self._file: BinaryIO = os.fdopen(fd, "wb")
        self._put(MAGIC + _U32.pack(len(encoded)) + encoded)
        self._file.flush()

    @property
    def chunks_written(self) -> int:
        return self._index

    @property
    def sha256(self) -> str:
        """Hex SHA-256 of every byte written to the file so far (the whole file once closed)."""
        return self._sha.hexdigest()

    @property
    def duration_s(self) -> float:
        return self.pcm_bytes / (self.sample_rate * self.channels * 2)

    def _put(self, data: bytes) -> None:
        self._file.write(data)
        self._sha.update(data)
        self.size_bytes += len(data)

    def write(self, pcm: bytes) -> None:
        if self._closed:
            raise ValueError("recording is closed")
        self._buffer += pcm
        self.pcm_bytes += len(pcm)
        while len(self._buffer) >= self._chunk_bytes:
            chunk = bytes(self._buffer[: self._chunk_bytes])
            del self._buffer[: self._chunk_bytes]
            self._emit(chunk, final=False)

    def _emit(self, plain: bytes, *, final: bool) -> None:
        sealed = self._aead.encrypt(
            _nonce(self._index), plain, _aad(self._digest, self._index, final)
        )
        self._put(_U32.pack(len(sealed)) + sealed)
        self._file.flush()  # to the kernel: survives the process being killed
        self._index += 1

    def close(self) -> None:
        if self._closed:
            return
        self._emit(bytes(self._buffer), final=True)
        self._buffer.clear()
        os.fsync(self._file.fileno())
        self._file.close()
        self._closed = True

    def __enter__(self) -> RecordingWriter:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()


@dataclass(frozen=True, slots=True)
class DecryptedRecording:
    header: RecordingHeader
    pcm: bytes
    chunks: int
    complete: bool  # False: the end chunk is missing (the writer was killed); audio up to it

    def wav_bytes(self) -> bytes:
        out = io.BytesIO()
        with wave.open(out, "wb") as wav:
            wav.setnchannels(self.header.channels)
            wav.setsampwidth(2)
            wav.setframerate(self.header.sample_rate)
            wav.writeframes(self.pcm)
        return out.getvalue()


def _read_exact(stream: BinaryIO, size: int) -> bytes | None:
    data = stream.read(size)
    return data if len(data) == size else None


def read_header(stream: BinaryIO) -> tuple[RecordingHeader, bytes]:
    if stream.read(len(MAGIC)) != MAGIC:
        raise RecordingDamaged("not a Gatehouse recording")
    raw_len = _read_exact(stream, 4)
    if raw_len is None:
        raise RecordingDamaged("recording header truncated")
    (length,) = _U32.unpack(raw_len)
    if length > MAX_HEADER:
        raise RecordingDamaged("recording header too large")
    encoded = _read_exact(stream, length)
    if encoded is None:
        raise RecordingDamaged("recording header truncated")
    try:
        header = RecordingHeader(**json.loads(encoded))
    except (ValueError, TypeError):
        raise RecordingDamaged("recording header unreadable") from None
    return header, hashlib.sha256(encoded).digest()


def _chunks(stream: BinaryIO) -> Iterator[bytes | None]:
    while True:
        raw_len = stream.read(4)
        if not raw_len:
            return
        if len(raw_len) < 4:
            yield None  # a torn length prefix: the writer died mid-write
            return
        (length,) = _U32.unpack(raw_len)
        if length > MAX_CHUNK:
            raise RecordingDamaged("chunk length is implausible")
        sealed = _read_exact(stream, length)
        yield sealed
        if sealed is None:
            return


@dataclass(frozen=True, slots=True)
class SealedPart:
    """What survives of a recording whose writer died: measured without the key."""

    size_bytes: int
    sha256: str
    chunks: int
    duration_s: float


_TAG_BYTES = 16  # AES-GCM appends a 16-byte tag to every chunk


def survey(path: Path) -> SealedPart:
    """Size, SHA-256 and the intact chunks' audio length of ``path`` (a torn last chunk is not
    counted), so a recording cut off by a killed media worker can still be catalogued."""
    data = path.read_bytes()
    stream = io.BytesIO(data)
    header, _digest = read_header(stream)
    pcm_bytes = chunks = 0
    for sealed in _chunks(stream):
        if sealed is None:
            break
        pcm_bytes += max(0, len(sealed) - _TAG_BYTES)
        chunks += 1
    frame_bytes = header.sample_rate * header.channels * 2
    return SealedPart(len(data), hashlib.sha256(data).hexdigest(), chunks, pcm_bytes / frame_bytes)


def decrypt(path: Path, wrapper: KeyWrapper) -> DecryptedRecording:
    """Decrypt and authenticate every chunk; raises RecordingDamaged naming the first bad one."""
    with path.open("rb") as stream:
        header, digest = read_header(stream)
        context = f"{header.tenant}|{header.recording_id}".encode()
        aead = AESGCM(wrapper.unwrap(base64.b64decode(header.wrapped_key), context))
        pcm = bytearray()
        index = 0
        complete = False
        for sealed in _chunks(stream):
            if complete:
                raise RecordingDamaged(f"data after the end chunk (chunk {index})")
            if sealed is None:
                break  # torn last chunk of a killed writer: everything before it is intact
            try:
                pcm += aead.decrypt(_nonce(index), sealed, _aad(digest, index, False))
            except InvalidTag:
                try:
                    pcm += aead.decrypt(_nonce(index), sealed, _aad(digest, index, True))
                    complete = True
                except InvalidTag:
                    raise RecordingDamaged(
                        f"chunk {index} fails authentication (edited, reordered or spliced)",
                        chunk=index,
                    ) from None
            index += 1
        return DecryptedRecording(header, bytes(pcm), index, complete)
