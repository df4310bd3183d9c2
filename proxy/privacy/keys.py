"""The content encryption keys (issue 21): read from the variable `privacy.encryption_key_env` names,
or from the file `privacy.encryption_key_file`, into the keyring the store seals with
(store/sealing.py). Each key is 256 bits, written as 64 hex digits or in standard base64 (44
characters); several are separated by commas, spaces or new lines, newest first: the newest seals
new content, the others only open what they sealed (rotation, `llmlog rekey`). Anything that is
not such a key is a one-line ConfigError naming the setting, never a key's value.
"""

from __future__ import annotations

import base64
import binascii
import os
import re
import secrets
import stat
from collections.abc import Mapping

from llmlog.proxy.errors import ConfigError
from llmlog.store.keyring import KEY_BYTES, Keyring

_HEX = re.compile(r"[0-9a-fA-F]{64}")
_BASE64 = re.compile(r"[A-Za-z0-9+/]{43}=")
_SEPARATORS = re.compile(r"[,\s]+")
ENV_SETTING, FILE_SETTING = "privacy.encryption_key_env", "privacy.encryption_key_file"


def new_key() -> str:
    """A fresh random key, as 64 hex digits (`llmlog genkey`)."""
    return secrets.token_hex(KEY_BYTES)


def parse_key(text: str) -> bytes:
    """One key's 32 bytes; ValueError (saying what a key looks like, not quoting it) otherwise."""
    if _HEX.fullmatch(text):
        return bytes.fromhex(text)
    if _BASE64.fullmatch(text):
        try:
            return base64.b64decode(text, validate=True)
        except binascii.Error:
            pass
    raise ValueError(f"a key is {KEY_BYTES * 8} bits written as 64 hex digits or 44 characters of standard base64 "
                     f"(`llmlog genkey` makes one); found {len(text)} character{'' if len(text) == 1 else 's'} "
                     "that are neither")


def parse_keys(text: str, where: str) -> Keyring:
    """The keys in `text`, newest first; ConfigError naming `where` when there is none or one is malformed."""
    text = "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("#"))  # a file's comments
    words = [word for word in _SEPARATORS.split(text) if word]
    if not words:
        raise ConfigError(f"{where} holds no key")
    keys = []
    for number, word in enumerate(words, start=1):
        try:
            keys.append(parse_key(word))
        except ValueError as exc:
            raise ConfigError(f"{where}: key {number} of {len(words)} is malformed: {exc}") from None
    return Keyring.of(keys)


def _file_text(path: str) -> str:
    where = f"{FILE_SETTING} {path}"
    try:
        with open(path, encoding="ascii") as handle:
            mode = os.fstat(handle.fileno()).st_mode
            if not stat.S_ISREG(mode):
                raise ConfigError(f"{where} is not a regular file")
            if mode & (stat.S_IRWXO | stat.S_IRGRP | stat.S_IWGRP):
                raise ConfigError(f"{where} can be read or changed by other users (mode {stat.S_IMODE(mode):04o}); "
                                  f"make it the owner's only: chmod 600 {path}")
            return handle.read()
    except UnicodeDecodeError:
        raise ConfigError(f"{where} is not text: keys are hex digits or base64") from None
    except OSError as exc:
        raise ConfigError(f"{where} cannot be read: {exc.strerror or exc}") from None


_VARIABLE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def _looks_like_keys(text: str) -> bool:
    """`text` (a variable's name or a file's path, as configured) is, or may be, key material: a
    key, several, or a long run with no separator a name or path has (a key with a digit lost)."""
    try:
        parse_keys(text, "")
    except ConfigError:
        return len(text) >= 32 and not any(mark in text for mark in "_./ ")
    return True


def load_keyring(env_name: str | None, file_path: str | None, env: Mapping[str, str]) -> Keyring | None:
    """The configured keyring, or None when neither setting names one (content stays in clear)."""
    if env_name and file_path:
        raise ConfigError(f"{ENV_SETTING} and {FILE_SETTING} are both set; keep one")
    for setting, named in ((ENV_SETTING, env_name), (FILE_SETTING, file_path)):
        if named and _looks_like_keys(named):  # never echoed: an error line ends up in logs
            raise ConfigError(f"{setting} holds what looks like a key (or most of one) itself; it takes the "
                              f"{'name of a variable' if setting == ENV_SETTING else 'path of a file'} "
                              "that holds the key")
    if env_name and not _VARIABLE_NAME.fullmatch(env_name):
        raise ConfigError(f"{ENV_SETTING} is not a variable's name (letters, digits and _); it takes the name "
                          "of the variable that holds the key, never the key")
    if env_name:
        value = env.get(env_name)
        if value is None or not value.strip():
            raise ConfigError(f"{ENV_SETTING} names the variable {env_name}, which is "
                              f"{'unset' if value is None else 'empty'}; set it to the key(s) (`llmlog genkey` "
                              "makes one)")
        return parse_keys(value, f"{ENV_SETTING} ({env_name})")
    if file_path:
        path = os.path.expanduser(file_path)
        return parse_keys(_file_text(path), f"{FILE_SETTING} {path}")
    return None
