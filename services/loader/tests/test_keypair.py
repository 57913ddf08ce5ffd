"""Key-pair auth: the PEM file (optionally encrypted) becomes the key the Snowflake connector signs with."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from stockfeed_loader.config import SnowflakeCredentials
from stockfeed_loader.errors import ConfigError
from stockfeed_loader.snowflake_target import load_private_key

pytestmark = pytest.mark.unit


@pytest.fixture(scope="module")
def key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def pem(key: rsa.RSAPrivateKey, passphrase: str | None) -> bytes:
    encryption: serialization.KeySerializationEncryption = (
        serialization.BestAvailableEncryption(passphrase.encode()) if passphrase else serialization.NoEncryption()
    )
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption)


def public_numbers(key: object) -> object:
    assert isinstance(key, rsa.RSAPrivateKey)
    return key.public_key().public_numbers()


def test_unencrypted_key(key: rsa.RSAPrivateKey) -> None:
    loaded = load_private_key(SnowflakeCredentials(None, pem(key, None), None))
    assert public_numbers(loaded) == key.public_key().public_numbers()


def test_encrypted_key_with_its_passphrase(key: rsa.RSAPrivateKey) -> None:
    loaded = load_private_key(SnowflakeCredentials(None, pem(key, "open sesame"), "open sesame"))
    assert public_numbers(loaded) == key.public_key().public_numbers()


def test_wrong_passphrase_is_a_config_error(key: rsa.RSAPrivateKey) -> None:
    with pytest.raises(ConfigError, match="LOADER_SNOWFLAKE_PRIVATE_KEY_FILE"):
        load_private_key(SnowflakeCredentials(None, pem(key, "open sesame"), "wrong"))


def test_not_a_key_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="not a usable PEM private key"):
        load_private_key(SnowflakeCredentials(None, b"-----BEGIN PRIVATE KEY-----\nnope\n", None))
