"""Tokens an image input costs, by the providers' published formulas; the size read from the image's own
header when the request carries its bytes (a data URL or base64 source). Pure: never fetches a URL.

OpenAI, https://platform.openai.com/docs/guides/images-vision#calculating-costs :
- tile models: `detail: low` costs the base tokens; otherwise the image is scaled to fit 2048x2048,
  then its shortest side to 768 px, and costs base + tile tokens per 512 px tile. gpt-4o, gpt-4.1,
  gpt-4.5: 85 + 170 per tile (1024x1024 -> 765, 2048x4096 -> 1105, the page's own examples);
  gpt-4o-mini: 2833 + 5667 per tile (same dollar cost at its lower token price); o1, o1-pro,
  o3: 75 + 150; gpt-5 and gpt-5-chat: 70 + 140; computer-use-preview: 65 + 129.
- patch models (gpt-4.1-mini, gpt-4.1-nano, o4-mini, gpt-5-mini, gpt-5-nano): 32 px patches,
  at most 1536 (a larger image is scaled down to fit), times 1.62 / 2.46 / 1.72 / 1.62 / 2.46.
Anthropic, https://docs.anthropic.com/en/docs/build-with-claude/vision#calculate-image-costs :
tokens = width * height / 750, after scaling a long edge beyond 1568 px down to 1568.
An image whose size is unknown (a URL: never fetched) is costed at DEFAULT_SIZE, and the estimate
is marked rough.
"""

from __future__ import annotations

import base64
import binascii
import math
import struct

DEFAULT_SIZE = (1024, 1024)  # an assumed size for an image given by URL (765 tokens on gpt-4o, high)
_HEADER_B64_CHARS = 65536  # the size is in the first bytes (JPEG: the SOF after any EXIF), never the whole image

# (base, per tile) by model prefix, longest prefix first
_TILES = (
    ("gpt-4o-mini", (2833, 5667)),
    ("gpt-5-chat", (70, 140)),
    ("computer-use", (65, 129)),
    ("o1", (75, 150)), ("o3", (75, 150)),
    ("gpt-5", (70, 140)),
)
_PATCH_MULTIPLIERS = (
    ("gpt-4.1-mini", 1.62), ("gpt-4.1-nano", 2.46), ("o4-mini", 1.72),
    ("gpt-5-mini", 1.62), ("gpt-5-nano", 2.46),
)
_DEFAULT_TILES = (85, 170)  # gpt-4o, gpt-4.1, gpt-4.5, gpt-4-turbo, and any other OpenAI-format model


def openai_image_tokens(model: str | None, size: tuple[int, int] | None, detail: str | None) -> int:
    """Prompt tokens of one image for an OpenAI model; `size` None means unknown (DEFAULT_SIZE)."""
    name = (model or "").lower().rsplit("/", 1)[-1].removeprefix("ft:")
    width, height = size or DEFAULT_SIZE
    for prefix, multiplier in _PATCH_MULTIPLIERS:
        if name.startswith(prefix):
            return math.ceil(_patches(width, height) * multiplier)
    base, tile = next((t for p, t in _TILES if name.startswith(p)), _DEFAULT_TILES)
    if detail == "low":
        return base
    return base + tile * _tiles(width, height)


def _tiles(width: float, height: float) -> int:
    if width <= 0 or height <= 0:
        return 1
    scale = min(1.0, 2048 / max(width, height))  # fit in 2048x2048
    width, height = width * scale, height * scale
    scale = 768 / min(width, height)  # shortest side to 768 (only ever down: OpenAI does not upscale)
    if scale < 1:
        width, height = width * scale, height * scale
    return math.ceil(width / 512) * math.ceil(height / 512)


def _patches(width: int, height: int) -> int:
    """32 px patches after scaling down so that at most 1536 fit (OpenAI's published steps)."""
    width, height = max(width, 1), max(height, 1)
    patches = math.ceil(width / 32) * math.ceil(height / 32)
    if patches <= 1536:
        return patches
    shrink = math.sqrt(32 * 32 * 1536 / (width * height))
    # then shrink a little more so that a whole number of patches fits each side
    shrink *= min(math.floor(width * shrink / 32) / (width * shrink / 32),
                  math.floor(height * shrink / 32) / (height * shrink / 32))
    return min(1536, math.ceil(width * shrink / 32) * math.ceil(height * shrink / 32))


def anthropic_image_tokens(size: tuple[int, int] | None) -> int:
    """Prompt tokens of one image for Claude; `size` None means unknown (DEFAULT_SIZE)."""
    width: float
    height: float
    width, height = size or DEFAULT_SIZE
    longest = max(width, height, 1)
    if longest > 1568:
        width, height = width * 1568 / longest, height * 1568 / longest
    return math.ceil(width * height / 750)


def data_url_size(url: str | None) -> tuple[int, int] | None:
    """(width, height) of a `data:image/...;base64,` URL from its header bytes; None if not one."""
    if not url or not url.startswith("data:"):
        return None
    _, sep, payload = url.partition(",")
    return base64_size(payload) if sep else None


def base64_size(payload: str | None) -> tuple[int, int] | None:
    """(width, height) of base64 PNG, GIF, JPEG or WebP data, read from its first bytes only."""
    if not isinstance(payload, str):
        return None
    head = payload[:_HEADER_B64_CHARS]
    head = head[: len(head) - len(head) % 4]
    try:
        data = base64.b64decode(head, validate=False)
    except (binascii.Error, ValueError):
        return None
    try:
        return image_size(data)
    except (struct.error, IndexError):
        return None


def image_size(data: bytes) -> tuple[int, int] | None:
    """(width, height) from the start of a PNG, GIF, JPEG or WebP file; None if unrecognised."""
    if data.startswith(b"\x89PNG\r\n\x1a\n") and data[12:16] == b"IHDR":
        return struct.unpack(">II", data[16:24])
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return struct.unpack("<HH", data[6:10])
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return _webp_size(data)
    if data[:2] == b"\xff\xd8":
        return _jpeg_size(data)
    return None


def _webp_size(data: bytes) -> tuple[int, int] | None:
    chunk = data[12:16]
    if chunk == b"VP8X":
        return 1 + int.from_bytes(data[24:27], "little"), 1 + int.from_bytes(data[27:30], "little")
    if chunk == b"VP8 ":
        width, height = struct.unpack("<HH", data[26:30])
        return width & 0x3FFF, height & 0x3FFF
    if chunk == b"VP8L":
        bits = int.from_bytes(data[21:25], "little")
        return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    return None


def _jpeg_size(data: bytes) -> tuple[int, int] | None:
    i = 2
    while i + 9 < len(data):
        if data[i] != 0xFF:
            return None
        marker = data[i + 1]
        if marker == 0xFF:  # fill byte
            i += 1
            continue
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:  # markers without a length
            i += 2
            continue
        length = struct.unpack(">H", data[i + 2:i + 4])[0]
        # start of frame (baseline, progressive, ...), not DHT (C4), JPG (C8) or DAC (CC)
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            height, width = struct.unpack(">HH", data[i + 5:i + 9])
            return width, height
        i += 2 + length
    return None
